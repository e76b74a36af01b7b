package app_test

import (
	"bytes"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"os"
	"os/exec"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/refhub/referral-service/internal/testdb"
	"github.com/refhub/referral-service/internal/teststripe"
)

// creditLog is a reverse proxy in front of stripe-mock that records every
// customer balance credit by its Idempotency-Key, as Stripe would see them.
type creditLog struct {
	mu      sync.Mutex
	credits map[string]string // idempotency key → request body
	perKey  map[string]int
	calls   int
}

func newCreditLog(t *testing.T) (*creditLog, string) { return newSlowCreditLog(t, 0) }

// newSlowCreditLog is newCreditLog with Stripe taking delay per credit,
// which widens the time a payout stays pending.
func newSlowCreditLog(t *testing.T, delay time.Duration) (*creditLog, string) {
	t.Helper()
	mock, err := teststripe.URL()
	if err != nil {
		t.Fatal(err)
	}
	target, _ := url.Parse(mock)
	proxy := httputil.NewSingleHostReverseProxy(target)
	cl := &creditLog{credits: map[string]string{}, perKey: map[string]int{}}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method == http.MethodPost && strings.HasSuffix(r.URL.Path, "/balance_transactions") {
			body, _ := io.ReadAll(r.Body)
			r.Body = io.NopCloser(bytes.NewReader(body))
			key := r.Header.Get("Idempotency-Key")
			cl.mu.Lock()
			cl.calls++
			cl.perKey[key]++
			if prev, ok := cl.credits[key]; ok && prev != r.URL.Path+"?"+string(body) {
				t.Errorf("idempotency key %s reused for a different credit: %s vs %s", key, prev, body)
			}
			cl.credits[key] = r.URL.Path + "?" + string(body)
			cl.mu.Unlock()
			time.Sleep(delay)
		}
		proxy.ServeHTTP(w, r)
	}))
	t.Cleanup(srv.Close)
	return cl, srv.URL
}

func (cl *creditLog) total() int {
	cl.mu.Lock()
	defer cl.mu.Unlock()
	return cl.calls
}

func (cl *creditLog) distinct() int {
	cl.mu.Lock()
	defer cl.mu.Unlock()
	return len(cl.credits)
}

// TestConcurrentPayoutRunsNeverOverpay starts two `payouts run` processes at
// once over many referrers, round after round, as two replicas' schedules
// would: every payout pays an available balance once, Stripe is asked for
// each credit under one idempotency key, and every balance ends at zero
// with its ledger.
func TestConcurrentPayoutRunsNeverOverpay(t *testing.T) {
	t.Run("postgres", func(t *testing.T) { concurrentPayoutRuns(t, testdb.PostgresURL(t)) })
	// Three processes on one SQLite file: the server and two runs.
	t.Run("sqlite", func(t *testing.T) { concurrentPayoutRuns(t, "sqlite:"+t.TempDir()+"/referrals.db") })
}

func concurrentPayoutRuns(t *testing.T, databaseURL string) {
	dir := t.TempDir()
	credits, stripeURL := newCreditLog(t)
	env := []string{"DATABASE_URL=" + databaseURL, "JWT_SECRET=" + testJWTSecret, "REWARD_HOLD_DAYS=0",
		"STRIPE_WEBHOOK_SECRET=whsec_test", "STRIPE_SECRET_KEY=sk_test_123", "STRIPE_API_URL=" + stripeURL}
	p := startServer(t, dir, env)
	tok := minter(t, dir, env)
	backend, admin := tok("-sub", "backend", "-roles", "service"), tok("-sub", "ops", "-roles", "admin")
	const users, rounds = 30, 4
	codes := make([]string, users)
	for u := range users {
		_, code := call(t, "GET", p.base+"/v1/me/referral-code", tok("-sub", fmt.Sprintf("r%d", u)), "")
		codes[u] = code["code"].(string)
		cus, err := teststripe.VCurrent.Customer(fmt.Sprintf("cus_r%d", u), fmt.Sprintf("r%d", u))
		if err != nil {
			t.Fatal(err)
		}
		deliverSigned(t, p.base, "whsec_test", fmt.Sprintf("evt_cus_%d", u), "customer.created", cus)
	}
	earned := int64(0)
	for round := range rounds {
		for u := range users {
			friend := fmt.Sprintf("f%d-%d", u, round)
			call(t, "POST", p.base+"/v1/referrals", backend, fmt.Sprintf(`{"referredUserId":%q,"code":%q}`, friend, codes[u]))
			if st, body := call(t, "POST", p.base+"/v1/payments", backend, fmt.Sprintf(`{"paymentId":"pay-%s","userId":%q,"amount":10000,"currency":"usd"}`, friend, friend)); st != http.StatusOK {
				t.Fatalf("payment: %d %v", st, body)
			}
		}
		earned += 2000
		var wg sync.WaitGroup
		outs := make([]string, 2)
		for i := range outs {
			wg.Go(func() {
				cmd := exec.Command(binary(t), "payouts", "run")
				cmd.Dir = dir
				cmd.Env = append([]string{"PATH=" + os.Getenv("PATH"), "HOME=" + os.Getenv("HOME")}, env...)
				out, err := cmd.CombinedOutput()
				if err != nil {
					t.Errorf("payouts run: %v\n%s", err, out)
				}
				outs[i] = string(out)
			})
		}
		wg.Wait()
		paid := map[string]int64{}
		count := 0
		eachItem(t, p.base, "/v1/admin/payouts?limit=100", admin, func(po map[string]any) {
			if po["status"] != "paid" {
				t.Fatalf("round %d: payout %v is not paid", round, po)
			}
			paid[po["userId"].(string)] += int64(po["amount"].(float64))
			count++
		})
		if count != users*(round+1) {
			t.Errorf("round %d: %d payouts for %d users, want one each per round\n%s", round, count, users, strings.Join(outs, "\n"))
		}
		for u := range users {
			user := fmt.Sprintf("r%d", u)
			if paid[user] != earned {
				t.Fatalf("round %d: %s was paid %d in all, earned %d\n%s", round, user, paid[user], earned, strings.Join(outs, "\n"))
			}
			_, bal := call(t, "GET", p.base+"/v1/admin/users/"+user+"/balance", admin, "")
			if fmt.Sprint(bal["balances"]) != "[map[amount:0 available:0 currency:usd pending:0]]" {
				t.Fatalf("round %d: %s balance %v", round, user, bal)
			}
		}
		if credits.distinct() != count {
			t.Fatalf("round %d: Stripe saw %d distinct credits for %d payouts", round, credits.distinct(), count)
		}
	}
	p.stop(t)
}
