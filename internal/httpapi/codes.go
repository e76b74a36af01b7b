package httpapi

import (
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/refhub/referral-service/internal/referral"
	"github.com/refhub/referral-service/pkg/referralapi"
)

// codeResponse is a code with its links.
func (h *handlers) codeResponse(code referral.Code) referralapi.ReferralCode {
	return codeObject(h.appURL, h.links, code)
}

// codeObject is a code as the API shows it, with its links.
func codeObject(appURL string, lc LinkConfig, code referral.Code) referralapi.ReferralCode {
	web := appURL + "/?ref=" + code.Code
	links := referralapi.CodeLinks{Web: web}
	if lc.PublicURL != "" {
		links.Share = lc.PublicURL + "/r/" + url.PathEscape(code.Code)
	}
	fill := func(tmpl string) string {
		if tmpl == "" {
			return ""
		}
		return strings.ReplaceAll(tmpl, "{code}", url.QueryEscape(code.Code))
	}
	links.IOS, links.Android = fill(lc.IOSTemplate), fill(lc.AndroidTemplate)
	return referralapi.ReferralCode{Code: code.Code, URL: web, CreatedAt: code.CreatedAt, ProgramID: code.ProgramID, Links: links}
}

// putMyReferralCode godoc
//
//	@Summary		Claim a vanity code
//	@Description	Makes a memorable code (4–20 letters, digits, '-' or '_'; stored upper case; reserved words refused) the caller's code. Links already shared with earlier codes keep working: every code a user has had resolves to them. Claiming one's current code again answers it unchanged.
//	@ID				putMyReferralCode
//	@Tags			me
//	@Accept			json
//	@Produce		json
//	@Produce		application/problem+json
//	@Param			body	body		referralapi.VanityCodeRequest	true	"The code"
//	@Success		200		{object}	referralapi.ReferralCode
//	@Failure		400		{object}	referralapi.Problem	"Malformed body (code invalid_request)"
//	@Failure		401		{object}	referralapi.Problem	"Missing or invalid token (code unauthorized)"
//	@Failure		403		{object}	referralapi.Problem	"An API key acts for no user: /v1/me needs a user's token (code forbidden)"
//	@Failure		409		{object}	referralapi.Problem	"Someone else has or had this code (code code_taken)"
//	@Failure		413		{object}	referralapi.Problem	"Body over 64 KiB (code payload_too_large)"
//	@Failure		415		{object}	referralapi.Problem	"Body is not application/json (code unsupported_media_type)"
//	@Failure		422		{object}	referralapi.Problem	"Not an allowed code (code code_invalid)"
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
//	@Router			/v1/me/referral-code [put]
func (h *handlers) putMyReferralCode(c echo.Context) error {
	var req referralapi.VanityCodeRequest
	if err := decodeJSON(c, &req); err != nil {
		return err
	}
	fe := fieldErrors{}
	fe.text("code", req.Code, true, referral.MaxCodeLength)
	if err := fe.err(); err != nil {
		return err
	}
	code, err := h.svc.SetVanityCode(c.Request().Context(), principal(c).Subject, req.Code)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, h.codeResponse(code))
}

// checkCode godoc
//
//	@Summary		Check a referral code
//	@Description	For apps that let users type a code, and landing pages: whether it is a valid (current or earlier) referral code, and what the friend gets with it (offer: the code's program's discount or credit, in words and numbers; null when nothing). Public, no token.
//	@ID				checkCode
//	@Tags			links
//	@Produce		json
//	@Produce		application/problem+json
//	@Param			code	path		string	true	"The code as typed; case and surrounding spaces are ignored"
//	@Success		200		{object}	referralapi.CodeCheck
//	@Failure		404		{object}	referralapi.Problem	"No such code (code code_not_found)"
//	@Failure		429		{object}	referralapi.Problem	"Over the rate limit: RATE_LIMIT_PUBLIC per client address, RATE_LIMIT_USER per subject or API key (code rate_limited); retry after Retry-After seconds"
//	@Header			429		{string}	Retry-After			"Seconds to wait before retrying"
//	@Header			429		{string}	RateLimit-Limit		"Requests allowed in a burst"
//	@Header			429		{string}	RateLimit-Remaining	"Requests left now (0)"
//	@Header			429		{string}	RateLimit-Reset		"Seconds until the limit is whole again"
//	@Failure		500		{object}	referralapi.Problem	"Unexpected error (code internal_error)"
//	@Failure		503		{object}	referralapi.Problem	"The database did not answer in time (code database_unavailable); nothing was changed, or repeating the request is safe. Retry after Retry-After seconds"
//	@Header			503		{string}	Retry-After			"Seconds to wait before retrying"
//	@Header			all		{string}	X-Request-Id		"Request id: the caller's valid X-Request-Id, else a new one"
//	@Security
//	@Router			/v1/codes/{code} [get]
func (h *handlers) checkCode(c echo.Context) error {
	code := referral.NormalizeCode(c.Param("code"))
	if !referral.ValidCodeSyntax(code) {
		return referral.ErrCodeNotFound
	}
	if t, err := h.codes.lookup(c.Request().Context(), code, time.Now()); err != nil {
		return err
	} else if t == nil {
		return referral.ErrCodeNotFound
	}
	offer, err := h.svc.CodeOffer(c.Request().Context(), code)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, referralapi.CodeCheck{Code: code, Valid: true, Offer: toOffer(offer)})
}
