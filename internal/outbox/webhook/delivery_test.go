package webhook_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	standardwebhooks "github.com/standard-webhooks/standard-webhooks/libraries/go"

	"github.com/refhub/referral-service/internal/outbox"
	"github.com/refhub/referral-service/internal/outbox/webhook"
	"github.com/refhub/referral-service/internal/referral"
	"github.com/refhub/referral-service/internal/store"
	"github.com/refhub/referral-service/internal/testdb"
	"github.com/refhub/referral-service/internal/testutil"
)

func TestMain(m *testing.M) { testdb.Main(m) }

// clock is a test clock the worker schedules by: hours pass in
// milliseconds.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func newClock() *clock { return &clock{t: time.Now().UTC().Truncate(time.Second)} }

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *clock) Add(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

// delivery is one request a receiver got.
type delivery struct {
	id, timestamp, signature string
	body                     []byte
	status                   int
	at                       time.Time // by the test clock, if any
}

// receiver is a real HTTP endpoint that records what it is sent and
// answers as its test says.
type receiver struct {
	*httptest.Server
	answer func(r *http.Request) int
	clock  *clock

	mu                 sync.Mutex
	got                []delivery
	inFlight, maxInFli int
}

func newReceiver(t *testing.T, clk *clock, answer func(r *http.Request) int) *receiver {
	rc := &receiver{answer: answer, clock: clk}
	rc.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		rc.mu.Lock()
		rc.inFlight++
		rc.maxInFli = max(rc.maxInFli, rc.inFlight)
		rc.mu.Unlock()
		status := rc.answer(r)
		d := delivery{id: r.Header.Get("webhook-id"), timestamp: r.Header.Get("webhook-timestamp"),
			signature: r.Header.Get("webhook-signature"), body: body, status: status}
		if clk != nil {
			d.at = clk.Now()
		}
		rc.mu.Lock()
		rc.inFlight--
		rc.got = append(rc.got, d)
		rc.mu.Unlock()
		w.WriteHeader(status)
		fmt.Fprintf(w, "answered %d", status)
	}))
	t.Cleanup(rc.Close)
	return rc
}

func (rc *receiver) deliveries() []delivery {
	rc.mu.Lock()
	defer rc.mu.Unlock()
	return slices.Clone(rc.got)
}

// succeeded counts the 2xx answers per event id.
func (rc *receiver) succeeded() map[string]int {
	out := map[string]int{}
	for _, d := range rc.deliveries() {
		if d.status/100 == 2 {
			out[d.id]++
		}
	}
	return out
}

// rig is the outbox as a replica runs it: a store, the webhook sink, the
// endpoint operations and a running worker.
type rig struct {
	st     *store.Store
	sink   *webhook.Sink
	hooks  *webhook.Service
	worker *outbox.Worker
}

type rigOpts struct {
	clock   *clock
	retries []time.Duration
	timeout time.Duration
	guard   *webhook.Guard
}

func startRig(t *testing.T, st *store.Store, o rigOpts) *rig {
	t.Helper()
	log := slog.New(slog.DiscardHandler)
	guard := webhook.Guard{AllowPrivate: true}
	if o.guard != nil {
		guard = *o.guard
	}
	sink := webhook.NewSink(st, guard, webhook.SinkOptions{Retries: o.retries, Timeout: o.timeout, Log: log})
	wo := outbox.Options{Poll: 5 * time.Millisecond, Log: log}
	if o.clock != nil {
		// The test clock jumps minutes at a time: a lease must not run out
		// under an attempt that is still in flight.
		wo.Now, wo.Lease = o.clock.Now, 1000*time.Hour
	}
	w := outbox.New(st, []outbox.Sink{sink}, wo)
	st.OnEvents(w.Wake)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { defer close(done); w.Run(ctx) }()
	t.Cleanup(func() { cancel(); <-done })
	var types []string
	for _, et := range referral.EventTypes {
		types = append(types, string(et))
	}
	hooks := webhook.NewService(st, guard, types, referral.NewIDGenerator(nil).New, sink, w.Wake)
	return &rig{st: st, sink: sink, hooks: hooks, worker: w}
}

func (r *rig) endpoint(t *testing.T, url string, types ...string) webhook.Endpoint {
	t.Helper()
	e, err := r.hooks.Create(context.Background(), url, types, "test receiver")
	if err != nil {
		t.Fatal(err)
	}
	return e
}

var ids = referral.NewIDGenerator(nil)

// appendEvents stores n reward events as the domain would, each in its own
// transaction, and returns their ids.
func appendEvents(t *testing.T, st *store.Store, n int, at time.Time) []string {
	t.Helper()
	out := make([]string, 0, n)
	for i := range n {
		id, err := ids.New("evt_", at)
		if err != nil {
			t.Fatal(err)
		}
		data, _ := json.Marshal(referral.RewardChange{ReferralID: fmt.Sprintf("ref_%d", i), ReferrerID: "u1", Amount: int64(100 + i), Currency: "usd"})
		ev := referral.Event{ID: id, Type: referral.EventRewardAvailable, UserID: "u1", Data: data, CreatedAt: at}
		if err := st.InTx(context.Background(), func(tx referral.Store) error { return tx.AppendEvent(context.Background(), ev) }); err != nil {
			t.Fatal(err)
		}
		out = append(out, id)
	}
	return out
}

// attemptsByEvent lists an endpoint's attempts per event, oldest first.
func attemptsByEvent(t *testing.T, r *rig, endpointID string) map[string][]outbox.Attempt {
	t.Helper()
	out := map[string][]outbox.Attempt{}
	before := ""
	for {
		page, more, err := r.hooks.Attempts(context.Background(), endpointID, before, 500)
		if err != nil {
			t.Fatal(err)
		}
		for _, a := range page {
			out[a.EventID] = append([]outbox.Attempt{a}, out[a.EventID]...)
		}
		if !more {
			break
		}
		before = page[len(page)-1].ID
	}
	for id, as := range out {
		slices.SortFunc(as, func(a, b outbox.Attempt) int { return a.Attempt - b.Attempt })
		out[id] = as
	}
	return out
}

// waitFinished waits until every attempt made to the endpoint is recorded
// as finished (a request the receiver answered is recorded just after) and
// the count of recorded attempts is want.
func waitFinished(t *testing.T, r *rig, endpointID string, want int) {
	t.Helper()
	testutil.Eventually(t, 15*time.Second, fmt.Sprintf("%d attempts recorded as finished", want), func() bool {
		n := 0
		for _, as := range attemptsByEvent(t, r, endpointID) {
			for _, a := range as {
				if a.Status == outbox.StatusPending {
					return false
				}
				n++
			}
		}
		return n == want
	})
}

// TestRetriesLastThreeDays: the production schedule retries first within
// a minute and goes on for at least three days, even when every wait is
// jittered 20% short.
func TestRetriesLastThreeDays(t *testing.T) {
	t.Parallel()
	s := webhook.NewSink(nil, webhook.Guard{}, webhook.SinkOptions{})
	first, ok := s.Retry(1)
	if !ok || first > time.Minute {
		t.Fatalf("first retry after %v", first)
	}
	var total time.Duration
	n := 1
	for ; ; n++ {
		d, ok := s.Retry(n)
		if !ok {
			break
		}
		if n > 1 {
			prev, _ := s.Retry(n - 1)
			if d < prev {
				t.Fatalf("retry %d waits %v, less than retry %d (%v)", n, d, n-1, prev)
			}
		}
		total += d
	}
	if short := total - total/5; short < 72*time.Hour {
		t.Fatalf("retries end after %v (%v with jitter): less than three days", total, short)
	}
}

// TestReceiverDownForAnHour: every event reaches a receiver that was down
// for an hour, exactly once per id, with the same webhook-id and body on
// every attempt, each attempt recorded and numbered 1, 2, …
func TestReceiverDownForAnHour(t *testing.T) {
	t.Parallel()
	testdb.Each(t, func(t *testing.T, st *store.Store) {
		clk := newClock()
		start := clk.Now()
		rcv := newReceiver(t, clk, func(*http.Request) int {
			if clk.Now().Before(start.Add(time.Hour)) {
				return http.StatusServiceUnavailable
			}
			return http.StatusNoContent
		})
		r := startRig(t, st, rigOpts{clock: clk}) // the production retry schedule
		ep := r.endpoint(t, rcv.URL)
		events := appendEvents(t, st, 25, start)
		testutil.Eventually(t, 15*time.Second, "first attempts", func() bool { return len(rcv.deliveries()) >= len(events) })
		backlog, err := st.Backlog(context.Background())
		if err != nil || len(backlog) != 1 || backlog[0].Sink != webhook.SinkName || backlog[0].Pending != len(events) || backlog[0].Oldest.Before(start) {
			t.Fatalf("backlog while down: %+v %v", backlog, err)
		}

		for clk.Now().Before(start.Add(6*time.Hour)) && len(rcv.succeeded()) < len(events) {
			clk.Add(time.Minute)
			time.Sleep(2 * time.Millisecond)
		}
		testutil.Eventually(t, 15*time.Second, "every event delivered", func() bool { return len(rcv.succeeded()) == len(events) })
		waitFinished(t, r, ep.ID, len(rcv.deliveries()))
		testutil.Eventually(t, 15*time.Second, "the endpoint healthy again", func() bool {
			e, err := r.hooks.Get(context.Background(), ep.ID)
			return err == nil && e.FailingSince == nil
		})
		// Let more time pass: nothing is sent again.
		for range 60 {
			clk.Add(10 * time.Minute)
			time.Sleep(time.Millisecond)
		}
		time.Sleep(50 * time.Millisecond)

		byID := map[string][]delivery{}
		for _, d := range rcv.deliveries() {
			byID[d.id] = append(byID[d.id], d)
		}
		attempts := attemptsByEvent(t, r, ep.ID)
		for _, id := range events {
			got := byID[id]
			if n := rcv.succeeded()[id]; n != 1 {
				t.Fatalf("event %s succeeded %d times", id, n)
			}
			last := got[len(got)-1]
			if last.status != http.StatusNoContent || last.at.Before(start.Add(time.Hour)) {
				t.Fatalf("event %s: last delivery %d at +%v", id, last.status, last.at.Sub(start))
			}
			if len(got) < 2 {
				t.Fatalf("event %s delivered without a retry while the receiver was down", id)
			}
			for _, d := range got {
				if string(d.body) != string(got[0].body) {
					t.Fatalf("event %s: bodies differ between attempts", id)
				}
			}
			as := attempts[id]
			if len(as) != len(got) {
				t.Fatalf("event %s: %d requests, %d attempts recorded", id, len(got), len(as))
			}
			for i, a := range as {
				want := "failed"
				if i == len(as)-1 {
					want = "succeeded"
				}
				if a.Attempt != i+1 || a.Status != want || a.ResponseStatus == nil || *a.ResponseStatus != got[i].status || a.DurationMs == nil {
					t.Fatalf("event %s attempt %d: %+v (request answered %d)", id, i+1, a, got[i].status)
				}
				if a.Status == "failed" && !strings.Contains(a.Response, "answered 503") {
					t.Fatalf("attempt response %q", a.Response)
				}
			}
		}
		if backlog, err := st.Backlog(context.Background()); err != nil || len(backlog) != 0 {
			t.Fatalf("backlog after recovery: %+v %v", backlog, err)
		}
		e, err := r.hooks.Get(context.Background(), ep.ID)
		if err != nil || e.Status != webhook.Enabled || e.FailingSince != nil {
			t.Fatalf("endpoint after recovery: %+v %v", e, err)
		}
	})
}

// TestDeliveriesVerify: the Standard Webhooks library verifies every
// delivery with the endpoint's secret, and after a rotation with either
// secret; a stranger's secret does not.
func TestDeliveriesVerify(t *testing.T) {
	t.Parallel()
	testdb.Each(t, func(t *testing.T, st *store.Store) {
		rcv := newReceiver(t, nil, func(*http.Request) int { return http.StatusOK })
		r := startRig(t, st, rigOpts{})
		ep := r.endpoint(t, rcv.URL)
		first := appendEvents(t, st, 1, time.Now().UTC())[0]
		testutil.Eventually(t, 15*time.Second, "a delivery", func() bool { return rcv.succeeded()[first] == 1 })
		newSecret, until, err := r.hooks.RotateSecret(context.Background(), ep.ID)
		if err != nil || newSecret == ep.Secret || until.Sub(time.Now()) < 23*time.Hour {
			t.Fatalf("rotate: %v %v", until, err)
		}
		second := appendEvents(t, st, 1, time.Now().UTC())[0]
		testutil.Eventually(t, 15*time.Second, "a delivery after the rotation", func() bool { return rcv.succeeded()[second] == 1 })

		verify := func(secret string, d delivery) error {
			wh, err := standardwebhooks.NewWebhook(secret)
			if err != nil {
				t.Fatal(err)
			}
			h := http.Header{}
			h.Set("webhook-id", d.id)
			h.Set("webhook-timestamp", d.timestamp)
			h.Set("webhook-signature", d.signature)
			return wh.Verify(d.body, h)
		}
		stranger := "whsec_" + strings.Repeat("QUJD", 8)
		for _, d := range rcv.deliveries() {
			switch d.id {
			case first:
				if err := verify(ep.Secret, d); err != nil {
					t.Fatalf("before rotation: %v", err)
				}
				if strings.Contains(d.signature, " ") {
					t.Fatalf("one secret, two signatures: %q", d.signature)
				}
			case second:
				if n := len(strings.Fields(d.signature)); n != 2 {
					t.Fatalf("after rotation %d signatures: %q", n, d.signature)
				}
				if err := verify(newSecret, d); err != nil {
					t.Fatalf("new secret: %v", err)
				}
				if err := verify(ep.Secret, d); err != nil {
					t.Fatalf("old secret during its grace period: %v", err)
				}
			}
			if err := verify(stranger, d); err == nil {
				t.Fatal("a stranger's secret verified a delivery")
			}
			var ev struct {
				ID, Type, CreatedAt string
				Data                json.RawMessage
			}
			if err := json.Unmarshal(d.body, &ev); err != nil || ev.ID != d.id || ev.Type != "reward.available" || ev.CreatedAt == "" {
				t.Fatalf("body %s: %v", d.body, err)
			}
		}
		// Tampering with the body breaks the signature.
		d := rcv.deliveries()[0]
		d.body = append([]byte(nil), d.body...)
		d.body[len(d.body)-2] ^= 1
		if err := verify(ep.Secret, d); err == nil {
			t.Fatal("a tampered body verified")
		}
	})
}

// TestReplicasNeverSendAnAttemptTwice: three replicas' workers share one
// database and two flaky receivers. Every request a receiver gets is a
// recorded attempt (none sent twice, none lost), attempts of one event
// are numbered 1, 2, … without gaps, and each event succeeds once per
// endpoint.
func TestReplicasNeverSendAnAttemptTwice(t *testing.T) {
	t.Parallel()
	for _, backend := range []string{"postgres", "sqlite"} {
		t.Run(backend, func(t *testing.T) {
			t.Parallel()
			stores := testdb.Replicas(t, backend, 3)
			flaky := func(*http.Request) int {
				if rand.IntN(10) < 4 {
					return http.StatusInternalServerError
				}
				return http.StatusOK
			}
			receivers := []*receiver{newReceiver(t, nil, flaky), newReceiver(t, nil, flaky)}
			retries := []time.Duration{10 * time.Millisecond, 20 * time.Millisecond, 40 * time.Millisecond, 80 * time.Millisecond,
				100 * time.Millisecond, 100 * time.Millisecond, 100 * time.Millisecond, 100 * time.Millisecond, 100 * time.Millisecond,
				100 * time.Millisecond, 100 * time.Millisecond, 100 * time.Millisecond, 100 * time.Millisecond, 100 * time.Millisecond}
			var rigs []*rig
			for _, st := range stores {
				rigs = append(rigs, startRig(t, st, rigOpts{retries: retries}))
			}
			eps := []webhook.Endpoint{rigs[0].endpoint(t, receivers[0].URL), rigs[0].endpoint(t, receivers[1].URL)}
			time.Sleep(1100 * time.Millisecond) // every replica's endpoint cache sees both

			var all []string
			for round := range 3 {
				var wg sync.WaitGroup
				var mu sync.Mutex
				for _, st := range stores {
					wg.Go(func() {
						got := appendEvents(t, st, 25, time.Now().UTC())
						mu.Lock()
						all = append(all, got...)
						mu.Unlock()
					})
				}
				wg.Wait()
				for i, rc := range receivers {
					testutil.Eventually(t, 30*time.Second, fmt.Sprintf("round %d delivered to receiver %d", round, i), func() bool {
						return len(rc.succeeded()) == len(all)
					})
				}
			}
			time.Sleep(300 * time.Millisecond) // anything sent twice would arrive now

			for i, rc := range receivers {
				requests := map[string]int{}
				for _, d := range rc.deliveries() {
					requests[d.id]++
				}
				attempts := attemptsByEvent(t, rigs[1], eps[i].ID)
				for _, id := range all {
					if n := rc.succeeded()[id]; n != 1 {
						t.Fatalf("receiver %d: event %s succeeded %d times", i, id, n)
					}
					as := attempts[id]
					if len(as) != requests[id] {
						t.Fatalf("receiver %d: event %s got %d requests, %d attempts recorded", i, id, requests[id], len(as))
					}
					for k, a := range as {
						if a.Attempt != k+1 {
							t.Fatalf("receiver %d: event %s attempts numbered %v", i, id, as)
						}
					}
				}
			}
		})
	}
}

// TestHangingReceiverIsBounded: a receiver that never answers holds at
// most four attempts at once, each ends at the timeout as failed, and
// another endpoint's deliveries go on meanwhile.
func TestHangingReceiverIsBounded(t *testing.T) {
	t.Parallel()
	testdb.Each(t, func(t *testing.T, st *store.Store) {
		release := make(chan struct{})
		hanging := newReceiver(t, nil, func(r *http.Request) int {
			select {
			case <-r.Context().Done():
			case <-release:
			}
			return http.StatusOK
		})
		t.Cleanup(func() { close(release) })
		healthy := newReceiver(t, nil, func(*http.Request) int { return http.StatusOK })
		r := startRig(t, st, rigOpts{timeout: 300 * time.Millisecond, retries: []time.Duration{time.Hour}})
		stuck := r.endpoint(t, hanging.URL)
		r.endpoint(t, healthy.URL)
		events := appendEvents(t, st, 20, time.Now().UTC())
		testutil.Eventually(t, 15*time.Second, "the healthy endpoint's deliveries", func() bool { return len(healthy.succeeded()) == len(events) })
		testutil.Eventually(t, 15*time.Second, "every attempt at the hanging endpoint", func() bool {
			done := 0
			for _, as := range attemptsByEvent(t, r, stuck.ID) {
				if len(as) == 1 && as[0].Status == "failed" {
					done++
				}
			}
			return done == len(events)
		})
		hanging.mu.Lock()
		most := hanging.maxInFli
		hanging.mu.Unlock()
		if most > 4 || most < 1 {
			t.Fatalf("%d attempts in flight at once to the hanging endpoint", most)
		}
		for id, as := range attemptsByEvent(t, r, stuck.ID) {
			a := as[0]
			if a.Response != "no answer in time" || a.ResponseStatus != nil || a.DurationMs == nil || *a.DurationMs < 250 || *a.DurationMs > 5000 {
				t.Fatalf("event %s: hanging attempt %+v", id, a)
			}
		}
	})
}

// TestFailingEndpointIsDisabled: an endpoint whose every attempt fails for
// five days is disabled and sent nothing more; enabled again, it gets
// what waited.
func TestFailingEndpointIsDisabled(t *testing.T) {
	t.Parallel()
	testdb.Each(t, func(t *testing.T, st *store.Store) {
		clk := newClock()
		start := clk.Now()
		var up sync.Mutex
		healthy := false
		rcv := newReceiver(t, clk, func(*http.Request) int {
			up.Lock()
			defer up.Unlock()
			if healthy {
				return http.StatusOK
			}
			return http.StatusBadGateway
		})
		r := startRig(t, st, rigOpts{clock: clk})
		ep := r.endpoint(t, rcv.URL)
		var events []string
		var disabledAt time.Time
		for clk.Now().Before(start.Add(7 * 24 * time.Hour)) {
			if clk.Now().Sub(start)%(6*time.Hour) == 0 {
				events = append(events, appendEvents(t, st, 1, clk.Now())...)
			}
			clk.Add(30 * time.Minute)
			time.Sleep(2 * time.Millisecond)
			e, err := r.hooks.Get(context.Background(), ep.ID)
			if err != nil {
				t.Fatal(err)
			}
			if e.Status == webhook.Disabled {
				disabledAt = clk.Now()
				if e.DisabledReason == "" {
					t.Fatal("disabled without a reason")
				}
				break
			}
		}
		if disabledAt.IsZero() || disabledAt.Before(start.Add(webhook.DisableAfter)) {
			t.Fatalf("disabled at +%v", disabledAt.Sub(start))
		}
		// Attempts claimed before the endpoint was disabled may still be
		// on their way (slowly, under a loaded -race run); wait until they
		// are in, then nothing more may come.
		before := len(rcv.deliveries())
		for settled := time.Now(); time.Since(settled) < 300*time.Millisecond; time.Sleep(10 * time.Millisecond) {
			if n := len(rcv.deliveries()); n != before {
				before, settled = n, time.Now()
			}
		}
		for range 100 {
			clk.Add(time.Hour)
			time.Sleep(time.Millisecond)
		}
		time.Sleep(50 * time.Millisecond)
		if after := len(rcv.deliveries()); after != before {
			t.Fatalf("a disabled endpoint got %d more requests", after-before)
		}

		up.Lock()
		healthy = true
		up.Unlock()
		enabled := webhook.Enabled
		if _, err := r.hooks.Update(context.Background(), ep.ID, webhook.Fields{Status: &enabled}); err != nil {
			t.Fatal(err)
		}
		// What is still within its retries arrives; redelivery brings the
		// rest.
		for _, id := range events {
			if _, err := r.hooks.Redeliver(context.Background(), id); err != nil {
				t.Fatal(err)
			}
		}
		testutil.Eventually(t, 15*time.Second, "every event after re-enabling", func() bool { return len(rcv.succeeded()) == len(events) })
	})
}

// TestDeletedEndpointIsSentNothing: deleting an endpoint ends its pending
// deliveries.
func TestDeletedEndpointIsSentNothing(t *testing.T) {
	t.Parallel()
	testdb.Each(t, func(t *testing.T, st *store.Store) {
		clk := newClock()
		rcv := newReceiver(t, clk, func(*http.Request) int { return http.StatusInternalServerError })
		r := startRig(t, st, rigOpts{clock: clk})
		ep := r.endpoint(t, rcv.URL)
		appendEvents(t, st, 3, clk.Now())
		testutil.Eventually(t, 15*time.Second, "first attempts", func() bool { return len(rcv.deliveries()) == 3 })
		if err := r.hooks.Delete(context.Background(), ep.ID); err != nil {
			t.Fatal(err)
		}
		time.Sleep(1100 * time.Millisecond) // past the sink's endpoint cache
		for range 200 {
			clk.Add(30 * time.Minute)
			time.Sleep(time.Millisecond)
		}
		time.Sleep(50 * time.Millisecond)
		if n := len(rcv.deliveries()); n != 3 {
			t.Fatalf("a deleted endpoint got %d requests", n)
		}
		if _, _, err := r.hooks.Attempts(context.Background(), ep.ID, "", 10); !errors.Is(err, webhook.ErrNotFound) {
			t.Fatalf("attempts of a deleted endpoint: %v", err)
		}
	})
}

// TestRedeliverWhileInFlight: an operator's redelivery of an event whose
// attempt is in flight starts no second attempt beside it; once that
// attempt finished, a redelivery sends the event again as attempt 2.
func TestRedeliverWhileInFlight(t *testing.T) {
	t.Parallel()
	testdb.Each(t, func(t *testing.T, st *store.Store) {
		release := make(chan struct{})
		var once sync.Once
		rcv := newReceiver(t, nil, func(r *http.Request) int {
			select {
			case <-release:
			case <-r.Context().Done():
			}
			return http.StatusOK
		})
		t.Cleanup(func() { once.Do(func() { close(release) }) })
		r := startRig(t, st, rigOpts{timeout: 10 * time.Second})
		ep := r.endpoint(t, rcv.URL)
		id := appendEvents(t, st, 1, time.Now().UTC())[0]
		testutil.Eventually(t, 15*time.Second, "the attempt in flight", func() bool {
			rcv.mu.Lock()
			defer rcv.mu.Unlock()
			return rcv.inFlight == 1
		})
		for range 3 {
			if n, err := r.hooks.Redeliver(context.Background(), id); err != nil || n != 1 {
				t.Fatalf("redeliver: %d %v", n, err)
			}
		}
		time.Sleep(200 * time.Millisecond)
		rcv.mu.Lock()
		most := rcv.maxInFli
		rcv.mu.Unlock()
		if most != 1 {
			t.Fatalf("%d attempts in flight at once", most)
		}
		once.Do(func() { close(release) })
		recorded := func(n int) func() bool {
			return func() bool {
				as := attemptsByEvent(t, r, ep.ID)[id]
				return len(as) == n && as[n-1].Status == "succeeded"
			}
		}
		testutil.Eventually(t, 15*time.Second, "the delivery recorded", recorded(1))
		if n := len(rcv.deliveries()); n != 1 {
			t.Fatalf("%d requests", n)
		}
		if _, err := r.hooks.Redeliver(context.Background(), id); err != nil {
			t.Fatal(err)
		}
		testutil.Eventually(t, 15*time.Second, "the redelivery recorded", recorded(2))
		as := attemptsByEvent(t, r, ep.ID)[id]
		if rcv.succeeded()[id] != 2 || as[0].Attempt != 1 || as[1].Attempt != 2 {
			t.Fatalf("attempts %+v", as)
		}
	})
}

// TestDeliveryHistoryIsPruned: attempts and finished tasks older than the
// retention go; a task pending since then (its endpoint disabled for good)
// ends as failed and goes too; events stay in the feed.
func TestDeliveryHistoryIsPruned(t *testing.T) {
	t.Parallel()
	testdb.Each(t, func(t *testing.T, st *store.Store) {
		ok := newReceiver(t, nil, func(*http.Request) int { return http.StatusOK })
		failing := newReceiver(t, nil, func(*http.Request) int { return http.StatusInternalServerError })
		r := startRig(t, st, rigOpts{retries: []time.Duration{time.Hour}})
		good := r.endpoint(t, ok.URL)
		bad := r.endpoint(t, failing.URL)
		events := appendEvents(t, st, 3, time.Now().UTC())
		testutil.Eventually(t, 15*time.Second, "first attempts", func() bool { return len(ok.succeeded()) == 3 && len(failing.deliveries()) == 3 })
		waitFinished(t, r, good.ID, 3)
		waitFinished(t, r, bad.ID, 3)
		ctx := context.Background()
		now := time.Now().UTC()
		if n, err := st.PruneOutbox(ctx, now.Add(-time.Hour), now); err != nil || n != 0 {
			t.Fatalf("pruned %d recent rows: %v", n, err)
		}
		n, err := st.PruneOutbox(ctx, now.Add(time.Minute), now)
		if err != nil || n != 12 { // 6 attempts, 6 tasks (3 pending ended first)
			t.Fatalf("pruned %d rows: %v", n, err)
		}
		for _, ep := range []webhook.Endpoint{good, bad} {
			if as := attemptsByEvent(t, r, ep.ID); len(as) != 0 {
				t.Fatalf("attempts left: %+v", as)
			}
		}
		if backlog, err := st.Backlog(ctx); err != nil || len(backlog) != 0 {
			t.Fatalf("backlog after pruning: %+v %v", backlog, err)
		}
		for _, id := range events {
			if _, err := st.EventByID(ctx, id); err != nil {
				t.Fatalf("event %s pruned: %v", id, err)
			}
		}
	})
}
