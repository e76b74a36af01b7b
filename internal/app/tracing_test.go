package app_test

import (
	"bytes"
	"compress/gzip"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stripe/stripe-go/v76/webhook"
	coltracepb "go.opentelemetry.io/proto/otlp/collector/trace/v1"
	commonpb "go.opentelemetry.io/proto/otlp/common/v1"
	tracepb "go.opentelemetry.io/proto/otlp/trace/v1"
	"google.golang.org/protobuf/proto"

	"github.com/refhub/referral-service/internal/testdb"
	"github.com/refhub/referral-service/internal/teststripe"
)

// otlpReceiver is an OTLP/HTTP trace receiver, as a collector serves it:
// POST /v1/traces with a protobuf ExportTraceServiceRequest.
type otlpReceiver struct {
	mu      sync.Mutex
	spans   []receivedSpan
	batches int
}

type receivedSpan struct {
	*tracepb.Span
	service string
}

func newOTLPReceiver(t *testing.T) (*otlpReceiver, string) {
	t.Helper()
	rcv := &otlpReceiver{}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodPost || r.URL.Path != "/v1/traces" {
			t.Errorf("OTLP receiver: %s %s", r.Method, r.URL.Path)
			http.NotFound(w, r)
			return
		}
		var body io.Reader = r.Body
		if r.Header.Get("Content-Encoding") == "gzip" {
			zr, err := gzip.NewReader(r.Body)
			if err != nil {
				http.Error(w, err.Error(), http.StatusBadRequest)
				return
			}
			body = zr
		}
		b, _ := io.ReadAll(body)
		var req coltracepb.ExportTraceServiceRequest
		if err := proto.Unmarshal(b, &req); err != nil {
			t.Errorf("OTLP receiver: %v", err)
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		rcv.mu.Lock()
		rcv.batches++
		for _, rs := range req.ResourceSpans {
			service := attr(rs.Resource.GetAttributes(), "service.name")
			for _, ss := range rs.ScopeSpans {
				for _, s := range ss.Spans {
					rcv.spans = append(rcv.spans, receivedSpan{Span: s, service: service})
				}
			}
		}
		rcv.mu.Unlock()
		out, _ := proto.Marshal(&coltracepb.ExportTraceServiceResponse{})
		w.Header().Set("Content-Type", "application/x-protobuf")
		_, _ = w.Write(out)
	}))
	t.Cleanup(srv.Close)
	return rcv, srv.URL
}

func attr(attrs []*commonpb.KeyValue, key string) string {
	for _, kv := range attrs {
		if kv.Key == key {
			switch v := kv.Value.Value.(type) {
			case *commonpb.AnyValue_StringValue:
				return v.StringValue
			case *commonpb.AnyValue_IntValue:
				return fmt.Sprint(v.IntValue)
			}
		}
	}
	return ""
}

// waitFor returns the spans received once match finds one, within 10s.
func (rcv *otlpReceiver) waitFor(t *testing.T, what string, match func(receivedSpan) bool) receivedSpan {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		rcv.mu.Lock()
		for _, s := range rcv.spans {
			if match(s) {
				rcv.mu.Unlock()
				return s
			}
		}
		n := len(rcv.spans)
		rcv.mu.Unlock()
		if time.Now().After(deadline) {
			t.Fatalf("no span %s among %d received:\n%s", what, n, rcv.dump())
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func (rcv *otlpReceiver) all() []receivedSpan {
	rcv.mu.Lock()
	defer rcv.mu.Unlock()
	return append([]receivedSpan(nil), rcv.spans...)
}

func (rcv *otlpReceiver) dump() string {
	var b strings.Builder
	for _, s := range rcv.all() {
		fmt.Fprintf(&b, "  %s trace=%x span=%x parent=%x kind=%v\n", s.Name, s.TraceId, s.SpanId, s.ParentSpanId, s.Kind)
	}
	return b.String()
}

// TestTracing: with the standard OTEL_* variables pointing at an OTLP
// receiver, a request continues its caller's W3C trace as a server span
// named by route template, with its database statements (text, never
// arguments) beneath it; the request's log lines carry the trace id; the
// public short link starts its own trace, linked to the caller's; probes
// are not traced; a scheduled payout run is a trace whose Stripe call
// carries it on. OTEL_SDK_DISABLED turns it all off, and a variable the
// SDK cannot use stops the server naming it.
func TestTracing(t *testing.T) {
	dir := t.TempDir()
	rcv, endpoint := newOTLPReceiver(t)

	// Stripe's API behind a proxy that keeps the trace headers it is sent.
	mock, err := teststripe.URL()
	if err != nil {
		t.Fatal(err)
	}
	target, _ := url.Parse(mock)
	proxy := httputil.NewSingleHostReverseProxy(target)
	var stripeMu sync.Mutex
	var stripeTraceparents []string
	stripe := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if strings.HasSuffix(r.URL.Path, "/balance_transactions") {
			stripeMu.Lock()
			stripeTraceparents = append(stripeTraceparents, r.Header.Get("Traceparent"))
			stripeMu.Unlock()
		}
		proxy.ServeHTTP(w, r)
	}))
	t.Cleanup(stripe.Close)

	env := []string{"DATABASE_URL=" + testdb.PostgresURL(t), "JWT_SECRET=" + testJWTSecret, "REWARD_HOLD_DAYS=0",
		"STRIPE_WEBHOOK_SECRET=whsec_test", "STRIPE_SECRET_KEY=sk_test_123", "STRIPE_API_URL=" + stripe.URL,
		"OTEL_EXPORTER_OTLP_ENDPOINT=" + endpoint, "OTEL_EXPORTER_OTLP_PROTOCOL=http/protobuf",
		"OTEL_SERVICE_NAME=referral-tracing-test", "OTEL_BSP_SCHEDULE_DELAY=100"}
	tok := minter(t, dir, env)
	user, backend := tok("-sub", "tracer-user-1"), tok("-sub", "backend", "-roles", "service")

	// A variable the SDK cannot use stops the server, naming it.
	// (The SDK alone would log most of these and carry on without traces.)
	for _, bad := range []struct{ env, name string }{
		{"OTEL_TRACES_EXPORTER=zipkin-ish", "OTEL_TRACES_EXPORTER:"},
		{"OTEL_PROPAGATORS=tracecontext,nonesuch", "OTEL_PROPAGATORS:"},
		{"OTEL_EXPORTER_OTLP_PROTOCOL=carrier-pigeon", "OTEL_EXPORTER_OTLP_PROTOCOL:"},
		{"OTEL_EXPORTER_OTLP_ENDPOINT=" + strings.TrimPrefix(endpoint, "http://"), "OTEL_EXPORTER_OTLP_ENDPOINT:"},
		{"OTEL_TRACES_SAMPLER=sometimes", "OTEL_TRACES_SAMPLER:"},
		{"OTEL_BSP_SCHEDULE_DELAY=abc", "OTEL_BSP_SCHEDULE_DELAY:"},
		{"OTEL_SDK_DISABLED=maybe", "OTEL_SDK_DISABLED:"},
	} {
		_, stderr, err := runCmd(t, dir, append(append([]string{}, env...), bad.env, "HTTP_ADDR="+freeAddr(t)), "serve")
		if err == nil || !strings.Contains(stderr, bad.name) {
			t.Errorf("%s: err %v, stderr %s", bad.env, err, stderr)
		}
	}

	// Off: OTEL_SDK_DISABLED wins over an endpoint; nothing is sent.
	p := startServer(t, dir, append(append([]string{}, env...), "OTEL_SDK_DISABLED=true"))
	call(t, "GET", p.base+"/v1/me/referral-code", user, "")
	p.stop(t)
	if n := len(rcv.all()); n != 0 {
		t.Fatalf("OTEL_SDK_DISABLED=true: %d spans sent", n)
	}

	p = startServer(t, dir, append(env, "PAYOUT_SCHEDULE=* * * * * *"))
	traceA, parentA := "4bf92f3577b34da6a3ce929d0e0e4736", "00f067aa0ba902b7"
	req, _ := http.NewRequest("GET", p.base+"/v1/me/referral-code", nil)
	req.Header.Set("Authorization", "Bearer "+user)
	req.Header.Set("Traceparent", "00-"+traceA+"-"+parentA+"-01")
	res, err := http.DefaultClient.Do(req)
	if err != nil || res.StatusCode != http.StatusOK {
		t.Fatalf("GET /v1/me/referral-code: %v %v", res, err)
	}
	var code struct{ Code string }
	b, _ := io.ReadAll(res.Body)
	res.Body.Close()
	if err := json.Unmarshal(b, &code); err != nil || code.Code == "" {
		t.Fatalf("code: %s", b)
	}
	requestID := res.Header.Get("X-Request-Id")

	server := rcv.waitFor(t, "GET /v1/me/referral-code", func(s receivedSpan) bool { return s.Name == "GET /v1/me/referral-code" })
	if got := hex.EncodeToString(server.TraceId); got != traceA {
		t.Errorf("server span trace %s, want the caller's %s", got, traceA)
	}
	if got := hex.EncodeToString(server.ParentSpanId); got != parentA {
		t.Errorf("server span parent %s, want the caller's %s", got, parentA)
	}
	if server.Kind != tracepb.Span_SPAN_KIND_SERVER || server.service != "referral-tracing-test" {
		t.Errorf("server span kind %v, service %q", server.Kind, server.service)
	}
	for key, want := range map[string]string{"http.route": "/v1/me/referral-code", "http.response.status_code": "200", "request.id": requestID} {
		if got := attr(server.Attributes, key); got != want {
			t.Errorf("server span %s = %q, want %q", key, got, want)
		}
	}
	// Its statements, beneath it, with their text and not their arguments.
	stmt := rcv.waitFor(t, "a statement of the request", func(s receivedSpan) bool {
		return bytes.Equal(s.TraceId, server.TraceId) && bytes.Equal(s.ParentSpanId, server.SpanId) && attr(s.Attributes, "db.system.name") == "postgresql"
	})
	if stmt.Kind != tracepb.Span_SPAN_KIND_CLIENT || attr(stmt.Attributes, "db.query.text") == "" {
		t.Errorf("statement span: kind %v, attributes %v", stmt.Kind, stmt.Attributes)
	}
	for _, s := range rcv.all() {
		for _, kv := range s.Attributes {
			if strings.Contains(kv.Value.String(), "tracer-user-1") {
				t.Errorf("span %s carries the user id in %s: %s", s.Name, kv.Key, kv.Value)
			}
		}
	}
	// The request's log line names its trace.
	log, _ := p.waitLog(t, "request_id="+requestID)
	found := false
	for _, line := range strings.Split(log, "\n") {
		if strings.Contains(line, "request_id="+requestID) && strings.Contains(line, "trace_id="+traceA) {
			found = true
		}
	}
	if !found {
		t.Errorf("no log line with request_id=%s and trace_id=%s:\n%s", requestID, traceA, log)
	}

	// The public short link: its own trace, linked to the visitor's.
	traceB := "0af7651916cd43dd8448eb211c80319c"
	req, _ = http.NewRequest("GET", p.base+"/r/"+code.Code, nil)
	req.Header.Set("Traceparent", "00-"+traceB+"-b7ad6b7169203331-01")
	res, err = (&http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}).Do(req)
	if err != nil || res.StatusCode != http.StatusFound {
		t.Fatalf("short link: %v %v", res, err)
	}
	res.Body.Close()
	link := rcv.waitFor(t, "GET /r/:code", func(s receivedSpan) bool { return s.Name == "GET /r/:code" })
	if hex.EncodeToString(link.TraceId) == traceB || len(link.Links) != 1 || hex.EncodeToString(link.Links[0].TraceId) != traceB {
		t.Errorf("short link span: trace %x, links %v; want a new trace linked to %s", link.TraceId, link.Links, traceB)
	}
	if attr(link.Attributes, "http.route") != "/r/:code" {
		t.Errorf("short link route: %v", link.Attributes)
	}

	// A scheduled payout run is its own trace, and Stripe is told it.
	call(t, "POST", p.base+"/v1/referrals", backend, fmt.Sprintf(`{"referredUserId":"tracer-user-2","code":%q}`, code.Code))
	call(t, "POST", p.base+"/v1/payments", backend, `{"paymentId":"pay_trace_1","userId":"tracer-user-2","amount":10000,"currency":"usd"}`)
	cus, err := teststripe.VCurrent.Customer("cus_tracer1", "tracer-user-1")
	if err != nil {
		t.Fatal(err)
	}
	payload, err := teststripe.VCurrent.Event("evt_trace_cus", "customer.created", cus)
	if err != nil {
		t.Fatal(err)
	}
	signed := webhook.GenerateTestSignedPayload(&webhook.UnsignedPayload{Payload: payload, Secret: "whsec_test", Timestamp: time.Now()})
	req, _ = http.NewRequest("POST", p.base+"/v1/webhooks/stripe", bytes.NewReader(payload))
	req.Header.Set("Stripe-Signature", signed.Header)
	if res, err := http.DefaultClient.Do(req); err != nil || res.StatusCode != http.StatusOK {
		t.Fatalf("webhook: %v %v", res, err)
	}
	credit := rcv.waitFor(t, "a Stripe call", func(s receivedSpan) bool {
		return s.Kind == tracepb.Span_SPAN_KIND_CLIENT && attr(s.Attributes, "http.request.method") == "POST" &&
			strings.Contains(attr(s.Attributes, "url.full"), "/balance_transactions")
	})
	job := rcv.waitFor(t, "the payout job", func(s receivedSpan) bool {
		return s.Name == "job payouts" && bytes.Equal(s.TraceId, credit.TraceId)
	})
	if len(job.ParentSpanId) != 0 {
		t.Errorf("payout job span has a parent: %x", job.ParentSpanId)
	}
	stripeMu.Lock()
	sent := append([]string(nil), stripeTraceparents...)
	stripeMu.Unlock()
	want := "00-" + hex.EncodeToString(credit.TraceId) + "-" + hex.EncodeToString(credit.SpanId) + "-01"
	if len(sent) == 0 || sent[0] != want {
		t.Errorf("Stripe was sent traceparent %v, want %s", sent, want)
	}

	// Probes and scrapes are not traced.
	for range 3 {
		if res, err := http.Get(p.base + "/readyz"); err == nil {
			res.Body.Close()
		}
	}
	p.stop(t) // the shutdown flushes what is buffered
	for _, s := range rcv.all() {
		if s.Name == "GET" || strings.Contains(s.Name, "healthz") || strings.Contains(s.Name, "readyz") {
			t.Errorf("untraced route traced: %s %v", s.Name, s.Attributes)
		}
	}
}
