package main

import (
	"fmt"
	"reflect"
	"strconv"
	"strings"

	"github.com/getkin/kin-openapi/openapi3"

	"github.com/refhub/referral-service/pkg/referralapi"
)

// eventKinds are the event types by the schema of their data. swag only
// documents what an operation names, and no operation returns a bare
// RewardEventData: the feeds carry every kind in Event.data.
var eventKinds = []struct {
	schema string
	data   string
	types  []string
}{
	{"ReferralEvent", "Referral", []string{"referral.created", "referral.qualified", "referral.cancelled", "referral.restored"}},
	{"RewardEvent", "RewardEventData", []string{"reward.available", "reward.reversed"}},
	{"PayoutEvent", "Payout", []string{"payout.paid", "payout.failed"}},
	{"CodeEvent", "ReferralCode", []string{"code.changed"}},
	{"PingEvent", "PingEventData", []string{"ping"}},
}

var dataDescriptions = map[string]string{
	"RewardEventData": "The data of reward.available (amount became payable: the reward's hold ended, or, after that, a won dispute or a failed refund gave amount back) and reward.reversed (amount was taken back by a refund, a dispute or a cancellation). Amount is in minor units, positive.",
	"PingEventData":   "The data of the ping event an operator sends to test one webhook endpoint.",
}

// finishEvents documents event payloads in OpenAPI 3: the data schemas no
// operation names (from their Go types), Event.data as one of the data
// schemas, and one schema per kind of event, with its types and data, for
// code generators (what a webhook receiver parses).
func finishEvents(doc *openapi3.T) error {
	if _, ok := doc.Components.Schemas["Event"]; !ok {
		return nil // a document without events (the tests' small ones)
	}
	for _, v := range []any{referralapi.RewardEventData{}, referralapi.PingEventData{}} {
		t := reflect.TypeOf(v)
		if _, ok := doc.Components.Schemas[t.Name()]; ok {
			continue // named by an operation already
		}
		s, err := structSchema(t)
		if err != nil {
			return err
		}
		s.Description = dataDescriptions[t.Name()]
		doc.Components.Schemas[t.Name()] = openapi3.NewSchemaRef("", s)
	}
	ev, ok := doc.Components.Schemas["Event"]
	if !ok || ev.Value == nil || ev.Value.Properties["data"] == nil {
		return fmt.Errorf("no Event schema with data (pkg/referralapi/events.go)")
	}
	data := ev.Value.Properties["data"]
	oneOf := openapi3.SchemaRefs{}
	for _, k := range eventKinds {
		if _, ok := doc.Components.Schemas[k.data]; !ok {
			return fmt.Errorf("event data schema %s is missing", k.data)
		}
		oneOf = append(oneOf, schemaRef(doc, k.data))
	}
	desc := data.Value.Description
	data.Value = &openapi3.Schema{OneOf: oneOf, Description: desc}
	data.Ref = ""
	for _, k := range eventKinds {
		s := openapi3.NewObjectSchema()
		s.Description = fmt.Sprintf("An event of type %s: data is a %s.", strings.Join(k.types, ", "), k.data)
		enum := make([]any, len(k.types))
		for i, t := range k.types {
			enum[i] = t
		}
		s.Properties = openapi3.Schemas{
			"id":        ev.Value.Properties["id"],
			"type":      openapi3.NewSchemaRef("", &openapi3.Schema{Type: &openapi3.Types{openapi3.TypeString}, Enum: enum}),
			"createdAt": ev.Value.Properties["createdAt"],
			"data":      schemaRef(doc, k.data),
		}
		s.Required = []string{"id", "type", "createdAt", "data"}
		doc.Components.Schemas[k.schema] = openapi3.NewSchemaRef("", s)
	}
	return nil
}

// schemaRef is a resolved reference to a component schema.
func schemaRef(doc *openapi3.T, name string) *openapi3.SchemaRef {
	return openapi3.NewSchemaRef("#/components/schemas/"+name, doc.Components.Schemas[name].Value)
}

// structSchema is the schema of a flat wire struct: its json names,
// strings and integers, required by validate:"required", with the format
// and example of its tags.
func structSchema(t reflect.Type) (*openapi3.Schema, error) {
	s := openapi3.NewObjectSchema()
	s.Properties = openapi3.Schemas{}
	for i := range t.NumField() {
		f := t.Field(i)
		name, _, _ := strings.Cut(f.Tag.Get("json"), ",")
		if name == "" || name == "-" {
			continue
		}
		var p *openapi3.Schema
		switch f.Type.Kind() {
		case reflect.String:
			p = openapi3.NewStringSchema()
			if ex := f.Tag.Get("example"); ex != "" {
				p.Example = ex
			}
		case reflect.Int, reflect.Int64:
			p = openapi3.NewIntegerSchema()
			if f.Type.Kind() == reflect.Int64 {
				p.Format = "int64"
			}
			if ex, err := strconv.ParseInt(f.Tag.Get("example"), 10, 64); err == nil {
				p.Example = ex
			}
		default:
			return nil, fmt.Errorf("%s.%s: only strings and integers are documented here", t.Name(), f.Name)
		}
		if format := f.Tag.Get("format"); format != "" {
			p.Format = format
		}
		s.Properties[name] = openapi3.NewSchemaRef("", p)
		if strings.Contains(f.Tag.Get("validate"), "required") {
			s.Required = append(s.Required, name)
		}
	}
	return s, nil
}
