package httpapi_test

import (
	"fmt"
	"net/http"
	"testing"

	"github.com/refhub/referral-service/internal/testutil"
	"github.com/refhub/referral-service/pkg/referralapi"
)

// TestConcurrentFirstCodeCalls: many first calls at once, one code.
func TestConcurrentFirstCodeCalls(t *testing.T) {
	eachBackend(t, serverOpts{}, func(t *testing.T, s *server) {
		const n = 30
		codes := make([]string, n)
		tok := s.token("newbie")
		testutil.Concurrently(n, func(i int) {
			res := s.do(t, request{method: "GET", path: "/v1/me/referral-code", token: tok})
			if res.Status != http.StatusOK {
				t.Errorf("call %d: %d %s", i, res.Status, res.Body)
				return
			}
			var c referralapi.ReferralCode
			res.decode(t, &c)
			codes[i] = c.Code
		})
		for i := range codes {
			if codes[i] != codes[0] {
				t.Fatalf("concurrent first calls returned different codes: %v", codes)
			}
		}
	})
}

// TestConcurrentAttribution: racing attributions of one user with two codes
// yield exactly one referral and never a 5xx.
func TestConcurrentAttribution(t *testing.T) {
	eachBackend(t, serverOpts{}, func(t *testing.T, s *server) {
		codes := []string{getCode(t, s, "r1").Code, getCode(t, s, "r2").Code}
		const n = 30
		statuses := make([]int, n)
		testutil.Concurrently(n, func(i int) {
			statuses[i] = attribute(t, s, "contested", codes[i%2], nil).Status
		})
		count := map[int]int{}
		for _, st := range statuses {
			count[st]++
		}
		if count[http.StatusCreated] != 1 || count[http.StatusCreated]+count[http.StatusOK]+count[http.StatusConflict] != n {
			t.Fatalf("statuses = %v, want one 201 and only 200/409 otherwise", count)
		}
		total := int64(0)
		for _, u := range []string{"r1", "r2"} {
			var st referralapi.ReferralStats
			s.do(t, request{method: "GET", path: "/v1/me/referrals/stats", token: s.token(u)}).decode(t, &st)
			total += st.Total
		}
		if total != 1 {
			t.Fatalf("%d referrals exist for one user", total)
		}
	})
}

// TestConcurrentPaymentReports: the same and different payments reported at
// once credit the referrer exactly once.
func TestConcurrentPaymentReports(t *testing.T) {
	eachBackend(t, serverOpts{}, func(t *testing.T, s *server) {
		attribute(t, s, "buyer", getCode(t, s, "seller").Code, nil)
		const n = 30
		qualified := make([]bool, n)
		testutil.Concurrently(n, func(i int) {
			res := pay(t, s, fmt.Sprintf("pay-%d", i%3), "buyer", 10000, "usd")
			if res.Status != http.StatusOK {
				t.Errorf("report %d: %d %s", i, res.Status, res.Body)
				return
			}
			var pr referralapi.PaymentResult
			res.decode(t, &pr)
			qualified[i] = pr.Qualified
		})
		count := 0
		for _, q := range qualified {
			if q {
				count++
			}
		}
		if count != 1 {
			t.Fatalf("%d reports qualified, want 1", count)
		}
		if got := balance(t, s, "seller", "usd"); got != 2000 {
			t.Fatalf("balance = %d, want 2000", got)
		}
	})
}
