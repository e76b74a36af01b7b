// Package clicks writes short-link clicks off the request path: handlers
// append a click to the batch being filled, and one writer stores full
// batches (and, on a timer, the partial one). Close writes everything
// queued, so graceful shutdown loses no click that was answered.
package clicks

import (
	"context"
	"fmt"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"github.com/refhub/referral-service/internal/referral"
)

// Saver stores a batch of clicks atomically.
type Saver interface {
	SaveClicks(ctx context.Context, clicks []referral.Click) error
}

// Options tune the recorder; zero values pick the defaults.
type Options struct {
	// BatchSize flushes when this many clicks wait (default 2000).
	BatchSize int
	// Interval flushes at least this often (default 250ms).
	Interval time.Duration
	// Buffer is how many clicks may wait before Record blocks (default 65536).
	Buffer int
}

// Recorder batches clicks into the database.
//
// Record takes a mutex and appends; it wakes the writer only when a batch
// is full. (A channel per click woke the writer goroutine for every click,
// and a buffered channel of clicks is one large object the garbage
// collector scans whole on every cycle.)
type Recorder struct {
	saver    Saver
	log      *slog.Logger
	batch    int
	interval time.Duration
	limit    int

	mu       sync.Mutex
	room     sync.Cond // broadcast when written clicks free room, or on Close
	closed   bool
	cur      []referral.Click   // the batch being filled
	full     [][]referral.Click // full batches waiting for the writer
	spare    [][]referral.Click // written batches, kept for reuse
	waiting  int                // clicks in cur and full, and being written
	inflight int                // Record calls past the closed check

	wake     chan struct{} // capacity 1: a batch is full, or Close was called
	done     chan struct{}
	stop     chan struct{} // closed to give up retrying at the Close deadline
	stopOnce sync.Once
	lost     int

	// Counters for metrics.
	batches, written, lostTotal, failures atomic.Uint64
}

// Stats are the writer's counters: batches and clicks stored, clicks lost
// at a shutdown deadline, failed writes (retried), and clicks waiting.
type Stats struct {
	Batches, Written, Lost, Failures uint64
	Backlog                          int
}

// Stats returns the writer's counters now.
func (r *Recorder) Stats() Stats {
	r.mu.Lock()
	backlog := r.waiting
	r.mu.Unlock()
	return Stats{Batches: r.batches.Load(), Written: r.written.Load(), Lost: r.lostTotal.Load(), Failures: r.failures.Load(), Backlog: backlog}
}

// NewRecorder starts a recorder writing through saver.
func NewRecorder(saver Saver, log *slog.Logger, o Options) *Recorder {
	if o.BatchSize <= 0 {
		o.BatchSize = 2000
	}
	if o.Interval <= 0 {
		o.Interval = 250 * time.Millisecond
	}
	if o.Buffer <= 0 {
		o.Buffer = 65536
	}
	r := &Recorder{
		saver: saver, log: log, batch: o.BatchSize, interval: o.Interval, limit: max(o.Buffer, o.BatchSize),
		wake: make(chan struct{}, 1), done: make(chan struct{}), stop: make(chan struct{}),
	}
	r.room.L = &r.mu
	go r.run()
	return r
}

// Record queues a click; it blocks only when Buffer clicks wait (the
// database is behind), never drops. It returns false after Close.
func (r *Recorder) Record(c referral.Click) bool {
	r.mu.Lock()
	if r.closed {
		r.mu.Unlock()
		return false
	}
	r.inflight++
	for r.waiting >= r.limit && !r.closed {
		r.room.Wait()
	}
	if r.cur == nil {
		r.cur = r.newBatch()
	}
	r.cur = append(r.cur, c)
	r.waiting++
	r.inflight--
	signal := r.closed // a Record that waited through Close still gets written
	if len(r.cur) >= r.batch {
		r.full = append(r.full, r.cur)
		r.cur = nil
		signal = true
	}
	r.mu.Unlock()
	if signal {
		r.signal()
	}
	return true
}

func (r *Recorder) signal() {
	select {
	case r.wake <- struct{}{}:
	default: // the writer is already due to look
	}
}

// newBatch returns an empty batch, reusing a written one. Called with mu held.
func (r *Recorder) newBatch() []referral.Click {
	if n := len(r.spare); n > 0 {
		b := r.spare[n-1]
		r.spare = r.spare[:n-1]
		return b
	}
	return make([]referral.Click, 0, r.batch)
}

// Close stops taking clicks and writes every queued one. If ctx ends first
// the writer gives up retrying and Close reports how many clicks were lost.
func (r *Recorder) Close(ctx context.Context) error {
	r.mu.Lock()
	r.closed = true
	r.room.Broadcast()
	r.mu.Unlock()
	r.signal()
	select {
	case <-r.done:
	case <-ctx.Done():
		r.stopOnce.Do(func() { close(r.stop) })
		<-r.done
	}
	if r.lost > 0 {
		return fmt.Errorf("%d clicks could not be written before the shutdown deadline", r.lost)
	}
	return nil
}

func (r *Recorder) run() {
	defer close(r.done)
	tick := time.NewTicker(r.interval)
	defer tick.Stop()
	for {
		timed := false
		select {
		case <-r.wake:
		case <-tick.C:
			timed = true
		}
		for {
			r.mu.Lock()
			batches := r.full
			r.full = nil
			if (timed || r.closed) && len(r.cur) > 0 {
				batches = append(batches, r.cur)
				r.cur = nil
			}
			timed = false // the partial batch goes once per tick
			finished := r.closed && r.waiting == 0 && r.inflight == 0
			r.mu.Unlock()
			if len(batches) == 0 {
				if finished {
					return
				}
				break // back to waiting
			}
			for _, b := range batches {
				r.flush(b)
				r.mu.Lock()
				r.waiting -= len(b)
				clear(b) // drop the strings it points to
				r.spare = append(r.spare, b[:0])
				r.room.Broadcast()
				r.mu.Unlock()
			}
		}
	}
}

// flush writes a batch, retrying with backoff until it succeeds or Close's
// deadline passes.
func (r *Recorder) flush(b []referral.Click) {
	backoff := 50 * time.Millisecond
	for {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		err := r.saver.SaveClicks(ctx, b)
		cancel()
		if err == nil {
			r.batches.Add(1)
			r.written.Add(uint64(len(b)))
			return
		}
		r.failures.Add(1)
		r.log.Error("writing clicks failed; retrying", "clicks", len(b), "error", err)
		select {
		case <-r.stop:
			r.lost += len(b)
			r.lostTotal.Add(uint64(len(b)))
			return
		case <-time.After(backoff):
		}
		backoff = min(backoff*2, 5*time.Second)
	}
}
