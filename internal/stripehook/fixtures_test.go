package stripehook_test

import (
	"fmt"
	"os"
	"testing"

	"github.com/refhub/referral-service/internal/referral"
	"github.com/refhub/referral-service/internal/stripehook"
	"github.com/refhub/referral-service/internal/teststripe"
)

func TestMain(m *testing.M) {
	stop, err := teststripe.Start()
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	code := m.Run()
	stop()
	os.Exit(code)
}

// parseFixture wraps a Stripe object in an event of v's API version and
// parses it as the webhook does.
func parseFixture(t *testing.T, v teststripe.Version, typ string, obj teststripe.Object, err error) stripehook.Event {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
	body, err := v.Event("evt_"+typ, typ, obj)
	if err != nil {
		t.Fatal(err)
	}
	ev, err := stripehook.Parse(body)
	if err != nil {
		t.Fatalf("%s: %v", typ, err)
	}
	if !ev.Handled || ev.APIVersion != v.API {
		t.Fatalf("%s: handled %v, api version %q", typ, ev.Handled, ev.APIVersion)
	}
	return ev
}

// TestParseStripeFixtures reads every handled event type from the objects
// stripe-mock serves for API 2023-10-16 and for the current API, given the
// ids and amounts of one subscription payment.
func TestParseStripeFixtures(t *testing.T) {
	sale := teststripe.Sale{UserID: "u1", Customer: "cus_1", Amount: 2500, Currency: "eur", Invoice: "in_1",
		PaymentIntent: "pi_1", Charge: "ch_1", InvoicePayment: "inpay_1", Subscription: "sub_1"}
	for _, v := range teststripe.Versions() {
		t.Run(v.Name(), func(t *testing.T) {
			inv, err := v.Invoice(sale)
			ev := parseFixture(t, v, "invoice.paid", inv, err)
			p := ev.Payment
			if ev.UserID != "u1" || ev.CustomerID != "cus_1" || p == nil || p.StripeInvoice != "in_1" || p.Amount != 2500 || p.Currency != "eur" {
				t.Fatalf("invoice.paid: %+v %+v", ev, p)
			}
			if v.Current() {
				if p.StripePaymentIntent != "" || p.ID != "in_1" {
					t.Fatalf("a current invoice has no payment intent: %+v", p)
				}
				ip, err := v.InvoicePayment(sale)
				ev = parseFixture(t, v, "invoice_payment.paid", ip, err)
				if p := ev.Payment; p == nil || p.StripeInvoicePayment != "inpay_1" || p.StripeInvoice != "in_1" || p.StripePaymentIntent != "pi_1" || p.Amount != 2500 {
					t.Fatalf("invoice_payment.paid: %+v", ev.Payment)
				}
				// An invoice with its payments included names the intent too.
				inv.Set("payments", map[string]any{"object": "list", "has_more": false, "url": "/v1/invoice_payments",
					"data": []any{map[string]any(ip)}})
				if p := parseFixture(t, v, "invoice.payment_succeeded", inv, nil).Payment; p.StripePaymentIntent != "pi_1" || p.StripeInvoicePayment != "inpay_1" {
					t.Fatalf("invoice with payments: %+v", p)
				}
			} else if p.StripePaymentIntent != "pi_1" || p.StripeCharge != "ch_1" {
				t.Fatalf("a 2023 invoice names its payment intent and charge: %+v", p)
			}

			pi, err := v.PaymentIntent(teststripe.Sale{Customer: "cus_1", Amount: 2500, Currency: "eur", PaymentIntent: "pi_1", Charge: "ch_1"})
			ev = parseFixture(t, v, "payment_intent.succeeded", pi, err)
			if p := ev.Payment; ev.CustomerID != "cus_1" || ev.UserID != "" || p == nil || p.StripePaymentIntent != "pi_1" || p.StripeCharge != "ch_1" {
				t.Fatalf("payment_intent.succeeded: %+v %+v", ev, ev.Payment)
			}

			cs, err := v.CheckoutSession("cs_1", "subscription", sale)
			ev = parseFixture(t, v, "checkout.session.completed", cs, err)
			if p := ev.Payment; ev.UserID != "u1" || p == nil || p.StripeCheckoutSession != "cs_1" || p.StripeInvoice != "in_1" || p.StripePaymentIntent != "" {
				t.Fatalf("subscription checkout: %+v %+v", ev, ev.Payment)
			}
			cs, err = v.CheckoutSession("cs_2", "payment", sale)
			if p := parseFixture(t, v, "checkout.session.async_payment_succeeded", cs, err).Payment; p == nil || p.StripePaymentIntent != "pi_1" {
				t.Fatalf("payment checkout: %+v", p)
			}
			cs, err = v.CheckoutSession("cs_3", "setup", sale)
			if ev := parseFixture(t, v, "checkout.session.completed", cs, err); ev.Payment != nil || ev.UserID != "u1" || ev.CustomerID != "cus_1" {
				t.Fatalf("setup checkout: %+v", ev)
			}
			cs.Set("status", "expired").Set("payment_status", "unpaid")
			if ev := parseFixture(t, v, "checkout.session.expired", cs, nil); ev.Payment != nil || ev.UserID != "u1" {
				t.Fatalf("expired checkout: %+v", ev)
			}

			ch, err := v.Charge(sale, 2500)
			ev = parseFixture(t, v, "charge.refunded", ch, err)
			if c := ev.Claim; c == nil || c.Kind != referral.ClaimChargeRefunded || c.Amount != 2500 || c.StripeCharge != "ch_1" || c.StripePaymentIntent != "pi_1" {
				t.Fatalf("charge.refunded: %+v", ev.Claim)
			}
			for _, typ := range []string{"refund.created", "refund.updated", "refund.failed", "charge.refund.updated"} {
				status := map[string]string{"refund.created": "pending", "refund.updated": "succeeded", "refund.failed": "failed", "charge.refund.updated": "canceled"}[typ]
				re, err := v.Refund("re_1", sale, 700, status)
				ev = parseFixture(t, v, typ, re, err)
				if c := ev.Claim; c == nil || c.ID != "refund:re_1" || c.Kind != referral.ClaimRefund || c.Amount != 700 || c.RefundStatus != status || c.StripePaymentIntent != "pi_1" || c.Source != referral.SourceStripe {
					t.Fatalf("%s: %+v", typ, ev.Claim)
				}
			}
			for typ, status := range map[string]string{
				"charge.dispute.created": "needs_response", "charge.dispute.funds_withdrawn": "under_review",
				"charge.dispute.closed": "lost", "charge.dispute.funds_reinstated": "won", "charge.dispute.updated": "prevented",
			} {
				dp, err := v.Dispute("dp_1", sale, status)
				ev = parseFixture(t, v, typ, dp, err)
				want := map[string]string{"needs_response": "open", "under_review": "open", "lost": "lost", "won": "won", "prevented": "won"}[status]
				if c := ev.Claim; c == nil || c.ID != "dispute:dp_1" || c.DisputeStatus != want || c.Amount != 2500 || c.StripeCharge != "ch_1" || c.StripePaymentIntent != "pi_1" {
					t.Fatalf("%s: %+v", typ, ev.Claim)
				}
			}
			cus, err := v.Customer("cus_1", "u1")
			if ev := parseFixture(t, v, "customer.updated", cus, err); ev.CustomerID != "cus_1" || ev.UserID != "u1" {
				t.Fatalf("customer: %+v", ev)
			}
		})
	}
}
