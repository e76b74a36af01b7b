package httpapi_test

import (
	"io"
	"net"
	"net/http"
	"strconv"
	"testing"
	"time"

	"github.com/refhub/referral-service/internal/ratelimit"
	"github.com/refhub/referral-service/internal/testdb"
)

// TestRateLimits: public routes (the short link's fast path included) are
// limited per client address, authenticated ones per caller; a request
// over the limit is 429 rate_limited with Retry-After and the RateLimit
// fields (Remaining 0); others are not affected; X-Forwarded-For only
// counts from trusted proxies.
func TestRateLimits(t *testing.T) {
	opts := serverOpts{publicRate: ratelimit.Rate{N: 5, Period: time.Minute}, userRate: ratelimit.Rate{N: 3, Period: time.Minute}}
	eachBackend(t, opts, func(t *testing.T, s *server) {
		code := getCode(t, s, "alice").Code // alice: 1 of 3
		over := func(res response) {
			t.Helper()
			res.problem(t, http.StatusTooManyRequests, "rate_limited")
			if ra, err := strconv.Atoi(res.Header.Get("Retry-After")); err != nil || ra < 1 || ra > 60 ||
				res.Header.Get("RateLimit-Remaining") != "0" || res.Header.Get("RateLimit-Limit") == "" || res.Header.Get("RateLimit-Reset") == "" {
				t.Fatalf("429 headers: %v", res.Header)
			}
		}
		// Public: five code checks or link hits from one address, then 429.
		for i := range 5 {
			var res response
			if i%2 == 1 {
				res = s.hit(t, "/r/"+code)
			} else {
				res = s.do(t, request{method: "GET", path: "/v1/codes/" + code})
			}
			if res.Status == http.StatusTooManyRequests {
				t.Fatalf("request %d refused", i)
			}
		}
		over(s.do(t, request{method: "GET", path: "/v1/codes/" + code}))
		over(s.hit(t, "/r/"+code)) // the fast path
		// A forged X-Forwarded-For is not a new address without trusted proxies.
		over(s.do(t, request{method: "GET", path: "/v1/codes/" + code, header: map[string]string{"X-Forwarded-For": "203.0.113.9"}}))

		// Authenticated: per caller.
		alice := s.token("alice")
		for range 2 {
			if res := s.do(t, request{method: "GET", path: "/v1/me/balance", token: alice}); res.Status != http.StatusOK {
				t.Fatalf("alice: %d", res.Status)
			}
		}
		over(s.do(t, request{method: "GET", path: "/v1/me/balance", token: alice}))
		if res := s.do(t, request{method: "GET", path: "/v1/me/balance", token: s.token("bob")}); res.Status != http.StatusOK {
			t.Fatalf("bob is limited by alice's traffic: %d", res.Status)
		}
		// Health is never limited.
		for range 10 {
			if res := s.do(t, request{method: "GET", path: "/healthz"}); res.Status != http.StatusOK {
				t.Fatalf("healthz: %d", res.Status)
			}
		}
	})
}

// TestRateLimitBehindProxy: behind a trusted proxy each client address in
// X-Forwarded-For has its own limit.
func TestRateLimitBehindProxy(t *testing.T) {
	_, loopback, _ := net.ParseCIDR("127.0.0.0/8")
	s := newServer(t, testdb.Postgres(t), serverOpts{publicRate: ratelimit.Rate{N: 2, Period: time.Minute}, trustedProxies: []*net.IPNet{loopback}})
	code := getCode(t, s, "alice").Code
	from := func(ip string) int {
		return s.do(t, request{method: "GET", path: "/v1/codes/" + code, header: map[string]string{"X-Forwarded-For": ip}}).Status
	}
	if from("198.51.100.1") != http.StatusOK || from("198.51.100.1") != http.StatusOK || from("198.51.100.1") != http.StatusTooManyRequests {
		t.Fatal("the first client's limit")
	}
	if from("198.51.100.2") != http.StatusOK {
		t.Fatal("another client behind the same proxy is limited")
	}
}

// hit requests a short link without following its redirect and checks the
// answer against the contract.
func (s *server) hit(t *testing.T, path string) response {
	t.Helper()
	req, _ := http.NewRequest("GET", s.url+path, nil)
	req.Header.Set("User-Agent", browserUA)
	client := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	res, err := client.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	body, _ := io.ReadAll(res.Body)
	out := response{Status: res.StatusCode, Header: res.Header, Body: body}
	checkAgainstSpec(t, request{method: "GET", path: path}, out)
	return out
}
