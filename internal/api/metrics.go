package api

import (
	"net/http"
	"strconv"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// metrics are the API's Prometheus metrics.
type metrics struct {
	alerts      *prometheus.CounterVec
	requests    *prometheus.HistogramVec
	refusals    *prometheus.CounterVec
	auditErrors prometheus.Counter
}

func newMetrics(reg prometheus.Registerer) *metrics {
	m := &metrics{
		alerts: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "quell_alerts_total",
			Help: "Alerts received, by source and outcome (incident, deduplicated, unmatched, invalid, too_large, error).",
		}, []string{"source", "outcome"}),
		requests: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "quell_http_request_duration_seconds",
			Help:    "HTTP API request latency, by route and status code.",
			Buckets: []float64{.001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5},
		}, []string{"route", "code"}),
		refusals: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "quell_api_refusals_total",
			Help: "Requests refused, by action and reason (no_credential, bad_credential, forbidden, approver_mismatch, unavailable).",
		}, []string{"action", "reason"}),
		auditErrors: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "quell_audit_errors_total",
			Help: "Changes and refusals the audit log could not record.",
		}),
	}
	reg.MustRegister(m.alerts, m.requests, m.refusals, m.auditErrors)
	return m
}

func (m *metrics) refused(action, reason string) {
	m.refusals.WithLabelValues(action, reason).Inc()
}

func (m *metrics) alert(source, outcome string) {
	m.alerts.WithLabelValues(source, outcome).Inc()
}

// instrument times every request to a route.
func (m *metrics) instrument(route string, next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		rec := &statusRecorder{ResponseWriter: w, code: http.StatusOK}
		next.ServeHTTP(rec, r)
		m.requests.WithLabelValues(route, strconv.Itoa(rec.code)).Observe(time.Since(start).Seconds())
	})
}

type statusRecorder struct {
	http.ResponseWriter
	code int
}

func (s *statusRecorder) WriteHeader(code int) {
	s.code = code
	s.ResponseWriter.WriteHeader(code)
}
