package httpapi_test

import (
	"net/http"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"

	"github.com/refhub/referral-service/internal/auth"
	"github.com/refhub/referral-service/internal/auth/authtest"
	"github.com/refhub/referral-service/internal/testdb"
	"github.com/refhub/referral-service/pkg/referralapi"
)

var keyShape = regexp.MustCompile(`^rk_[A-Za-z0-9_-]{16,}$`)

func createKey(t *testing.T, s *server, token, name, role string) referralapi.CreatedAPIKey {
	t.Helper()
	res := s.do(t, request{method: "POST", path: "/v1/admin/api-keys", token: token, body: jsonBody(t, map[string]any{"name": name, "role": role})})
	if res.Status != http.StatusCreated {
		t.Fatalf("create key: %d %s", res.Status, res.Body)
	}
	var k referralapi.CreatedAPIKey
	res.decode(t, &k)
	return k
}

// TestAPIKeys: an operator creates keys (the secret shown once, stored
// only as a hash), lists them, a backend uses one (its role only, never as
// a user), its use is recorded, and a revoked key is refused at once.
func TestAPIKeys(t *testing.T) {
	eachBackend(t, serverOpts{}, func(t *testing.T, s *server) {
		admin := s.token("ops", "admin")
		code := getCode(t, s, "referrer").Code
		k := createKey(t, s, admin, "billing backend", "service")
		if !keyShape.MatchString(k.Key) || k.Role != "service" || k.Name != "billing backend" || k.LastUsedAt != nil || !strings.HasPrefix(k.ID, "key_") {
			t.Fatalf("created key %+v", k)
		}
		// Nothing recoverable of the secret is stored.
		db, err := s.store.SQLDB()
		if err != nil {
			t.Fatal(err)
		}
		var id, name, role, hash, by string
		if err := db.QueryRow(`SELECT id, name, role, secret_hash, created_by FROM api_keys`).Scan(&id, &name, &role, &hash, &by); err != nil {
			t.Fatal(err)
		}
		secret := strings.TrimPrefix(k.Key, "rk_")
		for _, col := range []string{id, name, role, hash, by} {
			if strings.Contains(col, secret[:8]) {
				t.Fatalf("a column holds part of the secret: %q", col)
			}
		}
		if by != "ops" {
			t.Fatalf("created_by = %q", by)
		}

		// The key works for its role.
		res := s.do(t, request{method: "POST", path: "/v1/referrals", token: k.Key, body: jsonBody(t, map[string]any{"referredUserId": "friend", "code": code})})
		if res.Status != http.StatusCreated {
			t.Fatalf("attribution with the key: %d %s", res.Status, res.Body)
		}
		s.do(t, request{method: "GET", path: "/v1/admin/api-keys", token: k.Key}).problem(t, http.StatusForbidden, "forbidden")
		s.do(t, request{method: "GET", path: "/v1/me/balance", token: k.Key}).problem(t, http.StatusForbidden, "forbidden")

		var page referralapi.APIKeyPage
		s.do(t, request{method: "GET", path: "/v1/admin/api-keys", token: admin}).decode(t, &page)
		if len(page.Items) != 1 || page.Items[0].ID != k.ID || page.Items[0].LastUsedAt == nil || strings.Contains(string(mustMarshal(t, page)), "rk_") {
			t.Fatalf("list: %+v", page)
		}

		// An admin key works on admin endpoints; pages follow the cursor.
		ak := createKey(t, s, admin, "ops tool", "admin")
		s.do(t, request{method: "GET", path: "/v1/admin/api-keys?limit=1", token: ak.Key}).decode(t, &page)
		if len(page.Items) != 1 || page.Items[0].ID != ak.ID || page.NextCursor == nil {
			t.Fatalf("first page: %+v", page)
		}
		s.do(t, request{method: "GET", path: "/v1/admin/api-keys?limit=1&cursor=" + *page.NextCursor, token: ak.Key}).decode(t, &page)
		if len(page.Items) != 1 || page.Items[0].ID != k.ID || page.NextCursor != nil {
			t.Fatalf("second page: %+v", page)
		}

		// Revoked: refused at once; a second revocation is 404.
		if res := s.do(t, request{method: "DELETE", path: "/v1/admin/api-keys/" + k.ID, token: admin}); res.Status != http.StatusNoContent {
			t.Fatalf("revoke: %d %s", res.Status, res.Body)
		}
		s.do(t, request{method: "POST", path: "/v1/referrals", token: k.Key, body: jsonBody(t, map[string]any{"referredUserId": "friend2", "code": code})}).
			problem(t, http.StatusUnauthorized, "unauthorized")
		s.do(t, request{method: "DELETE", path: "/v1/admin/api-keys/" + k.ID, token: admin}).problem(t, http.StatusNotFound, "api_key_not_found")
		s.do(t, request{method: "GET", path: "/v1/admin/api-keys", token: admin}).decode(t, &page)
		if len(page.Items) != 1 || page.Items[0].ID != ak.ID {
			t.Fatalf("list after revoking: %+v", page)
		}

		// Bad input, and callers without the admin role.
		for _, body := range []string{`{"name":"x","role":"root"}`, `{"role":"service"}`, `{"name":"  ","role":"service"}`, `{"name":"x","role":"service","key":"rk_chosen"}`} {
			s.do(t, request{method: "POST", path: "/v1/admin/api-keys", token: admin, body: body}).problem(t, http.StatusBadRequest, "invalid_request")
		}
		s.do(t, request{method: "POST", path: "/v1/admin/api-keys", token: s.token("backend", "service"), body: `{"name":"x","role":"admin"}`}).problem(t, http.StatusForbidden, "forbidden")
		s.do(t, request{method: "GET", path: "/v1/admin/api-keys", token: "rk_" + strings.Repeat("A", 32)}).problem(t, http.StatusUnauthorized, "unauthorized")
	})
}

// TestAPIKeyRevokedOnEveryReplica: two replicas on one database; a key
// revoked through one stops working on the other within a second.
func TestAPIKeyRevokedOnEveryReplica(t *testing.T) {
	st := testdb.Postgres(t)
	a, b := newServer(t, st, serverOpts{}), newServer(t, st, serverOpts{})
	admin := a.token("ops", "admin")
	k := createKey(t, a, admin, "backend", "service")
	use := func(s *server) int {
		return s.do(t, request{method: "POST", path: "/v1/payments", token: k.Key,
			body: `{"paymentId":"p1","userId":"nobody","amount":100,"currency":"usd"}`}).Status
	}
	if got := use(b); got != http.StatusOK {
		t.Fatalf("the other replica: %d", got)
	}
	if res := a.do(t, request{method: "DELETE", path: "/v1/admin/api-keys/" + k.ID, token: admin}); res.Status != http.StatusNoContent {
		t.Fatalf("revoke: %d", res.Status)
	}
	revoked := time.Now()
	for {
		sent := time.Now() // a request's own slowness is not the cache's
		if use(b) == http.StatusUnauthorized {
			break
		}
		if sent.Sub(revoked) > 1100*time.Millisecond {
			t.Fatal("the other replica still accepts the revoked key after a second")
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// TestIdentityProviderTokens: tokens from a provider's JWKS work through
// the router, with roles from a nested claim mapped to ours; HS256 keeps
// working beside them; a JWKS-only server refuses HS256.
func TestIdentityProviderTokens(t *testing.T) {
	p := authtest.NewProvider(t)
	p.Publish("k1", jwt.SigningMethodRS256)
	opts := serverOpts{auth: auth.Config{JWKSURLs: []string{p.URL()}, Algorithms: []string{"HS256", "RS256"},
		RolesClaim: "realm_access.roles", RoleMap: map[string][]string{"backend": {"service"}}}}
	eachBackend(t, opts, func(t *testing.T, s *server) {
		now := time.Now()
		user := p.Token("k1", jwt.MapClaims{"sub": "kc-user-1", "exp": now.Add(time.Hour).Unix()}, false)
		var code referralapi.ReferralCode
		res := s.do(t, request{method: "GET", path: "/v1/me/referral-code", token: user})
		res.decode(t, &code)
		if res.Status != http.StatusOK || code.Code == "" {
			t.Fatalf("user token: %d %s", res.Status, res.Body)
		}
		backend := p.Token("k1", jwt.MapClaims{"sub": "svc-billing", "exp": now.Add(time.Hour).Unix(),
			"realm_access": map[string]any{"roles": []string{"backend"}}}, false)
		if res := attributeWith(t, s, backend, "friend", code.Code); res.Status != http.StatusCreated {
			t.Fatalf("mapped backend role: %d %s", res.Status, res.Body)
		}
		if res := s.do(t, request{method: "GET", path: "/v1/me/balance", token: s.token("hs-user")}); res.Status != http.StatusOK {
			t.Fatalf("HS256 beside JWKS: %d", res.Status)
		}
	})
	eachBackend(t, serverOpts{noSecret: true, auth: auth.Config{JWKSURLs: []string{p.URL()}}}, func(t *testing.T, s *server) {
		hs, _ := jwt.NewWithClaims(jwt.SigningMethodHS256, jwt.MapClaims{"sub": "u", "exp": time.Now().Add(time.Hour).Unix()}).SignedString([]byte(testSecret))
		s.do(t, request{method: "GET", path: "/v1/me/balance", token: hs}).problem(t, http.StatusUnauthorized, "unauthorized")
		ok := p.Token("k1", jwt.MapClaims{"sub": "u", "exp": time.Now().Add(time.Hour).Unix()}, false)
		if res := s.do(t, request{method: "GET", path: "/v1/me/balance", token: ok}); res.Status != http.StatusOK {
			t.Fatalf("JWKS token: %d", res.Status)
		}
	})
}
