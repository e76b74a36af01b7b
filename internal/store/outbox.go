package store

import (
	"context"
	"fmt"
	"time"

	"gorm.io/gorm"
	"gorm.io/gorm/clause"

	"github.com/refhub/referral-service/internal/outbox"
	"github.com/refhub/referral-service/internal/referral"
)

// OutboxTask is one event's delivery to one target of one sink.
type OutboxTask struct {
	ID            string `gorm:"primaryKey"`
	EventID       string
	Sink          string
	Target        string
	Status        string
	Attempts      int
	NextAttemptAt time.Time
	LeaseUntil    *time.Time
	CreatedAt     time.Time
	UpdatedAt     time.Time
}

// OutboxAttempt is one attempt of a task.
type OutboxAttempt struct {
	ID             string `gorm:"primaryKey"`
	TaskID         string
	EventID        string
	Sink           string
	Target         string
	Attempt        int
	Status         string
	ResponseStatus *int
	DurationMs     *int
	Response       string
	CreatedAt      time.Time
	FinishedAt     *time.Time
}

var outboxIDs = referral.NewIDGenerator(nil)

// dispatchLockKey is the advisory lock one dispatcher at a time holds.
var dispatchLockKey = jobLockKey("outbox dispatch")

var _ outbox.Store = (*Store)(nil)

func (m EventRow) toOutbox() outbox.Event {
	e := m.toDomain()
	return outbox.Event{ID: e.ID, Type: string(e.Type), UserID: e.UserID, Data: e.Data, CreatedAt: e.CreatedAt, Seq: e.Seq}
}

// Dispatch sequences up to limit undispatched events, oldest id first, and
// creates their tasks, holding the dispatch lock for the transaction: feed
// sequences are handed out by one transaction at a time, so a reader who
// has seen sequence n will never later find a new event below n. Routes are
// decided before the transaction (they read endpoints, and SQLite has one
// connection); an event another dispatcher took meanwhile is left alone.
// On PostgreSQL a replica that finds the lock taken dispatches nothing this
// time (the holder is doing it).
func (s *Store) Dispatch(ctx context.Context, limit int, route func(outbox.Event) ([]outbox.Route, error), now time.Time) ([]outbox.Event, error) {
	var rows []EventRow
	if err := s.with(ctx).Where("seq IS NULL").Order("id").Limit(limit).Find(&rows).Error; err != nil {
		return nil, err
	}
	if len(rows) == 0 {
		return nil, nil
	}
	routes := make([][]outbox.Route, len(rows))
	for i, r := range rows {
		var err error
		if routes[i], err = route(r.toOutbox()); err != nil {
			return nil, fmt.Errorf("route event %s: %w", r.ID, err)
		}
	}
	var out []outbox.Event
	err := s.tx(ctx, func(tx *Store) error {
		out = nil
		if tx.dialect == Postgres {
			var got bool
			if err := tx.with(ctx).Raw("SELECT pg_try_advisory_xact_lock(?)", dispatchLockKey).Scan(&got).Error; err != nil {
				return err
			}
			if !got {
				return nil
			}
		}
		var last int64
		if err := tx.with(ctx).Model(&EventRow{}).Select("COALESCE(MAX(seq), 0)").Scan(&last).Error; err != nil {
			return err
		}
		for i, row := range rows {
			seq := last + 1
			res := tx.with(ctx).Model(&EventRow{}).Where("id = ? AND seq IS NULL", row.ID).Update("seq", seq)
			if res.Error != nil {
				return res.Error
			}
			if res.RowsAffected == 0 {
				continue // dispatched by another replica since it was read
			}
			last = seq
			for _, r := range routes[i] {
				if err := tx.createTask(ctx, row.ID, r.Sink, r.Target, now); err != nil {
					return err
				}
			}
			row.Seq = &seq
			out = append(out, row.toOutbox())
		}
		return nil
	})
	return out, err
}

func (s *Store) createTask(ctx context.Context, eventID, sink, target string, now time.Time) error {
	id, err := outboxIDs.New("otk_", now)
	if err != nil {
		return err
	}
	t := OutboxTask{ID: id, EventID: eventID, Sink: sink, Target: target, Status: outbox.StatusPending,
		NextAttemptAt: now, CreatedAt: now, UpdatedAt: now}
	return s.with(ctx).Clauses(clause.OnConflict{DoNothing: true}).Create(&t).Error
}

// due restricts q to pending tasks due at now and not held.
func due(q *gorm.DB, now time.Time) *gorm.DB {
	return q.Where("status = ? AND next_attempt_at <= ? AND (lease_until IS NULL OR lease_until < ?)", outbox.StatusPending, now, now)
}

// DueTargets lists the targets with due tasks.
func (s *Store) DueTargets(ctx context.Context, now time.Time) ([]outbox.Target, error) {
	var rows []outbox.Target
	err := due(s.with(ctx).Model(&OutboxTask{}), now).Distinct("sink", "target").Find(&rows).Error
	return rows, err
}

// Claim holds up to n due tasks of target (skipping those another worker
// holds), counts an attempt on each and records it as pending. An attempt
// still pending from a worker whose lease ran out is marked failed.
func (s *Store) Claim(ctx context.Context, t outbox.Target, n int, now, leaseUntil time.Time) ([]outbox.Task, error) {
	var out []outbox.Task
	err := s.tx(ctx, func(tx *Store) error {
		out = nil
		q := due(tx.with(ctx).Where("sink = ? AND target = ?", t.Sink, t.Target), now).Order("next_attempt_at").Limit(n)
		if tx.dialect == Postgres {
			q = q.Clauses(clause.Locking{Strength: "UPDATE", Options: "SKIP LOCKED"})
		}
		var tasks []OutboxTask
		if err := q.Find(&tasks).Error; err != nil {
			return err
		}
		for _, task := range tasks {
			attempt := task.Attempts + 1
			if err := tx.with(ctx).Model(&OutboxTask{}).Where("id = ?", task.ID).
				Updates(map[string]any{"attempts": attempt, "lease_until": leaseUntil, "updated_at": now}).Error; err != nil {
				return err
			}
			abandoned := "abandoned: the worker holding it stopped before it finished"
			if err := tx.with(ctx).Model(&OutboxAttempt{}).Where("task_id = ? AND status = ?", task.ID, outbox.StatusPending).
				Updates(map[string]any{"status": outbox.StatusFailed, "response": abandoned, "finished_at": now}).Error; err != nil {
				return err
			}
			id, err := outboxIDs.New("att_", now)
			if err != nil {
				return err
			}
			if err := tx.with(ctx).Create(&OutboxAttempt{ID: id, TaskID: task.ID, EventID: task.EventID, Sink: task.Sink,
				Target: task.Target, Attempt: attempt, Status: outbox.StatusPending, CreatedAt: now}).Error; err != nil {
				return err
			}
			var ev EventRow
			if err := tx.with(ctx).Where("id = ?", task.EventID).Take(&ev).Error; err != nil {
				return err
			}
			out = append(out, outbox.Task{ID: task.ID, Sink: task.Sink, Target: task.Target, Attempt: attempt, Event: ev.toOutbox()})
		}
		return nil
	})
	return out, err
}

// maxResponse bounds what is kept of a target's answer.
const maxResponse = 1024

// Finish records an attempt's result and moves its task on, if the task
// is still at this attempt (a worker whose lease ran out changes nothing
// but its own attempt's row).
func (s *Store) Finish(ctx context.Context, t outbox.Task, r outbox.Result, status string, next, now time.Time) error {
	return s.tx(ctx, func(tx *Store) error {
		attemptStatus := outbox.StatusFailed
		if r.OK || r.Skip {
			attemptStatus = outbox.StatusSucceeded
		}
		resp := r.Response
		if len(resp) > maxResponse {
			resp = resp[:maxResponse]
		}
		ms := int(r.Duration.Milliseconds())
		upd := map[string]any{"status": attemptStatus, "response": resp, "duration_ms": ms, "finished_at": now}
		if r.Status != 0 {
			upd["response_status"] = r.Status
		}
		if err := tx.with(ctx).Model(&OutboxAttempt{}).Where("task_id = ? AND attempt = ?", t.ID, t.Attempt).Updates(upd).Error; err != nil {
			return err
		}
		task := map[string]any{"status": status, "lease_until": nil, "updated_at": now}
		if status == outbox.StatusPending {
			task["next_attempt_at"] = next
		}
		return tx.with(ctx).Model(&OutboxTask{}).Where("id = ? AND attempts = ? AND status = ?", t.ID, t.Attempt, outbox.StatusPending).
			Updates(task).Error
	})
}

// SkipTarget ends a gone target's pending tasks.
func (s *Store) SkipTarget(ctx context.Context, t outbox.Target, now time.Time) error {
	return s.with(ctx).Model(&OutboxTask{}).Where("sink = ? AND target = ? AND status = ?", t.Sink, t.Target, outbox.StatusPending).
		Updates(map[string]any{"status": outbox.StatusSkipped, "lease_until": nil, "updated_at": now}).Error
}

// Requeue makes the task of event for target due now again, creating it
// if there is none (an operator's redelivery or replay). Attempts go on
// counting from where they were. A task with an attempt in flight is left
// to it: releasing its lease would start a second attempt beside it.
func (s *Store) Requeue(ctx context.Context, eventID, sink, target string, now time.Time) error {
	return s.tx(ctx, func(tx *Store) error {
		q := tx.with(ctx).Model(&OutboxTask{}).Where("event_id = ? AND sink = ? AND target = ?", eventID, sink, target)
		var n int64
		if err := q.Session(&gorm.Session{}).Count(&n).Error; err != nil {
			return err
		}
		if n == 0 {
			return tx.createTask(ctx, eventID, sink, target, now)
		}
		return q.Where("NOT (status = ? AND lease_until IS NOT NULL AND lease_until >= ?)", outbox.StatusPending, now).
			Updates(map[string]any{"status": outbox.StatusPending, "next_attempt_at": now, "lease_until": nil, "updated_at": now}).Error
	})
}

// ListAttempts lists the attempts of sink's target, newest first, before
// the attempt beforeID when not empty.
func (s *Store) ListAttempts(ctx context.Context, sink, target, beforeID string, limit int) ([]outbox.Attempt, error) {
	q := s.with(ctx).Where("sink = ? AND target = ?", sink, target)
	if beforeID != "" {
		q = q.Where("id < ?", beforeID)
	}
	var ms []OutboxAttempt
	if err := q.Order("id DESC").Limit(limit).Find(&ms).Error; err != nil {
		return nil, err
	}
	out := make([]outbox.Attempt, len(ms))
	for i, m := range ms {
		out[i] = outbox.Attempt{ID: m.ID, TaskID: m.TaskID, EventID: m.EventID, Attempt: m.Attempt, Status: m.Status,
			ResponseStatus: m.ResponseStatus, DurationMs: m.DurationMs, Response: m.Response, CreatedAt: m.CreatedAt.UTC()}
	}
	return out, nil
}

// TaskTargets lists the targets of sink that event has a task for.
func (s *Store) TaskTargets(ctx context.Context, eventID, sink string) ([]string, error) {
	var out []string
	err := s.with(ctx).Model(&OutboxTask{}).Where("event_id = ? AND sink = ?", eventID, sink).Order("target").Pluck("target", &out).Error
	return out, err
}

// OutboxEvent returns one stored event as the outbox sees it.
func (s *Store) OutboxEvent(ctx context.Context, id string) (outbox.Event, error) {
	var m EventRow
	if err := s.with(ctx).Where("id = ?", id).Take(&m).Error; err != nil {
		return outbox.Event{}, notFound(err)
	}
	return m.toOutbox(), nil
}

// EventsBetween lists the ids of dispatched events of the given types (all
// when empty) created in [from, to), oldest first, up to limit.
func (s *Store) EventsBetween(ctx context.Context, types []string, from, to time.Time, limit int) ([]string, error) {
	q := s.with(ctx).Model(&EventRow{}).Where("seq IS NOT NULL AND type <> ? AND created_at >= ? AND created_at < ?", string(referral.EventPing), from, to)
	if len(types) > 0 {
		q = q.Where("type IN ?", types)
	}
	var ids []string
	err := q.Order("seq").Limit(limit).Pluck("id", &ids).Error
	return ids, err
}

// Backlog counts each sink's pending tasks and finds the oldest.
func (s *Store) Backlog(ctx context.Context) ([]outbox.Backlog, error) {
	var rows []struct {
		Sink    string
		Pending int
	}
	err := s.with(ctx).Model(&OutboxTask{}).Select("sink, COUNT(*) AS pending").
		Where("status = ?", outbox.StatusPending).Group("sink").Scan(&rows).Error
	if err != nil {
		return nil, err
	}
	out := make([]outbox.Backlog, len(rows))
	for i, r := range rows {
		var oldest OutboxTask
		if err := s.with(ctx).Where("sink = ? AND status = ?", r.Sink, outbox.StatusPending).Order("created_at").
			Limit(1).Find(&oldest).Error; err != nil {
			return nil, err
		}
		out[i] = outbox.Backlog{Sink: r.Sink, Pending: r.Pending, Oldest: oldest.CreatedAt.UTC()}
	}
	return out, nil
}

// PruneOutbox forgets delivery history from before before: attempts, and
// tasks that ended. A task still pending from then (its endpoint was
// disabled and never enabled again) ends as failed first. Events stay:
// they are the feeds. It deletes in batches and returns how many rows.
func (s *Store) PruneOutbox(ctx context.Context, before, now time.Time) (int64, error) {
	expired := s.with(ctx).Model(&OutboxTask{}).Where("status = ? AND created_at < ? AND (lease_until IS NULL OR lease_until < ?)",
		outbox.StatusPending, before, now).Updates(map[string]any{"status": outbox.StatusFailed, "lease_until": nil, "updated_at": now})
	if expired.Error != nil {
		return 0, expired.Error
	}
	var total int64
	for _, del := range []struct {
		model any
		where string
		args  []any
	}{
		{&OutboxAttempt{}, "created_at < ?", []any{before}},
		{&OutboxTask{}, "status <> ? AND updated_at < ?", []any{outbox.StatusPending, before}},
	} {
		for {
			sub := s.with(ctx).Model(del.model).Select("id").Where(del.where, del.args...).Limit(1000)
			res := s.with(ctx).Where("id IN (?)", sub).Delete(del.model)
			if res.Error != nil {
				return total, res.Error
			}
			total += res.RowsAffected
			if res.RowsAffected < 1000 {
				break
			}
		}
	}
	return total, nil
}

// TaskStatus returns the status of event's task for target of sink, and
// how many attempts it had; referral.ErrNotFound when there is none.
func (s *Store) TaskStatus(ctx context.Context, eventID, sink, target string) (string, int, error) {
	var t OutboxTask
	if err := s.with(ctx).Where("event_id = ? AND sink = ? AND target = ?", eventID, sink, target).Take(&t).Error; err != nil {
		return "", 0, notFound(err)
	}
	return t.Status, t.Attempts, nil
}
