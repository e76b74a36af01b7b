package clicks_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/refhub/referral-service/internal/clicks"
	"github.com/refhub/referral-service/internal/referral"
)

// flakySaver fails every seventh call, and remembers every click it saved.
type flakySaver struct {
	mu    sync.Mutex
	calls int
	saved map[string]int
	fail  bool // fail every call
}

func (s *flakySaver) SaveClicks(_ context.Context, batch []referral.Click) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.calls++
	if s.fail || s.calls%7 == 0 {
		return errors.New("database unavailable")
	}
	for _, c := range batch {
		s.saved[c.ID]++
	}
	return nil
}

var quiet = slog.New(slog.NewTextHandler(io.Discard, nil))

// TestEveryClickSavedOnce: concurrent producers, a tiny buffer (so Record
// blocks), a saver that fails now and then, and Close right after the last
// Record: every click is saved exactly once.
func TestEveryClickSavedOnce(t *testing.T) {
	saver := &flakySaver{saved: map[string]int{}}
	r := clicks.NewRecorder(saver, quiet, clicks.Options{BatchSize: 100, Buffer: 250, Interval: time.Millisecond})
	const producers, each = 8, 1500
	var wg sync.WaitGroup
	for p := range producers {
		wg.Go(func() {
			for i := range each {
				if !r.Record(referral.Click{ID: fmt.Sprintf("c%d-%d", p, i)}) {
					t.Error("Record refused before Close")
					return
				}
			}
		})
	}
	wg.Wait()
	if err := r.Close(context.Background()); err != nil {
		t.Fatal(err)
	}
	if len(saver.saved) != producers*each {
		t.Fatalf("saved %d distinct clicks, want %d", len(saver.saved), producers*each)
	}
	for id, n := range saver.saved {
		if n != 1 {
			t.Fatalf("click %s saved %d times", id, n)
		}
	}
	if r.Record(referral.Click{ID: "late"}) {
		t.Fatal("Record accepted a click after Close")
	}
}

// TestCloseDeadlineReportsLostClicks: when the database never comes back,
// Close gives up at its deadline and says how many clicks were lost.
func TestCloseDeadlineReportsLostClicks(t *testing.T) {
	saver := &flakySaver{saved: map[string]int{}, fail: true}
	r := clicks.NewRecorder(saver, quiet, clicks.Options{BatchSize: 10, Interval: time.Millisecond})
	for i := range 25 {
		r.Record(referral.Click{ID: fmt.Sprint(i)})
	}
	ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
	defer cancel()
	err := r.Close(ctx)
	if err == nil || !strings.Contains(err.Error(), "25 clicks") {
		t.Fatalf("Close = %v, want 25 clicks reported lost", err)
	}
}
