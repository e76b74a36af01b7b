package httpapi_test

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/getkin/kin-openapi/openapi3filter"
	"github.com/getkin/kin-openapi/routers"
	"github.com/getkin/kin-openapi/routers/gorillamux"

	"github.com/refhub/referral-service/internal/auth"
	"github.com/refhub/referral-service/internal/clicks"
	"github.com/refhub/referral-service/internal/httpapi"
	"github.com/refhub/referral-service/internal/outbox"
	"github.com/refhub/referral-service/internal/outbox/mail"
	"github.com/refhub/referral-service/internal/outbox/webhook"
	"github.com/refhub/referral-service/internal/ratelimit"
	"github.com/refhub/referral-service/internal/referral"
	"github.com/refhub/referral-service/internal/store"
	"github.com/refhub/referral-service/internal/stripeapi"
	"github.com/refhub/referral-service/internal/testdb"
	"github.com/refhub/referral-service/internal/teststripe"
)

func TestMain(m *testing.M) { testdb.Main(m, teststripe.Start) }

const (
	testSecret        = "test-secret-that-is-at-least-32-bytes-long"
	testWebhookSecret = "whsec_test_secret"
	testAppURL        = "https://app.example.com"
)

// spec is the published OpenAPI 3 contract every response is checked against.
type spec struct {
	doc    *openapi3.T
	router routers.Router
}

var loadSpec = sync.OnceValues(func() (*spec, error) {
	loader := openapi3.NewLoader()
	doc, err := loader.LoadFromFile("../../api/openapi.json")
	if err != nil {
		return nil, err
	}
	if err := doc.Validate(context.Background()); err != nil {
		return nil, err
	}
	r, err := gorillamux.NewRouter(doc)
	if err != nil {
		return nil, err
	}
	return &spec{doc: doc, router: r}, nil
})

// server is the real router behind a real HTTP listener.
type server struct {
	t      *testing.T
	url    string
	store  *store.Store
	svc    *referral.Service
	auth   *auth.Authenticator
	worker *outbox.Worker
}

type serverOpts struct {
	issuer, audience string
	webhookSecret    string
	noWebhookSecret  bool
	percent          string
	// stripeCredits pays stripe_credit payouts through stripe-mock, or
	// through stripeURL when set.
	stripeCredits bool
	stripeURL     string
	publicURL     string
	window        time.Duration
	// requestTimeout bounds each request (0: the default).
	requestTimeout time.Duration
	// auth adds to the authentication (JWKS, algorithms, roles claim, role
	// map); the test secret, issuer, audience and API keys are always set,
	// the secret unless noSecret.
	auth     auth.Config
	noSecret bool
	// publicRate and userRate are the rate limits (zero: none).
	publicRate, userRate ratelimit.Rate
	// trustedProxies may set X-Forwarded-For.
	trustedProxies []*net.IPNet
	// webhookRetries are the webhook sink's waits between attempts
	// (default: 50 ms, 100 ms, 200 ms).
	webhookRetries []time.Duration
	// privateURLsRefused makes webhook endpoints on loopback refused, as
	// in production (tests' receivers are on loopback).
	privateURLsRefused bool
	// hold keeps rewards pending this long before they are available.
	hold time.Duration
	// mail runs the email sink beside the webhook one (nil: no email).
	mail *mailOpts
}

// mailOpts configures the email sink of a test server.
type mailOpts struct {
	// sender sends (an SMTP sender to a test server, or a log sender).
	sender mail.Sender
	// templatesDir replaces built-in templates.
	templatesDir string
	// retries are the waits between attempts (default: 50 ms, 100 ms, 200 ms).
	retries []time.Duration
}

func newServer(t *testing.T, st *store.Store, o serverOpts) *server {
	t.Helper()
	if o.percent == "" {
		o.percent = "20"
	}
	if o.webhookSecret == "" && !o.noWebhookSecret {
		o.webhookSecret = testWebhookSecret
	}
	acfg := o.auth
	acfg.Secret, acfg.Issuer, acfg.Audience, acfg.Keys = []byte(testSecret), o.issuer, o.audience, st
	acfg.NewID = referral.NewIDGenerator(nil).New
	if o.noSecret {
		acfg.Secret = nil
	}
	authn, err := auth.New(context.Background(), acfg)
	if err != nil {
		t.Fatal(err)
	}
	opts := referral.Options{Rule: referral.RewardRule{Percent: referral.MustPercent(o.percent)}, AttributionWindow: o.window, Hold: o.hold}
	if o.stripeCredits {
		url, err := teststripe.URL()
		if err != nil {
			t.Fatal(err)
		}
		if o.stripeURL != "" {
			url = o.stripeURL
		}
		api := stripeapi.New("sk_test_123", url)
		opts.Credits, opts.Discounts = api, api
	}
	links := httpapi.LinkConfig{
		AppURL: testAppURL, PublicURL: o.publicURL, CookieDays: 30,
		IOSTemplate: "myapp://invite?ref={code}", AndroidTemplate: "https://app.example.com/android?ref={code}",
	}
	opts.EncodeEvent = httpapi.EventEncoder(testAppURL, links)
	svc := referral.NewService(st, opts)
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	// The outbox worker, as the server runs it, with quick retries.
	if o.webhookRetries == nil {
		o.webhookRetries = []time.Duration{50 * time.Millisecond, 100 * time.Millisecond, 200 * time.Millisecond}
	}
	guard := webhook.Guard{AllowPrivate: !o.privateURLsRefused}
	sink := webhook.NewSink(st, guard, webhook.SinkOptions{Retries: o.webhookRetries, Timeout: 10 * time.Second, Log: log})
	sinks := []outbox.Sink{sink}
	if o.mail != nil {
		templates, err := mail.LoadTemplates(o.mail.templatesDir)
		if err != nil {
			t.Fatal(err)
		}
		if o.mail.retries == nil {
			o.mail.retries = []time.Duration{50 * time.Millisecond, 100 * time.Millisecond, 200 * time.Millisecond}
		}
		sinks = append(sinks, mail.NewSink(st, templates, o.mail.sender, mail.SinkOptions{
			From: "Referrals <referrals@shop.example>", AppURL: testAppURL, Retries: o.mail.retries, Timeout: 5 * time.Second, Log: log}))
	}
	worker := outbox.New(st, sinks, outbox.Options{Poll: 20 * time.Millisecond, Log: log, Every: []outbox.Periodic{{
		Name: "announce", Interval: 50 * time.Millisecond,
		Run: func(ctx context.Context) error { _, err := svc.AnnounceAvailableRewards(ctx, 500); return err },
	}}})
	st.OnEvents(worker.Wake)
	wctx, stopWorker := context.WithCancel(context.Background())
	workerDone := make(chan struct{})
	go func() { defer close(workerDone); worker.Run(wctx) }()
	t.Cleanup(func() { stopWorker(); <-workerDone })
	var types []string
	for _, et := range referral.EventTypes {
		types = append(types, string(et))
	}
	hooks := webhook.NewService(st, guard, types, referral.NewIDGenerator(nil).New, sink, worker.Wake)
	recorder := clicks.NewRecorder(svc, log, clicks.Options{Interval: 5 * time.Millisecond})
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		if err := recorder.Close(ctx); err != nil {
			t.Errorf("click recorder: %v", err)
		}
	})
	router := httpapi.New(httpapi.Deps{
		Service: svc, Auth: authn, AppURL: testAppURL, Log: log,
		Ready:               func(r *http.Request) error { return st.Ping(r.Context()) },
		StripeWebhookSecret: o.webhookSecret, StripeTolerance: 5 * time.Minute,
		Links:  links,
		Clicks: recorder, VisitorKey: []byte("test visitor key"), RequestTimeout: o.requestTimeout,
		PublicRateLimit: o.publicRate, UserRateLimit: o.userRate, TrustedProxies: o.trustedProxies,
		Webhooks: hooks, Contacts: mail.NewContacts(st),
	})
	ts := httptest.NewServer(router)
	t.Cleanup(ts.Close)
	return &server{t: t, url: ts.URL, store: st, svc: svc, auth: authn, worker: worker}
}

// eachBackend runs fn against a server on PostgreSQL and one on SQLite.
func eachBackend(t *testing.T, o serverOpts, fn func(t *testing.T, s *server)) {
	t.Helper()
	testdb.Each(t, func(t *testing.T, st *store.Store) {
		fn(t, newServer(t, st, o))
	})
}

func (s *server) token(sub string, roles ...string) string {
	s.t.Helper()
	tok, err := s.auth.Mint(sub, roles, time.Hour, time.Now())
	if err != nil {
		s.t.Fatal(err)
	}
	return tok
}

// response is a checked response.
type response struct {
	Status int
	Header http.Header
	Body   []byte
}

func (r response) decode(t testing.TB, v any) {
	t.Helper()
	if err := json.Unmarshal(r.Body, v); err != nil {
		t.Fatalf("decode %s: %v", r.Body, err)
	}
}

// problem decodes a problem+json body and checks its status and code.
func (r response) problem(t testing.TB, status int, code string) map[string]any {
	t.Helper()
	if r.Status != status {
		t.Fatalf("status = %d, want %d; body %s", r.Status, status, r.Body)
	}
	if ct := r.Header.Get("Content-Type"); ct != "application/problem+json" {
		t.Fatalf("Content-Type = %q, want application/problem+json", ct)
	}
	var p map[string]any
	r.decode(t, &p)
	if p["code"] != code || int(p["status"].(float64)) != status || p["requestId"] != r.Header.Get("X-Request-Id") {
		t.Fatalf("problem = %v, want code %s", p, code)
	}
	return p
}

type request struct {
	method, path string
	token        string
	body         string
	contentType  string
	header       map[string]string
}

// do sends req over HTTP and checks the response against the OpenAPI
// contract: the status is documented for the operation and the body matches
// its schema. Every response must carry X-Request-Id.
func (s *server) do(t testing.TB, req request) response {
	t.Helper()
	resp := send(t, s.url, req)
	checkAgainstSpec(t, req, resp)
	return resp
}

func send(t testing.TB, base string, req request) response {
	t.Helper()
	var body io.Reader
	if req.body != "" {
		body = strings.NewReader(req.body)
	}
	hr, err := http.NewRequest(req.method, base+req.path, body)
	if err != nil {
		t.Fatal(err)
	}
	if req.body != "" {
		ct := req.contentType
		if ct == "" {
			ct = "application/json"
		}
		hr.Header.Set("Content-Type", ct)
	}
	if req.token != "" {
		hr.Header.Set("Authorization", "Bearer "+req.token)
	}
	for k, v := range req.header {
		hr.Header.Set(k, v)
	}
	res, err := http.DefaultClient.Do(hr)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	b, err := io.ReadAll(res.Body)
	if err != nil {
		t.Fatal(err)
	}
	return response{Status: res.StatusCode, Header: res.Header, Body: b}
}

func checkAgainstSpec(t testing.TB, req request, resp response) {
	t.Helper()
	if resp.Header.Get("X-Request-Id") == "" {
		t.Errorf("%s %s: response has no X-Request-Id", req.method, req.path)
	}
	sp, err := loadSpec()
	if err != nil {
		t.Fatalf("load OpenAPI document: %v", err)
	}
	hr, _ := http.NewRequest(req.method, "http://localhost"+req.path, nil)
	route, params, err := sp.router.FindRoute(hr)
	if err != nil {
		t.Fatalf("%s %s is not in the OpenAPI document: %v", req.method, req.path, err)
	}
	in := &openapi3filter.ResponseValidationInput{
		RequestValidationInput: &openapi3filter.RequestValidationInput{Request: hr, PathParams: params, Route: route},
		Status:                 resp.Status,
		Header:                 resp.Header,
		Options:                &openapi3filter.Options{IncludeResponseStatus: true, MultiError: true},
	}
	in.SetBodyBytes(resp.Body)
	if err := openapi3filter.ValidateResponse(context.Background(), in); err != nil {
		t.Errorf("%s %s → %d does not match the OpenAPI document: %v\nbody: %s", req.method, req.path, resp.Status, err, resp.Body)
	}
}

func jsonBody(t testing.TB, v any) string {
	t.Helper()
	var buf bytes.Buffer
	if err := json.NewEncoder(&buf).Encode(v); err != nil {
		t.Fatal(err)
	}
	return buf.String()
}

func mustMarshal(t testing.TB, v any) []byte {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return b
}
