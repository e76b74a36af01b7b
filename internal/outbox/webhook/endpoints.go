// Package webhook is the outbox's sink for Standard Webhooks endpoints:
// signed HTTP deliveries with retries, and the operations operators run on
// endpoints (create, rotate the secret, test, list attempts, redeliver).
package webhook

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/refhub/referral-service/internal/outbox"
)

// Endpoint is where events are sent.
type Endpoint struct {
	ID  string
	URL string
	// EventTypes are the types sent; empty: all.
	EventTypes     []string
	Description    string
	Status         string
	DisabledReason string
	Secret         string
	// PreviousSecret signs too, until PreviousSecretUntil (after a rotation).
	PreviousSecret      string
	PreviousSecretUntil *time.Time
	FailingSince        *time.Time
	CreatedAt           time.Time
	UpdatedAt           time.Time
}

// Endpoint statuses.
const (
	Enabled  = "enabled"
	Disabled = "disabled"
)

// Wants reports whether the endpoint takes events of type typ.
func (e Endpoint) Wants(typ string) bool {
	return len(e.EventTypes) == 0 || slices.Contains(e.EventTypes, typ)
}

// Store keeps endpoints, and reaches the outbox's events and tasks.
type Store interface {
	CreateEndpoint(ctx context.Context, e Endpoint) error
	// Endpoint returns an endpoint not deleted; ErrNotFound when none.
	Endpoint(ctx context.Context, id string) (Endpoint, error)
	// ListEndpoints returns endpoints not deleted, newest first, with ids
	// before beforeID when it is set.
	ListEndpoints(ctx context.Context, beforeID string, limit int) ([]Endpoint, error)
	// SaveEndpoint writes an endpoint's changeable fields.
	SaveEndpoint(ctx context.Context, e Endpoint) error
	// DeleteEndpoint marks an endpoint deleted; false when there is none.
	DeleteEndpoint(ctx context.Context, id string, at time.Time) (bool, error)
	// EnabledEndpoints lists the endpoints taking deliveries.
	EnabledEndpoints(ctx context.Context) ([]Endpoint, error)
	// NoteResult records an attempt's outcome for the endpoint's health: a
	// success ends a failing streak; a failure starts one, and an endpoint
	// failing since before disableBefore is disabled (true).
	NoteResult(ctx context.Context, id string, ok bool, at, disableBefore time.Time) (bool, error)
	// CreatePing stores a ping event and its task for the endpoint.
	CreatePing(ctx context.Context, ev outbox.Event, endpointID string) error

	OutboxEvent(ctx context.Context, id string) (outbox.Event, error)
	Requeue(ctx context.Context, eventID, sink, target string, now time.Time) error
	TaskTargets(ctx context.Context, eventID, sink string) ([]string, error)
	ListAttempts(ctx context.Context, sink, target, beforeID string, limit int) ([]outbox.Attempt, error)
	EventsBetween(ctx context.Context, types []string, from, to time.Time, limit int) ([]string, error)
}

// Errors of endpoint operations.
var (
	ErrNotFound      = errors.New("webhook endpoint not found")
	ErrEventNotFound = errors.New("event not found")
	ErrInvalid       = errors.New("invalid webhook endpoint")
)

// Timing of endpoints.
const (
	// PreviousSecretLife is how long a rotated-out secret still signs.
	PreviousSecretLife = 24 * time.Hour
	// DisableAfter is how long an endpoint may fail every attempt before
	// it is disabled.
	DisableAfter = 5 * 24 * time.Hour
	// maxReplay bounds the events one replay queues.
	maxReplay = 10_000
)

// Service runs the operators' endpoint operations.
type Service struct {
	store  Store
	guard  Guard
	types  []string
	ids    func(prefix string, t time.Time) (string, error)
	now    func() time.Time
	wake   func()
	sink   *Sink
	secret func() (string, error)
}

// NewService returns the operations over store. types are the event types
// endpoints may name; ids makes object ids; wake (may be nil) tells the
// worker there is work.
func NewService(store Store, guard Guard, types []string, ids func(string, time.Time) (string, error), sink *Sink, wake func()) *Service {
	if wake == nil {
		wake = func() {}
	}
	return &Service{store: store, guard: guard, types: types, ids: ids, now: time.Now, wake: wake, sink: sink, secret: newSecret}
}

func (s *Service) clock() time.Time { return s.now().UTC().Truncate(time.Microsecond) }

// newSecret makes a signing secret: whsec_ and 32 random bytes in base64,
// the form Standard Webhooks libraries read.
func newSecret() (string, error) {
	var b [32]byte
	if _, err := rand.Read(b[:]); err != nil {
		return "", err
	}
	return "whsec_" + base64.StdEncoding.EncodeToString(b[:]), nil
}

// Fields are what an operator sets on an endpoint.
type Fields struct {
	URL         *string
	EventTypes  *[]string
	Description *string
	Status      *string
}

// FieldError names the field an operator got wrong.
type FieldError struct {
	Field  string
	Reason string
}

func (e *FieldError) Error() string { return e.Field + ": " + e.Reason }
func (e *FieldError) Unwrap() error { return ErrInvalid }

// check validates f's fields that are set.
func (s *Service) check(ctx context.Context, f Fields) error {
	if f.URL != nil {
		if len(*f.URL) > 2048 {
			return &FieldError{"url", "at most 2048 characters"}
		}
		if err := s.guard.CheckURL(ctx, *f.URL); err != nil {
			return &FieldError{"url", strings.TrimPrefix(err.Error(), ErrURL.Error()+": ")}
		}
	}
	if f.EventTypes != nil {
		seen := map[string]bool{}
		for _, t := range *f.EventTypes {
			if !slices.Contains(s.types, t) {
				return &FieldError{"events", fmt.Sprintf("%q is not an event type (%s)", t, strings.Join(s.types, ", "))}
			}
			if seen[t] {
				return &FieldError{"events", fmt.Sprintf("%q is listed twice", t)}
			}
			seen[t] = true
		}
	}
	if f.Description != nil && (utf8.RuneCountInString(*f.Description) > 500 || !utf8.ValidString(*f.Description)) {
		return &FieldError{"description", "at most 500 characters of valid UTF-8"}
	}
	if f.Status != nil && *f.Status != Enabled && *f.Status != Disabled {
		return &FieldError{"status", "enabled or disabled"}
	}
	return nil
}

// Create registers an endpoint and returns it with its secret.
func (s *Service) Create(ctx context.Context, url string, types []string, description string) (Endpoint, error) {
	if types == nil {
		types = []string{}
	}
	if err := s.check(ctx, Fields{URL: &url, EventTypes: &types, Description: &description}); err != nil {
		return Endpoint{}, err
	}
	now := s.clock()
	id, err := s.ids("we_", now)
	if err != nil {
		return Endpoint{}, err
	}
	secret, err := s.secret()
	if err != nil {
		return Endpoint{}, err
	}
	e := Endpoint{ID: id, URL: url, EventTypes: types, Description: description, Status: Enabled, Secret: secret, CreatedAt: now, UpdatedAt: now}
	if err := s.store.CreateEndpoint(ctx, e); err != nil {
		return Endpoint{}, err
	}
	s.sink.forget()
	return e, nil
}

// Get returns an endpoint.
func (s *Service) Get(ctx context.Context, id string) (Endpoint, error) {
	return s.store.Endpoint(ctx, id)
}

// List returns up to limit endpoints, newest first, and whether more follow.
func (s *Service) List(ctx context.Context, beforeID string, limit int) ([]Endpoint, bool, error) {
	eps, err := s.store.ListEndpoints(ctx, beforeID, limit+1)
	if err != nil {
		return nil, false, err
	}
	return eps[:min(len(eps), limit)], len(eps) > limit, nil
}

// Update changes the fields set in f. Enabling an endpoint clears why it
// was disabled and its failing streak.
func (s *Service) Update(ctx context.Context, id string, f Fields) (Endpoint, error) {
	if err := s.check(ctx, f); err != nil {
		return Endpoint{}, err
	}
	e, err := s.store.Endpoint(ctx, id)
	if err != nil {
		return Endpoint{}, err
	}
	if f.URL != nil {
		e.URL = *f.URL
	}
	if f.EventTypes != nil {
		e.EventTypes = *f.EventTypes
	}
	if f.Description != nil {
		e.Description = *f.Description
	}
	if f.Status != nil && *f.Status != e.Status {
		e.Status = *f.Status
		if e.Status == Enabled {
			e.DisabledReason, e.FailingSince = "", nil
		} else {
			e.DisabledReason = "disabled by an operator"
		}
	}
	e.UpdatedAt = s.clock()
	if err := s.store.SaveEndpoint(ctx, e); err != nil {
		return Endpoint{}, err
	}
	s.sink.forget()
	s.wake()
	return e, nil
}

// Delete removes an endpoint; its pending deliveries are dropped.
func (s *Service) Delete(ctx context.Context, id string) error {
	ok, err := s.store.DeleteEndpoint(ctx, id, s.clock())
	if err != nil {
		return err
	}
	if !ok {
		return ErrNotFound
	}
	s.sink.forget()
	return nil
}

// RotateSecret gives the endpoint a new secret; the old one keeps signing
// (deliveries carry both signatures) for PreviousSecretLife.
func (s *Service) RotateSecret(ctx context.Context, id string) (string, time.Time, error) {
	e, err := s.store.Endpoint(ctx, id)
	if err != nil {
		return "", time.Time{}, err
	}
	secret, err := s.secret()
	if err != nil {
		return "", time.Time{}, err
	}
	now := s.clock()
	until := now.Add(PreviousSecretLife)
	e.PreviousSecret, e.PreviousSecretUntil, e.Secret, e.UpdatedAt = e.Secret, &until, secret, now
	if err := s.store.SaveEndpoint(ctx, e); err != nil {
		return "", time.Time{}, err
	}
	s.sink.forget()
	return secret, until, nil
}

// Test sends the endpoint a ping event and returns it.
func (s *Service) Test(ctx context.Context, id string) (outbox.Event, error) {
	if _, err := s.store.Endpoint(ctx, id); err != nil {
		return outbox.Event{}, err
	}
	now := s.clock()
	evID, err := s.ids("evt_", now)
	if err != nil {
		return outbox.Event{}, err
	}
	data, err := json.Marshal(map[string]string{"endpointId": id, "message": "test event from the referral service"})
	if err != nil {
		return outbox.Event{}, err
	}
	ev := outbox.Event{ID: evID, Type: PingType, Data: data, CreatedAt: now}
	if err := s.store.CreatePing(ctx, ev, id); err != nil {
		return outbox.Event{}, err
	}
	s.wake()
	return ev, nil
}

// Attempts lists an endpoint's delivery attempts, newest first.
func (s *Service) Attempts(ctx context.Context, id, beforeID string, limit int) ([]outbox.Attempt, bool, error) {
	if _, err := s.store.Endpoint(ctx, id); err != nil {
		return nil, false, err
	}
	as, err := s.store.ListAttempts(ctx, SinkName, id, beforeID, limit+1)
	if err != nil {
		return nil, false, err
	}
	return as[:min(len(as), limit)], len(as) > limit, nil
}

// Redeliver queues an event again for every enabled endpoint that takes
// its type and every endpoint it was sent to before, and returns how many.
func (s *Service) Redeliver(ctx context.Context, eventID string) (int, error) {
	ev, err := s.store.OutboxEvent(ctx, eventID)
	if err != nil {
		return 0, ErrEventNotFound
	}
	targets := map[string]bool{}
	previous, err := s.store.TaskTargets(ctx, eventID, SinkName)
	if err != nil {
		return 0, err
	}
	for _, t := range previous {
		targets[t] = true
	}
	routed, err := s.sink.Route(ctx, ev)
	if err != nil {
		return 0, err
	}
	for _, t := range routed {
		targets[t] = true
	}
	now := s.clock()
	n := 0
	for t := range targets {
		if _, err := s.store.Endpoint(ctx, t); errors.Is(err, ErrNotFound) {
			continue // deleted since
		} else if err != nil {
			return n, err
		}
		if err := s.store.Requeue(ctx, eventID, SinkName, t, now); err != nil {
			return n, err
		}
		n++
	}
	s.wake()
	return n, nil
}

// Replay queues again, for one endpoint, the events it takes that were
// created in [from, to), and returns how many (at most 10,000 a call).
func (s *Service) Replay(ctx context.Context, id string, from, to time.Time) (int, error) {
	e, err := s.store.Endpoint(ctx, id)
	if err != nil {
		return 0, err
	}
	if !to.After(from) {
		return 0, &FieldError{"to", "must be after from"}
	}
	ids, err := s.store.EventsBetween(ctx, e.EventTypes, from, to, maxReplay)
	if err != nil {
		return 0, err
	}
	now := s.clock()
	for _, evID := range ids {
		if err := s.store.Requeue(ctx, evID, SinkName, id, now); err != nil {
			return 0, err
		}
	}
	s.wake()
	return len(ids), nil
}
