package httpapi_test

import (
	"net/http"
	"strings"
	"testing"

	"github.com/refhub/referral-service/pkg/referralapi"
)

func TestPayoutEndpoints(t *testing.T) {
	eachBackend(t, serverOpts{stripeCredits: true}, func(t *testing.T, s *server) {
		admin := s.token("ops", "admin")
		code := getCode(t, s, "r1").Code
		attribute(t, s, "f1", code, nil)
		pay(t, s, "p1", "f1", 10000, "usd")
		create := func(key, body string) response {
			req := request{method: "POST", path: "/v1/admin/payouts", token: admin, body: body}
			if key != "" {
				req.header = map[string]string{"Idempotency-Key": key}
			}
			return s.do(t, req)
		}
		var p referralapi.Payout
		res := create("k-1", `{"userId":"r1","currency":"usd","method":"manual","reference":"wire-7"}`)
		res.decode(t, &p)
		if res.Status != http.StatusCreated || p.Status != "paid" || p.Amount != 2000 || p.Reference != "wire-7" || p.PaidAt == nil {
			t.Fatalf("manual payout: %d %s", res.Status, res.Body)
		}
		var again referralapi.Payout
		res = create("k-1", `{"userId":"r1","currency":"usd","method":"manual","reference":"wire-7"}`)
		res.decode(t, &again)
		if res.Status != http.StatusOK || again.ID != p.ID {
			t.Fatalf("repeat: %d %s", res.Status, res.Body)
		}
		create("k-1", `{"userId":"r1","currency":"eur","method":"manual","reference":"wire-7"}`).problem(t, http.StatusConflict, "idempotency_conflict")
		create("k-2", `{"userId":"r1","currency":"usd","method":"manual","reference":"wire-8"}`).problem(t, http.StatusUnprocessableEntity, "nothing_to_pay")

		var ref referralapi.ReferralPage
		s.do(t, request{method: "GET", path: "/v1/me/referrals", token: s.token("r1")}).decode(t, &ref)
		if ref.Items[0].Status != "REWARDED" || ref.Items[0].RewardPaidAt == nil {
			t.Fatalf("referral after payout: %+v", ref.Items[0])
		}

		// Stripe credit through stripe-mock.
		attribute(t, s, "f2", code, nil)
		pay(t, s, "p2", "f2", 5000, "usd")
		create("", `{"userId":"r1","currency":"usd","method":"stripe_credit"}`).problem(t, http.StatusUnprocessableEntity, "stripe_customer_unknown")
		res = create("k-3", `{"userId":"r1","currency":"usd","method":"stripe_credit","stripeCustomerId":"cus_r1"}`)
		res.decode(t, &p)
		if res.Status != http.StatusCreated || p.Status != "paid" || p.Amount != 1000 || p.StripeTransactionID == nil || !strings.HasPrefix(*p.StripeTransactionID, "cbtxn_") {
			t.Fatalf("stripe credit payout: %d %s", res.Status, res.Body)
		}

		var page referralapi.PayoutPage
		s.do(t, request{method: "GET", path: "/v1/admin/payouts?userId=r1&status=paid&limit=1", token: admin}).decode(t, &page)
		if len(page.Items) != 1 || page.Items[0].ID != p.ID || page.NextCursor == nil {
			t.Fatalf("payout list: %+v", page)
		}
		s.do(t, request{method: "GET", path: "/v1/admin/payouts?limit=1&cursor=" + *page.NextCursor, token: admin}).decode(t, &page)
		if len(page.Items) != 1 || page.Items[0].Method != "manual" {
			t.Fatalf("second page: %+v", page)
		}
		var one referralapi.Payout
		s.do(t, request{method: "GET", path: "/v1/admin/payouts/" + p.ID, token: admin}).decode(t, &one)
		if one.ID != p.ID || one.Status != "paid" {
			t.Fatalf("get: %+v", one)
		}
		s.do(t, request{method: "GET", path: "/v1/admin/payouts/po_01KBYJ0R0000000000000000A1", token: admin}).problem(t, http.StatusNotFound, "payout_not_found")
		s.do(t, request{method: "GET", path: "/v1/admin/payouts?status=done", token: admin}).problem(t, http.StatusBadRequest, "invalid_request")

		for _, bad := range []string{
			`{"userId":"r1","currency":"usd","method":"paypal"}`,
			`{"userId":"r1","currency":"usd","method":"manual"}`,
			`{"userId":"r1","currency":"dollars","method":"manual","reference":"x"}`,
			`{"currency":"usd","method":"manual","reference":"x"}`,
			`{"userId":"r1","currency":"usd","method":"manual","reference":"x","amount":100}`,
		} {
			create("", bad).problem(t, http.StatusBadRequest, "invalid_request")
		}
		create("", `{"userId":"r1","currency":"usd","method":"manual","reference":"x"}`)
		s.do(t, request{method: "POST", path: "/v1/admin/payouts", token: s.token("r1"), body: `{"userId":"r1","currency":"usd","method":"manual","reference":"x"}`}).problem(t, http.StatusForbidden, "forbidden")
	})
}

func TestStripeCreditNeedsAKey(t *testing.T) {
	eachBackend(t, serverOpts{}, func(t *testing.T, s *server) {
		attribute(t, s, "f", getCode(t, s, "r").Code, nil)
		pay(t, s, "p", "f", 10000, "usd")
		s.do(t, request{method: "POST", path: "/v1/admin/payouts", token: s.token("ops", "admin"),
			body: `{"userId":"r","currency":"usd","method":"stripe_credit","stripeCustomerId":"cus_r"}`}).problem(t, http.StatusServiceUnavailable, "stripe_not_configured")
	})
}
