package httpapi

import (
	"fmt"
	"net/http"

	"github.com/labstack/echo/v4"

	"github.com/refhub/referral-service/internal/referral"
	"github.com/refhub/referral-service/pkg/referralapi"
)

// reportRefund godoc
//
//	@Summary		Report a refund
//	@Description	A refund of (part of) a payment. After refunds totalling R of a qualifying payment P, the reward kept is floor((P − R) × percent / 100) and the difference is reversed in the referrer's ledger (clawed back if already paid out); a full refund cancels the referral. Each refundId takes effect once; a repeat answers duplicate true, and reusing a refundId for another refund is 409. A refund that arrives before its payment is kept and applied when the payment arrives, with the same result.
//	@ID				reportRefund
//	@Tags			service
//	@Accept			json
//	@Produce		json
//	@Produce		application/problem+json
//	@Param			body	body		referralapi.RefundRequest	true	"The refund"
//	@Success		200		{object}	referralapi.RefundResult
//	@Failure		400		{object}	referralapi.Problem	"Malformed body, missing fields, bad amount (code invalid_request)"
//	@Failure		401		{object}	referralapi.Problem	"Missing or invalid token (code unauthorized)"
//	@Failure		403		{object}	referralapi.Problem	"Token lacks the service role (code forbidden)"
//	@Failure		409		{object}	referralapi.Problem	"refundId already recorded for another payment or amount (code refund_conflict)"
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
//	@Router			/v1/refunds [post]
func (h *handlers) reportRefund(c echo.Context) error {
	var req struct {
		referralapi.RefundRequest
		Amount *int64 `json:"amount"`
	}
	if err := decodeJSON(c, &req); err != nil {
		return err
	}
	fe := fieldErrors{}
	fe.text("refundId", req.RefundID, true, 255)
	fe.text("paymentId", req.PaymentID, true, 255)
	switch {
	case req.Amount == nil:
		fe["amount"] = "is required"
	case *req.Amount < 1:
		fe["amount"] = "must be at least 1"
	case *req.Amount > maxPaymentAmount:
		fe["amount"] = fmt.Sprintf("must be at most %d", int64(maxPaymentAmount))
	}
	if err := fe.err(); err != nil {
		return err
	}
	res, err := h.svc.RecordClaim(c.Request().Context(), referral.Claim{
		ID: "refund:" + req.RefundID, Kind: referral.ClaimRefund, PaymentID: req.PaymentID,
		Amount: *req.Amount, Source: referral.SourceAPI,
	})
	if err != nil {
		return err
	}
	out := referralapi.RefundResult{RefundID: req.RefundID, PaymentID: req.PaymentID, Amount: *req.Amount, Duplicate: res.Duplicate}
	if res.Referral != nil {
		r := toReferral(*res.Referral)
		out.Referral = &r
	}
	return c.JSON(http.StatusOK, out)
}
