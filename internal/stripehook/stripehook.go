// Package stripehook verifies Stripe webhook deliveries and turns the events
// this service acts on into domain payments and customer links.
//
// stripe-go v76's ConstructEvent rejects events whose api_version differs from
// the version it pins (2023-10-16), even with a valid signature, and real
// accounts send newer versions. So the signature and timestamp are verified
// with the webhook package, and then only the few fields needed are read from
// the raw JSON, accepting the shapes of older and newer API versions.
package stripehook

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/stripe/stripe-go/v76/webhook"

	"github.com/refhub/referral-service/internal/referral"
)

// ErrSignature means the delivery is not signed by the configured secret, or
// its timestamp is outside the tolerance.
var ErrSignature = errors.New("invalid Stripe signature")

// ErrPayload means a correctly signed body is not a Stripe event we can read.
var ErrPayload = errors.New("malformed Stripe event")

// Event is what a verified event means for this service.
type Event struct {
	ID         string
	Type       string
	APIVersion string
	// Handled is false for event types this service ignores.
	Handled bool
	// CustomerID and UserID are the Stripe customer and the product user the
	// event names, each empty when absent.
	CustomerID string
	UserID     string
	// Payment is the successful payment the event reports, or nil (not a
	// payment, not paid, or zero amount).
	Payment *referral.Payment
	// Claim is the refund total or dispute the event reports, or nil.
	Claim *referral.Claim
}

// Verify checks the Stripe-Signature header against secret with the given
// timestamp tolerance, then parses the event.
func Verify(payload []byte, sigHeader, secret string, tolerance time.Duration) (Event, error) {
	if err := webhook.ValidatePayloadWithTolerance(payload, sigHeader, secret, tolerance); err != nil {
		return Event{}, fmt.Errorf("%w: %v", ErrSignature, err)
	}
	return Parse(payload)
}

// envelope is the part of every event this service reads.
type envelope struct {
	ID         string `json:"id"`
	Object     string `json:"object"`
	Type       string `json:"type"`
	APIVersion string `json:"api_version"`
	Data       struct {
		Object json.RawMessage `json:"object"`
	} `json:"data"`
}

// Parse reads an already verified event body.
func Parse(payload []byte) (Event, error) {
	if !utf8.Valid(payload) {
		return Event{}, fmt.Errorf("%w: the body is not valid UTF-8", ErrPayload)
	}
	var env envelope
	if err := json.Unmarshal(payload, &env); err != nil {
		return Event{}, fmt.Errorf("%w: %v", ErrPayload, err)
	}
	if env.ID == "" || env.Type == "" || (env.Object != "" && env.Object != "event") {
		return Event{}, fmt.Errorf("%w: not an event (id and type are required)", ErrPayload)
	}
	return ParseObject(env.ID, env.Type, env.APIVersion, env.Data.Object)
}

// HandledTypes lists the event types this service acts on.
func HandledTypes() []string {
	types := make([]string, 0, len(readers))
	for t := range readers {
		types = append(types, t)
	}
	slices.Sort(types)
	return types
}

// ParseObject reads an event given its parts, e.g. from Stripe's event list.
func ParseObject(id, typ, apiVersion string, object json.RawMessage) (Event, error) {
	ev := Event{ID: id, Type: typ, APIVersion: apiVersion}
	reader, ok := readers[typ]
	if !ok {
		return ev, nil
	}
	if len(bytes.TrimSpace(object)) == 0 || bytes.Equal(bytes.TrimSpace(object), []byte("null")) {
		return Event{}, fmt.Errorf("%w: %s has no data.object", ErrPayload, typ)
	}
	ev.Handled = true
	if err := reader(object, &ev); err != nil {
		return Event{}, fmt.Errorf("%w: %s: %v", ErrPayload, typ, err)
	}
	if ev.Payment != nil && !referral.ValidCurrency(ev.Payment.Currency) {
		return Event{}, fmt.Errorf("%w: %s: currency %q is not a three-letter code", ErrPayload, typ, ev.Payment.Currency)
	}
	if err := checkIdentifiers(ev); err != nil {
		return Event{}, fmt.Errorf("%w: %s: %v", ErrPayload, typ, err)
	}
	return ev, nil
}

// maxIdentifierLength bounds every identifier read from an event.
const maxIdentifierLength = 255

// checkIdentifiers rejects identifiers no real event carries (empty where
// required, over-long, control characters), so they never reach storage.
func checkIdentifiers(ev Event) error {
	ids := map[string]string{"id": ev.ID, "customer": ev.CustomerID, "user_id": ev.UserID}
	if p := ev.Payment; p != nil {
		ids["payment"], ids["invoice"], ids["payment_intent"] = p.ID, p.StripeInvoice, p.StripePaymentIntent
		ids["charge"], ids["checkout_session"], ids["invoice_payment"] = p.StripeCharge, p.StripeCheckoutSession, p.StripeInvoicePayment
	}
	if c := ev.Claim; c != nil {
		ids["claim"], ids["claim_charge"], ids["claim_intent"], ids["claim_invoice"] = c.ID, c.StripeCharge, c.StripePaymentIntent, c.StripeInvoice
	}
	for name, v := range ids {
		if len(v) > maxIdentifierLength || !utf8.ValidString(v) || strings.IndexFunc(v, unicode.IsControl) >= 0 {
			return fmt.Errorf("%s is not a valid identifier", name)
		}
	}
	return nil
}

// readers maps each handled event type to the function reading its object.
// Payments: invoice.paid and invoice.payment_succeeded, invoice_payment.paid
// (from API 2025-03-31 on, the only link between an invoice and its payment
// intent), payment_intent.succeeded and the checkout session events.
// Claims: charge.refunded (the charge's cumulative refunded amount), the
// refund events (each refund with its state) and the dispute events.
// Customers teach the customer → user mapping.
var readers = map[string]func(json.RawMessage, *Event) error{
	"invoice.paid":                             readInvoice,
	"invoice.payment_succeeded":                readInvoice,
	"invoice_payment.paid":                     readInvoicePayment,
	"checkout.session.completed":               readCheckoutSession,
	"checkout.session.async_payment_succeeded": readCheckoutSession,
	"checkout.session.async_payment_failed":    readCheckoutSession,
	"checkout.session.expired":                 readCheckoutSession,
	"payment_intent.succeeded":                 readPaymentIntent,
	"charge.refunded":                          readChargeRefunded,
	"refund.created":                           readRefund,
	"refund.updated":                           readRefund,
	"refund.failed":                            readRefund,
	"charge.refund.updated":                    readRefund,
	"charge.dispute.created":                   readDispute,
	"charge.dispute.updated":                   readDispute,
	"charge.dispute.closed":                    readDispute,
	"charge.dispute.funds_withdrawn":           readDispute,
	"charge.dispute.funds_reinstated":          readDispute,
	"customer.created":                         readCustomer,
	"customer.updated":                         readCustomer,
}

// ref is an expandable Stripe reference: an id string, an expanded object
// with an id, or null.
type ref string

func (r *ref) UnmarshalJSON(b []byte) error {
	b = bytes.TrimSpace(b)
	switch {
	case bytes.Equal(b, []byte("null")):
		*r = ""
	case len(b) > 0 && b[0] == '"':
		var s string
		if err := json.Unmarshal(b, &s); err != nil {
			return err
		}
		*r = ref(s)
	case len(b) > 0 && b[0] == '{':
		var obj struct {
			ID string `json:"id"`
		}
		if err := json.Unmarshal(b, &obj); err != nil {
			return err
		}
		*r = ref(obj.ID)
	default:
		return fmt.Errorf("expected an id or object, got %s", b)
	}
	return nil
}

// metadata is Stripe's string map; only user_id matters here.
type metadata map[string]any

func (m metadata) userID() string {
	s, _ := m["user_id"].(string)
	return strings.TrimSpace(s)
}

// invoiceObject is the part of an invoice read here, in the shapes of API
// 2023-10-16 (payment_intent, charge, subscription_details) and of
// 2025-03-31 on (parent.subscription_details; payments when expanded).
type invoiceObject struct {
	ID                  string   `json:"id"`
	Customer            ref      `json:"customer"`
	AmountPaid          int64    `json:"amount_paid"`
	Currency            string   `json:"currency"`
	PaymentIntent       ref      `json:"payment_intent"`
	Charge              ref      `json:"charge"`
	Metadata            metadata `json:"metadata"`
	SubscriptionDetails *struct {
		Metadata metadata `json:"metadata"`
	} `json:"subscription_details"`
	Parent *struct {
		SubscriptionDetails *struct {
			Metadata metadata `json:"metadata"`
		} `json:"subscription_details"`
	} `json:"parent"`
	Payments *struct {
		Data []invoicePaymentObject `json:"data"`
	} `json:"payments"`
}

// userID is the user an invoice names: its own metadata, else its
// subscription's (in either shape).
func (inv invoiceObject) userID() string {
	if u := inv.Metadata.userID(); u != "" {
		return u
	}
	if inv.SubscriptionDetails != nil {
		if u := inv.SubscriptionDetails.Metadata.userID(); u != "" {
			return u
		}
	}
	if inv.Parent != nil && inv.Parent.SubscriptionDetails != nil {
		return inv.Parent.SubscriptionDetails.Metadata.userID()
	}
	return ""
}

// invoicePaymentObject is an invoice payment (API 2025-03-31 on): the link
// between an invoice and the payment intent (or charge) that paid it.
type invoicePaymentObject struct {
	ID         string `json:"id"`
	Invoice    ref    `json:"invoice"`
	AmountPaid *int64 `json:"amount_paid"`
	Currency   string `json:"currency"`
	Status     string `json:"status"`
	Payment    struct {
		Type          string `json:"type"`
		PaymentIntent ref    `json:"payment_intent"`
		Charge        ref    `json:"charge"`
	} `json:"payment"`
}

func readInvoice(raw json.RawMessage, ev *Event) error {
	var inv invoiceObject
	if err := json.Unmarshal(raw, &inv); err != nil {
		return err
	}
	ev.CustomerID = string(inv.Customer)
	ev.UserID = inv.userID()
	if inv.AmountPaid < 0 {
		return errors.New("amount_paid is negative")
	}
	if inv.AmountPaid == 0 || inv.ID == "" {
		return nil
	}
	p := payment(string(inv.PaymentIntent), inv.ID, string(inv.Charge), "", ev.CustomerID, inv.AmountPaid, inv.Currency)
	// The invoice's payments, when Stripe includes them, name the payment
	// intent that API versions from 2025-03-31 no longer put on the invoice.
	if inv.Payments != nil {
		for _, ip := range inv.Payments.Data {
			if ip.Status != "" && ip.Status != "paid" {
				continue
			}
			if p.StripePaymentIntent == "" && ip.Payment.PaymentIntent != "" {
				p.StripePaymentIntent = string(ip.Payment.PaymentIntent)
				p.ID = p.StripePaymentIntent
			}
			if p.StripeCharge == "" {
				p.StripeCharge = string(ip.Payment.Charge)
			}
			if p.StripeInvoicePayment == "" {
				p.StripeInvoicePayment = ip.ID
			}
		}
	}
	ev.Payment = p
	return nil
}

// readInvoicePayment reads invoice_payment.paid: the payment of an invoice,
// with the payment intent or charge behind it. It names no customer or
// user; the invoice's own event does, and the two join through the invoice.
func readInvoicePayment(raw json.RawMessage, ev *Event) error {
	var ip invoicePaymentObject
	if err := json.Unmarshal(raw, &ip); err != nil {
		return err
	}
	// An expanded invoice carries the customer and the user.
	var expanded struct {
		Invoice *invoiceObject `json:"invoice"`
	}
	if err := json.Unmarshal(raw, &expanded); err == nil && expanded.Invoice != nil {
		ev.CustomerID = string(expanded.Invoice.Customer)
		ev.UserID = expanded.Invoice.userID()
	}
	if ip.AmountPaid != nil && *ip.AmountPaid < 0 {
		return errors.New("amount_paid is negative")
	}
	if ip.ID == "" || ip.Invoice == "" || ip.Status != "paid" || ip.AmountPaid == nil || *ip.AmountPaid == 0 {
		return nil
	}
	p := payment(string(ip.Payment.PaymentIntent), string(ip.Invoice), string(ip.Payment.Charge), "", ev.CustomerID, *ip.AmountPaid, ip.Currency)
	p.StripeInvoicePayment = ip.ID
	ev.Payment = p
	return nil
}

func readCheckoutSession(raw json.RawMessage, ev *Event) error {
	var s struct {
		ID              string   `json:"id"`
		ClientReference string   `json:"client_reference_id"`
		Customer        ref      `json:"customer"`
		Metadata        metadata `json:"metadata"`
		PaymentStatus   string   `json:"payment_status"`
		AmountTotal     int64    `json:"amount_total"`
		Currency        string   `json:"currency"`
		PaymentIntent   ref      `json:"payment_intent"`
		Invoice         ref      `json:"invoice"`
	}
	if err := json.Unmarshal(raw, &s); err != nil {
		return err
	}
	ev.CustomerID = string(s.Customer)
	ev.UserID = s.Metadata.userID()
	if ev.UserID == "" {
		ev.UserID = strings.TrimSpace(s.ClientReference)
	}
	if s.AmountTotal < 0 {
		return errors.New("amount_total is negative")
	}
	if s.PaymentStatus == "paid" && s.AmountTotal > 0 && s.ID != "" {
		ev.Payment = payment(string(s.PaymentIntent), string(s.Invoice), "", s.ID, ev.CustomerID, s.AmountTotal, s.Currency)
	}
	return nil
}

func readPaymentIntent(raw json.RawMessage, ev *Event) error {
	var pi struct {
		ID             string   `json:"id"`
		Customer       ref      `json:"customer"`
		Metadata       metadata `json:"metadata"`
		AmountReceived int64    `json:"amount_received"`
		Currency       string   `json:"currency"`
		LatestCharge   ref      `json:"latest_charge"`
		Invoice        ref      `json:"invoice"` // absent from 2025-03-31 on
	}
	if err := json.Unmarshal(raw, &pi); err != nil {
		return err
	}
	ev.CustomerID = string(pi.Customer)
	ev.UserID = pi.Metadata.userID()
	if pi.AmountReceived < 0 {
		return errors.New("amount_received is negative")
	}
	if pi.AmountReceived > 0 && pi.ID != "" {
		ev.Payment = payment(pi.ID, string(pi.Invoice), string(pi.LatestCharge), "", ev.CustomerID, pi.AmountReceived, pi.Currency)
	}
	return nil
}

// readChargeRefunded reads a charge's cumulative amount_refunded: the claim
// is keyed by the charge, and only its largest value counts.
func readChargeRefunded(raw json.RawMessage, ev *Event) error {
	var ch struct {
		ID             string `json:"id"`
		AmountRefunded int64  `json:"amount_refunded"`
		PaymentIntent  ref    `json:"payment_intent"`
		Invoice        ref    `json:"invoice"` // absent from 2025-03-31 on
		Customer       ref    `json:"customer"`
	}
	if err := json.Unmarshal(raw, &ch); err != nil {
		return err
	}
	if ch.ID == "" || ch.AmountRefunded < 0 {
		return errors.New("a charge needs an id and a non-negative amount_refunded")
	}
	ev.CustomerID = string(ch.Customer)
	ev.Claim = &referral.Claim{
		ID: "charge_refunded:" + ch.ID, Kind: referral.ClaimChargeRefunded, StripeCharge: ch.ID,
		StripePaymentIntent: string(ch.PaymentIntent), StripeInvoice: string(ch.Invoice),
		Amount: ch.AmountRefunded, Source: referral.SourceStripe,
	}
	return nil
}

// readRefund reads one Stripe refund with its state (refund.* and
// charge.refund.updated). Pending and succeeded refunds take money back;
// failed and canceled ones do not, and a later event saying so gives it back.
func readRefund(raw json.RawMessage, ev *Event) error {
	var r struct {
		ID            string `json:"id"`
		Amount        int64  `json:"amount"`
		Charge        ref    `json:"charge"`
		PaymentIntent ref    `json:"payment_intent"`
		Status        string `json:"status"`
	}
	if err := json.Unmarshal(raw, &r); err != nil {
		return err
	}
	if r.ID == "" || r.Amount < 0 || (r.Charge == "" && r.PaymentIntent == "") {
		return errors.New("a refund needs an id, a non-negative amount and a charge or payment intent")
	}
	status := r.Status
	if status == "" {
		status = referral.RefundPending
	}
	ev.Claim = &referral.Claim{
		ID: "refund:" + r.ID, Kind: referral.ClaimRefund, StripeCharge: string(r.Charge),
		StripePaymentIntent: string(r.PaymentIntent), Amount: r.Amount, RefundStatus: status, Source: referral.SourceStripe,
	}
	return nil
}

// readDispute reads a dispute: open while under review, then won or lost.
// Stripe's warning_closed (an inquiry that never became a chargeback) and
// prevented (settled by a refund) count as won: the dispute took nothing.
func readDispute(raw json.RawMessage, ev *Event) error {
	var d struct {
		ID            string `json:"id"`
		Charge        ref    `json:"charge"`
		PaymentIntent ref    `json:"payment_intent"`
		Amount        int64  `json:"amount"`
		Status        string `json:"status"`
	}
	if err := json.Unmarshal(raw, &d); err != nil {
		return err
	}
	if d.ID == "" || d.Charge == "" || d.Amount < 0 {
		return errors.New("a dispute needs an id, a charge and a non-negative amount")
	}
	status := referral.DisputeOpen
	switch d.Status {
	case "won", "warning_closed", "prevented":
		// A prevented dispute never took the money: it was refunded
		// instead, and that refund counts on its own.
		status = referral.DisputeWon
	case "lost":
		status = referral.DisputeLost
	}
	ev.Claim = &referral.Claim{
		ID: "dispute:" + d.ID, Kind: referral.ClaimDispute, StripeCharge: string(d.Charge),
		StripePaymentIntent: string(d.PaymentIntent), Amount: d.Amount, DisputeStatus: status, Source: referral.SourceStripe,
	}
	return nil
}

func readCustomer(raw json.RawMessage, ev *Event) error {
	var c struct {
		ID       string   `json:"id"`
		Metadata metadata `json:"metadata"`
	}
	if err := json.Unmarshal(raw, &c); err != nil {
		return err
	}
	ev.CustomerID = c.ID
	ev.UserID = c.Metadata.userID()
	return nil
}

// payment builds the domain payment. Its id, the idempotency key shared with
// product backends, is the payment intent when known (the same across
// invoice, checkout and payment-intent events), else the invoice, else the
// checkout session.
func payment(paymentIntent, invoice, charge, session, customer string, amount int64, currency string) *referral.Payment {
	id := paymentIntent
	if id == "" {
		id = invoice
	}
	if id == "" {
		id = session
	}
	return &referral.Payment{
		ID: id, Amount: amount, Currency: strings.ToLower(currency), Source: referral.SourceStripe,
		StripePaymentIntent: paymentIntent, StripeInvoice: invoice, StripeCharge: charge,
		StripeCheckoutSession: session, StripeCustomer: customer,
	}
}

// Effects is what the event asks of the referral service.
func (e Event) Effects() referral.StripeEffects {
	return referral.StripeEffects{CustomerID: e.CustomerID, UserID: e.UserID, Payment: e.Payment, Claim: e.Claim}
}
