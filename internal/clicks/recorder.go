// Package clicks writes short-link clicks off the request path: handlers
// hand a click to a buffered channel and one writer stores them in batches.
// Close drains and flushes everything, so graceful shutdown loses no click
// that was answered.
package clicks

import (
	"context"
	"fmt"
	"log/slog"
	"sync"
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
type Recorder struct {
	saver    Saver
	log      *slog.Logger
	batch    int
	interval time.Duration

	mu     sync.RWMutex // guards closed against concurrent sends
	closed bool
	in     chan referral.Click
	done   chan struct{}
	stop   chan struct{} // closed to give up retrying at the Close deadline
	lost   int
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
		saver: saver, log: log, batch: o.BatchSize, interval: o.Interval,
		in: make(chan referral.Click, o.Buffer), done: make(chan struct{}), stop: make(chan struct{}),
	}
	go r.run()
	return r
}

// Record queues a click; it blocks only when the buffer is full (the
// database is behind), never drops. It returns false after Close.
func (r *Recorder) Record(c referral.Click) bool {
	r.mu.RLock()
	defer r.mu.RUnlock()
	if r.closed {
		return false
	}
	r.in <- c
	return true
}

// Close stops taking clicks and writes every queued one. If ctx ends first
// the writer gives up retrying and Close reports how many clicks were lost.
func (r *Recorder) Close(ctx context.Context) error {
	r.mu.Lock()
	if !r.closed {
		r.closed = true
		close(r.in)
	}
	r.mu.Unlock()
	select {
	case <-r.done:
	case <-ctx.Done():
		close(r.stop)
		<-r.done
	}
	if r.lost > 0 {
		return fmt.Errorf("%d clicks could not be written before the shutdown deadline", r.lost)
	}
	return nil
}

func (r *Recorder) run() {
	defer close(r.done)
	buf := make([]referral.Click, 0, r.batch)
	tick := time.NewTicker(r.interval)
	defer tick.Stop()
	for {
		select {
		case c, ok := <-r.in:
			if !ok {
				r.flush(buf)
				return
			}
			buf = append(buf, c)
			if len(buf) >= r.batch {
				buf = r.flush(buf)
			}
		case <-tick.C:
			buf = r.flush(buf)
		}
	}
}

// flush writes buf, retrying with backoff until it succeeds or Close's
// deadline passes, and returns buf emptied for reuse.
func (r *Recorder) flush(buf []referral.Click) []referral.Click {
	if len(buf) == 0 {
		return buf
	}
	backoff := 50 * time.Millisecond
	for {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		err := r.saver.SaveClicks(ctx, buf)
		cancel()
		if err == nil {
			return buf[:0]
		}
		r.log.Error("writing clicks failed; retrying", "clicks", len(buf), "error", err)
		select {
		case <-r.stop:
			r.lost += len(buf)
			return buf[:0]
		case <-time.After(backoff):
		}
		backoff = min(backoff*2, 5*time.Second)
	}
}
