package httpapi

import (
	"errors"
	"io"
	"net/http"

	"github.com/labstack/echo/v4"

	"github.com/refhub/referral-service/internal/referral"
	"github.com/refhub/referral-service/internal/stripehook"
	"github.com/refhub/referral-service/pkg/referralapi"
)

// maxWebhookBody caps Stripe event bodies; real events are a few KiB.
const maxWebhookBody = 512 << 10

// stripeWebhook godoc
//
//	@Summary		Receive a Stripe event
//	@Description	Stripe calls this with signed events. The Stripe-Signature header and its timestamp are verified with STRIPE_WEBHOOK_SECRET; a bad or missing signature is 400 and writes nothing. Payments: invoice.paid and invoice.payment_succeeded (amount_paid > 0), invoice_payment.paid (API 2025-03-31 and later: the link between an invoice and its payment intent), payment_intent.succeeded (amount_received > 0), checkout.session.completed and checkout.session.async_payment_succeeded (payment_status paid, amount_total > 0; a setup, expired or failed session only teaches the customer). Refunds and disputes: charge.refunded (the charge's cumulative amount_refunded), refund.created, refund.updated, refund.failed and charge.refund.updated (pending and succeeded refunds count, failed and canceled ones do not), charge.dispute.created, .updated, .closed, .funds_withdrawn and .funds_reinstated. customer.created and customer.updated teach the customer → user mapping from metadata.user_id. The user is metadata.user_id (invoices: also the subscription's metadata, under parent from 2025-03-31 on), else a Checkout Session's client_reference_id, else the learned customer mapping; a payment whose user is not known yet is kept and qualifies when a later event names the user. Every identifier of a payment (payment intent, charge, invoice, invoice payment, checkout session), learned from any event in any order, leads to the same payment, which rewards once. Each event id takes effect once. Other event types answer 200 and are ignored. Events of any Stripe API version are read. A storage failure answers 500, an unreachable database 503, so that Stripe retries.
//	@ID				receiveStripeEvent
//	@Tags			stripe
//	@Accept			json
//	@Produce		json
//	@Produce		application/problem+json
//	@Param			Stripe-Signature	header		string					true	"Stripe's signature header: t=<timestamp>,v1=<signature>"
//	@Param			event				body		referralapi.StripeEvent	true	"The Stripe event, as Stripe sends it"
//	@Success		200					{object}	referralapi.WebhookResult
//	@Failure		400					{object}	referralapi.Problem	"Bad or missing signature (code invalid_signature), or a signed body that is not a readable event (code invalid_payload)"
//	@Failure		413					{object}	referralapi.Problem	"Body over 512 KiB (code payload_too_large)"
//	@Failure		500					{object}	referralapi.Problem	"Storage failure; Stripe retries (code internal_error)"
//	@Failure		503					{object}	referralapi.Problem	"STRIPE_WEBHOOK_SECRET is not configured (code stripe_not_configured); or the database did not answer in time (code database_unavailable, with Retry-After)"
//	@Header			503					{string}	Retry-After			"Seconds to wait before retrying"
//	@Header			all					{string}	X-Request-Id		"Request id: the caller's valid X-Request-Id, else a new one"
//	@Security
//	@Router			/v1/webhooks/stripe [post]
func (h *handlers) stripeWebhook(c echo.Context) error {
	if h.stripeSecret == "" {
		return newError(http.StatusServiceUnavailable, "stripe_not_configured", "Stripe webhooks not configured", "set STRIPE_WEBHOOK_SECRET to receive Stripe events")
	}
	payload, err := io.ReadAll(http.MaxBytesReader(c.Response(), c.Request().Body, maxWebhookBody))
	if err != nil {
		var mbe *http.MaxBytesError
		if errors.As(err, &mbe) {
			return errTooLarge
		}
		return err
	}
	ev, err := stripehook.Verify(payload, c.Request().Header.Get("Stripe-Signature"), h.stripeSecret, h.stripeTolerance)
	switch {
	case errors.Is(err, stripehook.ErrSignature):
		h.countStripe("", "bad_signature")
		return newError(http.StatusBadRequest, "invalid_signature", "Invalid signature", "the Stripe-Signature header does not verify against the configured secret, or its timestamp is too old")
	case errors.Is(err, stripehook.ErrPayload):
		h.countStripe("", "invalid")
		return newError(http.StatusBadRequest, "invalid_payload", "Invalid event", err.Error())
	case err != nil:
		return err
	}
	ctx := c.Request().Context()
	if !ev.Handled {
		h.countStripe(ev.Type, "ignored")
		h.log.DebugContext(ctx, "stripe event ignored", "event_id", ev.ID, "type", ev.Type)
		return c.JSON(http.StatusOK, referralapi.WebhookResult{Received: true, Outcome: "ignored"})
	}
	outcome, err := h.svc.HandleStripeEvent(ctx, referral.StripeEvent{ID: ev.ID, Type: ev.Type}, ev.Effects())
	if err != nil {
		h.countStripe(ev.Type, "failed")
		return err
	}
	h.countStripe(ev.Type, string(outcome))
	h.log.InfoContext(ctx, "stripe event", "event_id", ev.ID, "type", ev.Type, "api_version", ev.APIVersion, "outcome", outcome)
	return c.JSON(http.StatusOK, referralapi.WebhookResult{Received: true, Outcome: string(outcome)})
}

// countStripe counts a Stripe event's outcome when metrics are on.
func (h *handlers) countStripe(typ, outcome string) {
	if h.metrics != nil {
		h.metrics.StripeEvent(typ, outcome)
	}
}
