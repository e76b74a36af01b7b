package httpapi

import (
	"errors"
	"net/http"

	"github.com/labstack/echo/v4"

	"github.com/refhub/referral-service/internal/outbox/mail"
	"github.com/refhub/referral-service/pkg/referralapi"
)

// contactError maps the contact operations' errors to problems.
func contactError(err error) error {
	var fe *mail.FieldError
	if errors.As(err, &fe) {
		return invalid("some fields are invalid", map[string]string{fe.Field: fe.Reason})
	}
	return err
}

func toContact(c mail.Contact) referralapi.Contact {
	locale := c.Locale
	if locale == "" {
		locale = mail.DefaultLocale
	}
	return referralapi.Contact{UserID: c.UserID, Email: c.Email, Locale: locale, Source: c.Source, UpdatedAt: c.UpdatedAt}
}

// putUserContact godoc
//
//	@Summary		Set where a user's email goes (product backends)
//	@Description	The service does not own users: the product backend tells it a user's email address and the locale of their emails (a BCP 47 tag; templates exist for en and de, others fall back to en). This replaces what was known, including an address taken from the email claim of the user's token; later tokens do not replace it. The referrer's emails (a qualified referral; on request signups, rewards becoming available, payouts) go there.
//	@ID				putUserContact
//	@Tags			service
//	@Accept			json
//	@Produce		json
//	@Produce		application/problem+json
//	@Param			userId	path		string						true	"The product's user id"
//	@Param			body	body		referralapi.ContactRequest	true	"Address and locale"
//	@Success		200		{object}	referralapi.Contact
//	@Failure		400		{object}	referralapi.Problem	"Malformed body, unknown field, email missing or not a plain address, locale not a language tag, user id too long (code invalid_request)"
//	@Failure		401		{object}	referralapi.Problem	"Missing or invalid credentials (code unauthorized)"
//	@Failure		403		{object}	referralapi.Problem	"Credentials lack the service role (code forbidden)"
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
//	@Router			/v1/users/{userId}/contact [put]
func (h *handlers) putUserContact(c echo.Context) error {
	userID := c.Param("userId")
	fe := fieldErrors{}
	fe.text("userId", userID, true, maxUserIDLength)
	if err := fe.err(); err != nil {
		return err
	}
	var req referralapi.ContactRequest
	if err := decodeJSON(c, &req); err != nil {
		return err
	}
	ct, err := h.contacts.SetContact(c.Request().Context(), userID, req.Email, req.Locale)
	if err != nil {
		return contactError(err)
	}
	return c.JSON(http.StatusOK, toContact(ct))
}

// getMyNotifications godoc
//
//	@Summary		The caller's email settings
//	@Description	Which emails the caller gets. Until they choose: referralQualified and payoutPaid on, referralCreated and rewardAvailable off. Emails go to the address the product backend set, else the email claim of the caller's token (remembered whenever they call /v1/me).
//	@ID				getMyNotifications
//	@Tags			me
//	@Produce		json
//	@Produce		application/problem+json
//	@Success		200	{object}	referralapi.NotificationSettings
//	@Failure		401	{object}	referralapi.Problem	"Missing or invalid token (code unauthorized)"
//	@Failure		403	{object}	referralapi.Problem	"An API key acts for no user: /v1/me needs a user's token (code forbidden)"
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
//	@Router			/v1/me/notifications [get]
func (h *handlers) getMyNotifications(c echo.Context) error {
	p, err := h.contacts.Preferences(c.Request().Context(), principal(c).Subject)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, toSettings(p))
}

func toSettings(p mail.Preferences) referralapi.NotificationSettings {
	return referralapi.NotificationSettings{Email: referralapi.EmailNotifications{ReferralCreated: p.ReferralCreated,
		ReferralQualified: p.ReferralQualified, RewardAvailable: p.RewardAvailable, PayoutPaid: p.PayoutPaid}}
}

// settingsBody is NotificationSettings as sent: every switch must be
// there (the object is replaced whole), which plain booleans cannot tell.
type settingsBody struct {
	Email *struct {
		ReferralCreated   *bool `json:"referralCreated"`
		ReferralQualified *bool `json:"referralQualified"`
		RewardAvailable   *bool `json:"rewardAvailable"`
		PayoutPaid        *bool `json:"payoutPaid"`
	} `json:"email"`
}

// putMyNotifications godoc
//
//	@Summary		Choose the caller's emails
//	@Description	Replaces the caller's email settings whole: every switch is required. An email switched off is not sent for events from then on (one already being sent may still arrive).
//	@ID				putMyNotifications
//	@Tags			me
//	@Accept			json
//	@Produce		json
//	@Produce		application/problem+json
//	@Param			body	body		referralapi.NotificationSettings	true	"Every switch"
//	@Success		200		{object}	referralapi.NotificationSettings
//	@Failure		400		{object}	referralapi.Problem	"Malformed body, unknown field, a switch missing or not a boolean (code invalid_request)"
//	@Failure		401		{object}	referralapi.Problem	"Missing or invalid token (code unauthorized)"
//	@Failure		403		{object}	referralapi.Problem	"An API key acts for no user: /v1/me needs a user's token (code forbidden)"
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
//	@Router			/v1/me/notifications [put]
func (h *handlers) putMyNotifications(c echo.Context) error {
	var req settingsBody
	if err := decodeJSON(c, &req); err != nil {
		return err
	}
	if req.Email == nil {
		return invalid("email is required", map[string]string{"email": "is required"})
	}
	fe := fieldErrors{}
	for name, v := range map[string]*bool{"referralCreated": req.Email.ReferralCreated, "referralQualified": req.Email.ReferralQualified,
		"rewardAvailable": req.Email.RewardAvailable, "payoutPaid": req.Email.PayoutPaid} {
		if v == nil {
			fe["email."+name] = "is required (true or false)"
		}
	}
	if err := fe.err(); err != nil {
		return err
	}
	p := mail.Preferences{ReferralCreated: *req.Email.ReferralCreated, ReferralQualified: *req.Email.ReferralQualified,
		RewardAvailable: *req.Email.RewardAvailable, PayoutPaid: *req.Email.PayoutPaid}
	if err := h.contacts.SetPreferences(c.Request().Context(), principal(c).Subject, p); err != nil {
		return err
	}
	return c.JSON(http.StatusOK, toSettings(p))
}

// rememberEmail keeps the email claim of a user's token as where their
// email goes, on every /v1/me call (a write only when it changed). A
// failure to store it does not fail the request: the next call tries again.
func (h *handlers) rememberEmail(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		p := principal(c)
		if p.Email != "" && p.APIKeyID == "" {
			if err := h.contacts.RememberTokenEmail(c.Request().Context(), p.Subject, p.Email); err != nil {
				h.log.WarnContext(c.Request().Context(), "the token's email address was not remembered",
					"request_id", requestID(c), "user_id", p.Subject, "error", err)
			}
		}
		return next(c)
	}
}
