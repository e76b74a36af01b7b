package store

import (
	"context"
	"encoding/json"
	"time"

	"github.com/refhub/referral-service/internal/referral"
)

// EventRow is a stored business event.
type EventRow struct {
	ID        string `gorm:"primaryKey"`
	Type      string
	UserID    string
	Data      string
	CreatedAt time.Time
	Seq       *int64
}

// TableName names the events table.
func (EventRow) TableName() string { return "events" }

func (m EventRow) toDomain() referral.Event {
	e := referral.Event{ID: m.ID, Type: referral.EventType(m.Type), UserID: m.UserID, Data: json.RawMessage(m.Data), CreatedAt: m.CreatedAt.UTC()}
	if m.Seq != nil {
		e.Seq = *m.Seq
	}
	return e
}

// AppendEvent stores an event, undispatched, in the caller's transaction.
func (s *Store) AppendEvent(ctx context.Context, e referral.Event) error {
	if err := s.with(ctx).Create(&EventRow{ID: e.ID, Type: string(e.Type), UserID: e.UserID, Data: string(e.Data), CreatedAt: e.CreatedAt}).Error; err != nil {
		return err
	}
	if s.appended != nil {
		s.appended.Store(true)
	}
	return nil
}

// EventByID returns one event.
func (s *Store) EventByID(ctx context.Context, id string) (referral.Event, error) {
	var m EventRow
	if err := s.with(ctx).Where("id = ?", id).Take(&m).Error; err != nil {
		return referral.Event{}, notFound(err)
	}
	return m.toDomain(), nil
}

// ListEvents lists dispatched business events (never pings): a user's
// newest first, everyone's oldest first.
func (s *Store) ListEvents(ctx context.Context, f referral.EventFilter) ([]referral.Event, error) {
	q := s.with(ctx).Where("seq IS NOT NULL AND type <> ?", string(referral.EventPing))
	if f.Type != "" {
		q = q.Where("type = ?", string(f.Type))
	}
	if f.UserID != "" {
		q = q.Where("user_id = ?", f.UserID)
		if f.BeforeSeq > 0 {
			q = q.Where("seq < ?", f.BeforeSeq)
		}
		q = q.Order("seq DESC")
	} else {
		q = q.Where("seq > ?", f.AfterSeq).Order("seq")
	}
	var ms []EventRow
	if err := q.Limit(f.Limit).Find(&ms).Error; err != nil {
		return nil, err
	}
	out := make([]referral.Event, len(ms))
	for i, m := range ms {
		out[i] = m.toDomain()
	}
	return out, nil
}

// ClaimAvailableRewards marks rewards whose hold ended as announced and
// returns them. On PostgreSQL rows another transaction holds are skipped,
// never waited for, so this transaction takes no part in a lock cycle.
func (s *Store) ClaimAvailableRewards(ctx context.Context, now time.Time, limit int) ([]referral.Reward, error) {
	lock := ""
	if s.dialect == Postgres {
		lock = " FOR UPDATE SKIP LOCKED"
	}
	var ms []RewardRow
	err := s.with(ctx).Raw(`UPDATE rewards SET announced_at = ? WHERE id IN (
		SELECT id FROM rewards WHERE announced_at IS NULL AND available_at <= ? ORDER BY available_at LIMIT ?`+lock+`)
		RETURNING id, referral_id, referrer_id, payment_id, currency, payment_amount, refunded_amount,
		percent_units, fixed_amount, cap_amount, amount, kept_amount, payout_id, available_at, created_at`,
		now, now, limit).Scan(&ms).Error
	if err != nil {
		return nil, err
	}
	out := make([]referral.Reward, len(ms))
	for i, m := range ms {
		out[i] = m.toDomain()
	}
	return out, nil
}
