package app_test

import (
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/refhub/referral-service/internal/testdb"
	"github.com/refhub/referral-service/internal/teststripe"
)

func scrape(t *testing.T, url string) (int, string) {
	t.Helper()
	res, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	return res.StatusCode, string(b)
}

// TestMetrics: /metrics scrapes with requests by route template (the
// short link's fast path included, never a raw path or code), Stripe
// events, payouts, clicks and both database pools; the request id of a
// request reaches the service's own log lines of it.
var attemptsPending = regexp.MustCompile(`referral_outbox_attempts_total\{sink="webhook",status="pending"\} ([1-9])\n`)

func TestMetrics(t *testing.T) {
	dir := t.TempDir()
	env := []string{"DATABASE_URL=" + testdb.PostgresURL(t), "JWT_SECRET=" + testJWTSecret, "REWARD_HOLD_DAYS=0",
		"STRIPE_WEBHOOK_SECRET=whsec_test", "PUBLIC_URL=https://refer.example.com", "RATE_LIMIT_PUBLIC=5/m",
		"WEBHOOK_ALLOW_PRIVATE_URLS=true"}
	p := startServer(t, dir, env)
	tok := minter(t, dir, env)
	user, backend, admin := tok("-sub", "u1"), tok("-sub", "backend", "-roles", "service"), tok("-sub", "ops", "-roles", "admin")
	// A webhook receiver that is down: every event's first attempt fails
	// and is retried later.
	down := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { w.WriteHeader(http.StatusServiceUnavailable) }))
	defer down.Close()
	call(t, "POST", p.base+"/v1/admin/webhook-endpoints", admin, fmt.Sprintf(`{"url":%q,"events":["referral.created"]}`, down.URL))
	_, code := call(t, "GET", p.base+"/v1/me/referral-code", user, "")
	// Three clicks, a HEAD, a fourth click, then one over the limit (5/m).
	for i, method := range []string{"GET", "GET", "GET", "HEAD", "GET", "GET"} {
		req, _ := http.NewRequest(method, p.base+"/r/"+code["code"].(string), nil)
		req.Header.Set("User-Agent", "Mozilla/5.0 (X11; Linux x86_64) Firefox/140.0")
		res, err := (&http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}).Do(req)
		if err != nil {
			t.Fatal(err)
		}
		res.Body.Close()
		if want := map[bool]int{true: http.StatusTooManyRequests, false: http.StatusFound}[i == 5]; res.StatusCode != want {
			t.Fatalf("short link %d: %d, want %d", i, res.StatusCode, want)
		}
	}
	call(t, "POST", p.base+"/v1/referrals", backend, fmt.Sprintf(`{"referredUserId":"u2","code":%q}`, code["code"]))
	call(t, "POST", p.base+"/v1/payments", backend, `{"paymentId":"p1","userId":"u2","amount":10000,"currency":"usd"}`)
	call(t, "POST", p.base+"/v1/admin/payouts", admin, `{"userId":"u1","currency":"usd","method":"manual","reference":"wire"}`)
	call(t, "GET", p.base+"/v1/no/such/path", user, "")
	cus, err := teststripe.VCurrent.Customer("cus_u1", "u1")
	if err != nil {
		t.Fatal(err)
	}
	deliverSigned(t, p.base, "whsec_test", "evt_cus", "customer.created", cus)

	var body string
	deadline := time.Now().Add(10 * time.Second)
	for {
		var status int
		status, body = scrape(t, p.base+"/metrics")
		if status != http.StatusOK {
			t.Fatalf("/metrics: %d", status)
		}
		if (strings.Contains(body, "referral_clicks_written_total 4") && attemptsPending.MatchString(body)) ||
			time.Now().After(deadline) {
			break
		}
		time.Sleep(100 * time.Millisecond)
	}
	for _, want := range []string{
		`referral_http_requests_total{method="GET",route="/r/:code",status="302"} 4`,
		`referral_http_requests_total{method="HEAD",route="/r/:code",status="302"} 1`,
		`referral_http_requests_total{method="GET",route="/r/:code",status="429"} 1`,
		`referral_http_requests_total{method="GET",route="/v1/me/referral-code",status="200"} 1`,
		`referral_http_requests_total{method="POST",route="/v1/payments",status="200"} 1`,
		`referral_http_requests_total{method="GET",route="unmatched",status="404"} 1`,
		`referral_http_request_duration_seconds_bucket{method="GET",route="/r/:code",le="+Inf"} 5`,
		`referral_stripe_events_total{outcome="processed",type="customer.created"} 1`,
		`referral_payouts_total{method="manual",status="paid"} 1`,
		// Series no event has touched yet are there, at zero.
		`referral_payouts_total{method="stripe_credit",status="failed"} 0`,
		`referral_stripe_events_total{outcome="processed",type="invoice.paid"} 0`,
		`referral_stripe_events_total{outcome="bad_signature",type=""} 0`,
		`referral_clicks_written_total 4`,
		`referral_outbox_attempts_total{sink="webhook",status="succeeded"} 0`,
		`referral_outbox_pending{sink="webhook"}`,
		`referral_outbox_oldest_pending_seconds{sink="webhook"}`,
		`referral_click_backlog 0`,
		`go_sql_open_connections{db_name="referral",pool="transactions"}`,
		`go_sql_open_connections{db_name="referral",pool="reads"}`,
	} {
		if !strings.Contains(body, want) {
			t.Errorf("/metrics has no %s", want)
		}
	}
	// The receiver is down: every attempt so far failed and is to be
	// retried (one, or two if the scrape came after the 5 s retry), each
	// timed.
	if m := attemptsPending.FindStringSubmatch(body); m == nil ||
		!strings.Contains(body, `referral_outbox_attempt_duration_seconds_count{sink="webhook"} `+m[1]+"\n") {
		t.Errorf("/metrics: webhook attempts pending %v, not each timed", m)
	}
	if strings.Contains(body, code["code"].(string)) || strings.Contains(body, "/v1/no/such/path") {
		t.Error("/metrics labels carry a raw path or code")
	}

	// The request id reaches the service's own lines of the request.
	req, _ := http.NewRequest("POST", p.base+"/v1/webhooks/stripe", strings.NewReader("{}"))
	req.Header.Set("X-Request-Id", "trace-me-42")
	req.Header.Set("Stripe-Signature", "t=1,v1=00")
	if res, err := http.DefaultClient.Do(req); err == nil {
		res.Body.Close()
	}
	deliverSigned(t, p.base, "whsec_test", "evt_cus2", "customer.updated", cus)
	log, ok := p.waitLog(t, `msg="stripe event" event_id=evt_cus2`)
	if !ok {
		t.Fatalf("no stripe event line:\n%s", log)
	}
	for _, line := range strings.Split(log, "\n") {
		if strings.Contains(line, `msg="stripe event"`) && !strings.Contains(line, "request_id=") {
			t.Fatalf("a request's own log line has no request_id: %s", line)
		}
	}
	p.stop(t)

	// METRICS_ADDR moves it to its own listener.
	maddr := freeAddr(t)
	p = startServer(t, dir, append(env, "METRICS_ADDR="+maddr))
	if status, _ := scrape(t, p.base+"/metrics"); status != http.StatusNotFound {
		t.Fatalf("/metrics on the main listener with METRICS_ADDR: %d", status)
	}
	if status, body := scrape(t, "http://"+maddr+"/metrics"); status != http.StatusOK || !strings.Contains(body, "go_goroutines") {
		t.Fatalf("/metrics on METRICS_ADDR: %d", status)
	}
	// A METRICS_ADDR that is taken stops the start before it says it listens.
	_, stderr, err := runCmd(t, dir, append(append([]string{}, env...), "METRICS_ADDR="+maddr, "HTTP_ADDR="+freeAddr(t)), "serve")
	if err == nil || !strings.Contains(stderr, "METRICS_ADDR") || strings.Contains(stderr, "referral-api listening") {
		t.Fatalf("taken METRICS_ADDR: %v\n%s", err, stderr)
	}
	p.stop(t)
}
