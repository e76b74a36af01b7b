package main

import (
	"encoding/json"
	"fmt"
	"slices"
	"strings"

	"github.com/getkin/kin-openapi/openapi3"
)

const (
	// schemaPrefix is the Go package swag names the wire types after
	// ("referralapi.Referral"); the published schemas drop it.
	schemaPrefix = "referralapi."
	// bearerScheme is the one security scheme: Authorization: Bearer <credential>.
	bearerScheme = "BearerAuth"
	// problemJSON is the media type of every error body (RFC 9457).
	problemJSON = "application/problem+json"
	// problemSchema is the schema of every problem+json body.
	problemSchema = "#/components/schemas/Problem"
)

// renameSchemas drops prefix from the names of the component schemas and
// from every reference to them. Names must stay distinct.
func renameSchemas(doc []byte, prefix string) ([]byte, error) {
	var m map[string]any
	if err := json.Unmarshal(doc, &m); err != nil {
		return nil, err
	}
	if components, ok := m["components"].(map[string]any); ok {
		if schemas, ok := components["schemas"].(map[string]any); ok {
			renamed := make(map[string]any, len(schemas))
			for name, s := range schemas {
				short := strings.TrimPrefix(name, prefix)
				if _, dup := renamed[short]; dup {
					return nil, fmt.Errorf("two schemas would be named %q after dropping %q", short, prefix)
				}
				renamed[short] = s
			}
			components["schemas"] = renamed
		}
	}
	from, to := "#/components/schemas/"+prefix, "#/components/schemas/"
	var walk func(v any)
	walk = func(v any) {
		switch v := v.(type) {
		case map[string]any:
			for k, x := range v {
				if s, ok := x.(string); ok && k == "$ref" && strings.HasPrefix(s, from) {
					v[k] = to + strings.TrimPrefix(s, from)
					continue
				}
				walk(x)
			}
		case []any:
			for _, x := range v {
				walk(x)
			}
		}
	}
	walk(m)
	return json.Marshal(m)
}

// finish says in OpenAPI 3 what swag's Swagger 2.0 cannot:
//   - the bearer credential is an HTTP bearer scheme (Swagger 2.0 only has
//     an API key in the Authorization header);
//   - success responses are application/json only and error responses
//     application/problem+json only (Swagger 2.0 lists an operation's media
//     types once for all its responses);
//   - a nullable reference (allOf [$ref], nullable) carries the referenced
//     schema's type, without which OpenAPI 3.0 ignores nullable.
func finish(doc *openapi3.T) error {
	ss, ok := doc.Components.SecuritySchemes[bearerScheme]
	if !ok || ss.Value == nil {
		return fmt.Errorf("no %s security definition (see the @securityDefinitions annotation in internal/httpapi/routes.go)", bearerScheme)
	}
	ss.Value = &openapi3.SecurityScheme{
		Type:         "http",
		Scheme:       "bearer",
		BearerFormat: "JWT",
		Description:  ss.Value.Description,
	}
	for _, path := range doc.Paths.InMatchingOrder() {
		for _, op := range doc.Paths.Value(path).Operations() {
			for code, rr := range op.Responses.Map() {
				r := rr.Value
				if r == nil || r.Content == nil {
					continue
				}
				if success(code) {
					delete(r.Content, problemJSON)
				} else if _, ok := r.Content[problemJSON]; ok {
					for ct := range r.Content {
						if ct != problemJSON {
							delete(r.Content, ct)
						}
					}
				}
			}
		}
	}
	if err := finishEvents(doc); err != nil {
		return err
	}
	eachSchema(doc, func(_ string, s *openapi3.Schema) {
		if s.Nullable && s.Type.IsEmpty() && len(s.AllOf) == 1 && s.AllOf[0].Value != nil && !s.AllOf[0].Value.Type.IsEmpty() {
			t := s.AllOf[0].Value.Type.Clone()
			s.Type = &t
		}
	})
	return nil
}

// success reports whether a response code is 2xx or 3xx.
func success(code string) bool { return code != "" && (code[0] == '2' || code[0] == '3') }

// lint checks the rules the published contract keeps (those of
// `redocly lint --extends=recommended` that matter here, and the
// issue's): every operation is identified, summarised, described, tagged
// and declares its security (security: [] when public); bearer
// authentication is HTTP bearer; success responses never list problem+json
// and error responses list only it; times are date-time; nullable schemas
// have a type. It answers one line per broken rule.
func lint(doc *openapi3.T) []string {
	var out []string
	bad := func(format string, args ...any) { out = append(out, fmt.Sprintf(format, args...)) }

	if doc.Info == nil || doc.Info.License == nil || doc.Info.License.Name == "" {
		bad("info: no license")
	}
	if len(doc.Servers) == 0 {
		bad("no servers")
	}
	if doc.Components == nil || len(doc.Components.SecuritySchemes) == 0 {
		bad("components: no security schemes")
	} else {
		for name, ss := range doc.Components.SecuritySchemes {
			if name != bearerScheme {
				bad("components.securitySchemes.%s: the service has one scheme, %s", name, bearerScheme)
				continue
			}
			if v := ss.Value; v == nil || v.Type != "http" || v.Scheme != "bearer" {
				bad("components.securitySchemes.%s: want type http, scheme bearer", name)
			}
		}
	}
	tags := map[string]bool{}
	for _, t := range doc.Tags {
		tags[t.Name] = true
		if t.Description == "" {
			bad("tags.%s: no description", t.Name)
		}
	}
	ids := map[string]string{}
	for _, path := range doc.Paths.InMatchingOrder() {
		for method, op := range doc.Paths.Value(path).Operations() {
			where := method + " " + path
			switch {
			case op.OperationID == "":
				bad("%s: no operationId", where)
			case ids[op.OperationID] != "":
				bad("%s: operationId %s is also %s's", where, op.OperationID, ids[op.OperationID])
			default:
				ids[op.OperationID] = where
			}
			if op.Summary == "" {
				bad("%s: no summary", where)
			}
			if op.Description == "" {
				bad("%s: no description", where)
			}
			if len(op.Tags) == 0 {
				bad("%s: no tags", where)
			}
			for _, t := range op.Tags {
				if !tags[t] {
					bad("%s: tag %s is not declared (add @tag.name and @tag.description in routes.go)", where, t)
				}
			}
			if op.Security == nil {
				bad("%s: no security: declare @Security BearerAuth, or an empty @Security for a public operation", where)
			} else {
				for _, req := range *op.Security {
					for name := range req {
						if _, ok := doc.Components.SecuritySchemes[name]; !ok {
							bad("%s: security scheme %s is not defined", where, name)
						}
					}
				}
			}
			ok2xx := false
			for code, rr := range op.Responses.Map() {
				r := rr.Value
				if r == nil {
					continue
				}
				if success(code) {
					ok2xx = true
					if _, ok := r.Content[problemJSON]; ok {
						bad("%s: success response %s lists %s", where, code, problemJSON)
					}
					continue
				}
				if mt, ok := r.Content[problemJSON]; ok {
					if len(r.Content) > 1 {
						bad("%s: error response %s lists other media types beside %s", where, code, problemJSON)
					}
					if mt.Schema == nil || mt.Schema.Ref != problemSchema {
						bad("%s: error response %s is not a %s", where, code, problemSchema)
					}
				}
			}
			if !ok2xx {
				bad("%s: no 2xx or 3xx response", where)
			}
		}
	}
	eachSchema(doc, func(where string, s *openapi3.Schema) {
		if s.Nullable && s.Type.IsEmpty() {
			bad("%s: nullable without a type", where)
		}
		for name, p := range s.Properties {
			if p.Value != nil && p.Value.Type.Is("string") && strings.HasSuffix(name, "At") && p.Value.Format != "date-time" {
				bad("%s.%s: a time, but not format date-time (add format:\"date-time\" to its struct tag)", where, name)
			}
		}
	})
	slices.Sort(out)
	return out
}

// eachSchema calls fn once for every schema of doc (components, parameters,
// request and response bodies, and the schemas inside them), with where it
// was first found.
func eachSchema(doc *openapi3.T, fn func(where string, s *openapi3.Schema)) {
	seen := map[*openapi3.Schema]bool{}
	var visit func(where string, r *openapi3.SchemaRef)
	visit = func(where string, r *openapi3.SchemaRef) {
		if r == nil || r.Value == nil || seen[r.Value] {
			return
		}
		s := r.Value
		seen[s] = true
		fn(where, s)
		for _, name := range sortedKeys(s.Properties) {
			visit(where+"."+name, s.Properties[name])
		}
		visit(where+"[]", s.Items)
		visit(where+"{}", s.AdditionalProperties.Schema)
		for i, x := range s.AllOf {
			visit(fmt.Sprintf("%s.allOf[%d]", where, i), x)
		}
		for i, x := range s.OneOf {
			visit(fmt.Sprintf("%s.oneOf[%d]", where, i), x)
		}
		for i, x := range s.AnyOf {
			visit(fmt.Sprintf("%s.anyOf[%d]", where, i), x)
		}
		visit(where+".not", s.Not)
	}
	if doc.Components != nil {
		for _, name := range sortedKeys(doc.Components.Schemas) {
			visit("components.schemas."+name, doc.Components.Schemas[name])
		}
	}
	for _, path := range doc.Paths.InMatchingOrder() {
		ops := doc.Paths.Value(path).Operations()
		for _, method := range sortedKeys(ops) {
			op := ops[method]
			where := method + " " + path
			for _, p := range op.Parameters {
				if p.Value != nil {
					visit(where+" parameter "+p.Value.Name, p.Value.Schema)
				}
			}
			if op.RequestBody != nil && op.RequestBody.Value != nil {
				for _, ct := range sortedKeys(op.RequestBody.Value.Content) {
					visit(where+" request "+ct, op.RequestBody.Value.Content[ct].Schema)
				}
			}
			responses := op.Responses.Map()
			for _, code := range sortedKeys(responses) {
				if r := responses[code].Value; r != nil {
					for _, ct := range sortedKeys(r.Content) {
						visit(where+" response "+code+" "+ct, r.Content[ct].Schema)
					}
				}
			}
		}
	}
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}
