package httpapi

import (
	"encoding/json"
	"errors"
	"net/http"
	"strings"

	"github.com/labstack/echo/v4"

	"github.com/refhub/referral-service/internal/referral"
	"github.com/refhub/referral-service/pkg/referralapi"
)

func toEvent(e referral.Event) referralapi.Event {
	return referralapi.Event{ID: e.ID, Type: string(e.Type), CreatedAt: e.CreatedAt, Data: e.Data}
}

// adminListEvents godoc
//
//	@Summary		The event feed (operators)
//	@Description	Business events in the order they were dispatched, oldest first, after the event named by after: a consumer passes the last id it has processed and resumes exactly there, now or later (an event that committed late never appears before one already read). Events appear here within a second of their change. Each item is exactly the body of that event's webhook deliveries.
//	@ID				adminListEvents
//	@Tags			events
//	@Produce		json
//	@Produce		application/problem+json
//	@Param			type	query		string	false	"Only events of this type"	Enums(referral.created, referral.qualified, referral.cancelled, referral.restored, reward.available, reward.reversed, payout.paid, payout.failed, code.changed)
//	@Param			after	query		string	false	"The id of the last event already read (nextCursor of the previous page); absent: from the first"
//	@Param			limit	query		int		false	"Page size, 1-100 (larger values are capped at 100)"	default(20)	minimum(1)
//	@Success		200		{object}	referralapi.EventPage
//	@Failure		400		{object}	referralapi.Problem	"Bad type, limit, or an after that names no event (code invalid_request or invalid_cursor)"
//	@Failure		401		{object}	referralapi.Problem	"Missing or invalid credentials (code unauthorized)"
//	@Failure		403		{object}	referralapi.Problem	"Credentials lack the admin role (code forbidden)"
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
//	@Router			/v1/admin/events [get]
func (h *handlers) adminListEvents(c echo.Context) error {
	limit, err := parseLimit(c)
	if err != nil {
		return err
	}
	f := referral.EventFilter{Limit: limit, After: c.QueryParam("after")}
	if t := c.QueryParam("type"); t != "" {
		if !knownEventType(t) {
			return invalid("unknown event type", map[string]string{"type": "is not an event type"})
		}
		f.Type = referral.EventType(t)
	}
	if f.After != "" && !strings.HasPrefix(f.After, "evt_") {
		return errBadAfter
	}
	events, more, err := h.svc.Events(c.Request().Context(), f)
	if errors.Is(err, referral.ErrNotFound) {
		return errBadAfter
	}
	if err != nil {
		return err
	}
	out := referralapi.EventPage{Items: make([]referralapi.Event, len(events)), HasMore: more}
	for i, e := range events {
		out.Items[i] = toEvent(e)
	}
	if len(events) > 0 {
		last := events[len(events)-1].ID
		out.NextCursor = &last
	} else if f.After != "" {
		out.NextCursor = &f.After
	}
	return c.JSON(http.StatusOK, out)
}

var errBadAfter = &apiError{Status: http.StatusBadRequest, Code: "invalid_cursor", Title: "Invalid cursor",
	Detail: "after must be the id of an event from this feed", Fields: map[string]string{"after": "names no event of this feed"}}

func knownEventType(t string) bool {
	for _, k := range referral.EventTypes {
		if string(k) == t {
			return true
		}
	}
	return false
}

// listMyEvents godoc
//
//	@Summary		The caller's own events
//	@Description	Events about the caller's referrals as referrer, rewards, payouts and code, newest first: an activity feed. The data is the API's object of the event, except that a referral's referredUserId is masked as in /v1/me/referrals.
//	@ID				listMyEvents
//	@Tags			me
//	@Produce		json
//	@Produce		application/problem+json
//	@Param			limit	query		int		false	"Page size, 1-100 (larger values are capped at 100)"	default(20)	minimum(1)
//	@Param			cursor	query		string	false	"nextCursor of the previous page"
//	@Success		200		{object}	referralapi.UserEventPage
//	@Failure		400		{object}	referralapi.Problem	"Bad limit or cursor (code invalid_request or invalid_cursor)"
//	@Failure		401		{object}	referralapi.Problem	"Missing or invalid token (code unauthorized)"
//	@Failure		403		{object}	referralapi.Problem	"An API key acts for no user: /v1/me needs a user's token (code forbidden)"
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
//	@Router			/v1/me/events [get]
func (h *handlers) listMyEvents(c echo.Context) error {
	limit, err := parseLimit(c)
	if err != nil {
		return err
	}
	before, err := parseCursor(c, "evt_")
	if err != nil {
		return err
	}
	user := principal(c).Subject
	events, more, err := h.svc.UserEvents(c.Request().Context(), user, before, limit)
	if errors.Is(err, referral.ErrNotFound) {
		return &apiError{Status: http.StatusBadRequest, Code: "invalid_cursor", Title: "Invalid cursor",
			Detail: "cursor must be a nextCursor value returned by this endpoint", Fields: map[string]string{"cursor": "is not a cursor issued by this service"}}
	}
	if err != nil {
		return err
	}
	out := referralapi.UserEventPage{Items: make([]referralapi.Event, len(events))}
	for i, e := range events {
		out.Items[i] = toEvent(maskReferred(e))
	}
	if more {
		next := encodeCursor(events[len(events)-1].ID)
		out.NextCursor = &next
	}
	return c.JSON(http.StatusOK, out)
}

// maskReferred hides the referred user's id in a referral event shown to
// the referrer, as /v1/me/referrals does.
func maskReferred(e referral.Event) referral.Event {
	if !strings.HasPrefix(string(e.Type), "referral.") {
		return e
	}
	var r referralapi.Referral
	if err := json.Unmarshal(e.Data, &r); err != nil {
		return e
	}
	r.ReferredUserID = referral.MaskedLabel("", r.ReferredUserID)
	if data, err := json.Marshal(r); err == nil {
		e.Data = data
	}
	return e
}
