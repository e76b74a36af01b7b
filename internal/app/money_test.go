package app_test

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stripe/stripe-go/v76/webhook"

	"github.com/refhub/referral-service/internal/testdb"
	"github.com/refhub/referral-service/internal/teststripe"
)

const testJWTSecret = "a-production-secret-of-32-bytes-or-more"

// fakeStripeEvents serves Stripe's event list, two pages newest first, as
// Stripe does; stripe-mock only knows fixed fixtures, so the events a
// webhook missed are served from here, through the real stripe-go client.
func fakeStripeEvents(t *testing.T, pages [][]map[string]any) *httptest.Server {
	t.Helper()
	var mu sync.Mutex
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		defer mu.Unlock()
		if r.URL.Path != "/v1/events" || !strings.HasPrefix(r.Header.Get("Authorization"), "Bearer sk_test_") {
			http.Error(w, `{"error":{"type":"invalid_request_error","message":"bad request"}}`, http.StatusBadRequest)
			return
		}
		page := 0
		if r.URL.Query().Get("starting_after") != "" {
			page = 1
		}
		w.Header().Set("Content-Type", "application/json")
		json.NewEncoder(w).Encode(map[string]any{"object": "list", "url": "/v1/events", "data": pages[page], "has_more": page == 0})
	}))
	t.Cleanup(srv.Close)
	return srv
}

// event is an event of the current API as Stripe's event list returns it,
// around an object built from stripe-mock's fixtures.
func event(t *testing.T, id, typ string, object teststripe.Object, err error) map[string]any {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
	return map[string]any{"id": id, "object": "event", "type": typ, "api_version": teststripe.VCurrent.API,
		"created": time.Now().Add(-time.Hour).Unix(), "data": map[string]any{"object": map[string]any(object)}}
}

// TestReconcileHealsMissedEvents: the webhook never saw these events;
// reconcile lists them through the API and applies them once.
func TestReconcileHealsMissedEvents(t *testing.T) {
	dir := t.TempDir()
	env := []string{"DATABASE_URL=" + testdb.PostgresURL(t), "JWT_SECRET=" + testJWTSecret, "REWARD_HOLD_DAYS=0"}
	p := startServer(t, dir, env)
	user, _, _ := runCmd(t, dir, env, "token", "-sub", "u1")
	backend, _, _ := runCmd(t, dir, env, "token", "-sub", "backend", "-roles", "service")
	_, code := call(t, "GET", p.base+"/v1/me/referral-code", strings.TrimSpace(user), "")
	call(t, "POST", p.base+"/v1/referrals", strings.TrimSpace(backend), fmt.Sprintf(`{"referredUserId":"u2","code":%q}`, code["code"]))

	v := teststripe.VCurrent
	sale := teststripe.Sale{UserID: "u2", Customer: "cus_2", Amount: 10000, Currency: "usd", Invoice: "in_1", PaymentIntent: "pi_1",
		Charge: "ch_1", InvoicePayment: "inpay_1", Subscription: "sub_1"}
	inv, invErr := v.Invoice(sale)
	ip, ipErr := v.InvoicePayment(sale)
	ch, chErr := v.Charge(sale, 5000)
	plan := teststripe.Object{"id": "price_1", "object": "price"}
	stripe := fakeStripeEvents(t, [][]map[string]any{
		{
			event(t, "evt_4", "charge.refunded", ch, chErr),
			event(t, "evt_3", "invoice_payment.paid", ip, ipErr),
			event(t, "evt_2", "invoice.paid", inv, invErr),
		},
		{event(t, "evt_1", "plan.created", plan, nil)},
	})
	renv := append(env, "STRIPE_SECRET_KEY=sk_test_123", "STRIPE_API_URL="+stripe.URL)
	out, stderr, err := runCmd(t, dir, renv, "reconcile", "-since", "72h")
	if err != nil || !strings.Contains(out, "listed 4, processed 3, duplicate 0, ignored 1") {
		t.Fatalf("reconcile: %v\n%s\n%s", err, out, stderr)
	}
	_, bal := call(t, "GET", p.base+"/v1/me/balance", strings.TrimSpace(user), "")
	if fmt.Sprint(bal["balances"]) != "[map[amount:1000 available:1000 currency:usd pending:0]]" {
		t.Fatalf("balance after reconcile: %v", bal)
	}
	out, _, err = runCmd(t, dir, renv, "reconcile")
	if err != nil || !strings.Contains(out, "processed 0, duplicate 3") {
		t.Fatalf("second reconcile: %v %s", err, out)
	}

	// Against stripe-mock the listing call itself works (it returns a fixture).
	mock, err := teststripe.URL()
	if err != nil {
		t.Fatal(err)
	}
	out, stderr, err = runCmd(t, dir, append(env, "STRIPE_SECRET_KEY=sk_test_123", "STRIPE_API_URL="+mock), "reconcile", "-since", "1h")
	if err != nil || !strings.Contains(out, "listed 1") {
		t.Fatalf("reconcile against stripe-mock: %v\n%s\n%s", err, out, stderr)
	}
	p.stop(t)
}

// TestPayoutsRun: the scheduled-job command pays a referrer as Stripe credit
// (through stripe-mock), and a second run finds nothing left.
func TestPayoutsRun(t *testing.T) {
	dir := t.TempDir()
	mock, err := teststripe.URL()
	if err != nil {
		t.Fatal(err)
	}
	env := []string{"DATABASE_URL=" + testdb.PostgresURL(t), "JWT_SECRET=" + testJWTSecret, "REWARD_HOLD_DAYS=0",
		"STRIPE_WEBHOOK_SECRET=whsec_test", "STRIPE_SECRET_KEY=sk_test_123", "STRIPE_API_URL=" + mock}
	p := startServer(t, dir, env)
	tok := minter(t, dir, env)
	user, backend, admin := tok("-sub", "u1"), tok("-sub", "backend", "-roles", "service"), tok("-sub", "ops", "-roles", "admin")
	_, code := call(t, "GET", p.base+"/v1/me/referral-code", user, "")
	call(t, "POST", p.base+"/v1/referrals", backend, fmt.Sprintf(`{"referredUserId":"u2","code":%q}`, code["code"]))
	call(t, "POST", p.base+"/v1/payments", backend, `{"paymentId":"pay_1","userId":"u2","amount":10000,"currency":"usd"}`)
	// The referrer's own Stripe customer, learned from a signed event.
	cus, err := teststripe.VCurrent.Customer("cus_u1", "u1")
	if err != nil {
		t.Fatal(err)
	}
	payload, err := teststripe.VCurrent.Event("evt_cus", "customer.created", cus)
	if err != nil {
		t.Fatal(err)
	}
	signed := webhook.GenerateTestSignedPayload(&webhook.UnsignedPayload{Payload: payload, Secret: "whsec_test", Timestamp: time.Now()})
	req, _ := http.NewRequest("POST", p.base+"/v1/webhooks/stripe", strings.NewReader(string(payload)))
	req.Header.Set("Stripe-Signature", signed.Header)
	if res, err := http.DefaultClient.Do(req); err != nil || res.StatusCode != http.StatusOK {
		t.Fatalf("webhook: %v %v", res, err)
	}

	out, stderr, err := runCmd(t, dir, env, "payouts", "run")
	if err != nil || !strings.Contains(out, "paid 1,") || !strings.Contains(out, "usd:2000") {
		t.Fatalf("payouts run: %v\n%s\n%s", err, out, stderr)
	}
	out, _, err = runCmd(t, dir, env, "payouts", "run")
	if err != nil || !strings.Contains(out, "paid 0,") {
		t.Fatalf("second run: %v %s", err, out)
	}
	status, list := call(t, "GET", p.base+"/v1/admin/payouts", admin, "")
	items, _ := list["items"].([]any)
	if status != http.StatusOK || len(items) != 1 || items[0].(map[string]any)["status"] != "paid" || items[0].(map[string]any)["method"] != "stripe_credit" {
		t.Fatalf("payouts: %d %v", status, list)
	}
	_, refs := call(t, "GET", p.base+"/v1/me/referrals", user, "")
	if refs["items"].([]any)[0].(map[string]any)["status"] != "REWARDED" {
		t.Fatalf("referral after payout: %v", refs)
	}
	p.stop(t)
}
