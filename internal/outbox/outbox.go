// Package outbox delivers stored events after their transactions commit.
// A dispatcher gives each new event its place in the feeds and creates one
// task per target of each sink (a webhook endpoint, a user's mailbox); the
// worker claims due tasks (FOR UPDATE SKIP LOCKED on PostgreSQL, so N
// replicas never run one attempt twice), hands them to their sink outside
// any transaction, records each attempt and schedules retries. It knows
// nothing about referrals: events are ids, types and JSON.
package outbox

import (
	"context"
	"encoding/json"
	"time"
)

// Event is a stored event, as its sinks see it.
type Event struct {
	ID        string
	Type      string
	UserID    string
	Data      json.RawMessage
	CreatedAt time.Time
	Seq       int64
}

// Task is one attempt at delivering an event to one target of one sink.
type Task struct {
	ID     string
	Sink   string
	Target string
	// Attempt numbers this try: 1 for the first.
	Attempt int
	Event   Event
}

// Result is what one attempt came to.
type Result struct {
	// OK: delivered.
	OK bool
	// Skip: nothing to deliver (no address, opted out); the task ends skipped.
	Skip bool
	// Permanent: retrying cannot help (a refused address).
	Permanent bool
	// Status is the target's answer code (HTTP status, SMTP reply), 0 if none.
	Status int
	// Response is what the target said, or the error, truncated.
	Response string
	Duration time.Duration
}

// Sink delivers events to one kind of target.
type Sink interface {
	// Name is the sink's name in tasks ("webhook", "email").
	Name() string
	// Route returns the targets ev goes to (none: the sink ignores it).
	Route(ctx context.Context, ev Event) ([]string, error)
	// Ready reports whether target takes deliveries now (a disabled
	// endpoint does not), and gone when it never will again (deleted).
	Ready(ctx context.Context, target string) (ready, gone bool, err error)
	// Deliver makes one attempt. It must return by ctx's deadline.
	Deliver(ctx context.Context, t Task) Result
	// Retry is the wait before retry n (1 for the second attempt), and
	// false when the task has had its last attempt.
	Retry(n int) (time.Duration, bool)
	// PerTarget bounds the attempts in flight to one target.
	PerTarget() int
	// Timeout bounds one attempt's exchange with its target; the sink
	// starts it when the exchange starts, and the worker allows a few
	// seconds more for what comes before.
	Timeout() time.Duration
	// Observe is told each finished attempt (for a target's health).
	Observe(ctx context.Context, target string, ok bool, at time.Time)
}

// Target is one target of one sink with due tasks.
type Target struct {
	Sink   string
	Target string
}

// Route is a task the dispatcher creates: ev to target of sink.
type Route struct {
	Sink   string
	Target string
}

// Store keeps events and tasks.
type Store interface {
	// Dispatch, in one transaction that no other dispatcher runs beside,
	// gives up to limit undispatched events their feed sequence, oldest id
	// first, creates a pending task (due at now) for each route of each,
	// and returns the events.
	Dispatch(ctx context.Context, limit int, route func(Event) ([]Route, error), now time.Time) ([]Event, error)
	// DueTargets lists targets with pending tasks due at now and not held.
	DueTargets(ctx context.Context, now time.Time) ([]Target, error)
	// Claim holds up to n due tasks of target until leaseUntil, counts an
	// attempt on each, records it (pending), and returns them with their
	// events. Tasks another worker holds are skipped.
	Claim(ctx context.Context, t Target, n int, now, leaseUntil time.Time) ([]Task, error)
	// Finish records the attempt's result and moves the task to status
	// (pending again with next, succeeded, failed or skipped), if the task
	// is still at this attempt.
	Finish(ctx context.Context, t Task, r Result, status string, next time.Time, now time.Time) error
	// SkipTarget ends the pending tasks of a target that is gone.
	SkipTarget(ctx context.Context, t Target, now time.Time) error
	// Backlog counts each sink's pending tasks (due or waiting for a
	// retry) and when the oldest of them was created.
	Backlog(ctx context.Context) ([]Backlog, error)
}

// Backlog is what a sink has yet to deliver.
type Backlog struct {
	Sink    string
	Pending int
	// Oldest is when the oldest pending task was created (zero if none).
	Oldest time.Time
}

// Observer is told what the worker does (the metrics).
type Observer interface {
	// Attempt is one finished attempt: its task's new status (succeeded,
	// failed, skipped; pending when it will be retried) and duration.
	Attempt(sink, status string, d time.Duration)
	// Backlog reports a sink's pending tasks and the age of the oldest.
	Backlog(sink string, pending int, oldest time.Duration)
}

// Task statuses.
const (
	StatusPending   = "pending"
	StatusSucceeded = "succeeded"
	StatusFailed    = "failed"
	StatusSkipped   = "skipped"
)

// Attempt is a recorded attempt, as operators list them.
type Attempt struct {
	ID             string
	TaskID         string
	EventID        string
	Attempt        int
	Status         string
	ResponseStatus *int
	DurationMs     *int
	Response       string
	CreatedAt      time.Time
}
