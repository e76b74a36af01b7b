package httpapi

import (
	"net/http"

	"github.com/labstack/echo/v4"

	"github.com/refhub/referral-service/internal/referral"
	"github.com/refhub/referral-service/pkg/referralapi"
)

// adminPutOverride godoc
//
//	@Summary		Give a referrer their own percent (operators)
//	@Description	The referrer's rewards in the program (the default program when programId is absent) earned from now on use this percent instead of the program's; the program's fixed part, cap, minimum, payments and hold still apply, and rewards already earned keep their rule. Setting it again replaces it. Recorded in the program's history with the caller's subject.
//	@ID				adminPutOverride
//	@Tags			programs
//	@Accept			json
//	@Produce		json
//	@Produce		application/problem+json
//	@Param			userId	path		string						true	"The referrer's user id"
//	@Param			body	body		referralapi.OverrideRequest	true	"The program and the percent"
//	@Success		200		{object}	referralapi.Override
//	@Failure		400		{object}	referralapi.Problem	"Malformed body, wrong types, over-long ids (code invalid_request)"
//	@Failure		401	{object}	referralapi.Problem	"Missing or invalid credentials (code unauthorized)"
//	@Failure		403	{object}	referralapi.Problem	"Credentials lack the admin role (code forbidden)"
//	@Failure		404	{object}	referralapi.Problem	"No program has this id (code program_not_found)"
//	@Failure		413	{object}	referralapi.Problem	"Body over 64 KiB (code payload_too_large)"
//	@Failure		415	{object}	referralapi.Problem	"Body is not application/json (code unsupported_media_type)"
//	@Failure		422		{object}	referralapi.Problem	"percent is not a decimal string 0–100 (code program_invalid)"
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
//	@Router			/v1/admin/referrers/{userId}/override [put]
func (h *handlers) adminPutOverride(c echo.Context) error {
	var req referralapi.OverrideRequest
	if err := decodeJSON(c, &req); err != nil {
		return err
	}
	userID := c.Param("userId")
	fe := fieldErrors{}
	fe.text("userId", userID, true, maxUserIDLength)
	fe.text("programId", req.ProgramID, false, 64)
	if req.Percent == "" {
		fe["percent"] = "is required"
	}
	if err := fe.err(); err != nil {
		return err
	}
	o, err := h.svc.SetOverride(c.Request().Context(), principal(c).Subject, userID, req.ProgramID, req.Percent)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, referralapi.Override{UserID: o.UserID, ProgramID: o.ProgramID, Percent: o.Percent.String(),
		SetBy: o.SetBy, CreatedAt: o.CreatedAt, UpdatedAt: o.UpdatedAt})
}

// adminDeleteOverride godoc
//
//	@Summary		Remove a referrer's own percent (operators)
//	@Description	The referrer's rewards in the program earned from now on follow the program's percent again. Recorded in the program's history.
//	@ID				adminDeleteOverride
//	@Tags			programs
//	@Produce		application/problem+json
//	@Param			userId		path	string	true	"The referrer's user id"
//	@Param			programId	query	string	false	"The program (default: the default program)"
//	@Success		204
//	@Failure		400	{object}	referralapi.Problem	"Over-long ids (code invalid_request)"
//	@Failure		401	{object}	referralapi.Problem	"Missing or invalid credentials (code unauthorized)"
//	@Failure		403	{object}	referralapi.Problem	"Credentials lack the admin role (code forbidden)"
//	@Failure		404	{object}	referralapi.Problem	"No program has this id (code program_not_found), or the referrer has no override in it (code override_not_found)"
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
//	@Router			/v1/admin/referrers/{userId}/override [delete]
func (h *handlers) adminDeleteOverride(c echo.Context) error {
	userID, programID := c.Param("userId"), c.QueryParam("programId")
	fe := fieldErrors{}
	fe.text("userId", userID, true, maxUserIDLength)
	fe.text("programId", programID, false, 64)
	if err := fe.err(); err != nil {
		return err
	}
	if programID == "" {
		programID = referral.DefaultProgramID
	}
	if err := h.svc.RemoveOverride(c.Request().Context(), principal(c).Subject, userID, programID); err != nil {
		return err
	}
	return c.NoContent(http.StatusNoContent)
}
