package httpapi

import (
	"net"
	"net/http"
	"net/mail"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/refhub/referral-service/internal/referral"
	"github.com/refhub/referral-service/pkg/referralapi"
)

// createReferral godoc
//
//	@Summary		Attribute a new user to a referral code
//	@Description	Called by the product backend at registration (the seed's registerUser). Codes match case-insensitively, surrounding spaces ignored. A user is referred at most once: repeating the same attribution answers 200 with the same referral; another code answers 409. A user cannot use their own code. clickId (from the short link) or clickedAt dates the visit: older than ATTRIBUTION_WINDOW_DAYS is 422 attribution_expired. The referral earns under programId when sent, else under the code's program. offer is what the friend gets in that program (the promotion code to pass to Stripe Checkout's discounts or to apply to the subscription; absent when nothing).
//	@ID				createReferral
//	@Tags			service
//	@Accept			json
//	@Produce		json
//	@Produce		application/problem+json
//	@Param			body	body		referralapi.CreateReferralRequest	true	"The new user and the code they came with"
//	@Success		201		{object}	referralapi.Referral				"Recorded"
//	@Success		200		{object}	referralapi.Referral				"Already recorded with the same code (a retry)"
//	@Failure		400		{object}	referralapi.Problem					"Malformed body, missing fields, over-long values (code invalid_request)"
//	@Failure		401		{object}	referralapi.Problem					"Missing or invalid token (code unauthorized)"
//	@Failure		403		{object}	referralapi.Problem					"Token lacks the service role (code forbidden)"
//	@Failure		404		{object}	referralapi.Problem					"Unknown code (code code_not_found) or programId (code program_not_found)"
//	@Failure		409		{object}	referralapi.Problem					"User already referred with another code (code referral_exists)"
//	@Failure		413		{object}	referralapi.Problem					"Body over 64 KiB (code payload_too_large)"
//	@Failure		415		{object}	referralapi.Problem					"Body is not application/json (code unsupported_media_type)"
//	@Failure		422		{object}	referralapi.Problem					"The code belongs to the referred user (code self_referral), the click is older than ATTRIBUTION_WINDOW_DAYS (code attribution_expired), or the program is archived (code program_archived)"
//	@Failure		429		{object}	referralapi.Problem					"Over the rate limit: RATE_LIMIT_PUBLIC per client address, RATE_LIMIT_USER per subject or API key (code rate_limited); retry after Retry-After seconds"
//	@Header			429		{string}	Retry-After							"Seconds to wait before retrying"
//	@Header			429		{string}	RateLimit-Limit						"Requests allowed in a burst"
//	@Header			429		{string}	RateLimit-Remaining					"Requests left now (0)"
//	@Header			429		{string}	RateLimit-Reset						"Seconds until the limit is whole again"
//	@Failure		500		{object}	referralapi.Problem					"Unexpected error (code internal_error)"
//	@Failure		503		{object}	referralapi.Problem					"The database did not answer in time (code database_unavailable); nothing was changed, or repeating the request is safe. Retry after Retry-After seconds"
//	@Header			503		{string}	Retry-After							"Seconds to wait before retrying"
//	@Header			all		{string}	X-Request-Id						"Request id: the caller's valid X-Request-Id, else a new one"
//	@Security		BearerAuth
//	@Router			/v1/referrals [post]
func (h *handlers) createReferral(c echo.Context) error {
	var req referralapi.CreateReferralRequest
	if err := decodeJSON(c, &req); err != nil {
		return err
	}
	fe := fieldErrors{}
	fe.text("referredUserId", req.ReferredUserID, true, maxUserIDLength)
	fe.text("code", req.Code, true, referral.MaxCodeLength)
	fe.text("email", req.Email, false, 254)
	fe.text("ip", req.IP, false, 45)
	fe.text("userAgent", req.UserAgent, false, 512)
	fe.text("clickId", req.ClickID, false, 64)
	fe.text("programId", req.ProgramID, false, 64)
	if req.ClickedAt != nil && req.ClickedAt.After(time.Now().Add(5*time.Minute)) {
		fe["clickedAt"] = "must not be in the future"
	}
	if _, bad := fe["email"]; !bad && req.Email != "" {
		if addr, err := mail.ParseAddress(req.Email); err != nil || addr.Address != req.Email {
			fe["email"] = "must be a plain email address"
		}
	}
	if _, bad := fe["ip"]; !bad && req.IP != "" && net.ParseIP(req.IP) == nil {
		fe["ip"] = "must be an IPv4 or IPv6 address"
	}
	if err := fe.err(); err != nil {
		return err
	}
	r, created, err := h.svc.Attribute(c.Request().Context(), referral.Attribution{
		ReferredUserID: req.ReferredUserID, Code: req.Code, Email: req.Email, IP: req.IP, UserAgent: req.UserAgent,
		ClickID: req.ClickID, ClickedAt: req.ClickedAt, ProgramID: req.ProgramID,
	})
	if err != nil {
		return err
	}
	status := http.StatusOK
	if created {
		status = http.StatusCreated
	}
	offer, err := h.svc.ReferralOffer(c.Request().Context(), r)
	if err != nil {
		return err
	}
	out := toReferral(r)
	out.Offer = toOffer(offer)
	return c.JSON(status, out)
}
