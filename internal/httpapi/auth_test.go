package httpapi_test

import (
	"net/http"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"

	"github.com/refhub/referral-service/internal/auth"
)

func signed(t *testing.T, method jwt.SigningMethod, key any, claims jwt.MapClaims) string {
	t.Helper()
	tok, err := jwt.NewWithClaims(method, claims).SignedString(key)
	if err != nil {
		t.Fatal(err)
	}
	return tok
}

func TestAuthentication(t *testing.T) {
	eachBackend(t, serverOpts{issuer: "https://auth.example.com", audience: "referrals"}, func(t *testing.T, s *server) {
		now := time.Now()
		good := jwt.MapClaims{"sub": "u1", "exp": now.Add(time.Hour).Unix(), "iss": "https://auth.example.com", "aud": "referrals", "roles": []string{"service"}}
		with := func(changes map[string]any) jwt.MapClaims {
			c := jwt.MapClaims{}
			for k, v := range good {
				c[k] = v
			}
			for k, v := range changes {
				if v == nil {
					delete(c, k)
				} else {
					c[k] = v
				}
			}
			return c
		}
		key := []byte(testSecret)
		noneToken := signed(t, jwt.SigningMethodNone, jwt.UnsafeAllowNoneSignatureType, good)
		cases := []struct {
			name  string
			token string
			raw   string
		}{
			{name: "no header"},
			{name: "not bearer", raw: "Basic dTE6cGFzcw=="},
			{name: "garbage", token: "not.a.jwt"},
			{name: "wrong key", token: signed(t, jwt.SigningMethodHS256, []byte("another-secret-another-secret-xx"), good)},
			{name: "alg none", token: noneToken},
			{name: "HS512 not allowed", token: signed(t, jwt.SigningMethodHS512, key, good)},
			{name: "expired", token: signed(t, jwt.SigningMethodHS256, key, with(map[string]any{"exp": now.Add(-time.Hour).Unix()}))},
			{name: "no exp", token: signed(t, jwt.SigningMethodHS256, key, with(map[string]any{"exp": nil}))},
			{name: "no sub", token: signed(t, jwt.SigningMethodHS256, key, with(map[string]any{"sub": nil}))},
			{name: "wrong issuer", token: signed(t, jwt.SigningMethodHS256, key, with(map[string]any{"iss": "https://evil.example.com"}))},
			{name: "no issuer", token: signed(t, jwt.SigningMethodHS256, key, with(map[string]any{"iss": nil}))},
			{name: "wrong audience", token: signed(t, jwt.SigningMethodHS256, key, with(map[string]any{"aud": "other"}))},
			{name: "control character in sub", token: signed(t, jwt.SigningMethodHS256, key, with(map[string]any{"sub": "u\x001"}))},
			{name: "roles not strings", token: signed(t, jwt.SigningMethodHS256, key, with(map[string]any{"roles": []any{1, 2}}))},
		}
		for _, tc := range cases {
			t.Run(tc.name, func(t *testing.T) {
				req := request{method: "GET", path: "/v1/me/referral-code", token: tc.token}
				if tc.raw != "" {
					req.header = map[string]string{"Authorization": tc.raw}
				}
				res := s.do(t, req)
				res.problem(t, http.StatusUnauthorized, "unauthorized")
				if res.Header.Get("WWW-Authenticate") == "" {
					t.Fatal("401 without WWW-Authenticate")
				}
			})
		}

		ok := s.do(t, request{method: "GET", path: "/v1/me/referral-code", token: signed(t, jwt.SigningMethodHS256, key, good)})
		if ok.Status != http.StatusOK {
			t.Fatalf("valid token: %d %s", ok.Status, ok.Body)
		}
		// A valid token without the service role is 403 on backend endpoints.
		userOnly := signed(t, jwt.SigningMethodHS256, key, with(map[string]any{"roles": []string{"admin"}}))
		body := jsonBody(t, map[string]any{"referredUserId": "x", "code": "ABCDEFGH"})
		s.do(t, request{method: "POST", path: "/v1/referrals", token: userOnly, body: body}).problem(t, http.StatusForbidden, "forbidden")
		pbody := jsonBody(t, map[string]any{"paymentId": "p", "userId": "x", "amount": 1, "currency": "usd"})
		s.do(t, request{method: "POST", path: "/v1/payments", token: userOnly, body: pbody}).problem(t, http.StatusForbidden, "forbidden")
		// No token at all is 401, not 403, on the same endpoints.
		s.do(t, request{method: "POST", path: "/v1/payments", body: pbody}).problem(t, http.StatusUnauthorized, "unauthorized")
	})
}

func TestCustomRolesClaim(t *testing.T) {
	// Roles may come from a namespaced claim; the default "roles" claim is then ignored.
	eachBackend(t, serverOpts{auth: auth.Config{RolesClaim: "https://example.com/roles"}}, func(t *testing.T, s *server) {
		tok := signed(t, jwt.SigningMethodHS256, []byte(testSecret), jwt.MapClaims{
			"sub": "b", "exp": time.Now().Add(time.Hour).Unix(),
			"https://example.com/roles": []string{"service"}, "roles": []string{},
		})
		res := attributeWith(t, s, tok, "x", "ABCDEFGH")
		res.problem(t, http.StatusNotFound, "code_not_found") // past the role check
	})
}

// attributeWith posts an attribution with a given bearer token.
func attributeWith(t *testing.T, s *server, token, referred, code string) response {
	t.Helper()
	return s.do(t, request{method: "POST", path: "/v1/referrals", token: token, body: jsonBody(t, map[string]any{"referredUserId": referred, "code": code})})
}
