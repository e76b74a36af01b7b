package outbox

import (
	"context"
	"log/slog"
	"math/rand/v2"
	"sync"
	"time"
)

// Options configures a Worker. Zero values pick the defaults.
type Options struct {
	// Poll is how often the worker looks for new events and due tasks
	// without being woken (events of other replicas, retries): 500 ms.
	Poll time.Duration
	// Lease is how long a claimed task stays held: longer than any sink's
	// timeout, so a live worker always finishes first; after it, another
	// worker may try again (the holder died). Default 2 minutes.
	Lease time.Duration
	// InFlight bounds the attempts in flight across all targets: 32.
	InFlight int
	// Batch is how many events one dispatch handles: 500.
	Batch int
	// Now is the clock; time.Now when nil.
	Now func() time.Time
	// Log receives what goes wrong.
	Log *slog.Logger
	// Every runs alongside, each at its interval (e.g. announcing rewards
	// whose hold ended, which appends events).
	Every []Periodic
	// Observer, when set, is told each attempt and, every BacklogEvery
	// (15 s), each sink's backlog.
	Observer     Observer
	BacklogEvery time.Duration
}

// Periodic is work the worker runs every Interval.
type Periodic struct {
	Name     string
	Interval time.Duration
	Run      func(ctx context.Context) error
}

// Worker dispatches events and delivers tasks until its context ends.
type Worker struct {
	store Store
	sinks map[string]Sink
	order []Sink
	opts  Options
	log   *slog.Logger
	wake  chan struct{}

	mu       sync.Mutex
	busy     map[Target]int // attempts in flight per target
	inFlight int
	done     chan struct{} // an attempt finished
	wg       sync.WaitGroup
}

// New returns a worker over store delivering through sinks.
func New(store Store, sinks []Sink, opts Options) *Worker {
	if opts.Poll <= 0 {
		opts.Poll = 500 * time.Millisecond
	}
	if opts.Lease <= 0 {
		opts.Lease = 2 * time.Minute
	}
	if opts.InFlight <= 0 {
		opts.InFlight = 32
	}
	if opts.Batch <= 0 {
		opts.Batch = 500
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	if opts.Log == nil {
		opts.Log = slog.New(slog.DiscardHandler)
	}
	if opts.BacklogEvery <= 0 {
		opts.BacklogEvery = 15 * time.Second
	}
	w := &Worker{store: store, sinks: map[string]Sink{}, order: sinks, opts: opts, log: opts.Log,
		wake: make(chan struct{}, 1), busy: map[Target]int{}, done: make(chan struct{}, 1)}
	for _, s := range sinks {
		w.sinks[s.Name()] = s
	}
	return w
}

// Wake makes the worker look for work now (after a transaction that
// appended events committed), instead of at its next poll.
func (w *Worker) Wake() {
	select {
	case w.wake <- struct{}{}:
	default:
	}
}

func (w *Worker) now() time.Time { return w.opts.Now().UTC().Truncate(time.Microsecond) }

// Run works until ctx ends, then waits for the attempts in flight (each
// bounded by its sink's timeout).
func (w *Worker) Run(ctx context.Context) {
	defer w.wg.Wait()
	for _, p := range w.opts.Every {
		w.wg.Go(func() { w.periodic(ctx, p) })
	}
	if w.opts.Observer != nil {
		w.wg.Go(func() {
			w.periodic(ctx, Periodic{Name: "outbox backlog", Interval: w.opts.BacklogEvery, Run: w.reportBacklog})
		})
	}
	timer := time.NewTimer(0)
	defer timer.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-timer.C:
		case <-w.wake:
		case <-w.done:
		}
		w.pass(ctx)
		timer.Reset(w.opts.Poll)
	}
}

func (w *Worker) periodic(ctx context.Context, p Periodic) {
	t := time.NewTicker(p.Interval)
	defer t.Stop()
	for {
		if err := p.Run(ctx); err != nil && ctx.Err() == nil {
			w.log.WarnContext(ctx, "outbox periodic job failed", "job", p.Name, "error", err)
		} else {
			w.Wake()
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

// reportBacklog tells the observer each sink's backlog (zero for a sink
// with none).
func (w *Worker) reportBacklog(ctx context.Context) error {
	backlogs, err := w.store.Backlog(ctx)
	if err != nil {
		return err
	}
	now := w.now()
	seen := map[string]bool{}
	for _, b := range backlogs {
		if _, ok := w.sinks[b.Sink]; !ok {
			continue
		}
		seen[b.Sink] = true
		age := time.Duration(0)
		if !b.Oldest.IsZero() && now.After(b.Oldest) {
			age = now.Sub(b.Oldest)
		}
		w.opts.Observer.Backlog(b.Sink, b.Pending, age)
	}
	for name := range w.sinks {
		if !seen[name] {
			w.opts.Observer.Backlog(name, 0, 0)
		}
	}
	return nil
}

// pass dispatches what is new and starts what is due.
func (w *Worker) pass(ctx context.Context) {
	for ctx.Err() == nil {
		events, err := w.store.Dispatch(ctx, w.opts.Batch, func(ev Event) ([]Route, error) { return w.route(ctx, ev) }, w.now())
		if err != nil {
			if ctx.Err() == nil {
				w.log.WarnContext(ctx, "outbox dispatch failed", "error", err)
			}
			break
		}
		if len(events) < w.opts.Batch {
			break
		}
	}
	if ctx.Err() != nil {
		return
	}
	targets, err := w.store.DueTargets(ctx, w.now())
	if err != nil {
		if ctx.Err() == nil {
			w.log.WarnContext(ctx, "outbox: reading due tasks failed", "error", err)
		}
		return
	}
	for _, t := range targets {
		w.start(ctx, t)
	}
}

func (w *Worker) route(ctx context.Context, ev Event) ([]Route, error) {
	var routes []Route
	for _, s := range w.order {
		targets, err := s.Route(ctx, ev)
		if err != nil {
			return nil, err
		}
		for _, t := range targets {
			routes = append(routes, Route{Sink: s.Name(), Target: t})
		}
	}
	return routes, nil
}

// start claims as many of target's due tasks as it has room for and
// delivers them.
func (w *Worker) start(ctx context.Context, t Target) {
	sink, ok := w.sinks[t.Sink]
	if !ok {
		return // a sink this process does not run (configuration differs)
	}
	ready, gone, err := sink.Ready(ctx, t.Target)
	switch {
	case err != nil:
		w.log.WarnContext(ctx, "outbox: target state unknown", "sink", t.Sink, "target", t.Target, "error", err)
		return
	case gone:
		if err := w.store.SkipTarget(ctx, t, w.now()); err != nil {
			w.log.WarnContext(ctx, "outbox: skipping a gone target failed", "sink", t.Sink, "target", t.Target, "error", err)
		}
		return
	case !ready:
		return
	}
	w.mu.Lock()
	room := min(sink.PerTarget()-w.busy[t], w.opts.InFlight-w.inFlight)
	w.mu.Unlock()
	if room <= 0 {
		return
	}
	now := w.now()
	tasks, err := w.store.Claim(ctx, t, room, now, now.Add(w.opts.Lease))
	if err != nil {
		if ctx.Err() == nil {
			w.log.WarnContext(ctx, "outbox claim failed", "sink", t.Sink, "target", t.Target, "error", err)
		}
		return
	}
	for _, task := range tasks {
		w.mu.Lock()
		w.busy[t]++
		w.inFlight++
		w.mu.Unlock()
		w.wg.Go(func() {
			defer w.release(t)
			w.deliver(ctx, sink, task)
		})
	}
}

func (w *Worker) release(t Target) {
	w.mu.Lock()
	w.busy[t]--
	if w.busy[t] == 0 {
		delete(w.busy, t)
	}
	w.inFlight--
	w.mu.Unlock()
	select {
	case w.done <- struct{}{}:
	default:
	}
}

// prepareTime is what an attempt may spend before it talks to its target
// (reading the endpoint or contact): the target's own Timeout starts when
// the request does, so a slow database does not shorten a receiver's 15 s.
const prepareTime = 5 * time.Second

// deliver makes one attempt and records it. The attempt runs to its own
// timeout even when the worker is stopping: a request already sent is
// better finished and recorded than abandoned to be sent again.
func (w *Worker) deliver(ctx context.Context, sink Sink, t Task) {
	actx, cancel := context.WithTimeout(context.WithoutCancel(ctx), sink.Timeout()+prepareTime)
	start := time.Now()
	r := sink.Deliver(actx, t)
	cancel()
	if r.Duration == 0 {
		r.Duration = time.Since(start)
	}
	now := w.now()
	status, next := StatusPending, time.Time{}
	switch {
	case r.Skip:
		status = StatusSkipped
	case r.OK:
		status = StatusSucceeded
	case r.Permanent:
		status = StatusFailed
	default:
		wait, more := sink.Retry(t.Attempt)
		if !more {
			status = StatusFailed
		} else {
			next = now.Add(jitter(wait))
		}
	}
	// Recorded even while stopping: the shutdown waits for it.
	rctx, rcancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
	defer rcancel()
	if err := w.store.Finish(rctx, t, r, status, next, now); err != nil {
		w.log.WarnContext(ctx, "outbox: recording an attempt failed; the task is tried again after its lease",
			"sink", t.Sink, "target", t.Target, "event_id", t.Event.ID, "attempt", t.Attempt, "error", err)
	}
	if !r.Skip {
		sink.Observe(rctx, t.Target, r.OK, now)
	}
	if w.opts.Observer != nil {
		w.opts.Observer.Attempt(t.Sink, status, r.Duration)
	}
	if !r.OK && !r.Skip {
		w.log.InfoContext(ctx, "outbox attempt failed", "sink", t.Sink, "target", t.Target, "event_id", t.Event.ID,
			"attempt", t.Attempt, "status", r.Status, "next", status)
	}
}

// jitter spreads a retry over ±20% of its wait, so that the tasks of a
// target that was down do not all come back in the same second.
func jitter(d time.Duration) time.Duration {
	if d <= 0 {
		return 0
	}
	return d - d/5 + time.Duration(rand.Int64N(int64(d/5)*2+1))
}
