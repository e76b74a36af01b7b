package httpapi_test

import (
	"net/http"
	"testing"

	"github.com/refhub/referral-service/internal/teststripe"
	"github.com/refhub/referral-service/pkg/referralapi"
)

func reportRefund(t *testing.T, s *server, refundID, paymentID string, amount int64) response {
	t.Helper()
	body := jsonBody(t, map[string]any{"refundId": refundID, "paymentId": paymentID, "amount": amount})
	return s.do(t, request{method: "POST", path: "/v1/refunds", token: s.token("backend", "service"), body: body})
}

func TestRefundEndpoint(t *testing.T) {
	eachBackend(t, serverOpts{}, func(t *testing.T, s *server) {
		attribute(t, s, "u2", getCode(t, s, "u1").Code, nil)
		pay(t, s, "pay_1", "u2", 10000, "usd")

		var rr referralapi.RefundResult
		res := reportRefund(t, s, "re_1", "pay_1", 2500)
		res.decode(t, &rr)
		if res.Status != http.StatusOK || rr.Duplicate || rr.Referral == nil || *rr.Referral.RewardAmount != 1500 || rr.Referral.Status != "QUALIFIED" {
			t.Fatalf("partial refund: %d %s", res.Status, res.Body)
		}
		reportRefund(t, s, "re_1", "pay_1", 2500).decode(t, &rr)
		if !rr.Duplicate || *rr.Referral.RewardAmount != 1500 {
			t.Fatalf("repeat: %+v", rr)
		}
		reportRefund(t, s, "re_1", "pay_1", 1).problem(t, http.StatusConflict, "refund_conflict")
		reportRefund(t, s, "re_2", "pay_1", 7500).decode(t, &rr)
		if rr.Referral.Status != "CANCELLED" || *rr.Referral.RewardAmount != 0 {
			t.Fatalf("full refund: %+v", rr.Referral)
		}
		if got := balance(t, s, "u1", "usd"); got != 0 {
			t.Fatalf("balance after full refund = %d", got)
		}
		var ledger referralapi.LedgerPage
		s.do(t, request{method: "GET", path: "/v1/me/balance/transactions", token: s.token("u1")}).decode(t, &ledger)
		if len(ledger.Items) != 3 || ledger.Items[0].Type != "reward_reversal" || ledger.Items[0].Amount != -1500 || ledger.Items[1].Amount != -500 || ledger.Items[2].Amount != 2000 {
			t.Fatalf("ledger = %+v", ledger.Items)
		}
		var stats referralapi.ReferralStats
		s.do(t, request{method: "GET", path: "/v1/me/referrals/stats", token: s.token("u1")}).decode(t, &stats)
		if stats.ByStatus.Cancelled.Count != 1 || stats.ByStatus.Qualified.Count != 0 {
			t.Fatalf("stats = %+v", stats.ByStatus)
		}

		// A refund for a payment not reported yet is kept for it.
		reportRefund(t, s, "re_early", "pay_later", 5000).decode(t, &rr)
		if rr.Referral != nil {
			t.Fatalf("early refund touched %+v", rr.Referral)
		}
		attribute(t, s, "u3", getCode(t, s, "u1").Code, nil)
		var pr referralapi.PaymentResult
		pay(t, s, "pay_later", "u3", 10000, "usd").decode(t, &pr)
		if !pr.Qualified || *pr.Referral.RewardAmount != 1000 {
			t.Fatalf("payment after its refund: %+v", pr.Referral)
		}

		for _, bad := range []string{
			`{"refundId":"r","paymentId":"p"}`,
			`{"refundId":"r","paymentId":"p","amount":0}`,
			`{"refundId":"r","paymentId":"p","amount":-1}`,
			`{"refundId":"","paymentId":"p","amount":1}`,
			`{"refundId":"r","paymentId":"p","amount":1,"referralId":"x"}`,
		} {
			s.do(t, request{method: "POST", path: "/v1/refunds", token: s.token("backend", "service"), body: bad}).problem(t, http.StatusBadRequest, "invalid_request")
		}
		s.do(t, request{method: "POST", path: "/v1/refunds", token: s.token("u1"), body: `{"refundId":"r","paymentId":"p","amount":1}`}).problem(t, http.StatusForbidden, "forbidden")
	})
}

func TestStripeRefundAndDisputeEvents(t *testing.T) {
	eachBackend(t, serverOpts{}, func(t *testing.T, s *server) {
		v := teststripe.VCurrent
		code := getCode(t, s, "ref").Code
		attribute(t, s, "a", code, nil)
		attribute(t, s, "b", code, nil)
		saleA := teststripe.Sale{UserID: "a", Amount: 10000, Currency: "usd", PaymentIntent: "pi_a", Charge: "ch_a"}
		saleB := teststripe.Sale{UserID: "b", Amount: 10000, Currency: "usd", PaymentIntent: "pi_b", Charge: "ch_b"}
		pa, err := v.PaymentIntent(saleA)
		outcome(t, s.deliver(t, event(t, v, "evt_pa", "payment_intent.succeeded", pa, err)))
		pb, err := v.PaymentIntent(saleB)
		outcome(t, s.deliver(t, event(t, v, "evt_pb", "payment_intent.succeeded", pb, err)))
		if got := balance(t, s, "ref", "usd"); got != 4000 {
			t.Fatalf("balance = %d", got)
		}
		charge := func(id string, total int64) []byte {
			ch, err := v.Charge(saleA, total)
			return event(t, v, id, "charge.refunded", ch, err)
		}
		// Stripe's cumulative totals, the later one delivered first.
		outcome(t, s.deliver(t, charge("evt_r2", 5000)))
		outcome(t, s.deliver(t, charge("evt_r1", 2000)))
		if got := outcome(t, s.deliver(t, charge("evt_r2", 5000))); got != "duplicate" {
			t.Fatalf("redelivery: %s", got)
		}
		if got := balance(t, s, "ref", "usd"); got != 1000+2000 {
			t.Fatalf("after refunds: %d, want 3000", got)
		}
		dp := func(id, typ, status string) []byte {
			d, err := v.Dispute("dp_b", saleB, status)
			return event(t, v, id, typ, d, err)
		}
		outcome(t, s.deliver(t, dp("evt_d1", "charge.dispute.created", "needs_response")))
		if got := balance(t, s, "ref", "usd"); got != 1000 {
			t.Fatalf("open dispute: %d, want 1000", got)
		}
		outcome(t, s.deliver(t, dp("evt_d2", "charge.dispute.closed", "won")))
		if got := balance(t, s, "ref", "usd"); got != 3000 {
			t.Fatalf("won dispute: %d, want 3000", got)
		}
		s.deliver(t, rawEvent(t, "evt_bad", "charge.refunded", map[string]any{"id": "", "amount_refunded": 5})).problem(t, http.StatusBadRequest, "invalid_payload")
	})
}
