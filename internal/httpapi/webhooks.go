package httpapi

import (
	"errors"
	"net/http"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/refhub/referral-service/internal/outbox/webhook"
	"github.com/refhub/referral-service/pkg/referralapi"
)

func toEndpoint(e webhook.Endpoint) referralapi.WebhookEndpoint {
	return referralapi.WebhookEndpoint{ID: e.ID, URL: e.URL, Events: e.EventTypes, Description: e.Description,
		Status: e.Status, DisabledReason: optional(e.DisabledReason), CreatedAt: e.CreatedAt, UpdatedAt: e.UpdatedAt}
}

// webhookError maps the endpoint operations' errors to problems.
func webhookError(err error) error {
	var fe *webhook.FieldError
	switch {
	case errors.As(err, &fe) && fe.Field == "url":
		return &apiError{Status: http.StatusUnprocessableEntity, Code: "webhook_url_invalid", Title: "Webhook URL refused",
			Detail: fe.Reason, Fields: map[string]string{"url": fe.Reason}}
	case errors.As(err, &fe):
		return invalid(fe.Error(), map[string]string{fe.Field: fe.Reason})
	case errors.Is(err, webhook.ErrNotFound):
		return newError(http.StatusNotFound, "webhook_endpoint_not_found", "Webhook endpoint not found", "no webhook endpoint has this id")
	case errors.Is(err, webhook.ErrEventNotFound):
		return newError(http.StatusNotFound, "event_not_found", "Event not found", "no event has this id")
	}
	return err
}

// adminCreateWebhookEndpoint godoc
//
//	@Summary		Register a webhook endpoint (operators)
//	@Description	Events (all, or the types listed) are POSTed to the URL as the feed shows them, signed by the Standard Webhooks scheme: headers webhook-id (the event id, the same on every retry), webhook-timestamp and webhook-signature (v1,base64 HMAC-SHA256 of "id.timestamp.body" with the secret). A 2xx within 15 s is a delivery; otherwise retries follow 5 s, 5 min, 30 min, 2 h, 5 h, then every 10 h, for over three days. The secret appears only in this response and after a rotation.
//	@ID				adminCreateWebhookEndpoint
//	@Tags			webhooks
//	@Accept			json
//	@Produce		json
//	@Produce		application/problem+json
//	@Param			body	body		referralapi.WebhookEndpointCreate	true	"URL, event types, description"
//	@Success		201		{object}	referralapi.CreatedWebhookEndpoint	"The endpoint, with its secret shown this once"
//	@Failure		400		{object}	referralapi.Problem					"Malformed body, unknown event type, description too long (code invalid_request)"
//	@Failure		401		{object}	referralapi.Problem					"Missing or invalid credentials (code unauthorized)"
//	@Failure		403		{object}	referralapi.Problem					"Credentials lack the admin role (code forbidden)"
//	@Failure		413		{object}	referralapi.Problem					"Body over 64 KiB (code payload_too_large)"
//	@Failure		415		{object}	referralapi.Problem					"Body is not application/json (code unsupported_media_type)"
//	@Failure		422		{object}	referralapi.Problem					"The URL is not http(s), or is (or resolves to) a private, loopback or link-local address (code webhook_url_invalid)"
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
//	@Router			/v1/admin/webhook-endpoints [post]
func (h *handlers) adminCreateWebhookEndpoint(c echo.Context) error {
	var req referralapi.WebhookEndpointCreate
	if err := decodeJSON(c, &req); err != nil {
		return err
	}
	if req.URL == "" {
		return invalid("url is required", map[string]string{"url": "is required"})
	}
	e, err := h.webhooks.Create(c.Request().Context(), req.URL, req.Events, req.Description)
	if err != nil {
		return webhookError(err)
	}
	return c.JSON(http.StatusCreated, referralapi.CreatedWebhookEndpoint{WebhookEndpoint: toEndpoint(e), Secret: e.Secret})
}

// adminListWebhookEndpoints godoc
//
//	@Summary		List webhook endpoints (operators)
//	@Description	Endpoints, newest first, without their secrets.
//	@ID				adminListWebhookEndpoints
//	@Tags			webhooks
//	@Produce		json
//	@Produce		application/problem+json
//	@Param			limit	query		int		false	"Page size, 1-100 (larger values are capped at 100)"	default(20)	minimum(1)
//	@Param			cursor	query		string	false	"nextCursor of the previous page"
//	@Success		200		{object}	referralapi.WebhookEndpointPage
//	@Failure		400		{object}	referralapi.Problem	"Bad limit or cursor (code invalid_request or invalid_cursor)"
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
//	@Router			/v1/admin/webhook-endpoints [get]
func (h *handlers) adminListWebhookEndpoints(c echo.Context) error {
	limit, err := parseLimit(c)
	if err != nil {
		return err
	}
	before, err := parseCursor(c, "we_")
	if err != nil {
		return err
	}
	eps, more, err := h.webhooks.List(c.Request().Context(), before, limit)
	if err != nil {
		return err
	}
	out := referralapi.WebhookEndpointPage{Items: make([]referralapi.WebhookEndpoint, len(eps))}
	for i, e := range eps {
		out.Items[i] = toEndpoint(e)
	}
	if more {
		next := encodeCursor(eps[len(eps)-1].ID)
		out.NextCursor = &next
	}
	return c.JSON(http.StatusOK, out)
}

// adminGetWebhookEndpoint godoc
//
//	@Summary		A webhook endpoint (operators)
//	@Description	The endpoint without its secret: its URL, event types, status and why it is disabled, if it is.
//	@ID				adminGetWebhookEndpoint
//	@Tags			webhooks
//	@Produce		json
//	@Produce		application/problem+json
//	@Param			id	path		string	true	"The endpoint's id"
//	@Success		200	{object}	referralapi.WebhookEndpoint
//	@Failure		401	{object}	referralapi.Problem	"Missing or invalid credentials (code unauthorized)"
//	@Failure		403	{object}	referralapi.Problem	"Credentials lack the admin role (code forbidden)"
//	@Failure		404	{object}	referralapi.Problem	"No endpoint has this id (code webhook_endpoint_not_found)"
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
//	@Router			/v1/admin/webhook-endpoints/{id} [get]
func (h *handlers) adminGetWebhookEndpoint(c echo.Context) error {
	e, err := h.webhooks.Get(c.Request().Context(), c.Param("id"))
	if err != nil {
		return webhookError(err)
	}
	return c.JSON(http.StatusOK, toEndpoint(e))
}

// adminUpdateWebhookEndpoint godoc
//
//	@Summary		Change a webhook endpoint (operators)
//	@Description	Fields not sent keep their values. status disabled stops deliveries (they wait, and resume when it is enabled again); enabling clears disabledReason.
//	@ID				adminUpdateWebhookEndpoint
//	@Tags			webhooks
//	@Accept			json
//	@Produce		json
//	@Produce		application/problem+json
//	@Param			id		path		string								true	"The endpoint's id"
//	@Param			body	body		referralapi.WebhookEndpointUpdate	true	"The fields to change"
//	@Success		200		{object}	referralapi.WebhookEndpoint
//	@Failure		400		{object}	referralapi.Problem	"Malformed body, unknown event type or status (code invalid_request)"
//	@Failure		401		{object}	referralapi.Problem	"Missing or invalid credentials (code unauthorized)"
//	@Failure		403		{object}	referralapi.Problem	"Credentials lack the admin role (code forbidden)"
//	@Failure		404		{object}	referralapi.Problem	"No endpoint has this id (code webhook_endpoint_not_found)"
//	@Failure		413		{object}	referralapi.Problem	"Body over 64 KiB (code payload_too_large)"
//	@Failure		415		{object}	referralapi.Problem	"Body is not application/json (code unsupported_media_type)"
//	@Failure		422		{object}	referralapi.Problem	"The URL is refused (code webhook_url_invalid)"
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
//	@Router			/v1/admin/webhook-endpoints/{id} [patch]
func (h *handlers) adminUpdateWebhookEndpoint(c echo.Context) error {
	var req referralapi.WebhookEndpointUpdate
	if err := decodeJSON(c, &req); err != nil {
		return err
	}
	e, err := h.webhooks.Update(c.Request().Context(), c.Param("id"),
		webhook.Fields{URL: req.URL, EventTypes: req.Events, Description: req.Description, Status: req.Status})
	if err != nil {
		return webhookError(err)
	}
	return c.JSON(http.StatusOK, toEndpoint(e))
}

// adminDeleteWebhookEndpoint godoc
//
//	@Summary		Delete a webhook endpoint (operators)
//	@Description	Deliveries to it stop; those pending are dropped. Its past attempts stay in the record.
//	@ID				adminDeleteWebhookEndpoint
//	@Tags			webhooks
//	@Produce		application/problem+json
//	@Param			id	path	string	true	"The endpoint's id"
//	@Success		204	"Deleted"
//	@Failure		401	{object}	referralapi.Problem	"Missing or invalid credentials (code unauthorized)"
//	@Failure		403	{object}	referralapi.Problem	"Credentials lack the admin role (code forbidden)"
//	@Failure		404	{object}	referralapi.Problem	"No endpoint has this id (code webhook_endpoint_not_found)"
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
//	@Router			/v1/admin/webhook-endpoints/{id} [delete]
func (h *handlers) adminDeleteWebhookEndpoint(c echo.Context) error {
	if err := h.webhooks.Delete(c.Request().Context(), c.Param("id")); err != nil {
		return webhookError(err)
	}
	return c.NoContent(http.StatusNoContent)
}

// adminRotateWebhookSecret godoc
//
//	@Summary		Rotate an endpoint's signing secret (operators)
//	@Description	Returns a new secret. For 24 hours deliveries carry two signatures, space-separated in webhook-signature (one by each secret), so the receiver can switch secrets without losing a delivery.
//	@ID				adminRotateWebhookSecret
//	@Tags			webhooks
//	@Produce		json
//	@Produce		application/problem+json
//	@Param			id	path		string	true	"The endpoint's id"
//	@Success		200	{object}	referralapi.RotatedSecret
//	@Failure		401	{object}	referralapi.Problem	"Missing or invalid credentials (code unauthorized)"
//	@Failure		403	{object}	referralapi.Problem	"Credentials lack the admin role (code forbidden)"
//	@Failure		404	{object}	referralapi.Problem	"No endpoint has this id (code webhook_endpoint_not_found)"
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
//	@Router			/v1/admin/webhook-endpoints/{id}/rotate-secret [post]
func (h *handlers) adminRotateWebhookSecret(c echo.Context) error {
	secret, until, err := h.webhooks.RotateSecret(c.Request().Context(), c.Param("id"))
	if err != nil {
		return webhookError(err)
	}
	return c.JSON(http.StatusOK, referralapi.RotatedSecret{Secret: secret, PreviousSecretExpiresAt: until})
}

// adminTestWebhookEndpoint godoc
//
//	@Summary		Send a test event (operators)
//	@Description	Queues a ping event (data: endpointId and a message) for this endpoint alone, delivered like any event (also while the endpoint is disabled it waits). Pings are not in the feeds.
//	@ID				adminTestWebhookEndpoint
//	@Tags			webhooks
//	@Produce		json
//	@Produce		application/problem+json
//	@Param			id	path		string	true	"The endpoint's id"
//	@Success		202	{object}	referralapi.Event	"The ping event, queued"
//	@Failure		401	{object}	referralapi.Problem	"Missing or invalid credentials (code unauthorized)"
//	@Failure		403	{object}	referralapi.Problem	"Credentials lack the admin role (code forbidden)"
//	@Failure		404	{object}	referralapi.Problem	"No endpoint has this id (code webhook_endpoint_not_found)"
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
//	@Router			/v1/admin/webhook-endpoints/{id}/test [post]
func (h *handlers) adminTestWebhookEndpoint(c echo.Context) error {
	ev, err := h.webhooks.Test(c.Request().Context(), c.Param("id"))
	if err != nil {
		return webhookError(err)
	}
	return c.JSON(http.StatusAccepted, referralapi.Event{ID: ev.ID, Type: ev.Type, CreatedAt: ev.CreatedAt, Data: ev.Data})
}

// adminListWebhookDeliveries godoc
//
//	@Summary		An endpoint's delivery attempts (operators)
//	@Description	Every attempt, newest first: its event, its number among that event's attempts here, the status (pending while in flight), the endpoint's HTTP status, the time taken and the start of the answer (or why there was none).
//	@ID				adminListWebhookDeliveries
//	@Tags			webhooks
//	@Produce		json
//	@Produce		application/problem+json
//	@Param			id		path		string	true	"The endpoint's id"
//	@Param			limit	query		int		false	"Page size, 1-100 (larger values are capped at 100)"	default(20)	minimum(1)
//	@Param			cursor	query		string	false	"nextCursor of the previous page"
//	@Success		200		{object}	referralapi.DeliveryPage
//	@Failure		400		{object}	referralapi.Problem	"Bad limit or cursor (code invalid_request or invalid_cursor)"
//	@Failure		401		{object}	referralapi.Problem	"Missing or invalid credentials (code unauthorized)"
//	@Failure		403		{object}	referralapi.Problem	"Credentials lack the admin role (code forbidden)"
//	@Failure		404		{object}	referralapi.Problem	"No endpoint has this id (code webhook_endpoint_not_found)"
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
//	@Router			/v1/admin/webhook-endpoints/{id}/deliveries [get]
func (h *handlers) adminListWebhookDeliveries(c echo.Context) error {
	limit, err := parseLimit(c)
	if err != nil {
		return err
	}
	before, err := parseCursor(c, "att_")
	if err != nil {
		return err
	}
	as, more, err := h.webhooks.Attempts(c.Request().Context(), c.Param("id"), before, limit)
	if err != nil {
		return webhookError(err)
	}
	out := referralapi.DeliveryPage{Items: make([]referralapi.Delivery, len(as))}
	for i, a := range as {
		out.Items[i] = referralapi.Delivery{ID: a.ID, EventID: a.EventID, Attempt: a.Attempt, Status: a.Status,
			ResponseStatus: a.ResponseStatus, DurationMs: a.DurationMs, Response: a.Response, CreatedAt: a.CreatedAt}
	}
	if more {
		next := encodeCursor(as[len(as)-1].ID)
		out.NextCursor = &next
	}
	return c.JSON(http.StatusOK, out)
}

// adminReplayWebhookEndpoint godoc
//
//	@Summary		Replay a time range to an endpoint (operators)
//	@Description	Queues again, for this endpoint, every event of the types it takes created in [from, to) (at most 10,000 a call), with their own ids: a receiver that deduplicates by webhook-id sees each once.
//	@ID				adminReplayWebhookEndpoint
//	@Tags			webhooks
//	@Accept			json
//	@Produce		json
//	@Produce		application/problem+json
//	@Param			id		path		string						true	"The endpoint's id"
//	@Param			body	body		referralapi.ReplayRequest	true	"The range"
//	@Success		202		{object}	referralapi.Replay
//	@Failure		400		{object}	referralapi.Problem	"Malformed body, to not after from (code invalid_request)"
//	@Failure		401		{object}	referralapi.Problem	"Missing or invalid credentials (code unauthorized)"
//	@Failure		403		{object}	referralapi.Problem	"Credentials lack the admin role (code forbidden)"
//	@Failure		404		{object}	referralapi.Problem	"No endpoint has this id (code webhook_endpoint_not_found)"
//	@Failure		413		{object}	referralapi.Problem	"Body over 64 KiB (code payload_too_large)"
//	@Failure		415		{object}	referralapi.Problem	"Body is not application/json (code unsupported_media_type)"
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
//	@Router			/v1/admin/webhook-endpoints/{id}/replay [post]
func (h *handlers) adminReplayWebhookEndpoint(c echo.Context) error {
	var req referralapi.ReplayRequest
	if err := decodeJSON(c, &req); err != nil {
		return err
	}
	if req.From.IsZero() {
		return invalid("from is required", map[string]string{"from": "is required"})
	}
	to := time.Now()
	if req.To != nil {
		to = *req.To
	}
	n, err := h.webhooks.Replay(c.Request().Context(), c.Param("id"), req.From, to)
	if err != nil {
		return webhookError(err)
	}
	return c.JSON(http.StatusAccepted, referralapi.Replay{Events: n})
}

// adminRedeliverEvent godoc
//
//	@Summary		Deliver an event again (operators)
//	@Description	Queues the event again, with its own id, for every enabled endpoint that takes its type and every endpoint it was sent to before; the attempts go on counting.
//	@ID				adminRedeliverEvent
//	@Tags			webhooks
//	@Produce		json
//	@Produce		application/problem+json
//	@Param			id	path		string	true	"The event's id"
//	@Success		202	{object}	referralapi.Redelivery
//	@Failure		401	{object}	referralapi.Problem	"Missing or invalid credentials (code unauthorized)"
//	@Failure		403	{object}	referralapi.Problem	"Credentials lack the admin role (code forbidden)"
//	@Failure		404	{object}	referralapi.Problem	"No event has this id (code event_not_found)"
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
//	@Router			/v1/admin/events/{id}/redeliver [post]
func (h *handlers) adminRedeliverEvent(c echo.Context) error {
	n, err := h.webhooks.Redeliver(c.Request().Context(), c.Param("id"))
	if err != nil {
		return webhookError(err)
	}
	return c.JSON(http.StatusAccepted, referralapi.Redelivery{EventID: c.Param("id"), Endpoints: n})
}
