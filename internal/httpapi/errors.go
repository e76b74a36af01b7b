package httpapi

import (
	"context"
	"errors"
	"log/slog"
	"net/http"
	"strconv"

	"github.com/labstack/echo/v4"

	"github.com/refhub/referral-service/internal/referral"
	"github.com/refhub/referral-service/pkg/referralapi"
)

// problemContentType is the media type of every error body (RFC 9457).
const problemContentType = "application/problem+json"

// problemTypePrefix makes a problem's type URI from its code: stable names,
// not links.
const problemTypePrefix = "urn:referral-service:problem:"

// apiError is an error with everything its problem document needs.
type apiError struct {
	Status int
	Code   string
	Title  string
	Detail string
	Fields map[string]string
	// RetryAfter, in seconds, is sent as Retry-After when set.
	RetryAfter int
}

func (e *apiError) Error() string { return e.Code + ": " + e.Detail }

func newError(status int, code, title, detail string) *apiError {
	return &apiError{Status: status, Code: code, Title: title, Detail: detail}
}

// invalid is a 400 for a request that breaks the contract, with per-field messages.
func invalid(detail string, fields map[string]string) *apiError {
	return &apiError{Status: http.StatusBadRequest, Code: "invalid_request", Title: "Invalid request", Detail: detail, Fields: fields}
}

var (
	errUnauthorized = newError(http.StatusUnauthorized, "unauthorized", "Unauthorized", "a valid bearer token is required")
	errForbidden    = newError(http.StatusForbidden, "forbidden", "Forbidden", "the token lacks the role this endpoint needs")
	errTooLarge     = newError(http.StatusRequestEntityTooLarge, "payload_too_large", "Payload too large", "the request body exceeds the size limit")
	// errUnavailable answers a request the database could not serve in
	// time: nothing was changed, or the change is idempotent and safe to
	// send again.
	errUnavailable = &apiError{Status: http.StatusServiceUnavailable, Code: "database_unavailable", Title: "Database unavailable",
		Detail: "the database did not answer in time; retry the request (it is safe to repeat)", RetryAfter: 2}
)

// domainErrors maps the referral service's errors to problems.
var domainErrors = []struct {
	err error
	api *apiError
}{
	{referral.ErrCodeNotFound, newError(http.StatusNotFound, "code_not_found", "Referral code not found", "no referral code matches")},
	{referral.ErrSelfReferral, newError(http.StatusUnprocessableEntity, "self_referral", "Self-referral", "a user cannot be referred with their own code")},
	{referral.ErrReferralExists, newError(http.StatusConflict, "referral_exists", "Referral already exists", "the user was already referred with another code")},
	{referral.ErrCodeInvalid, newError(http.StatusUnprocessableEntity, "code_invalid", "Code not allowed", "a vanity code has 4-20 letters, digits, '-' or '_' and is not a reserved word")},
	{referral.ErrCodeTaken, newError(http.StatusConflict, "code_taken", "Code taken", "this code belongs to someone else")},
	{referral.ErrAttributionExpired, newError(http.StatusUnprocessableEntity, "attribution_expired", "Attribution expired", "the referral link was followed longer ago than the attribution window")},
	{referral.ErrClickInvalid, &apiError{Status: http.StatusBadRequest, Code: "invalid_request", Title: "Invalid request", Detail: "clickId is not a click id this service issued", Fields: map[string]string{"clickId": "is not a click id this service issued"}}},
	{referral.ErrReferralMissing, newError(http.StatusNotFound, "referral_not_found", "Referral not found", "no referral has this id")},
	{referral.ErrPayoutMissing, newError(http.StatusNotFound, "payout_not_found", "Payout not found", "no payout has this id")},
	{referral.ErrNothingToPay, newError(http.StatusUnprocessableEntity, "nothing_to_pay", "Nothing to pay", "the user has no available balance in this currency (rewards may still be on hold)")},
	{referral.ErrStripeCustomerUnknown, newError(http.StatusUnprocessableEntity, "stripe_customer_unknown", "Stripe customer unknown", "no Stripe customer is known for this user; pass stripeCustomerId")},
	{referral.ErrIdempotencyConflict, newError(http.StatusConflict, "idempotency_conflict", "Idempotency key reused", "this Idempotency-Key was used for a different payout request")},
	{referral.ErrCreditsDisabled, newError(http.StatusServiceUnavailable, "stripe_not_configured", "Stripe not configured", "stripe_credit payouts need STRIPE_SECRET_KEY")},
	{referral.ErrRefundConflict, newError(http.StatusConflict, "refund_conflict", "Refund id reused", "this refundId was already recorded for a different payment or amount")},
	{referral.ErrProgramNotFound, newError(http.StatusNotFound, "program_not_found", "Program not found", "no program has this id")},
	{referral.ErrProgramArchived, newError(http.StatusUnprocessableEntity, "program_archived", "Program archived", "the program is archived: it takes no new codes, referrals or changes")},
	{referral.ErrProgramChanged, newError(http.StatusConflict, "program_conflict", "Program changed", "another change of the program's friend reward was saved meanwhile; read the program and send the change again")},
	{referral.ErrProgramDefault, newError(http.StatusUnprocessableEntity, "program_default", "Default program", "the default program cannot be archived")},
	{referral.ErrOverrideMissing, newError(http.StatusNotFound, "override_not_found", "Override not found", "the referrer has no override in this program")},
	{referral.ErrDiscountRejected, newError(http.StatusUnprocessableEntity, "discount_rejected", "Discount refused by Stripe", "Stripe refused the discount, e.g. the promotion code is taken")},
	{referral.ErrDiscountsDisabled, newError(http.StatusUnprocessableEntity, "stripe_not_configured", "Stripe not configured", "a discount for the friend needs STRIPE_SECRET_KEY")},
	{referral.ErrPaymentConflict, newError(http.StatusConflict, "payment_conflict", "Payment id reused", "this paymentId was already recorded with a different user, amount or currency")},
}

// toAPIError classifies any error a handler or middleware returned.
func toAPIError(err error) (*apiError, bool) {
	var ae *apiError
	if errors.As(err, &ae) {
		return ae, true
	}
	if pe, ok := programError(err); ok {
		return pe, true
	}
	for _, d := range domainErrors {
		if errors.Is(err, d.err) {
			return d.api, true
		}
	}
	if errors.Is(err, referral.ErrUnavailable) || errors.Is(err, context.DeadlineExceeded) {
		return errUnavailable, true
	}
	var he *echo.HTTPError
	if errors.As(err, &he) {
		switch he.Code {
		case http.StatusNotFound:
			return newError(http.StatusNotFound, "not_found", "Not found", "no such resource"), true
		case http.StatusMethodNotAllowed:
			return newError(http.StatusMethodNotAllowed, "method_not_allowed", "Method not allowed", "this resource does not support that method"), true
		case http.StatusRequestEntityTooLarge:
			return errTooLarge, true
		case http.StatusUnauthorized:
			return errUnauthorized, true
		case http.StatusServiceUnavailable:
			return newError(http.StatusServiceUnavailable, "unavailable", "Service unavailable", "try again later"), true
		}
		if he.Code >= 400 && he.Code < 500 {
			return newError(he.Code, "invalid_request", http.StatusText(he.Code), http.StatusText(he.Code)), true
		}
	}
	return nil, false
}

// errorHandler is the one place errors become responses: known errors become
// their problem document, anything else a 500 whose cause is logged once,
// with the request id, and never shown to the client.
func errorHandler(log *slog.Logger) echo.HTTPErrorHandler {
	return func(err error, c echo.Context) {
		if c.Response().Committed {
			return
		}
		ae, known := toAPIError(err)
		if ae == errUnavailable {
			log.WarnContext(c.Request().Context(), "database unavailable", "request_id", requestID(c),
				"method", c.Request().Method, "path", c.Path(), "error", err)
		}
		if !known {
			level := slog.LevelError
			if errors.Is(err, context.Canceled) {
				level = slog.LevelInfo // the client went away
			}
			log.Log(c.Request().Context(), level, "request failed",
				"request_id", requestID(c), "method", c.Request().Method, "path", c.Path(), "error", err)
			ae = newError(http.StatusInternalServerError, "internal_error", "Internal server error", "an unexpected error occurred; quote the request id when reporting it")
		}
		writeProblem(c, ae)
	}
}

func writeProblem(c echo.Context, ae *apiError) {
	body := referralapi.Problem{
		Type: problemTypePrefix + ae.Code, Title: ae.Title, Status: ae.Status,
		Detail: ae.Detail, Code: ae.Code, RequestID: requestID(c), Errors: ae.Fields,
	}
	if ae.Status == http.StatusUnauthorized {
		c.Response().Header().Set("WWW-Authenticate", `Bearer realm="referral-service"`)
	}
	if ae.RetryAfter > 0 {
		c.Response().Header().Set("Retry-After", strconv.Itoa(ae.RetryAfter))
	}
	var err error
	if c.Request().Method == http.MethodHead {
		c.Response().Header().Set(echo.HeaderContentType, problemContentType)
		err = c.NoContent(ae.Status)
	} else {
		err = c.Blob(ae.Status, problemContentType, mustJSON(body))
	}
	if err != nil {
		c.Logger().Error(err)
	}
}
