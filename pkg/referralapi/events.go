package referralapi

import (
	"encoding/json"
	"time"
)

// Event is a business event: the same object in the feeds and in the body
// of every webhook delivery. Data is the API's own object of what the event
// reports: a Referral (referral.*), a RewardEventData (reward.*), a Payout
// (payout.*), a ReferralCode (code.changed), a PingEventData (ping).
type Event struct {
	// ID is unique per event; webhook deliveries carry it as webhook-id.
	ID   string `json:"id" validate:"required" example:"evt_01JDQ3ZK5V8Y6M4T2N9P0QRS7W"`
	Type string `json:"type" validate:"required" enums:"referral.created,referral.qualified,referral.cancelled,referral.restored,reward.available,reward.reversed,payout.paid,payout.failed,code.changed,ping" example:"referral.qualified"`
	// CreatedAt is when the change the event reports was made.
	CreatedAt time.Time `json:"createdAt" validate:"required" format:"date-time"`
	// Data is the object the event reports (see the event's type).
	Data json.RawMessage `json:"data" validate:"required" swaggertype:"object"`
}

// EventPage is one page of the operators' event feed, oldest first.
type EventPage struct {
	Items []Event `json:"items" validate:"required"`
	// NextCursor is the last event's id: pass it as after to read on, now
	// or later (null when the page is empty).
	NextCursor *string `json:"nextCursor" validate:"required" extensions:"x-nullable"`
	// HasMore says whether more events were waiting when this page was read.
	HasMore bool `json:"hasMore" validate:"required"`
}

// UserEventPage is one page of a user's own events, newest first.
type UserEventPage struct {
	Items []Event `json:"items" validate:"required"`
	// NextCursor fetches the next (older) page; null on the last page.
	NextCursor *string `json:"nextCursor" validate:"required" extensions:"x-nullable"`
}

// RewardEventData is the data of reward.available (amount became payable:
// the reward's hold ended, or, after that, a won dispute or a failed refund
// gave amount back) and reward.reversed (amount was taken back by a refund,
// a dispute or a cancellation).
type RewardEventData struct {
	ReferralID string `json:"referralId" validate:"required" example:"ref_01JDQ3ZK5V8Y6M4T2N9P0QRS7W"`
	ReferrerID string `json:"referrerId" validate:"required" example:"u1"`
	// Amount is in minor units of currency, positive.
	Amount   int64  `json:"amount" validate:"required" example:"2000" format:"int64"`
	Currency string `json:"currency" validate:"required" example:"usd"`
}

// PingEventData is the data of the ping event an operator sends to test
// one webhook endpoint.
type PingEventData struct {
	EndpointID string `json:"endpointId" validate:"required" example:"we_01JDQ3ZK5V8Y6M4T2N9P0QRS7W"`
	Message    string `json:"message" validate:"required" example:"test event from the referral service"`
}

// WebhookEndpoint is where events are sent, signed by the Standard
// Webhooks scheme.
type WebhookEndpoint struct {
	ID  string `json:"id" validate:"required" example:"we_01JDQ3ZK5V8Y6M4T2N9P0QRS7W"`
	URL string `json:"url" validate:"required" example:"https://app.example.com/hooks/referrals"`
	// Events are the event types sent; empty: all.
	Events      []string `json:"events" validate:"required" example:"referral.qualified"`
	Description string   `json:"description" validate:"required" example:"CRM sync"`
	// Status is disabled when an operator disabled it, or after deliveries
	// failed for 5 days (DisabledReason says which).
	Status         string    `json:"status" validate:"required" enums:"enabled,disabled" example:"enabled"`
	DisabledReason *string   `json:"disabledReason" validate:"required" extensions:"x-nullable"`
	CreatedAt      time.Time `json:"createdAt" validate:"required" format:"date-time"`
	UpdatedAt      time.Time `json:"updatedAt" validate:"required" format:"date-time"`
}

// CreatedWebhookEndpoint is a new endpoint with its signing secret, shown
// only here and when the secret is rotated.
type CreatedWebhookEndpoint struct {
	WebhookEndpoint
	// Secret verifies deliveries (Standard Webhooks: whsec_ and base64).
	Secret string `json:"secret" validate:"required" example:"whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"`
}

// WebhookEndpointPage is one page of endpoints, newest first.
type WebhookEndpointPage struct {
	Items []WebhookEndpoint `json:"items" validate:"required"`
	// NextCursor fetches the next page; null on the last page.
	NextCursor *string `json:"nextCursor" validate:"required" extensions:"x-nullable"`
}

// WebhookEndpointCreate registers an endpoint.
type WebhookEndpointCreate struct {
	// URL receives POSTs: http or https, not a private, loopback or
	// link-local address (unless WEBHOOK_ALLOW_PRIVATE_URLS=true).
	URL string `json:"url" validate:"required" maxLength:"2048" example:"https://app.example.com/hooks/referrals"`
	// Events are the event types to send; empty or absent: all.
	Events      []string `json:"events" example:"referral.qualified"`
	Description string   `json:"description" maxLength:"500" example:"CRM sync"`
}

// WebhookEndpointUpdate changes an endpoint; fields not sent keep their values.
type WebhookEndpointUpdate struct {
	URL         *string   `json:"url" maxLength:"2048" example:"https://app.example.com/hooks/referrals"`
	Events      *[]string `json:"events" example:"referral.qualified"`
	Description *string   `json:"description" maxLength:"500" example:"CRM sync"`
	// Status enables or disables deliveries; enabling clears DisabledReason.
	Status *string `json:"status" enums:"enabled,disabled" example:"disabled"`
}

// RotatedSecret is an endpoint's new signing secret. Until
// PreviousSecretExpiresAt deliveries carry signatures by both secrets.
type RotatedSecret struct {
	Secret                  string    `json:"secret" validate:"required" example:"whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"`
	PreviousSecretExpiresAt time.Time `json:"previousSecretExpiresAt" validate:"required" format:"date-time"`
}

// Delivery is one attempt to deliver an event to an endpoint.
type Delivery struct {
	ID      string `json:"id" validate:"required" example:"att_01JDQ3ZK5V8Y6M4T2N9P0QRS7W"`
	EventID string `json:"eventId" validate:"required" example:"evt_01JDQ3ZK5V8Y6M4T2N9P0QRS7W"`
	// Attempt numbers the attempts of one event at this endpoint from 1.
	Attempt int `json:"attempt" validate:"required" example:"1"`
	// Status is pending while the request is in flight.
	Status string `json:"status" validate:"required" enums:"succeeded,failed,pending" example:"succeeded"`
	// ResponseStatus is the endpoint's HTTP status; null when it did not answer.
	ResponseStatus *int `json:"responseStatus" validate:"required" extensions:"x-nullable" example:"200"`
	DurationMs     *int `json:"durationMs" validate:"required" extensions:"x-nullable" example:"84"`
	// Response is the start of the endpoint's answer, or why there was none.
	Response  string    `json:"response" validate:"required" example:"ok"`
	CreatedAt time.Time `json:"createdAt" validate:"required" format:"date-time"`
}

// DeliveryPage is one page of an endpoint's delivery attempts, newest first.
type DeliveryPage struct {
	Items []Delivery `json:"items" validate:"required"`
	// NextCursor fetches the next page; null on the last page.
	NextCursor *string `json:"nextCursor" validate:"required" extensions:"x-nullable"`
}

// Redelivery says how many endpoints an event was queued for again.
type Redelivery struct {
	EventID   string `json:"eventId" validate:"required" example:"evt_01JDQ3ZK5V8Y6M4T2N9P0QRS7W"`
	Endpoints int    `json:"endpoints" validate:"required" example:"2"`
}

// ReplayRequest queues an endpoint's events of a time range again.
type ReplayRequest struct {
	From time.Time `json:"from" validate:"required" format:"date-time"`
	// To defaults to now.
	To *time.Time `json:"to" format:"date-time"`
}

// Replay says how many events were queued again.
type Replay struct {
	Events int `json:"events" validate:"required" example:"12"`
}
