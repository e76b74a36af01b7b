package httpapi

import (
	"net/http"
	"strings"

	"github.com/labstack/echo/v4"

	"github.com/refhub/referral-service/internal/referral"
	"github.com/refhub/referral-service/pkg/referralapi"
)

func toPayout(p referral.Payout) referralapi.Payout {
	return referralapi.Payout{
		ID: p.ID, UserID: p.UserID, Currency: p.Currency, Amount: p.Amount, Method: string(p.Method), Status: string(p.Status),
		Reference: p.Reference, StripeCustomerID: optional(p.StripeCustomerID), StripeTransactionID: optional(p.StripeTransactionID),
		FailureReason: optional(p.FailureReason), CreatedAt: p.CreatedAt, PaidAt: p.PaidAt,
	}
}

// adminCreatePayout godoc
//
//	@Summary		Pay out a user's available rewards (operators)
//	@Description	Pays the user's available balance in a currency (rewards past their hold, net of clawbacks): stripe_credit credits the referrer's Stripe customer balance (the customer learned for the user, or stripeCustomerId), manual records a payment made elsewhere under a reference. The amount is reserved in the ledger with the payout record; the Stripe credit runs afterwards under an idempotency key derived from the payout, so no crash or retry pays twice. Paid referrals become REWARDED. Send an Idempotency-Key header to make the call safe to repeat: a repeat answers 200 with the same payout (and completes it if an earlier attempt left it pending).
//	@ID				adminCreatePayout
//	@Tags			admin
//	@Accept			json
//	@Produce		json
//	@Produce		application/problem+json
//	@Param			Idempotency-Key	header		string						false	"Makes the request safe to repeat (up to 255 printable characters)"
//	@Param			body			body		referralapi.PayoutRequest	true	"Whom to pay, in which currency, how"
//	@Success		201				{object}	referralapi.Payout			"Created: paid, failed, or pending when Stripe could not be reached (it is retried)"
//	@Success		200				{object}	referralapi.Payout			"The payout an earlier request with this Idempotency-Key created"
//	@Failure		400				{object}	referralapi.Problem			"Malformed body, bad method, manual payout without reference (code invalid_request)"
//	@Failure		401				{object}	referralapi.Problem			"Missing or invalid token (code unauthorized)"
//	@Failure		403				{object}	referralapi.Problem			"Token lacks the admin role (code forbidden)"
//	@Failure		409				{object}	referralapi.Problem			"Idempotency-Key used for another request (code idempotency_conflict)"
//	@Failure		413				{object}	referralapi.Problem			"Body over 64 KiB (code payload_too_large)"
//	@Failure		415				{object}	referralapi.Problem			"Body is not application/json (code unsupported_media_type)"
//	@Failure		422				{object}	referralapi.Problem			"Nothing available to pay (code nothing_to_pay), or no Stripe customer known for the user (code stripe_customer_unknown)"
//	@Failure		429				{object}	referralapi.Problem			"Over the rate limit: RATE_LIMIT_PUBLIC per client address, RATE_LIMIT_USER per subject or API key (code rate_limited); retry after Retry-After seconds"
//	@Header			429				{string}	Retry-After					"Seconds to wait before retrying"
//	@Header			429				{string}	RateLimit-Limit				"Requests allowed in a burst"
//	@Header			429				{string}	RateLimit-Remaining			"Requests left now (0)"
//	@Header			429				{string}	RateLimit-Reset				"Seconds until the limit is whole again"
//	@Failure		500				{object}	referralapi.Problem			"Unexpected error (code internal_error)"
//	@Failure		503				{object}	referralapi.Problem			"stripe_credit without STRIPE_SECRET_KEY (code stripe_not_configured); or the database did not answer in time (code database_unavailable, with Retry-After)"
//	@Header			503				{string}	Retry-After					"Seconds to wait before retrying"
//	@Header			all				{string}	X-Request-Id				"Request id: the caller's valid X-Request-Id, else a new one"
//	@Security		BearerAuth
//	@Router			/v1/admin/payouts [post]
func (h *handlers) adminCreatePayout(c echo.Context) error {
	var req referralapi.PayoutRequest
	if err := decodeJSON(c, &req); err != nil {
		return err
	}
	key := c.Request().Header.Get("Idempotency-Key")
	fe := fieldErrors{}
	fe.text("Idempotency-Key", key, false, 255)
	fe.text("userId", req.UserID, true, maxUserIDLength)
	fe.text("reference", req.Reference, false, 255)
	fe.text("stripeCustomerId", req.StripeCustomerID, false, 255)
	currency := strings.ToLower(req.Currency)
	if !referral.ValidCurrency(currency) {
		fe["currency"] = "must be a three-letter ISO 4217 code such as usd"
	}
	method := referral.PayoutMethod(req.Method)
	switch {
	case method != referral.PayoutManual && method != referral.PayoutStripeCredit:
		fe["method"] = "must be stripe_credit or manual"
	case method == referral.PayoutManual && strings.TrimSpace(req.Reference) == "":
		fe["reference"] = "is required for a manual payout"
	}
	if err := fe.err(); err != nil {
		return err
	}
	p, created, err := h.svc.RequestPayout(c.Request().Context(), referral.PayoutRequest{
		UserID: req.UserID, Currency: currency, Method: method, Reference: req.Reference,
		StripeCustomerID: req.StripeCustomerID, IdempotencyKey: key,
	})
	if err != nil {
		return err
	}
	status := http.StatusOK
	if created {
		status = http.StatusCreated
	}
	return c.JSON(status, toPayout(p))
}

// adminListPayouts godoc
//
//	@Summary		List payouts (operators)
//	@Description	Payouts, newest first, filtered by user and status.
//	@ID				adminListPayouts
//	@Tags			admin
//	@Produce		json
//	@Produce		application/problem+json
//	@Param			userId	query		string	false	"Only payouts to this user"
//	@Param			status	query		string	false	"Only payouts in this state"							Enums(pending, paid, failed)
//	@Param			limit	query		int		false	"Page size, 1-100 (larger values are capped at 100)"	default(20)	minimum(1)
//	@Param			cursor	query		string	false	"nextCursor of the previous page"
//	@Success		200		{object}	referralapi.PayoutPage
//	@Failure		400		{object}	referralapi.Problem	"Bad filter, limit or cursor (code invalid_request or invalid_cursor)"
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
//	@Router			/v1/admin/payouts [get]
func (h *handlers) adminListPayouts(c echo.Context) error {
	f := referral.PayoutFilter{UserID: c.QueryParam("userId"), Status: referral.PayoutStatus(c.QueryParam("status"))}
	fe := fieldErrors{}
	fe.text("userId", f.UserID, false, maxUserIDLength)
	switch f.Status {
	case "", referral.PayoutPending, referral.PayoutPaid, referral.PayoutFailed:
	default:
		fe["status"] = "must be one of pending, paid, failed"
	}
	if err := fe.err(); err != nil {
		return err
	}
	var err error
	if f.Limit, err = parseLimit(c); err != nil {
		return err
	}
	if f.BeforeID, err = parseCursor(c, "po_"); err != nil {
		return err
	}
	items, more, err := h.svc.ListPayouts(c.Request().Context(), f)
	if err != nil {
		return err
	}
	page := referralapi.PayoutPage{Items: make([]referralapi.Payout, len(items))}
	for i, p := range items {
		page.Items[i] = toPayout(p)
	}
	if more {
		next := encodeCursor(items[len(items)-1].ID)
		page.NextCursor = &next
	}
	return c.JSON(http.StatusOK, page)
}

// adminGetPayout godoc
//
//	@Summary		One payout (operators)
//	@Description	A payout with its state.
//	@ID				adminGetPayout
//	@Tags			admin
//	@Produce		json
//	@Produce		application/problem+json
//	@Param			id	path		string	true	"Payout id"
//	@Success		200	{object}	referralapi.Payout
//	@Failure		401	{object}	referralapi.Problem	"Missing or invalid token (code unauthorized)"
//	@Failure		403	{object}	referralapi.Problem	"Token lacks the admin role (code forbidden)"
//	@Failure		404	{object}	referralapi.Problem	"No such payout (code payout_not_found)"
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
//	@Router			/v1/admin/payouts/{id} [get]
func (h *handlers) adminGetPayout(c echo.Context) error {
	id := c.Param("id")
	if !strings.HasPrefix(id, "po_") || !cursorID.MatchString(strings.TrimPrefix(id, "po_")) {
		return referral.ErrPayoutMissing
	}
	p, err := h.svc.Payout(c.Request().Context(), id)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, toPayout(p))
}
