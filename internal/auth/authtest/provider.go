// Package authtest runs an identity provider for tests: real RSA, ECDSA
// and Ed25519 signing keys, and a real JWKS endpoint over HTTP that can
// rotate keys, go down or hang.
package authtest

import (
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"net/http"
	"net/http/httptest"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/MicahParks/jwkset"
	"github.com/golang-jwt/jwt/v5"
)

// Provider is an identity provider with a JWKS endpoint.
type Provider struct {
	t       testing.TB
	mu      sync.Mutex
	keys    map[string]signingKey // by kid, the ones published
	fetches atomic.Int64
	down    atomic.Bool
	hang    atomic.Bool
	srv     *httptest.Server
}

type signingKey struct {
	method jwt.SigningMethod
	priv   crypto.Signer
}

// NewProvider starts a provider publishing no keys yet; it stops with t.
func NewProvider(t testing.TB) *Provider {
	p := &Provider{t: t, keys: map[string]signingKey{}}
	release := make(chan struct{})
	p.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		p.fetches.Add(1)
		if p.hang.Load() {
			select {
			case <-release:
			case <-r.Context().Done():
			}
			return
		}
		if p.down.Load() {
			http.Error(w, "down", http.StatusServiceUnavailable)
			return
		}
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write(p.jwks())
	}))
	t.Cleanup(func() {
		close(release)
		p.srv.Close()
	})
	return p
}

// URL is the JWKS endpoint.
func (p *Provider) URL() string { return p.srv.URL }

// Fetches counts the requests the endpoint answered.
func (p *Provider) Fetches() int64 { return p.fetches.Load() }

// SetDown makes the endpoint answer 503.
func (p *Provider) SetDown(down bool) { p.down.Store(down) }

// SetHanging makes the endpoint never answer.
func (p *Provider) SetHanging(hang bool) { p.hang.Store(hang) }

// Publish adds a new key for method under kid.
func (p *Provider) Publish(kid string, method jwt.SigningMethod) {
	p.t.Helper()
	var priv crypto.Signer
	var err error
	switch method.Alg() {
	case "RS256", "RS384", "RS512", "PS256", "PS384", "PS512":
		priv, err = rsa.GenerateKey(rand.Reader, 2048)
	case "ES256":
		priv, err = ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	case "ES384":
		priv, err = ecdsa.GenerateKey(elliptic.P384(), rand.Reader)
	case "EdDSA":
		_, priv, err = ed25519.GenerateKey(rand.Reader)
	default:
		p.t.Fatalf("no key for %s", method.Alg())
	}
	if err != nil {
		p.t.Fatal(err)
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	p.keys[kid] = signingKey{method: method, priv: priv}
}

// Retire stops publishing kid (its tokens can still be signed).
func (p *Provider) Retire(kid string) {
	p.mu.Lock()
	defer p.mu.Unlock()
	delete(p.keys, kid)
}

// Signer returns kid's private key.
func (p *Provider) Signer(kid string) crypto.Signer {
	p.t.Helper()
	p.mu.Lock()
	defer p.mu.Unlock()
	k, ok := p.keys[kid]
	if !ok {
		p.t.Fatalf("no key %s", kid)
	}
	return k.priv
}

func (p *Provider) jwks() []byte {
	p.mu.Lock()
	defer p.mu.Unlock()
	ctx := context.Background()
	set := jwkset.NewMemoryStorage()
	for kid, k := range p.keys {
		jwk, err := jwkset.NewJWKFromKey(k.priv.Public(), jwkset.JWKOptions{
			Metadata: jwkset.JWKMetadataOptions{KID: kid, ALG: jwkset.ALG(k.method.Alg()), USE: jwkset.UseSig},
		})
		if err != nil {
			p.t.Error(err)
			continue
		}
		if err := set.KeyWrite(ctx, jwk); err != nil {
			p.t.Error(err)
		}
	}
	b, err := set.JSONPublic(ctx)
	if err != nil {
		p.t.Error(err)
	}
	return b
}

// Token signs claims with the key kid; the header names the kid unless noKID.
func (p *Provider) Token(kid string, claims jwt.MapClaims, noKID bool) string {
	p.t.Helper()
	p.mu.Lock()
	k, ok := p.keys[kid]
	p.mu.Unlock()
	if !ok {
		p.t.Fatalf("no key %s", kid)
	}
	tok := jwt.NewWithClaims(k.method, claims)
	if !noKID {
		tok.Header["kid"] = kid
	}
	s, err := tok.SignedString(k.priv)
	if err != nil {
		p.t.Fatal(err)
	}
	return s
}
