// Package schedule runs jobs at the times cron expressions name, by one
// replica at a time: each run first takes the job's lock (a PostgreSQL
// advisory lock), and a replica that finds it taken skips that run.
// Schedules follow the wall clock, so a deploy does not restart them.
package schedule

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"time"

	"github.com/robfig/cron/v3"
)

// Locker runs fn while holding the lock named name, or not at all when
// another process holds it (ran is then false).
type Locker interface {
	TryExclusive(ctx context.Context, name string, fn func(ctx context.Context) error) (ran bool, err error)
}

// parser reads standard five-field expressions, optionally with a leading
// seconds field, and the descriptors (@daily, @every 6h).
var parser = cron.NewParser(cron.SecondOptional | cron.Minute | cron.Hour | cron.Dom | cron.Month | cron.Dow | cron.Descriptor)

// Parse reads a schedule: a cron expression ("0 3 * * *", "@daily",
// "@every 6h"). A bare duration ("24h"), the older form of PAYOUT_SCHEDULE,
// means "@every" that duration.
func Parse(spec string) (cron.Schedule, error) {
	spec = strings.TrimSpace(spec)
	if d, err := time.ParseDuration(spec); err == nil {
		if d < time.Minute {
			return nil, fmt.Errorf("%q is shorter than a minute", spec)
		}
		spec = "@every " + d.String()
	}
	s, err := parser.Parse(spec)
	if err != nil {
		return nil, fmt.Errorf("%q is not a cron expression ([second] minute hour day-of-month month day-of-week, or @daily, @every 6h): %v", spec, err)
	}
	return s, nil
}

// minRunTime is the least time a run is given.
const minRunTime = 10 * time.Minute

// Job is work run on a schedule.
type Job struct {
	// Name names the job's lock and its log lines.
	Name string
	// Schedule is when it runs (Parse).
	Schedule cron.Schedule
	// Run does one run. Its context ends at the next run's time, or after
	// minRunTime if that is later: a stuck run cannot hang forever, and a
	// slow one is not cut off in the middle of a payment provider's call.
	Run func(ctx context.Context) error
}

// Scheduler runs jobs.
type Scheduler struct {
	cron   *cron.Cron
	locker Locker
	log    *slog.Logger
	ctx    context.Context
	cancel context.CancelFunc
}

// New returns a Scheduler that takes each run's lock from locker.
func New(locker Locker, log *slog.Logger) *Scheduler {
	ctx, cancel := context.WithCancel(context.Background())
	return &Scheduler{cron: cron.New(cron.WithLocation(time.UTC)), locker: locker, log: log, ctx: ctx, cancel: cancel}
}

// Add schedules j.
func (s *Scheduler) Add(j Job) {
	s.cron.Schedule(j.Schedule, cron.FuncJob(func() {
		now := time.Now()
		deadline := j.Schedule.Next(now)
		if deadline.Sub(now) < minRunTime {
			deadline = now.Add(minRunTime)
		}
		ctx, cancel := context.WithDeadline(s.ctx, deadline)
		defer cancel()
		start := time.Now()
		ran, err := s.locker.TryExclusive(ctx, "schedule:"+j.Name, j.Run)
		switch {
		case err != nil && !errors.Is(err, context.Canceled):
			s.log.ErrorContext(ctx, "scheduled job failed", "job", j.Name, "duration", time.Since(start), "error", err)
		case !ran:
			s.log.InfoContext(ctx, "scheduled job skipped: another replica is running it", "job", j.Name)
		default:
			s.log.InfoContext(ctx, "scheduled job done", "job", j.Name, "duration", time.Since(start))
		}
	}))
}

// Start starts running the jobs.
func (s *Scheduler) Start() { s.cron.Start() }

// Stop stops scheduling, cancels running jobs and waits for them to end
// (or for ctx).
func (s *Scheduler) Stop(ctx context.Context) error {
	stopped := s.cron.Stop() // done when the running jobs have returned
	s.cancel()
	select {
	case <-stopped.Done():
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}
