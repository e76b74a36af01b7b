package telemetry

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"strings"

	"go.opentelemetry.io/contrib/exporters/autoexport"
	"go.opentelemetry.io/contrib/instrumentation/net/http/otelhttp"
	"go.opentelemetry.io/contrib/propagators/autoprop"
	"go.opentelemetry.io/otel"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/metric/noop"
	"go.opentelemetry.io/otel/propagation"
	"go.opentelemetry.io/otel/sdk/resource"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	semconv "go.opentelemetry.io/otel/semconv/v1.37.0"
	"go.opentelemetry.io/otel/trace"
)

// ServiceName is the OpenTelemetry service.name unless OTEL_SERVICE_NAME
// or OTEL_RESOURCE_ATTRIBUTES name another.
const ServiceName = "referral-service"

// Tracing is OpenTelemetry tracing as the standard OTEL_* variables
// configure it: the exporter (OTEL_TRACES_EXPORTER, OTEL_EXPORTER_OTLP_*),
// the sampler (OTEL_TRACES_SAMPLER[_ARG]), the batcher (OTEL_BSP_*), the
// propagators (OTEL_PROPAGATORS) and the resource (OTEL_SERVICE_NAME,
// OTEL_RESOURCE_ATTRIBUTES).
type Tracing struct {
	provider   *sdktrace.TracerProvider
	propagator propagation.TextMapPropagator
}

// TracingEnabled reports whether the environment asks for traces: an
// exporter named (other than "none"), or an OTLP endpoint set, and the SDK
// not disabled. Without either, nothing is traced and nothing is sent:
// the service does not try a collector nobody configured.
func TracingEnabled(getenv func(string) string) bool {
	if strings.EqualFold(strings.TrimSpace(getenv("OTEL_SDK_DISABLED")), "true") {
		return false
	}
	if exp := strings.TrimSpace(getenv("OTEL_TRACES_EXPORTER")); exp != "" {
		return exp != "none"
	}
	return getenv("OTEL_EXPORTER_OTLP_ENDPOINT") != "" || getenv("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT") != ""
}

// NewTracing sets up tracing when the environment asks for it (see
// TracingEnabled), and returns nil when it does not. The exporter, sampler
// and batcher read the process environment themselves. A variable the SDK
// cannot use is an error naming it (see CheckOTelEnv), whether tracing is
// on or not.
func NewTracing(ctx context.Context, getenv func(string) string, version string, log *slog.Logger) (*Tracing, error) {
	if err := CheckOTelEnv(getenv); err != nil {
		return nil, err
	}
	if !TracingEnabled(getenv) {
		return nil, nil
	}
	// What the SDK cannot do later (an export that fails) is logged as the
	// service logs, not through the standard library's logger.
	otel.SetErrorHandler(otel.ErrorHandlerFunc(func(err error) {
		log.Warn("opentelemetry", "error", err)
	}))
	exporter, err := autoexport.NewSpanExporter(ctx)
	if err != nil {
		return nil, fmt.Errorf("OTEL_TRACES_EXPORTER / OTEL_EXPORTER_OTLP_*: %w", err)
	}
	// The service's own name and version first; the environment's resource
	// attributes override them.
	res, err := resource.New(ctx,
		resource.WithAttributes(semconv.ServiceName(ServiceName), semconv.ServiceVersion(version)),
		resource.WithTelemetrySDK(), resource.WithHost(), resource.WithFromEnv())
	if err != nil && !errors.Is(err, resource.ErrPartialResource) {
		_ = exporter.Shutdown(ctx)
		return nil, fmt.Errorf("OTEL_RESOURCE_ATTRIBUTES / OTEL_SERVICE_NAME: %w", err)
	}
	propagator, err := propagators(getenv("OTEL_PROPAGATORS"))
	if err != nil {
		_ = exporter.Shutdown(ctx)
		return nil, err
	}
	tp := sdktrace.NewTracerProvider(sdktrace.WithBatcher(exporter), sdktrace.WithResource(res))
	// Libraries that trace through the globals (the GORM plugin's metrics
	// aside, which are off) see the same provider and propagators.
	otel.SetTracerProvider(tp)
	otel.SetTextMapPropagator(propagator)
	return &Tracing{provider: tp, propagator: propagator}, nil
}

// propagators reads OTEL_PROPAGATORS (default: W3C trace context and
// baggage). An unknown name is an error, not silently dropped.
func propagators(v string) (propagation.TextMapPropagator, error) {
	if strings.TrimSpace(v) == "" {
		return propagation.NewCompositeTextMapPropagator(propagation.TraceContext{}, propagation.Baggage{}), nil
	}
	names := strings.Split(v, ",")
	for i := range names {
		names[i] = strings.TrimSpace(names[i])
	}
	p, err := autoprop.TextMapPropagator(names...)
	if err != nil {
		return nil, fmt.Errorf("OTEL_PROPAGATORS: %w", err)
	}
	return p, nil
}

// noopMeters keeps otelhttp from recording metrics of its own: /metrics
// (Prometheus) has the request counts already.
var noopMeters = noop.NewMeterProvider()

// Provider is the tracer provider, for instrumented libraries.
func (t *Tracing) Provider() trace.TracerProvider { return t.provider }

// Shutdown sends the spans still buffered and stops the exporter.
func (t *Tracing) Shutdown(ctx context.Context) error { return t.provider.Shutdown(ctx) }

// Handler traces every request h serves as a server span, continuing the
// caller's trace (W3C traceparent unless OTEL_PROPAGATORS names others).
// The span is named by the method until the router names it by the route
// template (see NameServerSpan). Probes and scrapes are not traced. On the
// public, unauthenticated routes a caller's trace is linked, not joined, so
// an anonymous visitor cannot steer the sampling.
func (t *Tracing) Handler(h http.Handler) http.Handler {
	return otelhttp.NewHandler(h, "http.server",
		otelhttp.WithTracerProvider(t.provider), otelhttp.WithPropagators(t.propagator),
		otelhttp.WithMeterProvider(noopMeters),
		otelhttp.WithSpanNameFormatter(func(_ string, r *http.Request) string { return r.Method }),
		otelhttp.WithFilter(func(r *http.Request) bool {
			switch r.URL.Path {
			case "/healthz", "/readyz", "/metrics":
				return false
			}
			return true
		}),
		otelhttp.WithPublicEndpointFn(func(r *http.Request) bool {
			return strings.HasPrefix(r.URL.Path, "/r/") || strings.HasPrefix(r.URL.Path, "/v1/codes/")
		}),
	)
}

// Transport traces outgoing calls (Stripe's API) as client spans and
// passes the trace on to the server called. On a nil Tracing it returns
// rt unchanged.
func (t *Tracing) Transport(rt http.RoundTripper) http.RoundTripper {
	if t == nil {
		return rt
	}
	return otelhttp.NewTransport(rt, otelhttp.WithTracerProvider(t.provider), otelhttp.WithPropagators(t.propagator),
		otelhttp.WithMeterProvider(noopMeters))
}

// Job traces each run of a scheduled job as a root span named "job "+name
// (its statements and Stripe calls beneath it); on a nil Tracing it
// returns run unchanged.
func (t *Tracing) Job(name string, run func(context.Context) error) func(context.Context) error {
	if t == nil {
		return run
	}
	tracer := t.provider.Tracer("github.com/refhub/referral-service/internal/schedule")
	return func(ctx context.Context) error {
		ctx, span := tracer.Start(ctx, "job "+name, trace.WithNewRoot(), trace.WithSpanKind(trace.SpanKindInternal))
		defer span.End()
		err := run(ctx)
		if err != nil {
			span.RecordError(err)
			span.SetStatus(codes.Error, err.Error())
		}
		return err
	}
}

// NameServerSpan names the request's server span, when it is traced, by
// its route template (never the raw path, which carries codes and ids) and
// adds the request id, so a trace and the log lines of its request can be
// found from each other. It costs nothing when tracing is off.
func NameServerSpan(ctx context.Context, method, route, requestID string) {
	span := trace.SpanFromContext(ctx)
	if !span.IsRecording() {
		return
	}
	span.SetName(method + " " + route)
	span.SetAttributes(semconv.HTTPRoute(route), attribute.String("request.id", requestID))
}
