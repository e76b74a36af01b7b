package httpapi_test

import (
	"encoding/json"
	"fmt"
	"net/http"
	"testing"
	"time"

	"github.com/stripe/stripe-go/v76"
	"github.com/stripe/stripe-go/v76/webhook"

	"github.com/refhub/referral-service/internal/testutil"
	"github.com/refhub/referral-service/pkg/referralapi"
)

// A recent API version (newer than the 2023-10-16 that stripe-go v76 pins)
// and the pinned one; events of both must be processed.
const (
	newAPIVersion = "2025-09-30.clover"
	oldAPIVersion = "2023-10-16"
)

func stripeEvent(t *testing.T, id, typ, apiVersion string, object map[string]any) []byte {
	t.Helper()
	b, err := json.Marshal(map[string]any{
		"id": id, "object": "event", "type": typ, "api_version": apiVersion, "created": time.Now().Unix(),
		"livemode": false, "pending_webhooks": 1,
		"request": map[string]any{"id": nil, "idempotency_key": nil},
		"data":    map[string]any{"object": object},
	})
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

func invoicePaid(id, customer, userID string, amount int64, paymentIntent string) map[string]any {
	inv := map[string]any{
		"id": id, "object": "invoice", "customer": customer, "amount_paid": amount, "currency": "usd",
		"status": "paid", "metadata": map[string]any{},
		// From 2025-03-31 on the subscription's metadata sits under parent.
		"parent": map[string]any{"type": "subscription_details", "subscription_details": map[string]any{"metadata": map[string]any{"user_id": userID}, "subscription": "sub_1"}},
	}
	if paymentIntent != "" {
		inv["payment_intent"] = paymentIntent
	}
	return inv
}

func TestStripeSignatureChecks(t *testing.T) {
	eachBackend(t, serverOpts{}, func(t *testing.T, s *server) {
		getCode(t, s, "u1")
		attribute(t, s, "u2", getCode(t, s, "u1").Code, nil)
		payload := stripeEvent(t, "evt_sig", "invoice.paid", newAPIVersion, invoicePaid("in_1", "cus_1", "u2", 5000, ""))
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
		s.deliver(t, stripeEvent(t, "evt_bad", "invoice.paid", newAPIVersion, map[string]any{"id": "in_x", "amount_paid": "lots"})).problem(t, http.StatusBadRequest, "invalid_payload")
	})
}

func TestStripeEventsQualify(t *testing.T) {
	eachBackend(t, serverOpts{}, func(t *testing.T, s *server) {
		code := getCode(t, s, "ref").Code
		for _, u := range []string{"a", "b", "c", "d", "e", "f"} {
			attribute(t, s, u, code, nil)
		}
		// stripe-go's own pinned version is read like any other.
		if stripe.APIVersion != oldAPIVersion {
			t.Fatalf("stripe-go pins %s; update oldAPIVersion", stripe.APIVersion)
		}

		// $0 invoice: no qualification; then the real invoice qualifies (newer API version).
		if got := outcome(t, s.deliver(t, stripeEvent(t, "evt_a0", "invoice.paid", newAPIVersion, invoicePaid("in_a0", "cus_a", "a", 0, "")))); got != "processed" {
			t.Fatalf("$0 invoice outcome %s", got)
		}
		if got := balance(t, s, "ref", "usd"); got != 0 {
			t.Fatalf("$0 invoice credited %d", got)
		}
		outcome(t, s.deliver(t, stripeEvent(t, "evt_a1", "invoice.paid", newAPIVersion, invoicePaid("in_a1", "cus_a", "a", 2000, ""))))
		if got := balance(t, s, "ref", "usd"); got != 400 {
			t.Fatalf("after invoice: %d, want 400", got)
		}

		// Checkout: unpaid session does nothing; client_reference_id identifies the user.
		session := func(id, status string, amount int64) map[string]any {
			return map[string]any{"id": id, "object": "checkout.session", "client_reference_id": "b", "customer": "cus_b",
				"payment_status": status, "amount_total": amount, "currency": "USD", "payment_intent": "pi_b", "mode": "payment", "metadata": map[string]any{}}
		}
		outcome(t, s.deliver(t, stripeEvent(t, "evt_b0", "checkout.session.completed", oldAPIVersion, session("cs_b0", "unpaid", 3000))))
		if got := balance(t, s, "ref", "usd"); got != 400 {
			t.Fatalf("unpaid session credited: %d", got)
		}
		outcome(t, s.deliver(t, stripeEvent(t, "evt_b1", "checkout.session.completed", oldAPIVersion, session("cs_b1", "paid", 3000))))
		if got := balance(t, s, "ref", "usd"); got != 1000 {
			t.Fatalf("after paid session: %d, want 1000", got)
		}
		// The same payment seen as payment_intent.succeeded and invoice.paid rewards once.
		pi := map[string]any{"id": "pi_b", "object": "payment_intent", "customer": "cus_b", "amount_received": 3000, "currency": "usd", "metadata": map[string]any{}, "latest_charge": "ch_b"}
		if got := outcome(t, s.deliver(t, stripeEvent(t, "evt_b2", "payment_intent.succeeded", oldAPIVersion, pi))); got != "processed" {
			t.Fatalf("outcome %s", got)
		}
		if got := balance(t, s, "ref", "usd"); got != 1000 {
			t.Fatalf("same payment, other event type: %d, want 1000", got)
		}

		// payment_intent.succeeded naming only a customer learned from an earlier event.
		outcome(t, s.deliver(t, stripeEvent(t, "evt_c0", "customer.created", newAPIVersion, map[string]any{"id": "cus_c", "object": "customer", "metadata": map[string]any{"user_id": "c"}})))
		piC := map[string]any{"id": "pi_c", "object": "payment_intent", "customer": "cus_c", "amount_received": 1001, "currency": "eur", "metadata": map[string]any{}}
		outcome(t, s.deliver(t, stripeEvent(t, "evt_c1", "payment_intent.succeeded", newAPIVersion, piC)))
		if got := balance(t, s, "ref", "eur"); got != 200 {
			t.Fatalf("customer-resolved payment: %d, want 200", got)
		}

		// metadata.user_id on the payment intent, expanded customer object.
		piD := map[string]any{"id": "pi_d", "object": "payment_intent", "customer": map[string]any{"id": "cus_d", "object": "customer"}, "amount_received": 500, "currency": "usd", "metadata": map[string]any{"user_id": "d"}}
		outcome(t, s.deliver(t, stripeEvent(t, "evt_d", "payment_intent.succeeded", newAPIVersion, piD)))
		if got := balance(t, s, "ref", "usd"); got != 1100 {
			t.Fatalf("metadata payment: %d, want 1100", got)
		}

		// Older invoices carry the user in subscription_details; learned customers resolve later invoices too.
		oldInv := map[string]any{"id": "in_e", "object": "invoice", "customer": "cus_e", "amount_paid": 10000, "currency": "usd",
			"payment_intent": "pi_e", "charge": "ch_e", "subscription_details": map[string]any{"metadata": map[string]any{"user_id": "e"}}}
		outcome(t, s.deliver(t, stripeEvent(t, "evt_e", "invoice.paid", oldAPIVersion, oldInv)))
		if got := balance(t, s, "ref", "usd"); got != 3100 {
			t.Fatalf("old-version invoice: %d, want 3100", got)
		}

		// Unknown event types are acknowledged and ignored; nothing is recorded for them.
		if got := outcome(t, s.deliver(t, stripeEvent(t, "evt_x", "charge.succeeded", newAPIVersion, map[string]any{"id": "ch_x", "amount": 999999}))); got != "ignored" {
			t.Fatalf("unknown type outcome %s", got)
		}
		// A payment by a user nobody referred is processed without effect.
		piF := map[string]any{"id": "pi_zz", "object": "payment_intent", "customer": "cus_zz", "amount_received": 500, "currency": "usd", "metadata": map[string]any{"user_id": "stranger"}}
		outcome(t, s.deliver(t, stripeEvent(t, "evt_zz", "payment_intent.succeeded", newAPIVersion, piF)))

		// Redelivery of an event is a duplicate and changes nothing.
		if got := outcome(t, s.deliver(t, stripeEvent(t, "evt_a1", "invoice.paid", newAPIVersion, invoicePaid("in_a1", "cus_a", "a", 2000, "")))); got != "duplicate" {
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
		payload := stripeEvent(t, "evt_storm", "invoice.paid", newAPIVersion, invoicePaid("in_storm", "cus_storm", "payer", 10000, ""))
		// Other events for the same payment race the storm too.
		pi := stripeEvent(t, "evt_storm_pi", "payment_intent.succeeded", newAPIVersion, map[string]any{
			"id": "pi_storm", "customer": "cus_storm", "amount_received": 10000, "currency": "usd", "invoice": "in_storm", "metadata": map[string]any{"user_id": "payer"}})
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
		payload := stripeEvent(t, "evt_down", "invoice.paid", newAPIVersion, invoicePaid("in_down", "cus", "u", 100, ""))
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
		payload := stripeEvent(t, "evt", "invoice.paid", newAPIVersion, invoicePaid("in", "cus", "u", 100, ""))
		s.deliver(t, payload).problem(t, http.StatusServiceUnavailable, "stripe_not_configured")
	})
}

func TestStripeOversizeBody(t *testing.T) {
	eachBackend(t, serverOpts{}, func(t *testing.T, s *server) {
		big := fmt.Sprintf(`{"id":"evt_big","type":"invoice.paid","pad":"%0600000d"}`, 0)
		s.deliver(t, []byte(big)).problem(t, http.StatusRequestEntityTooLarge, "payload_too_large")
	})
}
