package referral

import (
	"context"
	"encoding/json"
	"fmt"
	"time"
)

// EventType names a business event.
type EventType string

// The events the service emits. Each is appended in the same transaction
// as the change it reports, so it exists exactly when the change does.
const (
	EventReferralCreated   EventType = "referral.created"
	EventReferralQualified EventType = "referral.qualified"
	EventReferralCancelled EventType = "referral.cancelled"
	EventReferralRestored  EventType = "referral.restored"
	EventRewardAvailable   EventType = "reward.available"
	EventRewardReversed    EventType = "reward.reversed"
	EventPayoutPaid        EventType = "payout.paid"
	EventPayoutFailed      EventType = "payout.failed"
	EventCodeChanged       EventType = "code.changed"
	// EventPing is the test event an operator sends to one webhook endpoint.
	EventPing EventType = "ping"
)

// EventTypes lists the business events (not ping), for validation and docs.
var EventTypes = []EventType{
	EventReferralCreated, EventReferralQualified, EventReferralCancelled, EventReferralRestored,
	EventRewardAvailable, EventRewardReversed, EventPayoutPaid, EventPayoutFailed, EventCodeChanged,
}

// Event is a stored business event. Data is the API's own object of what
// it reports (a referral, a payout, a code, a RewardChange), as JSON.
type Event struct {
	ID   string
	Type EventType
	// UserID is whom the event concerns: the referrer (referral and reward
	// events), the payee (payouts), the code's owner (code.changed).
	UserID    string
	Data      json.RawMessage
	CreatedAt time.Time
	// Seq orders events in the feeds; 0 until the event is dispatched.
	Seq int64
}

// RewardChange is what reward.available and reward.reversed report: an
// amount of a referral's reward becoming payable, or taken back.
type RewardChange struct {
	ReferralID string
	ReferrerID string
	Amount     int64
	Currency   string
}

// EventEncoder turns what an event reports (a Referral, a Payout, a Code
// or a RewardChange) into its data: the API's wire object. The HTTP layer
// provides it, so feeds and webhooks carry exactly what the API answers.
type EventEncoder func(subject any) (json.RawMessage, error)

// emit appends an event about subject to tx.
func (s *Service) emit(ctx context.Context, tx Store, typ EventType, userID string, subject any, at time.Time) error {
	data, err := s.encode(subject)
	if err != nil {
		return fmt.Errorf("encode %s event: %w", typ, err)
	}
	id, err := s.ids.New("evt_", at)
	if err != nil {
		return err
	}
	if err := tx.AppendEvent(ctx, Event{ID: id, Type: typ, UserID: userID, Data: data, CreatedAt: at}); err != nil {
		return fmt.Errorf("append %s event: %w", typ, err)
	}
	return nil
}

// emitStatusChange appends what a referral's move from before to after
// means: referral.cancelled, or referral.restored when a cancelled
// referral stands again.
func (s *Service) emitStatusChange(ctx context.Context, tx Store, before Status, after Referral, at time.Time) error {
	switch {
	case before != StatusCancelled && after.Status == StatusCancelled:
		return s.emit(ctx, tx, EventReferralCancelled, after.ReferrerID, after, at)
	case before == StatusCancelled && after.Status != StatusCancelled:
		return s.emit(ctx, tx, EventReferralRestored, after.ReferrerID, after, at)
	}
	return nil
}

// AnnounceAvailableRewards emits reward.available for up to limit rewards
// whose hold ended by now and that still keep an amount, each once: the
// store claims them (SKIP LOCKED, so replicas share the work) and the
// events are appended in the same transaction. It returns how many it
// announced (rewards that kept nothing are marked without an event).
func (s *Service) AnnounceAvailableRewards(ctx context.Context, limit int) (int, error) {
	now := s.clock()
	n := 0
	err := s.store.InTx(ctx, func(tx Store) error {
		n = 0
		rewards, err := tx.ClaimAvailableRewards(ctx, now, limit)
		if err != nil {
			return fmt.Errorf("claim available rewards: %w", err)
		}
		for _, rw := range rewards {
			if rw.KeptAmount <= 0 {
				continue
			}
			change := RewardChange{ReferralID: rw.ReferralID, ReferrerID: rw.ReferrerID, Amount: rw.KeptAmount, Currency: rw.Currency}
			if err := s.emit(ctx, tx, EventRewardAvailable, rw.ReferrerID, change, now); err != nil {
				return err
			}
			n++
		}
		return nil
	})
	return n, err
}

// Events lists events in feed order after the event afterID (from the
// first when empty), of type typ when not empty.
func (s *Service) Events(ctx context.Context, f EventFilter) ([]Event, bool, error) {
	if f.After != "" {
		ev, err := s.store.EventByID(ctx, f.After)
		if err != nil {
			return nil, false, err
		}
		if ev.Seq == 0 {
			return nil, false, ErrNotFound // not in the feed yet
		}
		f.AfterSeq = ev.Seq
	}
	limit := f.Limit
	f.Limit++
	events, err := s.store.ListEvents(ctx, f)
	if err != nil {
		return nil, false, err
	}
	more := len(events) > limit
	return events[:min(len(events), limit)], more, nil
}

// EventFilter selects events. The admin feed reads oldest first after
// AfterSeq; a user's feed (UserID set) newest first before BeforeSeq.
type EventFilter struct {
	Type      EventType
	UserID    string
	After     string
	AfterSeq  int64
	BeforeSeq int64
	Limit     int
}

// UserEvents lists the events about userID, newest first, before the
// event beforeID when not empty.
func (s *Service) UserEvents(ctx context.Context, userID, beforeID string, limit int) ([]Event, bool, error) {
	f := EventFilter{UserID: userID, Limit: limit + 1}
	if beforeID != "" {
		ev, err := s.store.EventByID(ctx, beforeID)
		if err != nil || ev.UserID != userID || ev.Seq == 0 {
			return nil, false, ErrNotFound
		}
		f.BeforeSeq = ev.Seq
	}
	events, err := s.store.ListEvents(ctx, f)
	if err != nil {
		return nil, false, err
	}
	more := len(events) > limit
	return events[:min(len(events), limit)], more, nil
}

// Event returns one event.
func (s *Service) Event(ctx context.Context, id string) (Event, error) {
	return s.store.EventByID(ctx, id)
}
