package httpapi_test

import (
	"net/http"
	"testing"

	"github.com/refhub/referral-service/pkg/referralapi"
)

func TestAdminReferrals(t *testing.T) {
	eachBackend(t, serverOpts{}, func(t *testing.T, s *server) {
		admin := s.token("ops", "admin")
		c1, c2 := getCode(t, s, "r1").Code, getCode(t, s, "r2").Code
		var paid, pending, other referralapi.Referral
		attribute(t, s, "paid", c1, nil).decode(t, &paid)
		attribute(t, s, "pending", c1, nil).decode(t, &pending)
		attribute(t, s, "other", c2, nil).decode(t, &other)
		pay(t, s, "pay_paid", "paid", 10000, "usd")

		var page referralapi.AdminReferralPage
		s.do(t, request{method: "GET", path: "/v1/admin/referrals", token: admin}).decode(t, &page)
		if len(page.Items) != 3 || page.Items[0].ID != other.ID {
			t.Fatalf("all referrals = %+v", page.Items)
		}
		for query, want := range map[string]int{
			"referrerId=r1": 2, "status=QUALIFIED": 1, "referredUserId=other": 1,
			"code=" + c2: 1, "referrerId=r1&status=PENDING": 1, "referrerId=nobody": 0,
		} {
			s.do(t, request{method: "GET", path: "/v1/admin/referrals?" + query, token: admin}).decode(t, &page)
			if len(page.Items) != want {
				t.Fatalf("%s: %d items, want %d", query, len(page.Items), want)
			}
		}
		s.do(t, request{method: "GET", path: "/v1/admin/referrals?status=nope", token: admin}).problem(t, http.StatusBadRequest, "invalid_request")

		var got referralapi.Referral
		s.do(t, request{method: "GET", path: "/v1/admin/referrals/" + paid.ID, token: admin}).decode(t, &got)
		if got.Status != "QUALIFIED" || *got.RewardAmount != 2000 {
			t.Fatalf("get = %+v", got)
		}
		s.do(t, request{method: "GET", path: "/v1/admin/referrals/ref_01KBYJ0R0000000000000000A1", token: admin}).problem(t, http.StatusNotFound, "referral_not_found")
		s.do(t, request{method: "GET", path: "/v1/admin/referrals/nonsense", token: admin}).problem(t, http.StatusNotFound, "referral_not_found")

		// Cancelling a qualified referral reverses its reward.
		cancel := func(id, body string) response {
			return s.do(t, request{method: "POST", path: "/v1/admin/referrals/" + id + "/cancel", token: admin, body: body})
		}
		cancel(paid.ID, `{"reason":"fraud: same card"}`).decode(t, &got)
		if got.Status != "CANCELLED" || *got.RewardAmount != 0 || got.CancelReason == nil || *got.CancelReason != "fraud: same card" {
			t.Fatalf("cancelled = %+v", got)
		}
		if b := balance(t, s, "r1", "usd"); b != 0 {
			t.Fatalf("balance after cancel = %d", b)
		}
		// Again: unchanged, no second reversal.
		cancel(paid.ID, `{"reason":"again"}`).decode(t, &got)
		if *got.CancelReason != "fraud: same card" || balance(t, s, "r1", "usd") != 0 {
			t.Fatalf("second cancel changed things: %+v", got)
		}
		// A cancelled pending referral never qualifies.
		cancel(pending.ID, `{"reason":"duplicate account"}`)
		var pr referralapi.PaymentResult
		pay(t, s, "pay_pending", "pending", 10000, "usd").decode(t, &pr)
		if pr.Qualified {
			t.Fatal("a cancelled referral qualified")
		}
		cancel(other.ID, `{}`).problem(t, http.StatusBadRequest, "invalid_request")
		cancel(other.ID, `{"reason":"   "}`).problem(t, http.StatusBadRequest, "invalid_request")
		cancel("ref_01KBYJ0R0000000000000000A1", `{"reason":"x"}`).problem(t, http.StatusNotFound, "referral_not_found")

		// The operator sees any user's balance and ledger; the ledger explains the balance.
		var bal referralapi.Balances
		s.do(t, request{method: "GET", path: "/v1/admin/users/r1/balance", token: admin}).decode(t, &bal)
		if len(bal.Balances) != 1 || bal.Balances[0].Amount != 0 {
			t.Fatalf("r1 balance = %+v", bal)
		}
		var ledger referralapi.LedgerPage
		s.do(t, request{method: "GET", path: "/v1/admin/users/r1/transactions", token: admin}).decode(t, &ledger)
		if len(ledger.Items) != 2 || ledger.Items[0].Amount != -2000 || ledger.Items[1].Amount != 2000 {
			t.Fatalf("r1 ledger = %+v", ledger.Items)
		}

		// Users and backends never reach operator endpoints.
		for _, tok := range []string{s.token("r1"), s.token("backend", "service")} {
			s.do(t, request{method: "GET", path: "/v1/admin/referrals", token: tok}).problem(t, http.StatusForbidden, "forbidden")
			s.do(t, request{method: "GET", path: "/v1/admin/users/r2/balance", token: tok}).problem(t, http.StatusForbidden, "forbidden")
			s.do(t, request{method: "POST", path: "/v1/admin/referrals/" + other.ID + "/cancel", token: tok, body: `{"reason":"x"}`}).problem(t, http.StatusForbidden, "forbidden")
		}
		s.do(t, request{method: "GET", path: "/v1/admin/referrals"}).problem(t, http.StatusUnauthorized, "unauthorized")
	})
}
