package app_test

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stripe/stripe-go/v76/webhook"

	"github.com/refhub/referral-service/internal/store"
	"github.com/refhub/referral-service/internal/testdb"
	"github.com/refhub/referral-service/internal/teststripe"
	"github.com/refhub/referral-service/internal/testutil"
)

// TestTwoReplicas: two servers on one PostgreSQL share the traffic: short
// links, attributions, payments and webhooks sent to both at once, and a
// payout schedule running on both. Nothing is done twice and nothing is
// lost: every answered click is stored and counted once, each referred user
// has one referral, each payment one reward, each event one effect, each
// referrer one payout.
func TestTwoReplicas(t *testing.T) {
	dir := t.TempDir()
	dbURL := testdb.PostgresURL(t)
	credits, stripeURL := newCreditLog(t)
	env := []string{"DATABASE_URL=" + dbURL, "JWT_SECRET=" + testJWTSecret, "REWARD_HOLD_DAYS=0", "RATE_LIMIT_PUBLIC=off",
		"STRIPE_WEBHOOK_SECRET=whsec_test", "STRIPE_SECRET_KEY=sk_test_123", "STRIPE_API_URL=" + stripeURL,
		"PAYOUT_SCHEDULE=*/2 * * * * *", "WEBHOOK_ALLOW_PRIVATE_URLS=true"}
	a, b := startServer(t, dir, env), startServer(t, dir, env)
	replicas := []*process{a, b}
	tok := minter(t, dir, env)
	backend, admin := tok("-sub", "backend", "-roles", "service"), tok("-sub", "ops", "-roles", "admin")
	// A webhook receiver that fails each event's first request: both
	// replicas' workers deliver and retry.
	var hookMu sync.Mutex
	hookRequests, hookOK := map[string]int{}, map[string]int{}
	receiver := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		id := r.Header.Get("webhook-id")
		hookMu.Lock()
		defer hookMu.Unlock()
		hookRequests[id]++
		if hookRequests[id] == 1 {
			w.WriteHeader(http.StatusServiceUnavailable)
			return
		}
		hookOK[id]++
	}))
	defer receiver.Close()
	call(t, "POST", a.base+"/v1/admin/webhook-endpoints", admin, fmt.Sprintf(`{"url":%q}`, receiver.URL))
	const referrers = 6
	codes := make([]string, referrers)
	for r := range referrers {
		_, code := call(t, "GET", replicas[r%2].base+"/v1/me/referral-code", tok("-sub", fmt.Sprintf("ref%d", r)), "")
		codes[r] = code["code"].(string)
		cus, err := teststripe.VCurrent.Customer(fmt.Sprintf("cus_ref%d", r), fmt.Sprintf("ref%d", r))
		if err != nil {
			t.Fatal(err)
		}
		deliverSigned(t, replicas[r%2].base, "whsec_test", fmt.Sprintf("evt_cus_%d", r), "customer.created", cus)
	}

	// Short links on both replicas at once.
	client := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	var answered atomic.Int64
	testutil.Concurrently(16, func(w int) {
		for i := range 25 {
			req, _ := http.NewRequest("GET", fmt.Sprintf("%s/r/%s", replicas[(w+i)%2].base, codes[w%referrers]), nil)
			req.Header.Set("User-Agent", fmt.Sprintf("Mozilla/5.0 (visitor %d)", w))
			res, err := client.Do(req)
			if err != nil {
				t.Error(err)
				return
			}
			res.Body.Close()
			if loc, _ := url.Parse(res.Header.Get("Location")); res.StatusCode == http.StatusFound && strings.HasPrefix(loc.Query().Get("click"), "clk_") {
				answered.Add(1)
			}
		}
	})

	// Each referred user attributed, and each payment reported, through
	// both replicas at the same moment; each friend also pays through Stripe
	// (one invoice event delivered to both replicas).
	v := teststripe.VCurrent
	testutil.Concurrently(2*referrers*3, func(i int) {
		r, n, kind := i/6, i%2, (i/2)%3
		friend := fmt.Sprintf("friend%d", r)
		base := replicas[n].base
		switch kind {
		case 0:
			call(t, "POST", base+"/v1/referrals", backend, fmt.Sprintf(`{"referredUserId":%q,"code":%q}`, friend, codes[r]))
		case 1:
			call(t, "POST", base+"/v1/payments", backend, fmt.Sprintf(`{"paymentId":"pay-%s","userId":%q,"amount":10000,"currency":"usd"}`, friend, friend))
		case 2:
			inv, err := v.Invoice(teststripe.Sale{UserID: friend, Customer: "cus_" + friend, Amount: 5000, Currency: "usd", Invoice: "in_" + friend, Subscription: "sub_" + friend})
			if err != nil {
				t.Error(err)
				return
			}
			payload, _ := v.Event("evt_inv_"+friend, "invoice.paid", inv)
			signed := webhook.GenerateTestSignedPayload(&webhook.UnsignedPayload{Payload: payload, Secret: "whsec_test", Timestamp: time.Now()})
			req, _ := http.NewRequest("POST", base+"/v1/webhooks/stripe", strings.NewReader(string(payload)))
			req.Header.Set("Stripe-Signature", signed.Header)
			if res, err := http.DefaultClient.Do(req); err == nil {
				res.Body.Close()
			}
		}
	})
	// Whatever order they arrived in, each friend's payments end recorded
	// once; the first payment reported after the attribution earns.
	for r := range referrers {
		friend := fmt.Sprintf("friend%d", r)
		call(t, "POST", a.base+"/v1/referrals", backend, fmt.Sprintf(`{"referredUserId":%q,"code":%q}`, friend, codes[r]))
		call(t, "POST", b.base+"/v1/payments", backend, fmt.Sprintf(`{"paymentId":"late-%s","userId":%q,"amount":10000,"currency":"usd"}`, friend, friend))
	}

	// The schedule pays every referrer, once.
	deadline := time.Now().Add(20 * time.Second)
	for {
		count := 0
		eachItem(t, a.base, "/v1/admin/payouts?limit=100&status=paid", admin, func(map[string]any) { count++ })
		if count >= referrers || time.Now().After(deadline) {
			break
		}
		time.Sleep(250 * time.Millisecond)
	}
	time.Sleep(2500 * time.Millisecond) // one more round of both schedules
	// No hold: each reward is announced (reward.available) by the next
	// scan, which runs every 10 s on each replica. Once all are, no event
	// is still to come.
	testutil.Eventually(t, 40*time.Second, "every reward announced", func() bool {
		_, page := call(t, "GET", a.base+"/v1/admin/events?type=reward.available&limit=100", admin, "")
		return len(page["items"].([]any)) == referrers
	})
	// Every event reaches the receiver on its second attempt (5 s ± 20%).
	_, feed := call(t, "GET", a.base+"/v1/admin/events?limit=200", admin, "")
	events := len(feed["items"].([]any))
	deadline = time.Now().Add(30 * time.Second)
	for {
		hookMu.Lock()
		delivered := len(hookOK)
		hookMu.Unlock()
		if delivered >= events || time.Now().After(deadline) {
			break
		}
		time.Sleep(250 * time.Millisecond)
	}
	time.Sleep(500 * time.Millisecond)
	a.stop(t)
	b.stop(t)

	st, err := store.Open(context.Background(), store.Postgres, dbURL)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	db, _ := st.SQLDB()
	scalar := func(q string, args ...any) int64 {
		t.Helper()
		var n int64
		if err := db.QueryRow(q, args...).Scan(&n); err != nil {
			t.Fatalf("%s: %v", q, err)
		}
		return n
	}
	if stored, counted := scalar(`SELECT COUNT(*) FROM clicks`), scalar(`SELECT COALESCE(SUM(clicks), 0) FROM referrer_daily`); answered.Load() != 400 || stored != 400 || counted != 400 {
		t.Fatalf("clicks: answered %d, stored %d, counted %d, want 400 each", answered.Load(), stored, counted)
	}
	if n := scalar(`SELECT COUNT(*) FROM referrals`); n != referrers {
		t.Fatalf("%d referrals for %d referred users", n, referrers)
	}
	if n := scalar(`SELECT COUNT(*) FROM rewards r JOIN payments p ON p.id = r.payment_id WHERE p.merged_into IS NULL`); n != referrers {
		t.Fatalf("%d rewards for %d referrals (one payment each qualifies)", n, referrers)
	}
	if n := scalar(`SELECT COUNT(*) FROM payments WHERE merged_into IS NULL`); n > 3*referrers {
		t.Fatalf("%d payments recorded, more than the %d sent", n, 3*referrers)
	}
	if n := scalar(`SELECT COUNT(*) FROM stripe_events`); n != 2*referrers {
		t.Fatalf("%d Stripe events recorded, want %d", n, 2*referrers)
	}
	if n := scalar(`SELECT COUNT(*) FROM payouts`); n != referrers || credits.total() != referrers {
		t.Fatalf("%d payouts and %d Stripe credits for %d referrers", n, credits.total(), referrers)
	}
	// Each event succeeded once, and every request the receiver got is one
	// recorded attempt: neither replica sent an attempt twice.
	hookMu.Lock()
	defer hookMu.Unlock()
	if n := scalar(`SELECT COUNT(*) FROM events WHERE type <> 'ping'`); n != 4*referrers || int64(len(hookOK)) != n || int64(events) != n {
		t.Fatalf("%d events stored, %d in the feed, %d delivered", n, events, len(hookOK))
	}
	for id, n := range hookOK {
		recorded := scalar(`SELECT COUNT(*) FROM outbox_attempts WHERE event_id = $1 AND sink = 'webhook'`, id)
		if n != 1 || int64(hookRequests[id]) != recorded || recorded != 2 {
			t.Fatalf("event %s: %d successes, %d requests, %d attempts recorded", id, n, hookRequests[id], recorded)
		}
	}
	var wrong int64
	if err := db.QueryRow(`SELECT COUNT(*) FROM user_balances b WHERE b.balance <> (SELECT COALESCE(SUM(amount), 0) FROM ledger_entries e WHERE e.user_id = b.user_id AND e.currency = b.currency)`).Scan(&wrong); err != nil || wrong != 0 {
		t.Fatalf("%d balances differ from their ledger (%v)", wrong, err)
	}
}
