package httpapi_test

import (
	"encoding/json"
	"fmt"
	"net/http"
	"testing"
	"time"

	"github.com/stripe/stripe-go/v76"
	"github.com/stripe/stripe-go/v76/webhook"

	"github.com/refhub/referral-service/internal/teststripe"
	"github.com/refhub/referral-service/internal/testutil"
	"github.com/refhub/referral-service/pkg/referralapi"
)

// event wraps a Stripe object built from stripe-mock's fixtures (of v's
// API version) in an event of that version.
func event(t testing.TB, v teststripe.Version, id, typ string, obj teststripe.Object, err error) []byte {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
	b, err := v.Event(id, typ, obj)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// rawEvent is an event around a hand-made object, for malformed input only.
func rawEvent(t testing.TB, id, typ string, object map[string]any) []byte {
	t.Helper()
	b, err := json.Marshal(map[string]any{"id": id, "object": "event", "type": typ, "api_version": teststripe.VCurrent.API,
		"created": time.Now().Unix(), "data": map[string]any{"object": object}})
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// deliver signs payload like Stripe does and posts it.
func (s *server) deliver(t testing.TB, payload []byte) response {
	t.Helper()
	signed := webhook.GenerateTestSignedPayload(&webhook.UnsignedPayload{Payload: payload, Secret: testWebhookSecret, Timestamp: time.Now()})
	return s.do(t, request{method: "POST", path: "/v1/webhooks/stripe", body: string(payload), header: map[string]string{"Stripe-Signature": signed.Header}})
}

func outcome(t testing.TB, res response) string {
	t.Helper()
	if res.Status != http.StatusOK {
		t.Fatalf("webhook: %d %s", res.Status, res.Body)
	}
	var wr referralapi.WebhookResult
	res.decode(t, &wr)
	return wr.Outcome
}

func balance(t *testing.T, s *server, user, currency string) int64 {
	t.Helper()
	var bal referralapi.Balances
	s.do(t, request{method: "GET", path: "/v1/me/balance", token: s.token(user)}).decode(t, &bal)
	for _, b := range bal.Balances {
		if b.Currency == currency {
			return b.Amount
		}
	}
	return 0
}

// invoiceEvent is a paid invoice of amount from customer, the user in the
// subscription's metadata, in the current API's shape.
func invoiceEvent(t testing.TB, id, invoice, customer, user string, amount int64) []byte {
	t.Helper()
	v := teststripe.VCurrent
	inv, err := v.Invoice(teststripe.Sale{UserID: user, Customer: customer, Amount: amount, Currency: "usd", Invoice: invoice, Subscription: "sub_" + invoice})
	return event(t, v, id, "invoice.paid", inv, err)
}

func TestStripeSignatureChecks(t *testing.T) {
	eachBackend(t, serverOpts{}, func(t *testing.T, s *server) {
		getCode(t, s, "u1")
		attribute(t, s, "u2", getCode(t, s, "u1").Code, nil)
		payload := invoiceEvent(t, "evt_sig", "in_1", "cus_1", "u2", 5000)
		post := func(header string) response {
			h := map[string]string{}
			if header != "" {
				h["Stripe-Signature"] = header
			}
			return s.do(t, request{method: "POST", path: "/v1/webhooks/stripe", body: string(payload), header: h})
		}
		wrongSecret := webhook.GenerateTestSignedPayload(&webhook.UnsignedPayload{Payload: payload, Secret: "whsec_other", Timestamp: time.Now()})
		stale := webhook.GenerateTestSignedPayload(&webhook.UnsignedPayload{Payload: payload, Secret: testWebhookSecret, Timestamp: time.Now().Add(-time.Hour)})
		tampered := webhook.GenerateTestSignedPayload(&webhook.UnsignedPayload{Payload: append([]byte(" "), payload...), Secret: testWebhookSecret, Timestamp: time.Now()})
		for name, header := range map[string]string{
			"missing": "", "garbage": "nonsense", "wrong secret": wrongSecret.Header,
			"stale timestamp": stale.Header, "other body": tampered.Header,
		} {
			t.Run(name, func(t *testing.T) {
				post(header).problem(t, http.StatusBadRequest, "invalid_signature")
			})
		}
		if got := balance(t, s, "u1", "usd"); got != 0 {
			t.Fatalf("a rejected delivery changed the balance to %d", got)
		}
		// The same body correctly signed takes effect.
		if got := outcome(t, s.deliver(t, payload)); got != "processed" {
			t.Fatalf("outcome = %s", got)
		}
		if got := balance(t, s, "u1", "usd"); got != 1000 {
			t.Fatalf("balance = %d, want 1000", got)
		}
		// A signed body that is not an event is a 400, not a 5xx.
		s.deliver(t, []byte(`{"hello":"world"}`)).problem(t, http.StatusBadRequest, "invalid_payload")
		s.deliver(t, []byte(`not json`)).problem(t, http.StatusBadRequest, "invalid_payload")
		s.deliver(t, rawEvent(t, "evt_bad", "invoice.paid", map[string]any{"id": "in_x", "amount_paid": "lots"})).problem(t, http.StatusBadRequest, "invalid_payload")
	})
}

func TestStripeEventsQualify(t *testing.T) {
	eachBackend(t, serverOpts{}, func(t *testing.T, s *server) {
		code := getCode(t, s, "ref").Code
		for _, u := range []string{"a", "b", "c", "d", "e", "f"} {
			attribute(t, s, u, code, nil)
		}
		// stripe-go's own pinned version is read like any other.
		if stripe.APIVersion != teststripe.V2023.API {
			t.Fatalf("stripe-go pins %s; update teststripe.V2023", stripe.APIVersion)
		}
		cur, old := teststripe.VCurrent, teststripe.V2023

		// $0 invoice: no qualification; then the real invoice qualifies (current API).
		if got := outcome(t, s.deliver(t, invoiceEvent(t, "evt_a0", "in_a0", "cus_a", "a", 0))); got != "processed" {
			t.Fatalf("$0 invoice outcome %s", got)
		}
		if got := balance(t, s, "ref", "usd"); got != 0 {
			t.Fatalf("$0 invoice credited %d", got)
		}
		outcome(t, s.deliver(t, invoiceEvent(t, "evt_a1", "in_a1", "cus_a", "a", 2000)))
		if got := balance(t, s, "ref", "usd"); got != 400 {
			t.Fatalf("after invoice: %d, want 400", got)
		}

		// Checkout: unpaid session does nothing; client_reference_id identifies the user.
		saleB := teststripe.Sale{UserID: "b", Customer: "cus_b", Amount: 3000, Currency: "USD", PaymentIntent: "pi_b", Charge: "ch_b"}
		unpaid, err := old.CheckoutSession("cs_b0", "payment", saleB)
		unpaid.Set("payment_status", "unpaid").Set("status", "open")
		outcome(t, s.deliver(t, event(t, old, "evt_b0", "checkout.session.completed", unpaid, err)))
		if got := balance(t, s, "ref", "usd"); got != 400 {
			t.Fatalf("unpaid session credited: %d", got)
		}
		paid, err := old.CheckoutSession("cs_b1", "payment", saleB)
		outcome(t, s.deliver(t, event(t, old, "evt_b1", "checkout.session.completed", paid, err)))
		if got := balance(t, s, "ref", "usd"); got != 1000 {
			t.Fatalf("after paid session: %d, want 1000", got)
		}
		// The same payment seen as payment_intent.succeeded rewards once.
		saleB.UserID, saleB.Currency = "", "usd"
		pi, err := old.PaymentIntent(saleB)
		if got := outcome(t, s.deliver(t, event(t, old, "evt_b2", "payment_intent.succeeded", pi, err))); got != "processed" {
			t.Fatalf("outcome %s", got)
		}
		if got := balance(t, s, "ref", "usd"); got != 1000 {
			t.Fatalf("same payment, other event type: %d, want 1000", got)
		}

		// payment_intent.succeeded naming only a customer learned from an earlier event.
		cus, err := cur.Customer("cus_c", "c")
		outcome(t, s.deliver(t, event(t, cur, "evt_c0", "customer.created", cus, err)))
		piC, err := cur.PaymentIntent(teststripe.Sale{Customer: "cus_c", Amount: 1001, Currency: "eur", PaymentIntent: "pi_c", Charge: "ch_c"})
		outcome(t, s.deliver(t, event(t, cur, "evt_c1", "payment_intent.succeeded", piC, err)))
		if got := balance(t, s, "ref", "eur"); got != 200 {
			t.Fatalf("customer-resolved payment: %d, want 200", got)
		}

		// metadata.user_id on the payment intent, expanded customer object.
		piD, err := cur.PaymentIntent(teststripe.Sale{UserID: "d", Amount: 500, Currency: "usd", PaymentIntent: "pi_d", Charge: "ch_d"})
		piD.Set("customer", map[string]any{"id": "cus_d", "object": "customer"})
		outcome(t, s.deliver(t, event(t, cur, "evt_d", "payment_intent.succeeded", piD, err)))
		if got := balance(t, s, "ref", "usd"); got != 1100 {
			t.Fatalf("metadata payment: %d, want 1100", got)
		}

		// 2023 invoices carry the user in subscription_details.
		oldInv, err := old.Invoice(teststripe.Sale{UserID: "e", Customer: "cus_e", Amount: 10000, Currency: "usd", Invoice: "in_e", PaymentIntent: "pi_e", Charge: "ch_e", Subscription: "sub_e"})
		outcome(t, s.deliver(t, event(t, old, "evt_e", "invoice.paid", oldInv, err)))
		if got := balance(t, s, "ref", "usd"); got != 3100 {
			t.Fatalf("old-version invoice: %d, want 3100", got)
		}

		// Unknown event types are acknowledged and ignored; nothing is recorded for them.
		ch, err := cur.Charge(teststripe.Sale{Amount: 999999, Currency: "usd", Charge: "ch_x"}, 0)
		if got := outcome(t, s.deliver(t, event(t, cur, "evt_x", "charge.succeeded", ch, err))); got != "ignored" {
			t.Fatalf("unknown type outcome %s", got)
		}
		// A payment by a user nobody referred is processed without effect.
		piF, err := cur.PaymentIntent(teststripe.Sale{UserID: "stranger", Customer: "cus_zz", Amount: 500, Currency: "usd", PaymentIntent: "pi_zz"})
		outcome(t, s.deliver(t, event(t, cur, "evt_zz", "payment_intent.succeeded", piF, err)))

		// Redelivery of an event is a duplicate and changes nothing.
		if got := outcome(t, s.deliver(t, invoiceEvent(t, "evt_a1", "in_a1", "cus_a", "a", 2000))); got != "duplicate" {
			t.Fatalf("redelivery outcome %s", got)
		}
		if got := balance(t, s, "ref", "usd"); got != 3100 {
			t.Fatalf("after redelivery: %d, want 3100", got)
		}
		var stats referralapi.ReferralStats
		s.do(t, request{method: "GET", path: "/v1/me/referrals/stats", token: s.token("ref")}).decode(t, &stats)
		if stats.ByStatus.Qualified.Count != 5 || stats.ByStatus.Pending.Count != 1 ||
			stats.ByStatus.Qualified.RewardAmount["usd"] != 3100 || stats.ByStatus.Qualified.RewardAmount["eur"] != 200 {
			t.Fatalf("stats = %+v", stats.ByStatus)
		}
	})
}

func TestStripeConcurrentDeliveries(t *testing.T) {
	eachBackend(t, serverOpts{}, func(t *testing.T, s *server) {
		code := getCode(t, s, "ref").Code
		attribute(t, s, "payer", code, nil)
		payload := invoiceEvent(t, "evt_storm", "in_storm", "cus_storm", "payer", 10000)
		// Another event of the same payment races the storm too: a 2023
		// payment intent that names the invoice.
		old := teststripe.V2023
		piObj, err := old.PaymentIntent(teststripe.Sale{UserID: "payer", Customer: "cus_storm", Amount: 10000, Currency: "usd", Invoice: "in_storm", PaymentIntent: "pi_storm"})
		pi := event(t, old, "evt_storm_pi", "payment_intent.succeeded", piObj, err)
		const n = 50
		outcomes := make([]string, n+1)
		testutil.Concurrently(n+1, func(i int) {
			body := payload
			if i == n {
				body = pi
			}
			res := s.deliver(t, body)
			if res.Status != http.StatusOK {
				t.Errorf("delivery %d: %d %s", i, res.Status, res.Body)
				return
			}
			var wr referralapi.WebhookResult
			res.decode(t, &wr)
			outcomes[i] = wr.Outcome
		})
		processed := 0
		for _, o := range outcomes[:n] {
			if o == "processed" {
				processed++
			}
		}
		if processed != 1 {
			t.Fatalf("%d of %d deliveries of one event were processed, want 1: %v", processed, n, outcomes)
		}
		if got := balance(t, s, "ref", "usd"); got != 2000 {
			t.Fatalf("balance = %d, want 2000", got)
		}
	})
}

func TestStripeStorageFailureAsksForRetry(t *testing.T) {
	eachBackend(t, serverOpts{}, func(t *testing.T, s *server) {
		payload := invoiceEvent(t, "evt_down", "in_down", "cus", "u", 100)
		if err := s.store.Close(); err != nil {
			t.Fatal(err)
		}
		res := s.deliver(t, payload)
		if res.Status < 500 {
			t.Fatalf("storage failure answered %d; Stripe would not retry", res.Status)
		}
		res.problem(t, http.StatusInternalServerError, "internal_error")
	})
}

func TestStripeNotConfigured(t *testing.T) {
	eachBackend(t, serverOpts{noWebhookSecret: true}, func(t *testing.T, s *server) {
		s.deliver(t, invoiceEvent(t, "evt", "in", "cus", "u", 100)).problem(t, http.StatusServiceUnavailable, "stripe_not_configured")
	})
}

func TestStripeOversizeBody(t *testing.T) {
	eachBackend(t, serverOpts{}, func(t *testing.T, s *server) {
		big := fmt.Sprintf(`{"id":"evt_big","type":"invoice.paid","pad":"%0600000d"}`, 0)
		s.deliver(t, []byte(big)).problem(t, http.StatusRequestEntityTooLarge, "payload_too_large")
	})
}
