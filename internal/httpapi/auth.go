package httpapi

import (
	"errors"
	"strings"

	"github.com/labstack/echo/v4"

	"github.com/refhub/referral-service/internal/auth"
)

// Roles the service knows.
const (
	RoleService = auth.RoleService
	RoleAdmin   = auth.RoleAdmin
)

// maxUserIDLength bounds user ids from tokens and bodies.
const maxUserIDLength = auth.MaxSubjectLength

const principalKey = "principal"

// authenticate rejects requests without valid credentials (401) and stores
// the caller's principal in the context. Credentials are a bearer JWT from
// the product's identity provider or an API key (rk_…); the auth package
// decides which.
func authenticate(a *auth.Authenticator) echo.MiddlewareFunc {
	return func(next echo.HandlerFunc) echo.HandlerFunc {
		return func(c echo.Context) error {
			header := c.Request().Header.Get(echo.HeaderAuthorization)
			scheme, token, ok := strings.Cut(header, " ")
			if !ok || !strings.EqualFold(scheme, "Bearer") || strings.TrimSpace(token) == "" {
				return errUnauthorized
			}
			p, err := a.Authenticate(c.Request().Context(), token)
			switch {
			case errors.Is(err, auth.ErrInvalid), errors.Is(err, auth.ErrNoCredentials):
				detail := strings.TrimPrefix(err.Error(), auth.ErrInvalid.Error()+": ")
				return &apiError{Status: errUnauthorized.Status, Code: errUnauthorized.Code, Title: errUnauthorized.Title, Detail: "invalid credentials: " + detail}
			case err != nil:
				return err // the key store did not answer: 503, not 401
			}
			c.Set(principalKey, p)
			return next(c)
		}
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

// requireUser answers 403 to an API key on the /v1/me routes: a key is a
// backend's, and acts for no user.
func requireUser(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		if principal(c).APIKeyID != "" {
			return newError(errForbidden.Status, errForbidden.Code, errForbidden.Title, "an API key acts for no user; /v1/me needs a user's token")
		}
		return next(c)
	}
}

// principal returns the caller; routes behind the auth middleware always have one.
func principal(c echo.Context) auth.Principal {
	p, _ := c.Get(principalKey).(auth.Principal)
	return p
}
