package store

import (
	"context"
	"errors"
	"strings"
	"time"

	"gorm.io/gorm"

	"github.com/refhub/referral-service/internal/outbox"
	"github.com/refhub/referral-service/internal/outbox/webhook"
)

// WebhookEndpointRow is a stored webhook endpoint.
type WebhookEndpointRow struct {
	ID                  string `gorm:"primaryKey"`
	URL                 string
	EventTypes          string
	Description         string
	Status              string
	DisabledReason      string
	Secret              string
	PreviousSecret      string
	PreviousSecretUntil *time.Time
	FailingSince        *time.Time
	CreatedAt           time.Time
	UpdatedAt           time.Time
	DeletedAt           *time.Time
}

// TableName names the webhook endpoints table.
func (WebhookEndpointRow) TableName() string { return "webhook_endpoints" }

var _ webhook.Store = (*Store)(nil)

func utcPtr(t *time.Time) *time.Time {
	if t == nil {
		return nil
	}
	u := t.UTC()
	return &u
}

func (m WebhookEndpointRow) toDomain() webhook.Endpoint {
	types := []string{}
	if m.EventTypes != "" {
		types = strings.Split(m.EventTypes, ",")
	}
	return webhook.Endpoint{ID: m.ID, URL: m.URL, EventTypes: types, Description: m.Description, Status: m.Status,
		DisabledReason: m.DisabledReason, Secret: m.Secret, PreviousSecret: m.PreviousSecret,
		PreviousSecretUntil: utcPtr(m.PreviousSecretUntil), FailingSince: utcPtr(m.FailingSince),
		CreatedAt: m.CreatedAt.UTC(), UpdatedAt: m.UpdatedAt.UTC()}
}

func endpointModel(e webhook.Endpoint) WebhookEndpointRow {
	return WebhookEndpointRow{ID: e.ID, URL: e.URL, EventTypes: strings.Join(e.EventTypes, ","), Description: e.Description,
		Status: e.Status, DisabledReason: e.DisabledReason, Secret: e.Secret, PreviousSecret: e.PreviousSecret,
		PreviousSecretUntil: e.PreviousSecretUntil, FailingSince: e.FailingSince, CreatedAt: e.CreatedAt, UpdatedAt: e.UpdatedAt}
}

// CreateEndpoint stores a new endpoint.
func (s *Store) CreateEndpoint(ctx context.Context, e webhook.Endpoint) error {
	m := endpointModel(e)
	return s.with(ctx).Create(&m).Error
}

// Endpoint returns an endpoint that is not deleted.
func (s *Store) Endpoint(ctx context.Context, id string) (webhook.Endpoint, error) {
	var m WebhookEndpointRow
	err := s.with(ctx).Where("id = ? AND deleted_at IS NULL", id).Take(&m).Error
	if errors.Is(err, gorm.ErrRecordNotFound) {
		return webhook.Endpoint{}, webhook.ErrNotFound
	}
	if err != nil {
		return webhook.Endpoint{}, err
	}
	return m.toDomain(), nil
}

// ListEndpoints lists endpoints, newest first.
func (s *Store) ListEndpoints(ctx context.Context, beforeID string, limit int) ([]webhook.Endpoint, error) {
	q := s.with(ctx).Where("deleted_at IS NULL")
	if beforeID != "" {
		q = q.Where("id < ?", beforeID)
	}
	var ms []WebhookEndpointRow
	if err := q.Order("id DESC").Limit(limit).Find(&ms).Error; err != nil {
		return nil, err
	}
	out := make([]webhook.Endpoint, len(ms))
	for i, m := range ms {
		out[i] = m.toDomain()
	}
	return out, nil
}

// SaveEndpoint writes an endpoint's changeable fields.
func (s *Store) SaveEndpoint(ctx context.Context, e webhook.Endpoint) error {
	m := endpointModel(e)
	res := s.with(ctx).Model(&WebhookEndpointRow{}).Where("id = ? AND deleted_at IS NULL", e.ID).Updates(map[string]any{
		"url": m.URL, "event_types": m.EventTypes, "description": m.Description, "status": m.Status,
		"disabled_reason": m.DisabledReason, "secret": m.Secret, "previous_secret": m.PreviousSecret,
		"previous_secret_until": m.PreviousSecretUntil, "failing_since": m.FailingSince, "updated_at": m.UpdatedAt,
	})
	if res.Error == nil && res.RowsAffected == 0 {
		return webhook.ErrNotFound
	}
	return res.Error
}

// DeleteEndpoint marks an endpoint deleted.
func (s *Store) DeleteEndpoint(ctx context.Context, id string, at time.Time) (bool, error) {
	res := s.with(ctx).Model(&WebhookEndpointRow{}).Where("id = ? AND deleted_at IS NULL", id).
		Updates(map[string]any{"deleted_at": at, "updated_at": at})
	return res.RowsAffected > 0, res.Error
}

// EnabledEndpoints lists the endpoints taking deliveries.
func (s *Store) EnabledEndpoints(ctx context.Context) ([]webhook.Endpoint, error) {
	var ms []WebhookEndpointRow
	if err := s.with(ctx).Where("deleted_at IS NULL AND status = ?", webhook.Enabled).Order("id").Find(&ms).Error; err != nil {
		return nil, err
	}
	out := make([]webhook.Endpoint, len(ms))
	for i, m := range ms {
		out[i] = m.toDomain()
	}
	return out, nil
}

// NoteResult keeps an endpoint's failing streak, and disables an endpoint
// whose streak began before disableBefore. Each step is one conditional
// statement, so replicas recording at once agree.
func (s *Store) NoteResult(ctx context.Context, id string, ok bool, at, disableBefore time.Time) (bool, error) {
	q := s.with(ctx).Model(&WebhookEndpointRow{}).Where("id = ?", id)
	if ok {
		return false, q.Where("failing_since IS NOT NULL").Update("failing_since", nil).Error
	}
	if err := q.Where("failing_since IS NULL").Update("failing_since", at).Error; err != nil {
		return false, err
	}
	res := s.with(ctx).Model(&WebhookEndpointRow{}).
		Where("id = ? AND status = ? AND failing_since < ?", id, webhook.Enabled, disableBefore).
		Updates(map[string]any{"status": webhook.Disabled, "disabled_reason": "every delivery failed for 5 days", "updated_at": at})
	return res.RowsAffected > 0, res.Error
}

// CreatePing stores a ping event and its task for one endpoint, in one
// transaction; the dispatcher later gives it a sequence (the feeds leave
// pings out) and routes it to the same endpoint, which changes nothing.
func (s *Store) CreatePing(ctx context.Context, ev outbox.Event, endpointID string) error {
	return s.tx(ctx, func(tx *Store) error {
		if err := tx.with(ctx).Create(&EventRow{ID: ev.ID, Type: ev.Type, Data: string(ev.Data), CreatedAt: ev.CreatedAt}).Error; err != nil {
			return err
		}
		return tx.createTask(ctx, ev.ID, webhook.SinkName, endpointID, ev.CreatedAt)
	})
}
