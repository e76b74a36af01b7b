package httpapi

import (
	"errors"
	"net/http"
	"strings"

	"github.com/labstack/echo/v4"

	"github.com/refhub/referral-service/internal/auth"
	"github.com/refhub/referral-service/pkg/referralapi"
)

func toAPIKey(k auth.APIKey) referralapi.APIKey {
	return referralapi.APIKey{ID: k.ID, Name: k.Name, Role: k.Role, CreatedAt: k.CreatedAt, LastUsedAt: k.LastUsedAt}
}

// adminCreateAPIKey godoc
//
//	@Summary		Create an API key (operators)
//	@Description	Creates a key for a product backend (role service) or an operator's tool (role admin), sent as "Authorization: Bearer rk_…". The secret appears only in this response: only its SHA-256 is stored.
//	@ID				adminCreateAPIKey
//	@Tags			admin
//	@Accept			json
//	@Produce		json
//	@Produce		application/problem+json
//	@Param			body	body		referralapi.APIKeyRequest	true	"Name and role"
//	@Success		201		{object}	referralapi.CreatedAPIKey	"The key, with its secret shown this once"
//	@Failure		400		{object}	referralapi.Problem			"Malformed body, missing name, role not service or admin (code invalid_request)"
//	@Failure		401		{object}	referralapi.Problem			"Missing or invalid credentials (code unauthorized)"
//	@Failure		403		{object}	referralapi.Problem			"Credentials lack the admin role (code forbidden)"
//	@Failure		413		{object}	referralapi.Problem			"Body over 64 KiB (code payload_too_large)"
//	@Failure		415		{object}	referralapi.Problem			"Body is not application/json (code unsupported_media_type)"
//	@Failure		429		{object}	referralapi.Problem			"Over the rate limit: RATE_LIMIT_PUBLIC per client address, RATE_LIMIT_USER per subject or API key (code rate_limited); retry after Retry-After seconds"
//	@Header			429		{string}	Retry-After					"Seconds to wait before retrying"
//	@Header			429		{string}	RateLimit-Limit				"Requests allowed in a burst"
//	@Header			429		{string}	RateLimit-Remaining			"Requests left now (0)"
//	@Header			429		{string}	RateLimit-Reset				"Seconds until the limit is whole again"
//	@Failure		500		{object}	referralapi.Problem			"Unexpected error (code internal_error)"
//	@Failure		503		{object}	referralapi.Problem			"The database did not answer in time (code database_unavailable); nothing was changed, or repeating the request is safe. Retry after Retry-After seconds"
//	@Header			503		{string}	Retry-After					"Seconds to wait before retrying"
//	@Header			all		{string}	X-Request-Id				"Request id: the caller's valid X-Request-Id, else a new one"
//	@Security		BearerAuth
//	@Router			/v1/admin/api-keys [post]
func (h *handlers) adminCreateAPIKey(c echo.Context) error {
	var req referralapi.APIKeyRequest
	if err := decodeJSON(c, &req); err != nil {
		return err
	}
	fe := fieldErrors{}
	fe.text("name", strings.TrimSpace(req.Name), true, 200)
	if req.Role != auth.RoleService && req.Role != auth.RoleAdmin {
		fe["role"] = "must be service or admin"
	}
	if err := fe.err(); err != nil {
		return err
	}
	k, secret, err := h.auth.CreateAPIKey(c.Request().Context(), strings.TrimSpace(req.Name), req.Role, principal(c).Subject)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusCreated, referralapi.CreatedAPIKey{ID: k.ID, Name: k.Name, Role: k.Role, Key: secret, CreatedAt: k.CreatedAt, LastUsedAt: k.LastUsedAt})
}

// adminListAPIKeys godoc
//
//	@Summary		List API keys (operators)
//	@Description	The keys not revoked, newest first, without their secrets; lastUsedAt is updated within 15 seconds of a use.
//	@ID				adminListAPIKeys
//	@Tags			admin
//	@Produce		json
//	@Produce		application/problem+json
//	@Param			limit	query		int		false	"Page size, 1-100 (larger values are capped at 100)"	default(20)	minimum(1)
//	@Param			cursor	query		string	false	"nextCursor of the previous page"
//	@Success		200		{object}	referralapi.APIKeyPage
//	@Failure		400		{object}	referralapi.Problem	"Bad limit or cursor (code invalid_request or invalid_cursor)"
//	@Failure		401		{object}	referralapi.Problem	"Missing or invalid credentials (code unauthorized)"
//	@Failure		403		{object}	referralapi.Problem	"Credentials lack the admin role (code forbidden)"
//	@Failure		429		{object}	referralapi.Problem	"Over the rate limit: RATE_LIMIT_PUBLIC per client address, RATE_LIMIT_USER per subject or API key (code rate_limited); retry after Retry-After seconds"
//	@Header			429		{string}	Retry-After			"Seconds to wait before retrying"
//	@Header			429		{string}	RateLimit-Limit		"Requests allowed in a burst"
//	@Header			429		{string}	RateLimit-Remaining	"Requests left now (0)"
//	@Header			429		{string}	RateLimit-Reset		"Seconds until the limit is whole again"
//	@Failure		500		{object}	referralapi.Problem	"Unexpected error (code internal_error)"
//	@Failure		503		{object}	referralapi.Problem	"The database did not answer in time (code database_unavailable); nothing was changed, or repeating the request is safe. Retry after Retry-After seconds"
//	@Header			503		{string}	Retry-After			"Seconds to wait before retrying"
//	@Header			all		{string}	X-Request-Id		"Request id: the caller's valid X-Request-Id, else a new one"
//	@Security		BearerAuth
//	@Router			/v1/admin/api-keys [get]
func (h *handlers) adminListAPIKeys(c echo.Context) error {
	limit, err := parseLimit(c)
	if err != nil {
		return err
	}
	before, err := parseCursor(c, "key_")
	if err != nil {
		return err
	}
	keys, more, err := h.auth.ListAPIKeys(c.Request().Context(), before, limit)
	if err != nil {
		return err
	}
	out := referralapi.APIKeyPage{Items: make([]referralapi.APIKey, len(keys))}
	for i, k := range keys {
		out.Items[i] = toAPIKey(k)
	}
	if more {
		next := encodeCursor(keys[len(keys)-1].ID)
		out.NextCursor = &next
	}
	return c.JSON(http.StatusOK, out)
}

// adminRevokeAPIKey godoc
//
//	@Summary		Revoke an API key (operators)
//	@Description	The key stops working at once on this replica and within a second on the others.
//	@ID				adminRevokeAPIKey
//	@Tags			admin
//	@Produce		application/problem+json
//	@Param			id	path	string	true	"The key's id"
//	@Success		204	"Revoked"
//	@Failure		401	{object}	referralapi.Problem	"Missing or invalid credentials (code unauthorized)"
//	@Failure		403	{object}	referralapi.Problem	"Credentials lack the admin role (code forbidden)"
//	@Failure		404	{object}	referralapi.Problem	"No active key has this id (code api_key_not_found)"
//	@Failure		429	{object}	referralapi.Problem	"Over the rate limit: RATE_LIMIT_PUBLIC per client address, RATE_LIMIT_USER per subject or API key (code rate_limited); retry after Retry-After seconds"
//	@Header			429	{string}	Retry-After			"Seconds to wait before retrying"
//	@Header			429	{string}	RateLimit-Limit		"Requests allowed in a burst"
//	@Header			429	{string}	RateLimit-Remaining	"Requests left now (0)"
//	@Header			429	{string}	RateLimit-Reset		"Seconds until the limit is whole again"
//	@Failure		500	{object}	referralapi.Problem	"Unexpected error (code internal_error)"
//	@Failure		503	{object}	referralapi.Problem	"The database did not answer in time (code database_unavailable); nothing was changed, or repeating the request is safe. Retry after Retry-After seconds"
//	@Header			503	{string}	Retry-After			"Seconds to wait before retrying"
//	@Header			all	{string}	X-Request-Id		"Request id: the caller's valid X-Request-Id, else a new one"
//	@Security		BearerAuth
//	@Router			/v1/admin/api-keys/{id} [delete]
func (h *handlers) adminRevokeAPIKey(c echo.Context) error {
	err := h.auth.RevokeAPIKey(c.Request().Context(), c.Param("id"))
	if errors.Is(err, auth.ErrKeyNotFound) {
		return newError(http.StatusNotFound, "api_key_not_found", "API key not found", "no active API key has this id")
	}
	if err != nil {
		return err
	}
	return c.NoContent(http.StatusNoContent)
}
