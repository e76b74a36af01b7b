package app_test

import (
	"fmt"
	"net/http"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/refhub/referral-service/internal/testdb"
	"github.com/refhub/referral-service/internal/teststripe"
	"github.com/refhub/referral-service/internal/testutil"
)

// TestDrainOnSIGTERM: after SIGTERM readiness fails at once while the
// server keeps answering for SHUTDOWN_DRAIN, then it stops cleanly.
func TestDrainOnSIGTERM(t *testing.T) {
	dir := t.TempDir()
	env := []string{"DATABASE_URL=" + testdb.PostgresURL(t), "JWT_SECRET=" + testJWTSecret, "SHUTDOWN_DRAIN=2s"}
	p := startServer(t, dir, env)
	user := minter(t, dir, env)("-sub", "u1")
	if st, _ := call(t, "GET", p.base+"/readyz", "", ""); st != http.StatusOK {
		t.Fatalf("readyz before: %d", st)
	}
	signalled := time.Now()
	if err := p.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	testutil.Eventually(t, 1200*time.Millisecond, "readyz 503 while draining", func() bool {
		st, _ := call(t, "GET", p.base+"/readyz", "", "")
		return st == http.StatusServiceUnavailable
	})
	for time.Since(signalled) < 1500*time.Millisecond {
		if st, body := call(t, "GET", p.base+"/v1/me/referral-code", user, ""); st != http.StatusOK {
			t.Fatalf("a request while draining: %d %v", st, body)
		}
		time.Sleep(100 * time.Millisecond)
	}
	p.waitExit(t)
	if took := time.Since(signalled); took < 2*time.Second {
		t.Fatalf("stopped after %s, before the 2s drain", took)
	}
	if log := p.stderr.String(); !strings.Contains(log, "msg=draining") || !strings.Contains(log, "msg=stopped") {
		t.Fatalf("log:\n%s", log)
	}
}

// TestPayoutScheduleOnTwoReplicas: two servers on one database, both with
// a payout schedule: each run is done by one of them, every referrer is
// paid once, and Stripe sees one credit call per payout.
func TestPayoutScheduleOnTwoReplicas(t *testing.T) {
	dir := t.TempDir()
	// Stripe is slow, so payouts stay pending while a run credits them: a
	// second run at the same moment would find them and credit them again.
	credits, stripeURL := newSlowCreditLog(t, 400*time.Millisecond)
	env := []string{"DATABASE_URL=" + testdb.PostgresURL(t), "JWT_SECRET=" + testJWTSecret, "REWARD_HOLD_DAYS=0",
		"STRIPE_WEBHOOK_SECRET=whsec_test", "STRIPE_SECRET_KEY=sk_test_123", "STRIPE_API_URL=" + stripeURL}
	a := startServer(t, dir, env)
	tok := minter(t, dir, env)
	backend, admin := tok("-sub", "backend", "-roles", "service"), tok("-sub", "ops", "-roles", "admin")
	const users = 10
	for u := range users {
		_, code := call(t, "GET", a.base+"/v1/me/referral-code", tok("-sub", fmt.Sprintf("r%d", u)), "")
		call(t, "POST", a.base+"/v1/referrals", backend, fmt.Sprintf(`{"referredUserId":"f%d","code":%q}`, u, code["code"]))
		call(t, "POST", a.base+"/v1/payments", backend, fmt.Sprintf(`{"paymentId":"p%d","userId":"f%d","amount":10000,"currency":"usd"}`, u, u))
		cus, err := teststripe.VCurrent.Customer(fmt.Sprintf("cus_r%d", u), fmt.Sprintf("r%d", u))
		if err != nil {
			t.Fatal(err)
		}
		deliverSigned(t, a.base, "whsec_test", fmt.Sprintf("evt_cus_%d", u), "customer.created", cus)
	}
	a.stop(t)
	// Both replicas run the schedule at the same instants, every 2 s.
	env = append(env, "PAYOUT_SCHEDULE=*/2 * * * * *")
	a, b := startServer(t, dir, env), startServer(t, dir, env)
	// Every referrer paid (at most a few rounds), then two more rounds in
	// which nothing may be paid again.
	testutil.Eventually(t, 60*time.Second, "a payout per referrer", func() bool {
		n := 0
		eachItem(t, a.base, "/v1/admin/payouts?limit=100", admin, func(map[string]any) { n++ })
		return n >= users && credits.total() >= users
	})
	time.Sleep(4500 * time.Millisecond)
	count := 0
	paid := map[string]int{}
	eachItem(t, a.base, "/v1/admin/payouts?limit=100", admin, func(po map[string]any) {
		count++
		paid[po["userId"].(string)]++
	})
	if count != users || len(paid) != users {
		t.Fatalf("%d payouts for %d referrers: %v", count, users, paid)
	}
	if credits.distinct() != users || credits.total() != users {
		t.Fatalf("Stripe saw %d credit calls for %d distinct payouts, want %d each: %v\n%s", credits.total(), credits.distinct(), users, credits.perKey, a.stderr.String()+b.stderr.String())
	}
	a.stop(t)
	b.stop(t)
	logs := a.stderr.String() + b.stderr.String()
	if !strings.Contains(logs, `msg="scheduled job done" job=payouts`) {
		t.Fatalf("no scheduled run logged:\n%s", logs)
	}
}
