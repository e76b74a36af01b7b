package teststripe

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"
	"sync"
	"time"
)

// Object is a Stripe object as JSON: taken from stripe-mock, then given the
// ids, amounts and metadata a test needs.
type Object map[string]any

// Set sets the value at a dotted path, creating objects on the way
// (e.g. "parent.subscription_details.metadata").
func (o Object) Set(path string, value any) Object {
	m := map[string]any(o)
	parts := strings.Split(path, ".")
	for _, p := range parts[:len(parts)-1] {
		next, ok := m[p].(map[string]any)
		if !ok {
			next = map[string]any{}
			m[p] = next
		}
		m = next
	}
	m[parts[len(parts)-1]] = value
	return o
}

// Delete removes the value at a dotted path, if present.
func (o Object) Delete(path string) Object {
	m := map[string]any(o)
	parts := strings.Split(path, ".")
	for _, p := range parts[:len(parts)-1] {
		next, ok := m[p].(map[string]any)
		if !ok {
			return o
		}
		m = next
	}
	delete(m, parts[len(parts)-1])
	return o
}

var fixtures sync.Map // release + path → []byte

// Fixture returns a fresh copy of the object stripe-mock of this release
// serves at path (e.g. /v1/invoices/in_1): Stripe's own shape for its API
// version, every field present.
func (v Version) Fixture(path string) (Object, error) {
	key := v.Release + path
	raw, ok := fixtures.Load(key)
	if !ok {
		base, err := v.URL()
		if err != nil {
			return nil, err
		}
		req, _ := http.NewRequest(http.MethodGet, base+path, nil)
		req.SetBasicAuth("sk_test_123", "")
		res, err := http.DefaultClient.Do(req)
		if err != nil {
			return nil, fmt.Errorf("stripe-mock %s GET %s: %w", v.Release, path, err)
		}
		defer res.Body.Close()
		body, err := io.ReadAll(res.Body)
		if err != nil {
			return nil, err
		}
		if res.StatusCode != http.StatusOK {
			return nil, fmt.Errorf("stripe-mock %s GET %s: %d %s", v.Release, path, res.StatusCode, body)
		}
		raw, _ = fixtures.LoadOrStore(key, body)
	}
	var o Object
	if err := json.Unmarshal(raw.([]byte), &o); err != nil {
		return nil, err
	}
	return o, nil
}

// Sale is one payment as Stripe records it: the customer, the amount and
// the ids of the objects involved. UserID, when set, is the product's user
// id in the metadata where the product put it (see the builders).
type Sale struct {
	UserID        string
	Customer      string
	Amount        int64
	Currency      string
	Invoice       string
	PaymentIntent string
	Charge        string
	// InvoicePayment is the invoice payment's id (API 2025-03-31 on).
	InvoicePayment string
	Subscription   string
}

// Current reports whether the release serves the shapes of API 2025-03-31
// (basil) or later.
func (v Version) Current() bool { return v.API >= "2025-03-31" }

// Invoice is the paid invoice of a subscription payment, UserID in the
// subscription's metadata. From API 2025-03-31 on it has no payment_intent
// or charge, and the subscription details live under parent.
func (v Version) Invoice(s Sale) (Object, error) {
	o, err := v.Fixture("/v1/invoices/in_1")
	if err != nil {
		return nil, err
	}
	o.Set("id", s.Invoice).Set("customer", s.Customer).Set("currency", s.Currency).
		Set("amount_due", s.Amount).Set("amount_paid", s.Amount).Set("amount_remaining", 0).
		Set("total", s.Amount).Set("subtotal", s.Amount).Set("status", "paid").Set("billing_reason", "subscription_create")
	meta := map[string]any{}
	if s.UserID != "" {
		meta["user_id"] = s.UserID
	}
	if v.Current() {
		o.Set("parent", map[string]any{
			"type": "subscription_details", "quote_details": nil,
			"subscription_details": map[string]any{"metadata": meta, "subscription": s.Subscription},
		})
		return o, nil
	}
	o.Set("paid", true).Set("payment_intent", s.PaymentIntent).Set("charge", s.Charge).
		Set("subscription", s.Subscription).Set("subscription_details", map[string]any{"metadata": meta})
	return o, nil
}

// InvoicePayment is the invoice_payment object linking the invoice to the
// payment intent that paid it; only API 2025-03-31 and later have it.
func (v Version) InvoicePayment(s Sale) (Object, error) {
	if !v.Current() {
		return nil, fmt.Errorf("API %s has no invoice_payment object", v.API)
	}
	o, err := v.Fixture("/v1/invoice_payments/inpay_1")
	if err != nil {
		return nil, err
	}
	o.Set("id", s.InvoicePayment).Set("invoice", s.Invoice).Set("currency", s.Currency).
		Set("amount_paid", s.Amount).Set("amount_requested", s.Amount).Set("status", "paid").Set("livemode", false).
		Set("payment", map[string]any{"type": "payment_intent", "payment_intent": s.PaymentIntent}).
		Set("status_transitions", map[string]any{"canceled_at": nil, "paid_at": time.Now().Unix()})
	return o, nil
}

// PaymentIntent is the succeeded payment intent; UserID, when set, in its
// own metadata (a one-off payment the product created).
func (v Version) PaymentIntent(s Sale) (Object, error) {
	o, err := v.Fixture("/v1/payment_intents/pi_1")
	if err != nil {
		return nil, err
	}
	meta := map[string]any{}
	if s.UserID != "" {
		meta["user_id"] = s.UserID
	}
	o.Set("id", s.PaymentIntent).Set("customer", s.Customer).Set("currency", s.Currency).Set("amount", s.Amount).
		Set("amount_received", s.Amount).Set("status", "succeeded").Set("latest_charge", s.Charge).
		Set("metadata", meta).Set("canceled_at", nil).Set("last_payment_error", nil).Set("next_action", nil)
	if !v.Current() {
		if s.Invoice != "" {
			o.Set("invoice", s.Invoice)
		} else {
			o.Set("invoice", nil)
		}
	}
	return o, nil
}

// Charge is the charge of the payment with refunded of it refunded so far.
func (v Version) Charge(s Sale, refunded int64) (Object, error) {
	o, err := v.Fixture("/v1/charges/ch_1")
	if err != nil {
		return nil, err
	}
	o.Set("id", s.Charge).Set("customer", s.Customer).Set("currency", s.Currency).Set("amount", s.Amount).
		Set("amount_captured", s.Amount).Set("captured", true).Set("amount_refunded", refunded).
		Set("refunded", refunded >= s.Amount).Set("payment_intent", s.PaymentIntent)
	if !v.Current() {
		if s.Invoice != "" {
			o.Set("invoice", s.Invoice)
		} else {
			o.Set("invoice", nil)
		}
	}
	o.Delete("refunds") // not included in webhooks from API 2022-11-15 on
	return o, nil
}

// Refund is one refund of the payment in the given state.
func (v Version) Refund(id string, s Sale, amount int64, status string) (Object, error) {
	o, err := v.Fixture("/v1/refunds/re_1")
	if err != nil {
		return nil, err
	}
	o.Set("id", id).Set("charge", s.Charge).Set("payment_intent", s.PaymentIntent).Set("amount", amount).
		Set("currency", s.Currency).Set("status", status)
	return o, nil
}

// Dispute is a dispute of the whole payment in a Stripe dispute status
// (warning_needs_response, needs_response, under_review, won, lost, ...).
func (v Version) Dispute(id string, s Sale, status string) (Object, error) {
	o, err := v.Fixture("/v1/disputes/dp_1")
	if err != nil {
		return nil, err
	}
	o.Set("id", id).Set("charge", s.Charge).Set("payment_intent", s.PaymentIntent).Set("amount", s.Amount).
		Set("currency", s.Currency).Set("status", status)
	return o, nil
}

// CheckoutSession is a completed Checkout Session in mode payment (with
// its payment intent) or subscription (with its invoice and subscription),
// the user as client_reference_id.
func (v Version) CheckoutSession(id, mode string, s Sale) (Object, error) {
	o, err := v.Fixture("/v1/checkout/sessions/cs_1")
	if err != nil {
		return nil, err
	}
	o.Set("id", id).Set("mode", mode).Set("customer", s.Customer).Set("currency", s.Currency).
		Set("amount_total", s.Amount).Set("amount_subtotal", s.Amount).Set("status", "complete").
		Set("payment_status", "paid").Set("client_reference_id", s.UserID).Set("metadata", map[string]any{})
	switch mode {
	case "subscription":
		o.Set("payment_intent", nil).Set("invoice", s.Invoice).Set("subscription", s.Subscription)
	case "setup":
		o.Set("payment_intent", nil).Set("invoice", nil).Set("payment_status", "no_payment_required").
			Set("amount_total", 0).Set("setup_intent", "seti_"+strings.TrimPrefix(id, "cs_"))
	default:
		o.Set("payment_intent", s.PaymentIntent).Set("invoice", nil)
	}
	return o, nil
}

// Customer is a customer whose metadata names the product's user.
func (v Version) Customer(id, userID string) (Object, error) {
	o, err := v.Fixture("/v1/customers/cus_1")
	if err != nil {
		return nil, err
	}
	return o.Set("id", id).Set("metadata", map[string]any{"user_id": userID}), nil
}

// Event wraps object in an event of this API version, in the shape of the
// release's own event fixture.
func (v Version) Event(id, typ string, object Object) ([]byte, error) {
	ev, err := v.Fixture("/v1/events/evt_1")
	if err != nil {
		return nil, err
	}
	ev.Set("id", id).Set("type", typ).Set("api_version", v.API).Set("created", time.Now().Unix()).
		Set("livemode", false).Set("data", map[string]any{"object": map[string]any(object)})
	return json.Marshal(ev)
}
