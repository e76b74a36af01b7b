package stripehook_test

import (
	"errors"
	"testing"
	"time"

	"github.com/stripe/stripe-go/v76/webhook"

	"github.com/refhub/referral-service/internal/stripehook"
)

func TestParseEventShapes(t *testing.T) {
	cases := []struct {
		name                           string
		body                           string
		handled                        bool
		user, customer                 string
		paymentID, invoice, pi, charge string
		amount                         int64
		currency                       string
	}{
		{
			name:    "invoice, API 2025 (parent.subscription_details, no payment_intent)",
			body:    `{"id":"evt_1","object":"event","type":"invoice.paid","api_version":"2025-09-30.clover","data":{"object":{"id":"in_1","customer":"cus_1","amount_paid":1999,"currency":"usd","parent":{"subscription_details":{"metadata":{"user_id":"u1"}}}}}}`,
			handled: true, user: "u1", customer: "cus_1", paymentID: "in_1", invoice: "in_1", amount: 1999, currency: "usd",
		},
		{
			name:    "invoice, API 2023 (payment_intent, charge, subscription_details)",
			body:    `{"id":"evt_2","type":"invoice.paid","api_version":"2023-10-16","data":{"object":{"id":"in_2","customer":{"id":"cus_2","object":"customer"},"amount_paid":500,"currency":"EUR","payment_intent":"pi_2","charge":"ch_2","subscription_details":{"metadata":{"user_id":"u2"}}}}}`,
			handled: true, user: "u2", customer: "cus_2", paymentID: "pi_2", invoice: "in_2", pi: "pi_2", charge: "ch_2", amount: 500, currency: "eur",
		},
		{
			name:    "invoice metadata wins over subscription metadata",
			body:    `{"id":"evt_3","type":"invoice.paid","data":{"object":{"id":"in_3","amount_paid":1,"currency":"usd","metadata":{"user_id":"direct"},"subscription_details":{"metadata":{"user_id":"sub"}}}}}`,
			handled: true, user: "direct", paymentID: "in_3", invoice: "in_3", amount: 1, currency: "usd",
		},
		{
			name:    "$0 invoice is no payment",
			body:    `{"id":"evt_4","type":"invoice.paid","data":{"object":{"id":"in_4","customer":"cus_4","amount_paid":0,"currency":"usd","metadata":{"user_id":"u4"}}}}`,
			handled: true, user: "u4", customer: "cus_4",
		},
		{
			name:    "paid checkout session with client_reference_id",
			body:    `{"id":"evt_5","type":"checkout.session.completed","data":{"object":{"id":"cs_5","client_reference_id":"u5","customer":"cus_5","payment_status":"paid","amount_total":3000,"currency":"usd","payment_intent":"pi_5","metadata":{}}}}`,
			handled: true, user: "u5", customer: "cus_5", paymentID: "pi_5", pi: "pi_5", amount: 3000, currency: "usd",
		},
		{
			name:    "subscription checkout keys the payment by invoice",
			body:    `{"id":"evt_6","type":"checkout.session.completed","data":{"object":{"id":"cs_6","metadata":{"user_id":"u6"},"payment_status":"paid","amount_total":3000,"currency":"usd","payment_intent":null,"invoice":"in_6"}}}`,
			handled: true, user: "u6", paymentID: "in_6", invoice: "in_6", amount: 3000, currency: "usd",
		},
		{
			name:    "unpaid checkout session is no payment",
			body:    `{"id":"evt_7","type":"checkout.session.completed","data":{"object":{"id":"cs_7","client_reference_id":"u7","payment_status":"unpaid","amount_total":3000,"currency":"usd"}}}`,
			handled: true, user: "u7",
		},
		{
			name:    "free checkout (no_payment_required) is no payment",
			body:    `{"id":"evt_8","type":"checkout.session.completed","data":{"object":{"id":"cs_8","client_reference_id":"u8","payment_status":"no_payment_required","amount_total":0,"currency":"usd"}}}`,
			handled: true, user: "u8",
		},
		{
			name:    "payment intent with expanded latest_charge",
			body:    `{"id":"evt_9","type":"payment_intent.succeeded","data":{"object":{"id":"pi_9","customer":"cus_9","amount_received":700,"currency":"gbp","latest_charge":{"id":"ch_9"},"metadata":{"user_id":"u9"}}}}`,
			handled: true, user: "u9", customer: "cus_9", paymentID: "pi_9", pi: "pi_9", charge: "ch_9", amount: 700, currency: "gbp",
		},
		{
			name:    "customer teaches the mapping",
			body:    `{"id":"evt_10","type":"customer.created","data":{"object":{"id":"cus_10","metadata":{"user_id":"u10"}}}}`,
			handled: true, user: "u10", customer: "cus_10",
		},
		{
			name: "unknown type is not handled",
			body: `{"id":"evt_11","type":"charge.succeeded","data":{"object":{"id":"ch_11","amount":5}}}`,
		},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			ev, err := stripehook.Parse([]byte(tc.body))
			if err != nil {
				t.Fatal(err)
			}
			if ev.Handled != tc.handled || ev.UserID != tc.user || ev.CustomerID != tc.customer {
				t.Fatalf("event = %+v", ev)
			}
			if tc.paymentID == "" {
				if ev.Payment != nil {
					t.Fatalf("unexpected payment %+v", ev.Payment)
				}
				return
			}
			p := ev.Payment
			if p == nil || p.ID != tc.paymentID || p.StripeInvoice != tc.invoice || p.StripePaymentIntent != tc.pi || p.StripeCharge != tc.charge || p.Amount != tc.amount || p.Currency != tc.currency {
				t.Fatalf("payment = %+v", p)
			}
		})
	}
}

func TestParseRejectsMalformed(t *testing.T) {
	for _, body := range []string{
		`not json`,
		`{"type":"invoice.paid"}`,
		`{"id":"evt","object":"charge","type":"invoice.paid"}`,
		`{"id":"evt","type":"invoice.paid","data":{"object":null}}`,
		`{"id":"evt","type":"invoice.paid","data":{"object":{"id":"in","amount_paid":"ten"}}}`,
		`{"id":"evt","type":"invoice.paid","data":{"object":{"id":"in","amount_paid":10,"currency":"dollars"}}}`,
		`{"id":"evt","type":"payment_intent.succeeded","data":{"object":{"id":"pi","customer":42}}}`,
		`{"id":"evt","type":"payment_intent.succeeded","data":{"object":{"id":"pi","amount_received":5,"currency":"usd","metadata":{"user_id":"u\u0000"}}}}`,
		`{"id":"evt\n","type":"customer.created","data":{"object":{"id":"cus"}}}`,
		`{"id":"evt","type":"payment_intent.succeeded","data":{"object":{"id":"pi","amount_received":-5,"currency":"usd"}}}`,
		`{"id":"evt","type":"invoice.paid","data":{"object":{"id":"in","amount_paid":-5,"currency":"usd"}}}`,
		`{"id":"evt","type":"invoice_payment.paid","data":{"object":{"id":"inpay","invoice":"in","status":"paid","amount_paid":-5,"currency":"usd","payment":{"type":"payment_intent","payment_intent":"pi"}}}}`,
		`{"id":"evt","type":"checkout.session.completed","data":{"object":{"id":"cs","payment_status":"paid","amount_total":-5,"currency":"usd"}}}`,
		"{\"id\":\"evt\",\"type\":\"customer.created\",\"data\":{\"object\":{\"id\":\"cus\xff\"}}}",
	} {
		if _, err := stripehook.Parse([]byte(body)); !errors.Is(err, stripehook.ErrPayload) {
			t.Errorf("Parse(%s) = %v, want ErrPayload", body, err)
		}
	}
}

func TestVerify(t *testing.T) {
	body := []byte(`{"id":"evt_1","type":"invoice.paid","api_version":"2099-01-01","data":{"object":{"id":"in_1","amount_paid":1,"currency":"usd"}}}`)
	sign := func(secret string, at time.Time) string {
		return webhook.GenerateTestSignedPayload(&webhook.UnsignedPayload{Payload: body, Secret: secret, Timestamp: at}).Header
	}
	if _, err := stripehook.Verify(body, sign("whsec_a", time.Now()), "whsec_a", 5*time.Minute); err != nil {
		t.Fatalf("a valid signature on a future API version: %v", err)
	}
	for name, header := range map[string]string{
		"wrong secret": sign("whsec_b", time.Now()),
		"too old":      sign("whsec_a", time.Now().Add(-10*time.Minute)),
		"empty":        "",
	} {
		if _, err := stripehook.Verify(body, header, "whsec_a", 5*time.Minute); !errors.Is(err, stripehook.ErrSignature) {
			t.Errorf("%s: err = %v, want ErrSignature", name, err)
		}
	}
}

func TestParseRefundAndDisputeEvents(t *testing.T) {
	cases := []struct {
		body               string
		id, kind, status   string
		charge, intent, in string
		amount             int64
	}{
		{`{"id":"evt_1","type":"charge.refunded","data":{"object":{"id":"ch_1","amount_refunded":700,"payment_intent":"pi_1","invoice":"in_1","customer":"cus_1"}}}`,
			"charge_refunded:ch_1", "charge_refunded", "", "ch_1", "pi_1", "in_1", 700},
		{`{"id":"evt_2","type":"charge.dispute.created","data":{"object":{"id":"dp_1","charge":{"id":"ch_2"},"payment_intent":"pi_2","amount":900,"status":"needs_response"}}}`,
			"dispute:dp_1", "dispute", "open", "ch_2", "pi_2", "", 900},
		{`{"id":"evt_3","type":"charge.dispute.closed","data":{"object":{"id":"dp_1","charge":"ch_2","amount":900,"status":"lost"}}}`,
			"dispute:dp_1", "dispute", "lost", "ch_2", "", "", 900},
		{`{"id":"evt_4","type":"charge.dispute.closed","data":{"object":{"id":"dp_2","charge":"ch_3","amount":900,"status":"warning_closed"}}}`,
			"dispute:dp_2", "dispute", "won", "ch_3", "", "", 900},
	}
	for _, tc := range cases {
		ev, err := stripehook.Parse([]byte(tc.body))
		if err != nil {
			t.Fatal(err)
		}
		c := ev.Claim
		if !ev.Handled || c == nil || c.ID != tc.id || string(c.Kind) != tc.kind || c.DisputeStatus != tc.status ||
			c.StripeCharge != tc.charge || c.StripePaymentIntent != tc.intent || c.StripeInvoice != tc.in || c.Amount != tc.amount {
			t.Fatalf("%s: claim = %+v", tc.body, c)
		}
	}
}
