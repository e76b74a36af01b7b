package httpapi_test

import (
	"context"
	"fmt"
	"net/http"
	"sync"
	"testing"
	"time"

	"github.com/refhub/referral-service/internal/referral"
	"github.com/refhub/referral-service/internal/testutil"
	"github.com/refhub/referral-service/pkg/referralapi"
)

// TestConcurrentPayoutsNeverOverpay makes the race happen: many users, each
// with an available balance, a dozen payout requests per user at once (each
// with its own Idempotency-Key, as two operators or a double click send),
// in several rounds that add a new reward between them. For every user the
// sum paid never exceeds what was earned, exactly one request per round
// pays, the balance never goes negative and always equals its ledger.
func TestConcurrentPayoutsNeverOverpay(t *testing.T) {
	// 240 payouts at once on one SQLite file queue behind each other: on a
	// loaded machine the last ones wait longer than the default 10 s
	// request deadline. The deadline is not what this test checks.
	eachBackend(t, serverOpts{requestTimeout: 25 * time.Second}, func(t *testing.T, s *server) {
		const (
			users   = 20
			perUser = 12
			rounds  = 3
		)
		admin := s.token("ops", "admin")
		codes := make([]string, users)
		for u := range users {
			codes[u] = getCode(t, s, fmt.Sprintf("payee%d", u)).Code
		}
		earned := make([]int64, users)
		var mu sync.Mutex
		paid := make([]int64, users)
		for round := range rounds {
			// Each user earns 200 more (20% of 1000), available at once.
			for u := range users {
				friend := fmt.Sprintf("friend%d-%d", u, round)
				attribute(t, s, friend, codes[u], nil)
				if res := pay(t, s, "pay-"+friend, friend, 1000, "usd"); res.Status != http.StatusOK {
					t.Fatalf("pay: %d %s", res.Status, res.Body)
				}
				earned[u] += 200
			}
			created := make([]int, users)
			testutil.Concurrently(users*perUser, func(i int) {
				u := i % users
				res := s.do(t, request{method: "POST", path: "/v1/admin/payouts", token: admin,
					header: map[string]string{"Idempotency-Key": fmt.Sprintf("r%d-u%d-%d", round, u, i)},
					body:   fmt.Sprintf(`{"userId":"payee%d","currency":"usd","method":"manual","reference":"wire-%d"}`, u, i)})
				switch res.Status {
				case http.StatusCreated:
					var p referralapi.Payout
					res.decode(t, &p)
					mu.Lock()
					paid[u] += p.Amount
					created[u]++
					mu.Unlock()
				case http.StatusUnprocessableEntity:
					res.problem(t, http.StatusUnprocessableEntity, "nothing_to_pay")
				default:
					t.Errorf("payout for payee%d: %d %s", u, res.Status, res.Body)
				}
			})
			for u := range users {
				if paid[u] > earned[u] {
					t.Fatalf("round %d: payee%d was paid %d of %d earned", round, u, paid[u], earned[u])
				}
				if created[u] != 1 {
					t.Errorf("round %d: %d payouts for payee%d, want exactly 1", round, created[u], u)
				}
				checkLedger(t, s, fmt.Sprintf("payee%d", u), "usd", earned[u]-paid[u])
			}
		}
	})
}

// checkLedger asserts the user's balance is want, is not negative, and
// equals the sum of the ledger entries.
func checkLedger(t *testing.T, s *server, user, currency string, want int64) {
	t.Helper()
	bal, err := s.svc.Balances(context.Background(), user)
	if err != nil {
		t.Fatal(err)
	}
	var amount int64
	for _, b := range bal {
		if b.Currency == currency {
			amount = b.Amount
			if b.Available < 0 || b.Pending < 0 || b.Pending+b.Available != b.Amount {
				t.Fatalf("%s: balance %+v is inconsistent", user, b)
			}
		}
	}
	var sum int64
	before := ""
	for {
		entries, more, err := s.svc.Ledger(context.Background(), referral.LedgerFilter{UserID: user, Currency: currency, BeforeID: before, Limit: 100})
		if err != nil {
			t.Fatal(err)
		}
		for _, e := range entries {
			sum += e.Amount
		}
		if !more {
			break
		}
		before = entries[len(entries)-1].ID
	}
	if amount != want || sum != want || amount < 0 {
		t.Fatalf("%s: balance %d, ledger sum %d, want %d", user, amount, sum, want)
	}
}
