package auth_test

import (
	"context"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"

	"github.com/refhub/referral-service/internal/auth"
	"github.com/refhub/referral-service/internal/auth/authtest"
)

func claims(sub string, extra map[string]any) jwt.MapClaims {
	c := jwt.MapClaims{"sub": sub, "exp": time.Now().Add(time.Hour).Unix(), "iat": time.Now().Unix()}
	for k, v := range extra {
		c[k] = v
	}
	return c
}

func newAuth(t *testing.T, cfg auth.Config) *auth.Authenticator {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)
	a, err := auth.New(ctx, cfg)
	if err != nil {
		t.Fatal(err)
	}
	return a
}

// TestProviderTokens: tokens shaped as each identity provider issues them,
// signed with RSA, ECDSA and Ed25519 keys published by a real JWKS
// endpoint, give the right subject and roles.
func TestProviderTokens(t *testing.T) {
	cases := []struct {
		name       string
		alg        jwt.SigningMethod
		rolesClaim string
		roleMap    map[string][]string
		claims     map[string]any
		audience   string
		wantSub    string
		wantRoles  []string
	}{
		{name: "Auth0: RS256, audience array, namespaced roles", alg: jwt.SigningMethodRS256, rolesClaim: "https://refer.example.com/roles",
			audience: "https://api.example.com",
			claims: map[string]any{"aud": []string{"https://api.example.com", "https://tenant.auth0.com/userinfo"},
				"https://refer.example.com/roles": []string{"admin"}, "roles": []string{"ignored"}},
			wantSub: "auth0|65f0c0ffee", wantRoles: []string{"admin"}},
		{name: "Keycloak: nested realm roles mapped", alg: jwt.SigningMethodRS256, rolesClaim: "realm_access.roles",
			roleMap: map[string][]string{"backend": {"service"}},
			claims:  map[string]any{"realm_access": map[string]any{"roles": []string{"backend", "offline_access"}}},
			wantSub: "0f5c2f2e-2f55-4d0f-9d1b-5a3f0f6c2a11", wantRoles: []string{"backend", "offline_access", "service"}},
		{name: "Cognito: groups claim with a colon", alg: jwt.SigningMethodRS256, rolesClaim: "cognito:groups",
			roleMap: map[string][]string{"ops": {"admin"}},
			claims:  map[string]any{"cognito:groups": []string{"ops"}, "token_use": "access"},
			wantSub: "a1b2c3d4-0000-1111-2222-333344445555", wantRoles: []string{"ops", "admin"}},
		{name: "Firebase: RS256, custom claims", alg: jwt.SigningMethodRS256, rolesClaim: "roles", audience: "my-project",
			claims:  map[string]any{"aud": "my-project", "roles": []string{"service"}, "email": "jane@example.com"},
			wantSub: "Xk3VDsZ5tJd1fRb2", wantRoles: []string{"service"}},
		{name: "Clerk: RS256, roles from session claims", alg: jwt.SigningMethodRS256, rolesClaim: "metadata.roles",
			claims:  map[string]any{"metadata": map[string]any{"roles": []string{"admin"}}, "azp": "https://app.example.com"},
			wantSub: "user_2abcDEF", wantRoles: []string{"admin"}},
		{name: "Supabase: ES256", alg: jwt.SigningMethodES256, rolesClaim: "app_metadata.roles",
			claims:  map[string]any{"app_metadata": map[string]any{"roles": []string{"service"}}, "role": "authenticated"},
			wantSub: "4c9f5c2e-7b1a-4d7e-9c52-7f3d1b7c9e10", wantRoles: []string{"service"}},
		{name: "Okta: groups, ES384 allowed by configuration", alg: jwt.SigningMethodES384, rolesClaim: "groups",
			claims:  map[string]any{"groups": []string{"Everyone"}},
			wantSub: "00u1abcd2EFGHij3k4x7", wantRoles: []string{"Everyone"}},
		{name: "EdDSA key", alg: jwt.SigningMethodEdDSA, claims: map[string]any{"roles": "service admin"},
			wantSub: "ed-user", wantRoles: []string{"service", "admin"}},
		{name: "PS256 allowed by configuration", alg: jwt.SigningMethodPS256, wantSub: "ps-user"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			p := authtest.NewProvider(t)
			p.Publish("k1", tc.alg)
			algs := auth.DefaultAlgorithms(false, true)
			if !containsAlg(algs, tc.alg.Alg()) {
				algs = append(algs, tc.alg.Alg())
			}
			a := newAuth(t, auth.Config{JWKSURLs: []string{p.URL()}, Algorithms: algs, RolesClaim: tc.rolesClaim, RoleMap: tc.roleMap, Audience: tc.audience})
			got, err := a.Authenticate(context.Background(), p.Token("k1", claims(tc.wantSub, tc.claims), false))
			if err != nil {
				t.Fatal(err)
			}
			if got.Subject != tc.wantSub || fmt.Sprint(got.Roles) != fmt.Sprint(tc.wantRoles) {
				t.Fatalf("principal %+v, want %s with roles %v", got, tc.wantSub, tc.wantRoles)
			}
		})
	}
}

func containsAlg(algs []string, alg string) bool {
	for _, a := range algs {
		if a == alg {
			return true
		}
	}
	return false
}

// TestKeyRotationAndOutages: a key the provider rotates in is accepted at
// once; a token without kid is tried against every key; with the JWKS
// endpoint down or hanging, known keys still verify and unknown ones are
// refused within five seconds, never with a hang.
func TestKeyRotationAndOutages(t *testing.T) {
	p := authtest.NewProvider(t)
	p.Publish("old", jwt.SigningMethodRS256)
	a := newAuth(t, auth.Config{JWKSURLs: []string{p.URL()}, JWKS: auth.JWKSOptions{FetchTimeout: 2 * time.Second}})
	ctx := context.Background()
	if _, err := a.Authenticate(ctx, p.Token("old", claims("u1", nil), false)); err != nil {
		t.Fatal(err)
	}
	// Rotation: the provider publishes a new key and retires the old one.
	p.Publish("new", jwt.SigningMethodES256)
	p.Retire("old")
	start := time.Now()
	if _, err := a.Authenticate(ctx, p.Token("new", claims("u1", nil), false)); err != nil {
		t.Fatalf("rotated key: %v", err)
	}
	if time.Since(start) > 5*time.Second {
		t.Fatalf("rotated key took %s", time.Since(start))
	}
	if _, err := a.Authenticate(ctx, p.Token("new", claims("u1", nil), true)); err != nil {
		t.Fatalf("token without kid: %v", err)
	}

	// Down: cached keys verify; an unknown kid is refused quickly.
	p.SetDown(true)
	p.Publish("unseen", jwt.SigningMethodES256)
	if _, err := a.Authenticate(ctx, p.Token("new", claims("u1", nil), false)); err != nil {
		t.Fatalf("cached key with the endpoint down: %v", err)
	}
	start = time.Now()
	if _, err := a.Authenticate(ctx, p.Token("unseen", claims("u1", nil), false)); !errors.Is(err, auth.ErrInvalid) || time.Since(start) > 5*time.Second {
		t.Fatalf("unknown key with the endpoint down: %v after %s", err, time.Since(start))
	}

	// Hanging: the same, bounded by the fetch timeout.
	p.SetDown(false)
	p.SetHanging(true)
	time.Sleep(5100 * time.Millisecond) // the next unknown kid may fetch again
	start = time.Now()
	if _, err := a.Authenticate(ctx, p.Token("unseen", claims("u1", nil), false)); !errors.Is(err, auth.ErrInvalid) || time.Since(start) > 5*time.Second {
		t.Fatalf("unknown key with the endpoint hanging: %v after %s", err, time.Since(start))
	}
	if _, err := a.Authenticate(ctx, p.Token("new", claims("u1", nil), false)); err != nil {
		t.Fatalf("cached key with the endpoint hanging: %v", err)
	}
}

// TestAttacks: algorithm confusion (HS256 signed with the provider's public
// key), alg none, algorithms not allowed, and a flood of unknown key ids,
// which fetches the JWKS at most once per interval and answers each at once.
func TestAttacks(t *testing.T) {
	p := authtest.NewProvider(t)
	p.Publish("k1", jwt.SigningMethodRS256)
	secret := []byte("a-shared-secret-of-thirty-two-bytes-or-more")
	a := newAuth(t, auth.Config{Secret: secret, JWKSURLs: []string{p.URL()}, Algorithms: []string{"HS256", "RS256"}})
	ctx := context.Background()

	// The provider's public key, as PEM and as DER, used as an HMAC secret.
	pub := p.Signer("k1").Public()
	der, err := x509.MarshalPKIXPublicKey(pub)
	if err != nil {
		t.Fatal(err)
	}
	pemKey := pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: der})
	for _, hmacKey := range [][]byte{pemKey, der} {
		tok := jwt.NewWithClaims(jwt.SigningMethodHS256, claims("attacker", map[string]any{"roles": []string{"admin"}}))
		tok.Header["kid"] = "k1"
		s, err := tok.SignedString(hmacKey)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := a.Authenticate(ctx, s); !errors.Is(err, auth.ErrInvalid) {
			t.Fatalf("HS256 signed with the public key: %v", err)
		}
	}
	none, _ := jwt.NewWithClaims(jwt.SigningMethodNone, claims("attacker", nil)).SignedString(jwt.UnsafeAllowNoneSignatureType)
	if _, err := a.Authenticate(ctx, none); !errors.Is(err, auth.ErrInvalid) {
		t.Fatalf("alg none: %v", err)
	}
	p.Publish("k2", jwt.SigningMethodRS384)
	if _, err := a.Authenticate(ctx, p.Token("k2", claims("u1", nil), false)); !errors.Is(err, auth.ErrInvalid) {
		t.Fatalf("RS384 not in the allow-list: %v", err)
	}
	expired := claims("u1", nil)
	expired["exp"] = time.Now().Add(-time.Hour).Unix()
	if _, err := a.Authenticate(ctx, p.Token("k1", expired, false)); !errors.Is(err, auth.ErrInvalid) {
		t.Fatalf("expired: %v", err)
	}

	// Flood: 300 tokens with random key ids, concurrently.
	p.Publish("flood", jwt.SigningMethodRS256)
	before := p.Fetches()
	flood := make([]string, 300) // signed first: only verifying is timed
	for i := range flood {
		tok := jwt.NewWithClaims(jwt.SigningMethodRS256, claims("u1", nil))
		tok.Header["kid"] = fmt.Sprintf("random-%d", i)
		flood[i], _ = tok.SignedString(p.Signer("flood"))
	}
	var wg sync.WaitGroup
	start := time.Now()
	var accepted atomic.Int64
	for _, s := range flood {
		wg.Go(func() {
			if _, err := a.Authenticate(ctx, s); err == nil {
				accepted.Add(1)
			}
		})
	}
	wg.Wait()
	if accepted.Load() != 0 {
		t.Fatalf("%d tokens with unknown key ids accepted", accepted.Load())
	}
	if fetched := p.Fetches() - before; fetched > 1 {
		t.Fatalf("the flood fetched the JWKS %d times, want at most once per interval", fetched)
	}
	if took := time.Since(start); took > 5*time.Second {
		t.Fatalf("the flood took %s", took)
	}
	// The HS256 secret still works beside the JWKS.
	hs, _ := jwt.NewWithClaims(jwt.SigningMethodHS256, claims("backend", map[string]any{"roles": []string{"service"}})).SignedString(secret)
	if got, err := a.Authenticate(ctx, hs); err != nil || !got.Has("service") {
		t.Fatalf("HS256 token: %+v %v", got, err)
	}
}
