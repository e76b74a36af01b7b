// Package auth says who is calling: a bearer token from the product's
// identity provider (HS256 with a shared secret, or RS/PS/ES/EdDSA verified
// against the provider's JWKS), or an API key of a product backend. It turns
// either into a Principal; the HTTP layer only asks it.
package auth

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/golang-jwt/jwt/v5"
)

// Roles the service knows.
const (
	RoleService = "service"
	RoleAdmin   = "admin"
)

// MaxSubjectLength bounds user ids from tokens.
const MaxSubjectLength = 128

// Principal is the authenticated caller.
type Principal struct {
	// Subject is the product's user id (a token's sub), or the API key's id.
	Subject string
	Roles   []string
	// APIKeyID is set when the caller used an API key.
	APIKeyID string
	// Email is the token's email claim, when it has one.
	Email string
}

// Has reports whether the caller holds role.
func (p Principal) Has(role string) bool { return slices.Contains(p.Roles, role) }

// Algorithms the service can verify. HS256 uses the shared secret; the
// others the identity provider's JWKS. "none" is never accepted.
var knownAlgorithms = []string{"HS256", "RS256", "RS384", "RS512", "PS256", "PS384", "PS512", "ES256", "ES384", "ES512", "EdDSA"}

// KnownAlgorithm reports whether alg can be listed in JWT_ALGORITHMS.
func KnownAlgorithm(alg string) bool { return slices.Contains(knownAlgorithms, alg) }

// DefaultAlgorithms is the allow-list when none is configured: HS256 with a
// secret, RS256, ES256 and EdDSA with JWKS URLs.
func DefaultAlgorithms(secret bool, jwks bool) []string {
	var algs []string
	if secret {
		algs = append(algs, "HS256")
	}
	if jwks {
		algs = append(algs, "RS256", "ES256", "EdDSA")
	}
	return algs
}

// Config is how callers are authenticated.
type Config struct {
	// Secret verifies HS256 tokens; empty: none.
	Secret []byte
	// JWKSURLs are the identity provider's key sets, for asymmetric tokens.
	JWKSURLs []string
	// Algorithms is the allow-list (DefaultAlgorithms when empty).
	Algorithms []string
	Issuer     string
	Audience   string
	// RolesClaim is an exact top-level claim name (even one with dots, such
	// as a namespaced URL), else a dotted path into nested claims
	// (realm_access.roles). Default "roles".
	RolesClaim string
	// RoleMap adds service roles for the product's roles: backend → service.
	RoleMap map[string][]string
	// JWKS tunes the key set fetching (zero: production defaults).
	JWKS JWKSOptions
	// Keys holds API keys; nil: API keys are not accepted.
	Keys KeyStore
	// NewID makes the id of a new API key, time-ordered (the service's id
	// generator); needed to create keys.
	NewID func(prefix string, t time.Time) (string, error)
	// Now is the clock; time.Now when nil.
	Now func() time.Time
}

// Errors of authentication. The HTTP layer answers 401 for all of them.
var (
	ErrNoCredentials = errors.New("no credentials")
	ErrInvalid       = errors.New("invalid credentials")
)

// Authenticator verifies bearer tokens and API keys.
type Authenticator struct {
	cfg    Config
	parser *jwt.Parser
	jwks   *jwksKeys
	keys   *apiKeys
}

// New returns an Authenticator for cfg. With JWKS URLs it starts fetching
// the key sets, refreshed in the background until ctx ends.
func New(ctx context.Context, cfg Config) (*Authenticator, error) {
	if cfg.RolesClaim == "" {
		cfg.RolesClaim = "roles"
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if len(cfg.Algorithms) == 0 {
		cfg.Algorithms = DefaultAlgorithms(len(cfg.Secret) > 0, len(cfg.JWKSURLs) > 0)
	}
	for _, alg := range cfg.Algorithms {
		if !KnownAlgorithm(alg) {
			return nil, fmt.Errorf("algorithm %q is not supported", alg)
		}
	}
	opts := []jwt.ParserOption{
		jwt.WithValidMethods(cfg.Algorithms),
		jwt.WithExpirationRequired(),
		jwt.WithIssuedAt(),
		jwt.WithLeeway(30 * time.Second),
		jwt.WithTimeFunc(cfg.Now),
	}
	if cfg.Issuer != "" {
		opts = append(opts, jwt.WithIssuer(cfg.Issuer))
	}
	if cfg.Audience != "" {
		opts = append(opts, jwt.WithAudience(cfg.Audience))
	}
	a := &Authenticator{cfg: cfg, parser: jwt.NewParser(opts...)}
	if len(cfg.JWKSURLs) > 0 {
		var err error
		if a.jwks, err = newJWKSKeys(ctx, cfg.JWKSURLs, cfg.JWKS); err != nil {
			return nil, err
		}
	}
	if cfg.Keys != nil {
		a.keys = newAPIKeys(cfg.Keys, cfg.Now)
	}
	return a, nil
}

// Authenticate verifies the credentials of an Authorization bearer value: an
// API key (rk_…) or a JWT.
func (a *Authenticator) Authenticate(ctx context.Context, bearer string) (Principal, error) {
	bearer = strings.TrimSpace(bearer)
	if bearer == "" {
		return Principal{}, ErrNoCredentials
	}
	if strings.HasPrefix(bearer, APIKeyPrefix) {
		if a.keys == nil {
			return Principal{}, fmt.Errorf("%w: API keys are not accepted", ErrInvalid)
		}
		return a.keys.authenticate(ctx, bearer)
	}
	return a.verifyToken(ctx, bearer)
}

// verifyToken checks a JWT: signature with the key its algorithm calls
// for (never a JWKS key as an HMAC secret), exp, iss and aud.
func (a *Authenticator) verifyToken(ctx context.Context, raw string) (Principal, error) {
	claims := jwt.MapClaims{}
	_, err := a.parser.ParseWithClaims(raw, claims, func(t *jwt.Token) (any, error) {
		switch t.Method.(type) {
		case *jwt.SigningMethodHMAC:
			if len(a.cfg.Secret) == 0 {
				return nil, errors.New("HMAC tokens are not accepted")
			}
			return a.cfg.Secret, nil
		default:
			if a.jwks == nil {
				return nil, errors.New("no JWKS is configured for asymmetric tokens")
			}
			return a.jwks.key(ctx, t)
		}
	})
	if err != nil {
		return Principal{}, fmt.Errorf("%w: %s", ErrInvalid, tokenProblem(err))
	}
	sub, _ := claims["sub"].(string)
	if sub == "" || utf8.RuneCountInString(sub) > MaxSubjectLength || !utf8.ValidString(sub) || strings.IndexFunc(sub, unicode.IsControl) >= 0 {
		return Principal{}, fmt.Errorf("%w: sub must be a user id of 1-%d printable characters", ErrInvalid, MaxSubjectLength)
	}
	roles, err := a.roles(claims)
	if err != nil {
		return Principal{}, fmt.Errorf("%w: %v", ErrInvalid, err)
	}
	p := Principal{Subject: sub, Roles: roles}
	if email, ok := claims["email"].(string); ok && utf8.ValidString(email) && len(email) <= 254 {
		p.Email = email
	}
	return p, nil
}

// roles reads the roles claim (an exact top-level name first, else a
// dotted path) as an array of strings or a space-separated string, and adds
// the service roles RoleMap gives the product's roles.
func (a *Authenticator) roles(claims jwt.MapClaims) ([]string, error) {
	value, ok := claims[a.cfg.RolesClaim]
	if !ok && strings.Contains(a.cfg.RolesClaim, ".") {
		var cur any = map[string]any(claims)
		for _, part := range strings.Split(a.cfg.RolesClaim, ".") {
			m, isMap := cur.(map[string]any)
			if !isMap {
				cur = nil
				break
			}
			cur = m[part]
		}
		value = cur
	}
	var roles []string
	switch v := value.(type) {
	case nil:
	case []any:
		for _, r := range v {
			s, ok := r.(string)
			if !ok {
				return nil, fmt.Errorf("claim %s must be an array of strings", a.cfg.RolesClaim)
			}
			roles = append(roles, s)
		}
	case string:
		roles = strings.Fields(v)
	default:
		return nil, fmt.Errorf("claim %s must be an array of strings", a.cfg.RolesClaim)
	}
	for _, r := range roles {
		for _, mapped := range a.cfg.RoleMap[r] {
			if !slices.Contains(roles, mapped) {
				roles = append(roles, mapped)
			}
		}
	}
	return roles, nil
}

// tokenProblem names why a token failed without echoing the token.
func tokenProblem(err error) string {
	switch {
	case errors.Is(err, jwt.ErrTokenExpired):
		return "expired"
	case errors.Is(err, jwt.ErrTokenRequiredClaimMissing):
		return "a required claim (exp) is missing"
	case errors.Is(err, jwt.ErrTokenInvalidIssuer):
		return "wrong issuer"
	case errors.Is(err, jwt.ErrTokenInvalidAudience):
		return "wrong audience"
	case errors.Is(err, jwt.ErrTokenUnverifiable):
		return "no key can verify it (algorithm not allowed, or unknown key)"
	case errors.Is(err, jwt.ErrTokenSignatureInvalid):
		return "bad signature or algorithm"
	case errors.Is(err, jwt.ErrTokenMalformed):
		return "malformed"
	case errors.Is(err, jwt.ErrTokenNotValidYet), errors.Is(err, jwt.ErrTokenUsedBeforeIssued):
		return "not valid yet"
	default:
		return "rejected"
	}
}

// Mint signs an HS256 token for sub with roles, valid for ttl. The token
// subcommand and tests use it; production tokens come from the product's
// identity provider.
func (a *Authenticator) Mint(sub string, roles []string, ttl time.Duration, now time.Time) (string, error) {
	if len(a.cfg.Secret) == 0 {
		return "", errors.New("minting tokens needs JWT_SECRET")
	}
	claims := jwt.MapClaims{"sub": sub, "iat": now.Unix(), "exp": now.Add(ttl).Unix()}
	if roles == nil {
		roles = []string{}
	}
	claims[a.cfg.RolesClaim] = roles
	if a.cfg.Issuer != "" {
		claims["iss"] = a.cfg.Issuer
	}
	if a.cfg.Audience != "" {
		claims["aud"] = a.cfg.Audience
	}
	return jwt.NewWithClaims(jwt.SigningMethodHS256, claims).SignedString(a.cfg.Secret)
}
