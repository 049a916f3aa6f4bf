// Package api is quell's HTTP API: alert intake, incidents, decisions,
// reports, health and metrics.
package api

import (
	"context"
	"crypto/subtle"
	"encoding/json"
	"errors"
	"log/slog"
	"net/http"
	"strings"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/quell-ir/quell/internal/alert"
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
	// Token, when set, is required as a bearer token on every /v1/ request
	// but Slack's, which Slack signs instead.
	Token    string
	Logger   *slog.Logger
	Registry *prometheus.Registry
	// Slack, when set, takes Slack's interaction requests (button clicks).
	Slack http.Handler
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

// Handler routes every endpoint.
func (s *Server) Handler() http.Handler {
	mux := http.NewServeMux()
	v1 := func(pattern string, h http.HandlerFunc) {
		mux.Handle(pattern, s.metrics.instrument(pattern, s.authorize(h)))
	}
	v1("POST /v1/alerts/falco", s.postAlert("falco", intake.ParseFalco))
	v1("POST /v1/alerts/trivy", s.postAlert("trivy", intake.ParseTrivy))
	v1("GET /v1/incidents", s.listIncidents)
	v1("GET /v1/incidents/{id}", s.getIncident)
	v1("POST /v1/incidents/{id}/decisions", s.postDecision)
	v1("GET /v1/incidents/{id}/report", s.getReport)
	if s.opts.Slack != nil {
		mux.Handle("POST /v1/slack/interactions", s.metrics.instrument("POST /v1/slack/interactions", s.opts.Slack))
	}
	mux.HandleFunc("GET /healthz", s.healthz)
	mux.Handle("GET /metrics", promhttp.HandlerFor(s.opts.Registry, promhttp.HandlerOpts{}))
	return mux
}

// authorize requires the bearer token when one is configured.
func (s *Server) authorize(next http.Handler) http.Handler {
	if s.opts.Token == "" {
		return next
	}
	want := []byte("Bearer " + s.opts.Token)
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		got := []byte(r.Header.Get("Authorization"))
		if subtle.ConstantTimeCompare(got, want) != 1 {
			w.Header().Set("WWW-Authenticate", `Bearer realm="quell"`)
			writeError(w, http.StatusUnauthorized, "missing or wrong bearer token")
			return
		}
		next.ServeHTTP(w, r)
	})
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

func writeError(w http.ResponseWriter, code int, msg string) {
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

func wantsJSON(r *http.Request) bool {
	f := r.URL.Query().Get("format")
	return f == "json" || (f == "" && strings.Contains(r.Header.Get("Accept"), "application/json"))
}
