package httpapi

import (
	"fmt"
	"net/http"
	"strings"

	"github.com/labstack/echo/v4"

	"github.com/refhub/referral-service/internal/referral"
	"github.com/refhub/referral-service/pkg/referralapi"
)

// maxPaymentAmount bounds reported amounts (a trillion in major units), so
// balances summed from rewards can never overflow.
const maxPaymentAmount = 100_000_000_000_000

// reportPayment godoc
//
//	@Summary		Report a successful payment
//	@Description	For product backends that do not use Stripe (same effect as a Stripe payment event). The referred user's first successful payment with amount > 0 moves a PENDING referral to QUALIFIED, sets rewardAmount = floor(amount × REWARD_PERCENT / 100) in the payment's currency and credits the referrer, in one transaction. Idempotent by paymentId: a repeat returns qualified false and the original referral; reusing a paymentId for a different payment is 409.
//	@ID				reportPayment
//	@Tags			service
//	@Accept			json
//	@Produce		json
//	@Produce		application/problem+json
//	@Param			body	body		referralapi.PaymentRequest	true	"The payment"
//	@Success		200		{object}	referralapi.PaymentResult
//	@Failure		400		{object}	referralapi.Problem	"Malformed body, missing fields, bad amount or currency (code invalid_request)"
//	@Failure		401		{object}	referralapi.Problem	"Missing or invalid token (code unauthorized)"
//	@Failure		403		{object}	referralapi.Problem	"Token lacks the service role (code forbidden)"
//	@Failure		409		{object}	referralapi.Problem	"paymentId already recorded for another user, amount or currency (code payment_conflict)"
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
//	@Router			/v1/payments [post]
func (h *handlers) reportPayment(c echo.Context) error {
	// Amount is a pointer here so that a missing amount is told from zero.
	var req struct {
		referralapi.PaymentRequest
		Amount *int64 `json:"amount"`
	}
	if err := decodeJSON(c, &req); err != nil {
		return err
	}
	fe := fieldErrors{}
	fe.text("paymentId", req.PaymentID, true, 255)
	fe.text("userId", req.UserID, true, maxUserIDLength)
	switch {
	case req.Amount == nil:
		fe["amount"] = "is required"
	case *req.Amount < 0:
		fe["amount"] = "must not be negative"
	case *req.Amount > maxPaymentAmount:
		fe["amount"] = fmt.Sprintf("must be at most %d", int64(maxPaymentAmount))
	}
	currency := strings.ToLower(req.Currency)
	if req.Currency == "" {
		fe["currency"] = "is required"
	} else if !referral.ValidCurrency(currency) {
		fe["currency"] = "must be a three-letter ISO 4217 code such as usd"
	}
	if err := fe.err(); err != nil {
		return err
	}
	res, err := h.svc.RecordPayment(c.Request().Context(), referral.Payment{
		ID: req.PaymentID, UserID: req.UserID, Amount: *req.Amount, Currency: currency, Source: referral.SourceAPI,
	})
	if err != nil {
		return err
	}
	out := referralapi.PaymentResult{PaymentID: req.PaymentID, Qualified: res.Qualified}
	if res.Referral != nil {
		r := toReferral(*res.Referral)
		out.Referral = &r
	}
	return c.JSON(http.StatusOK, out)
}
