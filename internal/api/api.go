// Package api is quell's HTTP API: alert intake, incidents, decisions,
// reports, health and metrics.
package api

import (
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"net/http"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/quell-ir/quell/internal/alert"
	"github.com/quell-ir/quell/internal/auth"
	"github.com/quell-ir/quell/internal/incident"
	"github.com/quell-ir/quell/internal/intake"
)

// MaxAlertBytes is the largest alert body accepted.
const MaxAlertBytes = 1 << 20

// Incidents is what the API needs of the incident workflows.
type Incidents interface {
	// Open picks the playbook that matches the alert and starts the
	// incident for the alert's unit, or joins the open one, once the alert
	// is durably recorded; wraps incident.ErrUnmatched when no playbook
	// matches.
	Open(ctx context.Context, a alert.Alert) (incident.Opened, error)
	// Get returns an incident's state; wraps incident.ErrNotFound.
	Get(ctx context.Context, id string) (incident.Incident, error)
	// List returns the incidents, newest first.
	List(ctx context.Context) ([]incident.Summary, error)
	// Decide takes a decision on an approval step; wraps
	// incident.ErrNotFound, ErrForbidden, ErrNotWaiting or ErrBadRequest.
	Decide(ctx context.Context, id string, d incident.DecisionRequest) (incident.Decision, error)
	// Health reports whether the incidents can be reached.
	Health(ctx context.Context) error
}

// Options configure a Server.
type Options struct {
	Incidents Incidents
	// Auth recognises the principal of every /v1/ request but Slack's,
	// which Slack signs instead; nil serves everyone as auth.Anonymous.
	Auth *auth.Authenticator
	// Intake checks the alert sources that have credentials of their own:
	// their routes take only that credential.
	Intake *auth.Intake
	// Audit records every change and every refusal; nil records nothing.
	Audit Auditor
	// MetricsToken, when set, puts /metrics behind a credential: this
	// token (by its hash) or a principal who may read metrics.
	MetricsToken *auth.Hash
	Logger       *slog.Logger
	Registry     *prometheus.Registry
	// Slack, when set, takes Slack's interaction requests (button clicks).
	Slack http.Handler
	// Labels maps Alertmanager's labels to a target; zero is
	// intake.DefaultLabelMap.
	Labels *intake.LabelMap
	// Planner answers POST /v1/plan; nil answers 501.
	Planner Planner
}

// Server serves the API.
type Server struct {
	opts    Options
	log     *slog.Logger
	metrics *metrics
	now     func() time.Time
}

// New returns a Server.
func New(opts Options) *Server {
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	if opts.Registry == nil {
		opts.Registry = prometheus.NewRegistry()
	}
	return &Server{opts: opts, log: opts.Logger, metrics: newMetrics(opts.Registry), now: time.Now}
}

// route is one /v1/ route and what it needs of the principal.
type route struct {
	// pattern is the method and path, as http.ServeMux takes them.
	pattern string
	// action names the route in metrics and the audit log.
	action string
	// need is the action the principal's role must hold.
	need auth.Action
	// source is an alert route's source: its own credential, when it has
	// one, is the only one the route takes.
	source string
	handle http.HandlerFunc
}

// routes lists every /v1/ route but Slack's, with what each needs.
func (s *Server) routes() []route {
	return []route{
		{"POST /v1/alerts/falco", "alert.falco", auth.PostAlert, "falco", s.postAlert("falco", intake.ParseFalco)},
		{"POST /v1/alerts/trivy", "alert.trivy", auth.PostAlert, "trivy", s.postAlert("trivy", intake.ParseTrivy)},
		{"POST /v1/alerts/alertmanager", "alert.alertmanager", auth.PostAlert, "alertmanager", s.postAlerts("alertmanager", s.parseAlertmanager)},
		{"POST /v1/alerts", "alert.generic", auth.PostAlert, "generic", s.postAlert("generic", intake.ParseGeneric)},
		{"GET /v1/incidents", "incidents.list", auth.Read, "", s.listIncidents},
		{"GET /v1/incidents/{id}", "incident.get", auth.Read, "", s.getIncident},
		{"POST /v1/incidents/{id}/decisions", "decision", auth.Decide, "", s.postDecision},
		{"GET /v1/incidents/{id}/report", "report.get", auth.Read, "", s.getReport},
		{"POST /v1/plan", "plan", auth.Read, "", s.postPlan},
	}
}

// Handler routes every endpoint: every /v1/ route behind its guard.
func (s *Server) Handler() http.Handler {
	mux := http.NewServeMux()
	for _, rt := range s.routes() {
		h := s.guard(rt.action, rt.need, rt.handle)
		if rt.source != "" && s.opts.Intake.Has(rt.source) {
			h = s.intakeGuard(rt.action, rt.source, rt.handle)
		}
		mux.Handle(rt.pattern, s.metrics.instrument(rt.pattern, h))
	}
	if s.opts.Slack != nil {
		mux.Handle("POST /v1/slack/interactions", s.metrics.instrument("POST /v1/slack/interactions", s.opts.Slack))
	}
	mux.HandleFunc("GET /healthz", s.healthz)
	mux.HandleFunc("GET /v1/schema/alert.json", serveSchema)
	mux.Handle("GET /metrics", s.metricsGuard(promhttp.HandlerFor(s.opts.Registry, promhttp.HandlerOpts{})))
	return mux
}

// parseAlertmanager reads Alertmanager's webhook with the label map of the
// options.
func (s *Server) parseAlertmanager(body []byte, receivedAt time.Time) ([]alert.Alert, error) {
	m := intake.DefaultLabelMap()
	if s.opts.Labels != nil {
		m = *s.opts.Labels
	}
	return intake.ParseAlertmanager(body, receivedAt, m)
}

// serveSchema serves the JSON Schema of quell's own alert format; it is
// documentation, open to all.
func serveSchema(w http.ResponseWriter, _ *http.Request) {
	w.Header().Set("Content-Type", "application/schema+json")
	_, _ = w.Write(intake.AlertSchema)
}

func (s *Server) healthz(w http.ResponseWriter, r *http.Request) {
	ctx, cancel := context.WithTimeout(r.Context(), 3*time.Second)
	defer cancel()
	if err := s.opts.Incidents.Health(ctx); err != nil {
		writeJSON(w, http.StatusServiceUnavailable, map[string]string{"status": "unavailable", "error": err.Error()})
		return
	}
	writeJSON(w, http.StatusOK, map[string]string{"status": "ok"})
}

func writeJSON(w http.ResponseWriter, code int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(code)
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	_ = enc.Encode(v)
}

// retryAfter is how many seconds a sender is asked to wait before it
// retries what quell could not record (503).
const retryAfter = "2"

func writeError(w http.ResponseWriter, code int, msg string) {
	if code == http.StatusServiceUnavailable {
		w.Header().Set("Retry-After", retryAfter)
	}
	writeJSON(w, code, map[string]string{"error": msg})
}

// statusOf maps an Incidents error to an HTTP status.
func statusOf(err error) int {
	switch {
	case errors.Is(err, incident.ErrNotFound):
		return http.StatusNotFound
	case errors.Is(err, incident.ErrForbidden):
		return http.StatusForbidden
	case errors.Is(err, incident.ErrNotWaiting):
		return http.StatusConflict
	case errors.Is(err, incident.ErrBadRequest):
		return http.StatusBadRequest
	case errors.Is(err, context.DeadlineExceeded):
		return http.StatusGatewayTimeout
	}
	return http.StatusServiceUnavailable
}
