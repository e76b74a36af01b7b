package httpapi

import (
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/golang-jwt/jwt/v5"
	"github.com/labstack/echo/v4"
)

// Roles the service knows.
const (
	RoleService = "service"
	RoleAdmin   = "admin"
)

// maxUserIDLength bounds user ids from tokens and bodies.
const maxUserIDLength = 128

// Principal is the authenticated caller.
type Principal struct {
	UserID string
	Roles  []string
}

// Has reports whether the caller holds role.
func (p Principal) Has(role string) bool { return slices.Contains(p.Roles, role) }

// AuthConfig is how bearer tokens are checked.
type AuthConfig struct {
	Secret     []byte
	Issuer     string
	Audience   string
	RolesClaim string
}

// Authenticator verifies HS256 bearer tokens: explicit algorithm list (never
// "none"), exp required, iss and aud checked when configured.
type Authenticator struct {
	cfg    AuthConfig
	parser *jwt.Parser
}

// NewAuthenticator returns an Authenticator for cfg.
func NewAuthenticator(cfg AuthConfig) *Authenticator {
	opts := []jwt.ParserOption{
		jwt.WithValidMethods([]string{jwt.SigningMethodHS256.Alg()}),
		jwt.WithExpirationRequired(),
		jwt.WithIssuedAt(),
		jwt.WithLeeway(30 * time.Second),
	}
	if cfg.Issuer != "" {
		opts = append(opts, jwt.WithIssuer(cfg.Issuer))
	}
	if cfg.Audience != "" {
		opts = append(opts, jwt.WithAudience(cfg.Audience))
	}
	if cfg.RolesClaim == "" {
		cfg.RolesClaim = "roles"
	}
	return &Authenticator{cfg: cfg, parser: jwt.NewParser(opts...)}
}

// Verify checks a raw token and returns its principal.
func (a *Authenticator) Verify(raw string) (Principal, error) {
	claims := jwt.MapClaims{}
	_, err := a.parser.ParseWithClaims(raw, claims, func(*jwt.Token) (any, error) { return a.cfg.Secret, nil })
	if err != nil {
		return Principal{}, err
	}
	sub, _ := claims["sub"].(string)
	if sub == "" || utf8.RuneCountInString(sub) > maxUserIDLength || !utf8.ValidString(sub) || strings.IndexFunc(sub, unicode.IsControl) >= 0 {
		return Principal{}, errors.New("sub must be a user id of 1-128 printable characters")
	}
	p := Principal{UserID: sub}
	switch roles := claims[a.cfg.RolesClaim].(type) {
	case nil:
	case []any:
		for _, r := range roles {
			s, ok := r.(string)
			if !ok {
				return Principal{}, fmt.Errorf("claim %s must be an array of strings", a.cfg.RolesClaim)
			}
			p.Roles = append(p.Roles, s)
		}
	case string:
		p.Roles = strings.Fields(roles)
	default:
		return Principal{}, fmt.Errorf("claim %s must be an array of strings", a.cfg.RolesClaim)
	}
	return p, nil
}

// Mint signs a token for sub with roles, valid for ttl. The token subcommand
// and tests use it; production tokens come from the product's auth system.
func (a *Authenticator) Mint(sub string, roles []string, ttl time.Duration, now time.Time) (string, error) {
	claims := jwt.MapClaims{
		"sub": sub,
		"iat": now.Unix(),
		"exp": now.Add(ttl).Unix(),
	}
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

const principalKey = "principal"

// middleware rejects requests without a valid bearer token (401) and stores
// the caller's principal in the context.
func (a *Authenticator) middleware() echo.MiddlewareFunc {
	return func(next echo.HandlerFunc) echo.HandlerFunc {
		return func(c echo.Context) error {
			header := c.Request().Header.Get(echo.HeaderAuthorization)
			scheme, token, ok := strings.Cut(header, " ")
			if !ok || !strings.EqualFold(scheme, "Bearer") || strings.TrimSpace(token) == "" {
				return errUnauthorized
			}
			p, err := a.Verify(strings.TrimSpace(token))
			if err != nil {
				return &apiError{Status: errUnauthorized.Status, Code: errUnauthorized.Code, Title: errUnauthorized.Title, Detail: "invalid token: " + tokenProblem(err)}
			}
			c.Set(principalKey, p)
			return next(c)
		}
	}
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
	case errors.Is(err, jwt.ErrTokenSignatureInvalid), errors.Is(err, jwt.ErrTokenUnverifiable):
		return "bad signature or algorithm"
	case errors.Is(err, jwt.ErrTokenMalformed):
		return "malformed"
	case errors.Is(err, jwt.ErrTokenNotValidYet), errors.Is(err, jwt.ErrTokenUsedBeforeIssued):
		return "not valid yet"
	default:
		return err.Error()
	}
}

// requireRole answers 403 unless the authenticated caller holds role.
func requireRole(role string) echo.MiddlewareFunc {
	return func(next echo.HandlerFunc) echo.HandlerFunc {
		return func(c echo.Context) error {
			if !principal(c).Has(role) {
				return errForbidden
			}
			return next(c)
		}
	}
}

// principal returns the caller; routes behind the auth middleware always have one.
func principal(c echo.Context) Principal {
	p, _ := c.Get(principalKey).(Principal)
	return p
}
