package httpapi_test

import (
	"net/http"
	"strings"
	"testing"

	"github.com/refhub/referral-service/pkg/referralapi"
)

// TestBadInputChangesNothing sends every kind of bad body a client can send
// and checks each gets a clear 4xx problem and leaves no trace.
func TestBadInputChangesNothing(t *testing.T) {
	eachBackend(t, serverOpts{}, func(t *testing.T, s *server) {
		code := getCode(t, s, "u1").Code
		long := strings.Repeat("x", 129)
		cases := []struct {
			name        string
			path        string
			body        string
			contentType string
			status      int
			code        string
			field       string
		}{
			{name: "empty body", path: "/v1/referrals", body: " ", status: 400, code: "invalid_request"},
			{name: "malformed JSON", path: "/v1/referrals", body: `{"referredUserId": "u2",`, status: 400, code: "invalid_request"},
			{name: "syntax error", path: "/v1/referrals", body: `{"referredUserId": u2}`, status: 400, code: "invalid_request"},
			{name: "array body", path: "/v1/referrals", body: `[{"referredUserId":"u2"}]`, status: 400, code: "invalid_request"},
			{name: "two objects", path: "/v1/referrals", body: `{"referredUserId":"u2","code":"` + code + `"} {}`, status: 400, code: "invalid_request"},
			{name: "null body", path: "/v1/referrals", body: `null`, status: 400, code: "invalid_request", field: "referredUserId"},
			{name: "wrong type", path: "/v1/referrals", body: `{"referredUserId": 42, "code":"` + code + `"}`, status: 400, code: "invalid_request", field: "referredUserId"},
			{name: "missing code", path: "/v1/referrals", body: `{"referredUserId":"u2"}`, status: 400, code: "invalid_request", field: "code"},
			{name: "blank user", path: "/v1/referrals", body: `{"referredUserId":"   ","code":"` + code + `"}`, status: 400, code: "invalid_request", field: "referredUserId"},
			{name: "over-long user", path: "/v1/referrals", body: `{"referredUserId":"` + long + `","code":"` + code + `"}`, status: 400, code: "invalid_request", field: "referredUserId"},
			{name: "over-long code", path: "/v1/referrals", body: `{"referredUserId":"u2","code":"` + strings.Repeat("A", 65) + `"}`, status: 400, code: "invalid_request", field: "code"},
			{name: "control characters", path: "/v1/referrals", body: `{"referredUserId":"u2\u0000","code":"` + code + `"}`, status: 400, code: "invalid_request", field: "referredUserId"},
			{name: "bad email", path: "/v1/referrals", body: `{"referredUserId":"u2","code":"` + code + `","email":"not-an-email"}`, status: 400, code: "invalid_request", field: "email"},
			{name: "bad ip", path: "/v1/referrals", body: `{"referredUserId":"u2","code":"` + code + `","ip":"999.1.1.1"}`, status: 400, code: "invalid_request", field: "ip"},
			{name: "client sets status", path: "/v1/referrals", body: `{"referredUserId":"u2","code":"` + code + `","status":"QUALIFIED"}`, status: 400, code: "invalid_request", field: "status"},
			{name: "client sets reward", path: "/v1/referrals", body: `{"referredUserId":"u2","code":"` + code + `","rewardAmount":100000}`, status: 400, code: "invalid_request", field: "rewardAmount"},
			{name: "client sets referrer", path: "/v1/referrals", body: `{"referredUserId":"u2","code":"` + code + `","referrerId":"evil"}`, status: 400, code: "invalid_request", field: "referrerId"},
			{name: "wrong content type", path: "/v1/referrals", body: `{"referredUserId":"u2","code":"` + code + `"}`, contentType: "text/plain", status: 415, code: "unsupported_media_type"},
			{name: "form body", path: "/v1/referrals", body: `referredUserId=u2&code=` + code, contentType: "application/x-www-form-urlencoded", status: 415, code: "unsupported_media_type"},
			{name: "over-size body", path: "/v1/referrals", body: `{"referredUserId":"u2","code":"` + code + `","userAgent":"` + strings.Repeat("a", 70<<10) + `"}`, status: 413, code: "payload_too_large"},

			{name: "payment missing amount", path: "/v1/payments", body: `{"paymentId":"p1","userId":"u2","currency":"usd"}`, status: 400, code: "invalid_request", field: "amount"},
			{name: "payment negative", path: "/v1/payments", body: `{"paymentId":"p1","userId":"u2","amount":-5,"currency":"usd"}`, status: 400, code: "invalid_request", field: "amount"},
			{name: "payment float", path: "/v1/payments", body: `{"paymentId":"p1","userId":"u2","amount":10.5,"currency":"usd"}`, status: 400, code: "invalid_request", field: "amount"},
			{name: "payment string amount", path: "/v1/payments", body: `{"paymentId":"p1","userId":"u2","amount":"100","currency":"usd"}`, status: 400, code: "invalid_request", field: "amount"},
			{name: "payment overflow", path: "/v1/payments", body: `{"paymentId":"p1","userId":"u2","amount":99999999999999999999,"currency":"usd"}`, status: 400, code: "invalid_request", field: "amount"},
			{name: "payment huge", path: "/v1/payments", body: `{"paymentId":"p1","userId":"u2","amount":9000000000000000000,"currency":"usd"}`, status: 400, code: "invalid_request", field: "amount"},
			{name: "payment bad currency", path: "/v1/payments", body: `{"paymentId":"p1","userId":"u2","amount":100,"currency":"dollars"}`, status: 400, code: "invalid_request", field: "currency"},
			{name: "payment no currency", path: "/v1/payments", body: `{"paymentId":"p1","userId":"u2","amount":100}`, status: 400, code: "invalid_request", field: "currency"},
			{name: "payment no id", path: "/v1/payments", body: `{"userId":"u2","amount":100,"currency":"usd"}`, status: 400, code: "invalid_request", field: "paymentId"},
			{name: "payment sets qualified", path: "/v1/payments", body: `{"paymentId":"p1","userId":"u2","amount":100,"currency":"usd","qualified":true}`, status: 400, code: "invalid_request", field: "qualified"},
		}
		for _, tc := range cases {
			t.Run(tc.name, func(t *testing.T) {
				res := s.do(t, request{method: "POST", path: tc.path, token: s.token("backend", "service"), body: tc.body, contentType: tc.contentType})
				p := res.problem(t, tc.status, tc.code)
				if tc.field != "" {
					errs, _ := p["errors"].(map[string]any)
					if _, ok := errs[tc.field]; !ok {
						t.Fatalf("errors = %v, want a message for %s", p["errors"], tc.field)
					}
				}
				if strings.Contains(string(res.Body), "sql") || strings.Contains(string(res.Body), "goroutine") {
					t.Fatalf("internal detail leaked: %s", res.Body)
				}
			})
		}
		// None of it left a trace: u2 was never referred, no payment recorded.
		var page referralapi.ReferralPage
		s.do(t, request{method: "GET", path: "/v1/me/referrals", token: s.token("u1")}).decode(t, &page)
		if len(page.Items) != 0 {
			t.Fatalf("bad requests created referrals: %+v", page.Items)
		}
		if res := attribute(t, s, "u2", code, nil); res.Status != http.StatusCreated {
			t.Fatalf("a good request after the bad ones: %d %s", res.Status, res.Body)
		}
		var pr referralapi.PaymentResult
		pay(t, s, "p1", "u2", 100, "USD").decode(t, &pr)
		if !pr.Qualified || *pr.Referral.RewardCurrency != "usd" {
			t.Fatalf("p1 after bad attempts = %+v", pr)
		}
		// Reusing a payment id for another payment is a conflict.
		pay(t, s, "p1", "u2", 200, "usd").problem(t, http.StatusConflict, "payment_conflict")
	})
}

func TestUnknownRoutesAndMethods(t *testing.T) {
	eachBackend(t, serverOpts{}, func(t *testing.T, s *server) {
		res := send(t, s.url, request{method: "GET", path: "/v1/nope"})
		if res.Status != http.StatusNotFound || res.Header.Get("Content-Type") != "application/problem+json" {
			t.Fatalf("unknown route: %d %s", res.Status, res.Header.Get("Content-Type"))
		}
		res = send(t, s.url, request{method: "DELETE", path: "/v1/me/balance", token: s.token("u1")})
		if res.Status != http.StatusMethodNotAllowed || res.Header.Get("Content-Type") != "application/problem+json" {
			t.Fatalf("wrong method: %d %s", res.Status, res.Body)
		}
	})
}
