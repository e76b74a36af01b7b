// Package telemetry holds the Prometheus registry and the instruments the
// rest of the service is handed: HTTP requests by route template, clicks,
// Stripe events, payouts and the database pools.
package telemetry

import (
	"database/sql"
	"net/http"
	"strconv"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
)

// Metrics are the service's instruments on their own registry.
type Metrics struct {
	registry     *prometheus.Registry
	httpRequests *prometheus.CounterVec
	httpDuration *prometheus.HistogramVec
	stripeEvents *prometheus.CounterVec
	payouts      *prometheus.CounterVec
	outboxTries  *prometheus.CounterVec
	outboxTime   *prometheus.HistogramVec
	outboxQueue  *prometheus.GaugeVec
	outboxAge    *prometheus.GaugeVec
}

// New registers the instruments, and Go's and the process's own.
func New() *Metrics {
	m := &Metrics{registry: prometheus.NewRegistry()}
	m.httpRequests = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "referral_http_requests_total", Help: "HTTP requests answered, by route template, method and status.",
	}, []string{"route", "method", "status"})
	m.httpDuration = prometheus.NewHistogramVec(prometheus.HistogramOpts{
		Name: "referral_http_request_duration_seconds", Help: "Time to answer an HTTP request, by route template and method.",
		Buckets: []float64{.0005, .001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10},
	}, []string{"route", "method"})
	m.stripeEvents = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "referral_stripe_events_total", Help: "Stripe webhook events, by type and outcome (processed, duplicate, ignored, invalid, failed).",
	}, []string{"type", "outcome"})
	m.payouts = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "referral_payouts_total", Help: "Payout outcomes recorded, by method and status (paid, failed).",
	}, []string{"method", "status"})
	m.outboxTries = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "referral_outbox_attempts_total", Help: "Delivery attempts of events (webhooks, email), by sink and what became of the task (succeeded, pending = retried later, failed, skipped).",
	}, []string{"sink", "status"})
	m.outboxTime = prometheus.NewHistogramVec(prometheus.HistogramOpts{
		Name: "referral_outbox_attempt_duration_seconds", Help: "Time one delivery attempt took, by sink.",
		Buckets: []float64{.005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10, 15, 30},
	}, []string{"sink"})
	m.outboxQueue = prometheus.NewGaugeVec(prometheus.GaugeOpts{
		Name: "referral_outbox_pending", Help: "Deliveries not finished yet (due, or waiting for a retry), by sink.",
	}, []string{"sink"})
	m.outboxAge = prometheus.NewGaugeVec(prometheus.GaugeOpts{
		Name: "referral_outbox_oldest_pending_seconds", Help: "Age of the oldest delivery not finished yet, by sink (0 when none).",
	}, []string{"sink"})
	m.registry.MustRegister(m.httpRequests, m.httpDuration, m.stripeEvents, m.payouts, m.outboxTries, m.outboxTime, m.outboxQueue, m.outboxAge,
		collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	return m
}

// Handler serves the Prometheus text format.
func (m *Metrics) Handler() http.Handler {
	return promhttp.HandlerFor(m.registry, promhttp.HandlerOpts{Registry: m.registry})
}

// Route is one route's pre-resolved instruments, for the hot short-link
// path: no label lookup per request.
type Route struct {
	m       *Metrics
	route   string
	method  string
	byCode  map[int]prometheus.Counter
	latency prometheus.Observer
}

// Route returns the instruments of route and method, resolved for the
// given statuses in advance (others are resolved when they occur).
func (m *Metrics) Route(route, method string, statuses ...int) *Route {
	r := &Route{m: m, route: route, method: method, byCode: map[int]prometheus.Counter{},
		latency: m.httpDuration.WithLabelValues(route, method)}
	for _, s := range statuses {
		r.byCode[s] = m.httpRequests.WithLabelValues(route, method, strconv.Itoa(s))
	}
	return r
}

// Observe counts one request answered with status after d.
func (r *Route) Observe(status int, d time.Duration) {
	c, ok := r.byCode[status]
	if !ok {
		c = r.m.httpRequests.WithLabelValues(r.route, r.method, strconv.Itoa(status))
	}
	c.Inc()
	r.latency.Observe(d.Seconds())
}

// ObserveRequest counts a request of route (its template) and method.
func (m *Metrics) ObserveRequest(route, method string, status int, d time.Duration) {
	m.httpRequests.WithLabelValues(route, method, strconv.Itoa(status)).Inc()
	m.httpDuration.WithLabelValues(route, method).Observe(d.Seconds())
}

// StripeEvent counts a Stripe event's outcome.
func (m *Metrics) StripeEvent(typ, outcome string) {
	m.stripeEvents.WithLabelValues(typ, outcome).Inc()
}

// Expect creates the series a scrape should show from the start, at zero:
// without them an alert on a rate or a dashboard sees "no data" until the
// first event of each kind. stripe lists (type, outcome) pairs; payouts
// (method, status) pairs.
func (m *Metrics) Expect(stripe, payouts [][2]string) {
	for _, p := range stripe {
		m.stripeEvents.WithLabelValues(p[0], p[1])
	}
	for _, p := range payouts {
		m.payouts.WithLabelValues(p[0], p[1])
	}
}

// ExpectOutbox creates the outbox series of each sink at zero.
func (m *Metrics) ExpectOutbox(sinks []string) {
	for _, sink := range sinks {
		for _, status := range []string{"succeeded", "pending", "failed", "skipped"} {
			m.outboxTries.WithLabelValues(sink, status)
		}
		m.outboxTime.WithLabelValues(sink)
		m.outboxQueue.WithLabelValues(sink)
		m.outboxAge.WithLabelValues(sink)
	}
}

// Attempt counts one delivery attempt (outbox.Observer).
func (m *Metrics) Attempt(sink, status string, d time.Duration) {
	m.outboxTries.WithLabelValues(sink, status).Inc()
	m.outboxTime.WithLabelValues(sink).Observe(d.Seconds())
}

// Backlog sets a sink's backlog gauges (outbox.Observer).
func (m *Metrics) Backlog(sink string, pending int, oldest time.Duration) {
	m.outboxQueue.WithLabelValues(sink).Set(float64(pending))
	m.outboxAge.WithLabelValues(sink).Set(oldest.Seconds())
}

// PayoutFinished counts a payout's recorded outcome.
func (m *Metrics) PayoutFinished(method, status string) {
	m.payouts.WithLabelValues(method, status).Inc()
}

// ClickStats is what the click writer reports.
type ClickStats struct {
	Batches, Written, Lost, Failures uint64
	Backlog                          int
}

// WatchClicks exports the click writer's counters, read at each scrape.
func (m *Metrics) WatchClicks(stats func() ClickStats) {
	counter := func(name, help string, f func(ClickStats) uint64) prometheus.Collector {
		return prometheus.NewCounterFunc(prometheus.CounterOpts{Name: name, Help: help}, func() float64 { return float64(f(stats())) })
	}
	m.registry.MustRegister(
		counter("referral_click_batches_written_total", "Click batches stored.", func(s ClickStats) uint64 { return s.Batches }),
		counter("referral_clicks_written_total", "Clicks stored.", func(s ClickStats) uint64 { return s.Written }),
		counter("referral_clicks_lost_total", "Clicks given up at a shutdown deadline.", func(s ClickStats) uint64 { return s.Lost }),
		counter("referral_click_write_failures_total", "Failed click batch writes (retried).", func(s ClickStats) uint64 { return s.Failures }),
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: "referral_click_backlog", Help: "Clicks answered but not stored yet."},
			func() float64 { return float64(stats().Backlog) }),
	)
}

// WatchDB exports a connection pool's statistics under pool's name.
func (m *Metrics) WatchDB(pool string, db *sql.DB) {
	m.registry.MustRegister(prometheus.WrapCollectorWith(prometheus.Labels{"pool": pool}, collectors.NewDBStatsCollector(db, "referral")))
}
