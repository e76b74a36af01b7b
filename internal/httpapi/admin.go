package httpapi

import (
	"net/http"
	"strings"

	"github.com/labstack/echo/v4"

	"github.com/refhub/referral-service/internal/referral"
	"github.com/refhub/referral-service/pkg/referralapi"
)

// adminListReferrals godoc
//
//	@Summary		List referrals (operators)
//	@Description	Every referral, newest first, filtered by status, referrer, referred user or code.
//	@ID				adminListReferrals
//	@Tags			admin
//	@Produce		json
//	@Produce		application/problem+json
//	@Param			status			query		string	false	"Only referrals in this status"	Enums(PENDING, QUALIFIED, REWARDED, CANCELLED)
//	@Param			referrerId		query		string	false	"Only referrals by this referrer"
//	@Param			referredUserId	query		string	false	"Only the referral of this referred user"
//	@Param			code			query		string	false	"Only referrals made with this code (case-insensitive)"
//	@Param			limit			query		int		false	"Page size, 1-100 (larger values are capped at 100)"	default(20)	minimum(1)
//	@Param			cursor			query		string	false	"nextCursor of the previous page"
//	@Success		200				{object}	referralapi.AdminReferralPage
//	@Failure		400				{object}	referralapi.Problem	"Bad filter, limit or cursor (code invalid_request or invalid_cursor)"
//	@Failure		401				{object}	referralapi.Problem	"Missing or invalid token (code unauthorized)"
//	@Failure		403				{object}	referralapi.Problem	"Token lacks the admin role (code forbidden)"
//	@Failure		429				{object}	referralapi.Problem	"Over the rate limit: RATE_LIMIT_PUBLIC per client address, RATE_LIMIT_USER per subject or API key (code rate_limited); retry after Retry-After seconds"
//	@Header			429				{string}	Retry-After			"Seconds to wait before retrying"
//	@Header			429				{string}	RateLimit-Limit		"Requests allowed in a burst"
//	@Header			429				{string}	RateLimit-Remaining	"Requests left now (0)"
//	@Header			429				{string}	RateLimit-Reset		"Seconds until the limit is whole again"
//	@Failure		500				{object}	referralapi.Problem	"Unexpected error (code internal_error)"
//	@Failure		503				{object}	referralapi.Problem	"The database did not answer in time (code database_unavailable); nothing was changed, or repeating the request is safe. Retry after Retry-After seconds"
//	@Header			503				{string}	Retry-After			"Seconds to wait before retrying"
//	@Header			all				{string}	X-Request-Id		"Request id: the caller's valid X-Request-Id, else a new one"
//	@Security		BearerAuth
//	@Router			/v1/admin/referrals [get]
func (h *handlers) adminListReferrals(c echo.Context) error {
	f := referral.ReferralFilter{
		ReferrerID: c.QueryParam("referrerId"), ReferredUserID: c.QueryParam("referredUserId"),
		Code: referral.NormalizeCode(c.QueryParam("code")),
	}
	fe := fieldErrors{}
	fe.text("referrerId", f.ReferrerID, false, maxUserIDLength)
	fe.text("referredUserId", f.ReferredUserID, false, maxUserIDLength)
	fe.text("code", f.Code, false, referral.MaxCodeLength)
	if s := c.QueryParam("status"); s != "" {
		status, ok := referral.ParseStatus(s)
		if !ok {
			fe["status"] = "must be one of PENDING, QUALIFIED, REWARDED, CANCELLED"
		}
		f.Status = status
	}
	if err := fe.err(); err != nil {
		return err
	}
	var err error
	if f.Limit, err = parseLimit(c); err != nil {
		return err
	}
	if f.BeforeID, err = parseCursor(c, "ref_"); err != nil {
		return err
	}
	items, more, err := h.svc.ListReferrals(c.Request().Context(), f)
	if err != nil {
		return err
	}
	page := referralapi.AdminReferralPage{Items: make([]referralapi.Referral, len(items))}
	for i, r := range items {
		page.Items[i] = toReferral(r)
	}
	if more {
		next := encodeCursor(items[len(items)-1].ID)
		page.NextCursor = &next
	}
	return c.JSON(http.StatusOK, page)
}

// referralID reads and checks the :id path parameter.
func referralID(c echo.Context) (string, error) {
	id := c.Param("id")
	if !strings.HasPrefix(id, "ref_") || !cursorID.MatchString(strings.TrimPrefix(id, "ref_")) {
		return "", referral.ErrReferralMissing
	}
	return id, nil
}

// adminGetReferral godoc
//
//	@Summary		One referral (operators)
//	@Description	A referral with its current status and reward.
//	@ID				adminGetReferral
//	@Tags			admin
//	@Produce		json
//	@Produce		application/problem+json
//	@Param			id	path		string	true	"Referral id"
//	@Success		200	{object}	referralapi.Referral
//	@Failure		401	{object}	referralapi.Problem	"Missing or invalid token (code unauthorized)"
//	@Failure		403	{object}	referralapi.Problem	"Token lacks the admin role (code forbidden)"
//	@Failure		404	{object}	referralapi.Problem	"No such referral (code referral_not_found)"
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
//	@Router			/v1/admin/referrals/{id} [get]
func (h *handlers) adminGetReferral(c echo.Context) error {
	id, err := referralID(c)
	if err != nil {
		return err
	}
	r, err := h.svc.Referral(c.Request().Context(), id)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, toReferral(r))
}

// adminCancelReferral godoc
//
//	@Summary		Cancel a referral (operators)
//	@Description	Cancels a referral with a reason, e.g. for fraud. A pending referral can no longer qualify; a qualified one has its reward reversed in the referrer's ledger, or clawed back when already paid out (the balance may go negative; the next payouts net it off). Cancelling again answers the referral unchanged.
//	@ID				adminCancelReferral
//	@Tags			admin
//	@Accept			json
//	@Produce		json
//	@Produce		application/problem+json
//	@Param			id		path		string						true	"Referral id"
//	@Param			body	body		referralapi.CancelRequest	true	"Why"
//	@Success		200		{object}	referralapi.Referral
//	@Failure		400		{object}	referralapi.Problem	"Malformed body or missing reason (code invalid_request)"
//	@Failure		401		{object}	referralapi.Problem	"Missing or invalid token (code unauthorized)"
//	@Failure		403		{object}	referralapi.Problem	"Token lacks the admin role (code forbidden)"
//	@Failure		404		{object}	referralapi.Problem	"No such referral (code referral_not_found)"
//	@Failure		413		{object}	referralapi.Problem	"Body over 64 KiB (code payload_too_large)"
//	@Failure		415		{object}	referralapi.Problem	"Body is not application/json (code unsupported_media_type)"
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
//	@Router			/v1/admin/referrals/{id}/cancel [post]
func (h *handlers) adminCancelReferral(c echo.Context) error {
	id, err := referralID(c)
	if err != nil {
		return err
	}
	var req referralapi.CancelRequest
	if err := decodeJSON(c, &req); err != nil {
		return err
	}
	fe := fieldErrors{}
	fe.text("reason", req.Reason, true, 500)
	if err := fe.err(); err != nil {
		return err
	}
	r, err := h.svc.Cancel(c.Request().Context(), id, req.Reason)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, toReferral(r))
}

// pathUserID reads and checks the :userId path parameter.
func pathUserID(c echo.Context) (string, error) {
	id := c.Param("userId")
	fe := fieldErrors{}
	fe.text("userId", id, true, maxUserIDLength)
	return id, fe.err()
}

// adminGetUserBalance godoc
//
//	@Summary		A user's balance (operators)
//	@Description	The same view as GET /v1/me/balance, for any user.
//	@ID				adminGetUserBalance
//	@Tags			admin
//	@Produce		json
//	@Produce		application/problem+json
//	@Param			userId	path		string	true	"The product's user id"
//	@Success		200		{object}	referralapi.Balances
//	@Failure		400		{object}	referralapi.Problem	"Bad user id (code invalid_request)"
//	@Failure		401		{object}	referralapi.Problem	"Missing or invalid token (code unauthorized)"
//	@Failure		403		{object}	referralapi.Problem	"Token lacks the admin role (code forbidden)"
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
//	@Router			/v1/admin/users/{userId}/balance [get]
func (h *handlers) adminGetUserBalance(c echo.Context) error {
	id, err := pathUserID(c)
	if err != nil {
		return err
	}
	return h.writeBalances(c, id)
}

// adminListUserTransactions godoc
//
//	@Summary		A user's ledger (operators)
//	@Description	The same view as GET /v1/me/balance/transactions, for any user: every entry that explains the balance.
//	@ID				adminListUserTransactions
//	@Tags			admin
//	@Produce		json
//	@Produce		application/problem+json
//	@Param			userId		path		string	true	"The product's user id"
//	@Param			currency	query		string	false	"Only entries in this currency (ISO 4217, e.g. usd)"
//	@Param			limit		query		int		false	"Page size, 1-100 (larger values are capped at 100)"	default(20)	minimum(1)
//	@Param			cursor		query		string	false	"nextCursor of the previous page"
//	@Success		200			{object}	referralapi.LedgerPage
//	@Failure		400			{object}	referralapi.Problem	"Bad user id, currency, limit or cursor (code invalid_request or invalid_cursor)"
//	@Failure		401			{object}	referralapi.Problem	"Missing or invalid token (code unauthorized)"
//	@Failure		403			{object}	referralapi.Problem	"Token lacks the admin role (code forbidden)"
//	@Failure		429			{object}	referralapi.Problem	"Over the rate limit: RATE_LIMIT_PUBLIC per client address, RATE_LIMIT_USER per subject or API key (code rate_limited); retry after Retry-After seconds"
//	@Header			429			{string}	Retry-After			"Seconds to wait before retrying"
//	@Header			429			{string}	RateLimit-Limit		"Requests allowed in a burst"
//	@Header			429			{string}	RateLimit-Remaining	"Requests left now (0)"
//	@Header			429			{string}	RateLimit-Reset		"Seconds until the limit is whole again"
//	@Failure		500			{object}	referralapi.Problem	"Unexpected error (code internal_error)"
//	@Failure		503			{object}	referralapi.Problem	"The database did not answer in time (code database_unavailable); nothing was changed, or repeating the request is safe. Retry after Retry-After seconds"
//	@Header			503			{string}	Retry-After			"Seconds to wait before retrying"
//	@Header			all			{string}	X-Request-Id		"Request id: the caller's valid X-Request-Id, else a new one"
//	@Security		BearerAuth
//	@Router			/v1/admin/users/{userId}/transactions [get]
func (h *handlers) adminListUserTransactions(c echo.Context) error {
	id, err := pathUserID(c)
	if err != nil {
		return err
	}
	return h.writeLedger(c, id)
}
