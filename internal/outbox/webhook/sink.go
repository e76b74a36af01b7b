package webhook

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"

	standardwebhooks "github.com/standard-webhooks/standard-webhooks/libraries/go"

	"github.com/refhub/referral-service/internal/outbox"
	"github.com/refhub/referral-service/pkg/referralapi"
)

// SinkName names the webhook sink's tasks; PingType is the test event.
const (
	SinkName = "webhook"
	PingType = "ping"
)

// Delivery timing: an answer within Timeout counts; retries follow the
// Standard Webhooks schedule in spirit (5 s, 5 min, 30 min, 2 h, 5 h, then
// every 10 h), past three days in all even when jitter shortens every
// wait; a hanging endpoint holds at most perEndpoint attempts at once.
const (
	Timeout     = 15 * time.Second
	perEndpoint = 4
	cacheTTL    = time.Second
)

var retries = []time.Duration{5 * time.Second, 5 * time.Minute, 30 * time.Minute, 2 * time.Hour, 5 * time.Hour,
	10 * time.Hour, 10 * time.Hour, 10 * time.Hour, 10 * time.Hour, 10 * time.Hour, 10 * time.Hour, 10 * time.Hour,
	10 * time.Hour, 10 * time.Hour}

// SinkOptions tunes the sink; zero values are the production defaults.
type SinkOptions struct {
	// Retries are the waits before the second, third, … attempt.
	Retries []time.Duration
	// Timeout bounds one attempt.
	Timeout time.Duration
	Log     *slog.Logger
}

// Sink delivers events to webhook endpoints.
type Sink struct {
	store   Store
	client  *http.Client
	log     *slog.Logger
	now     func() time.Time
	retries []time.Duration
	timeout time.Duration

	mu        sync.Mutex
	enabled   []Endpoint
	enabledAt time.Time
	byID      map[string]cachedEndpoint
}

type cachedEndpoint struct {
	e    Endpoint
	gone bool
	at   time.Time
}

var _ outbox.Sink = (*Sink)(nil)

// NewSink returns the sink; guard decides which addresses it may reach.
func NewSink(store Store, guard Guard, o SinkOptions) *Sink {
	if o.Log == nil {
		o.Log = slog.New(slog.DiscardHandler)
	}
	if o.Retries == nil {
		o.Retries = retries
	}
	if o.Timeout <= 0 {
		o.Timeout = Timeout
	}
	return &Sink{store: store, client: guard.Client(o.Timeout), log: o.Log, now: time.Now, retries: o.Retries,
		timeout: o.Timeout, byID: map[string]cachedEndpoint{}}
}

// Name is "webhook".
func (s *Sink) Name() string { return SinkName }

// PerTarget bounds the attempts in flight to one endpoint.
func (s *Sink) PerTarget() int { return perEndpoint }

// Timeout bounds one attempt.
func (s *Sink) Timeout() time.Duration { return s.timeout }

// Retry is the wait before retry n.
func (s *Sink) Retry(n int) (time.Duration, bool) {
	if n < 1 || n > len(s.retries) {
		return 0, false
	}
	return s.retries[n-1], true
}

// forget drops what the sink cached about endpoints (after a change here;
// other replicas see a change within cacheTTL).
func (s *Sink) forget() {
	if s == nil {
		return
	}
	s.mu.Lock()
	s.enabled, s.byID = nil, map[string]cachedEndpoint{}
	s.mu.Unlock()
}

// Route sends an event to every enabled endpoint that takes its type; a
// ping only to the endpoint it tests.
func (s *Sink) Route(ctx context.Context, ev outbox.Event) ([]string, error) {
	if ev.Type == PingType {
		var ping struct {
			EndpointID string `json:"endpointId"`
		}
		if err := json.Unmarshal(ev.Data, &ping); err != nil || ping.EndpointID == "" {
			return nil, nil
		}
		return []string{ping.EndpointID}, nil
	}
	eps, err := s.enabledEndpoints(ctx)
	if err != nil {
		return nil, err
	}
	var out []string
	for _, e := range eps {
		if e.Wants(ev.Type) {
			out = append(out, e.ID)
		}
	}
	return out, nil
}

func (s *Sink) enabledEndpoints(ctx context.Context) ([]Endpoint, error) {
	s.mu.Lock()
	if s.enabled != nil && time.Since(s.enabledAt) < cacheTTL {
		eps := s.enabled
		s.mu.Unlock()
		return eps, nil
	}
	s.mu.Unlock()
	eps, err := s.store.EnabledEndpoints(ctx)
	if err != nil {
		return nil, err
	}
	if eps == nil {
		eps = []Endpoint{}
	}
	s.mu.Lock()
	s.enabled, s.enabledAt = eps, time.Now()
	s.mu.Unlock()
	return eps, nil
}

func (s *Sink) endpoint(ctx context.Context, id string) (Endpoint, bool, error) {
	s.mu.Lock()
	c, ok := s.byID[id]
	s.mu.Unlock()
	if ok && time.Since(c.at) < cacheTTL {
		return c.e, c.gone, nil
	}
	e, err := s.store.Endpoint(ctx, id)
	gone := errors.Is(err, ErrNotFound)
	if err != nil && !gone {
		return Endpoint{}, false, err
	}
	s.mu.Lock()
	s.byID[id] = cachedEndpoint{e: e, gone: gone, at: time.Now()}
	s.mu.Unlock()
	return e, gone, nil
}

// Ready: an enabled endpoint takes deliveries; a deleted one never will.
func (s *Sink) Ready(ctx context.Context, id string) (bool, bool, error) {
	e, gone, err := s.endpoint(ctx, id)
	if err != nil || gone {
		return false, gone, err
	}
	return e.Status == Enabled, false, nil
}

// Body is what a delivery of ev posts: the event exactly as the feeds
// show it.
func Body(ev outbox.Event) ([]byte, error) {
	return json.Marshal(referralapi.Event{ID: ev.ID, Type: ev.Type, CreatedAt: ev.CreatedAt, Data: ev.Data})
}

// Sign returns the webhook-signature header of a delivery: a v1 signature
// by each secret, space-separated (after a rotation, by the new and the
// previous secret).
func Sign(secrets []string, msgID string, at time.Time, body []byte) (string, error) {
	sigs := make([]string, 0, len(secrets))
	for _, secret := range secrets {
		wh, err := standardwebhooks.NewWebhook(secret)
		if err != nil {
			return "", err
		}
		sig, err := wh.Sign(msgID, at, body)
		if err != nil {
			return "", err
		}
		sigs = append(sigs, sig)
	}
	return strings.Join(sigs, " "), nil
}

// Deliver posts the event, signed, to the endpoint: a 2xx answer within
// the timeout is a delivery; anything else is retried.
func (s *Sink) Deliver(ctx context.Context, t outbox.Task) outbox.Result {
	e, gone, err := s.endpoint(ctx, t.Target)
	switch {
	case err != nil:
		return outbox.Result{Response: "endpoint unreadable: " + err.Error()}
	case gone:
		return outbox.Result{Skip: true, Response: "endpoint deleted"}
	}
	body, err := Body(t.Event)
	if err != nil {
		return outbox.Result{Permanent: true, Response: "event unreadable: " + err.Error()}
	}
	now := s.now()
	secrets := []string{e.Secret}
	if e.PreviousSecret != "" && e.PreviousSecretUntil != nil && now.Before(*e.PreviousSecretUntil) {
		secrets = append(secrets, e.PreviousSecret)
	}
	sig, err := Sign(secrets, t.Event.ID, now, body)
	if err != nil {
		return outbox.Result{Response: "signing failed: " + err.Error()}
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, e.URL, bytes.NewReader(body))
	if err != nil {
		return outbox.Result{Permanent: true, Response: "bad URL: " + err.Error()}
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("User-Agent", "referral-service-webhooks/1")
	req.Header.Set(standardwebhooks.HeaderWebhookID, t.Event.ID)
	req.Header.Set(standardwebhooks.HeaderWebhookTimestamp, strconv.FormatInt(now.Unix(), 10))
	req.Header.Set(standardwebhooks.HeaderWebhookSignature, sig)
	start := time.Now()
	res, err := s.client.Do(req)
	if err != nil {
		return outbox.Result{Duration: time.Since(start), Response: describe(err)}
	}
	defer res.Body.Close()
	answer, _ := io.ReadAll(io.LimitReader(res.Body, 1024))
	_, _ = io.Copy(io.Discard, io.LimitReader(res.Body, 64<<10)) // let the connection be reused
	return outbox.Result{OK: res.StatusCode >= 200 && res.StatusCode < 300, Status: res.StatusCode,
		Response: string(answer), Duration: time.Since(start)}
}

// describe says why a request got no answer, without the URL (which the
// operator knows and which may carry a token).
func describe(err error) string {
	var uerr interface{ Unwrap() error }
	if errors.As(err, &uerr) {
		if inner := uerr.Unwrap(); inner != nil {
			err = inner
		}
	}
	switch {
	case errors.Is(err, context.DeadlineExceeded) || strings.Contains(err.Error(), "Client.Timeout"):
		return "no answer in time"
	case errors.Is(err, errRefusedAddress):
		return err.Error()
	}
	return "request failed: " + err.Error()
}

// Observe tracks the endpoint's health: an endpoint whose every attempt
// has failed for DisableAfter is disabled.
func (s *Sink) Observe(ctx context.Context, target string, ok bool, at time.Time) {
	disabled, err := s.store.NoteResult(ctx, target, ok, at, at.Add(-DisableAfter))
	if err != nil {
		s.log.WarnContext(ctx, "webhook endpoint health not recorded", "endpoint_id", target, "error", err)
		return
	}
	if disabled {
		s.forget()
		s.log.WarnContext(ctx, "webhook endpoint disabled: every delivery failed for 5 days", "endpoint_id", target)
	}
}
