package api

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"

	"github.com/quell-ir/quell/internal/audit"
	"github.com/quell-ir/quell/internal/auth"
	"github.com/quell-ir/quell/internal/incident"
	"github.com/quell-ir/quell/internal/report"
)

func (s *Server) listIncidents(w http.ResponseWriter, r *http.Request) {
	list, err := s.opts.Incidents.List(r.Context())
	if err != nil {
		writeError(w, statusOf(err), "list incidents: "+err.Error())
		return
	}
	if list == nil {
		list = []incident.Summary{}
	}
	writeJSON(w, http.StatusOK, map[string]any{"incidents": list})
}

func (s *Server) getIncident(w http.ResponseWriter, r *http.Request) {
	inc, err := s.opts.Incidents.Get(r.Context(), r.PathValue("id"))
	if err != nil {
		writeError(w, statusOf(err), err.Error())
		return
	}
	writeJSON(w, http.StatusOK, inc)
}

// postDecision takes a decision on an approval step, made by the
// authenticated principal: a body naming another approver is refused, an
// empty one is filled in. Only with no credential configured at all does
// the body's approver stand (quell dev as it starts).
func (s *Server) postDecision(w http.ResponseWriter, r *http.Request) {
	p := principalOf(r)
	var d incident.DecisionRequest
	dec := json.NewDecoder(io.LimitReader(r.Body, 64<<10))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&d); err != nil {
		writeError(w, http.StatusBadRequest, "decision: "+err.Error())
		return
	}
	if p.Source != auth.SourceOpen {
		if d.Approver != "" && d.Approver != p.Name {
			msg := fmt.Sprintf("decision: approver %q is not the credential's principal %q: a decision is made under its maker's own name", d.Approver, p.Name)
			s.metrics.refused("decision", "approver_mismatch")
			s.audit(r, p, audit.Event{Action: "decision", Step: d.Step, Outcome: audit.Refused, Reason: msg})
			writeError(w, http.StatusBadRequest, msg)
			return
		}
		d.Approver = p.Name
	}
	if d.Step == "" || d.Approver == "" || d.Decision == "" {
		writeError(w, http.StatusBadRequest, "decision: step, decision and approver are required")
		return
	}
	got, err := s.opts.Incidents.Decide(r.Context(), r.PathValue("id"), d)
	if err != nil {
		outcome := audit.Failed
		if code := statusOf(err); code == http.StatusForbidden || code == http.StatusBadRequest || code == http.StatusConflict {
			outcome = audit.Refused
		}
		s.audit(r, p, audit.Event{Action: "decision", Step: d.Step, Outcome: outcome, Reason: d.Decision + " as " + d.Approver + ": " + err.Error()})
		writeError(w, statusOf(err), err.Error())
		return
	}
	s.audit(r, p, audit.Event{Action: "decision", Step: d.Step, Outcome: audit.Accepted, Reason: d.Decision + " as " + d.Approver})
	s.log.Info("decision", "incident", r.PathValue("id"), "step", d.Step, "decision", d.Decision, "approver", d.Approver, "via", p.Source)
	writeJSON(w, http.StatusOK, got)
}

func (s *Server) getReport(w http.ResponseWriter, r *http.Request) {
	f, ok := reportFormat(r)
	if !ok {
		writeError(w, http.StatusBadRequest, `format: want "md", "html" or "json"`)
		return
	}
	inc, err := s.opts.Incidents.Get(r.Context(), r.PathValue("id"))
	if err != nil {
		writeError(w, statusOf(err), err.Error())
		return
	}
	var buf bytes.Buffer
	if err := f.Render(&buf, inc, s.now()); err != nil {
		writeError(w, http.StatusInternalServerError, err.Error())
		return
	}
	w.Header().Set("Content-Type", f.ContentType)
	if f.Name == "html" {
		// The page's own policy, sent as a header too: it runs nothing
		// and loads nothing.
		w.Header().Set("Content-Security-Policy", report.HTMLPolicy)
	}
	_, _ = w.Write(buf.Bytes())
}

// reportFormat is the format ?format= names, or else the first of JSON and
// HTML that Accept names, or else Markdown.
func reportFormat(r *http.Request) (report.Format, bool) {
	name := r.URL.Query().Get("format")
	if name == "" {
		switch accept := r.Header.Get("Accept"); {
		case strings.Contains(accept, "application/json"):
			name = "json"
		case strings.Contains(accept, "text/html"):
			name = "html"
		default:
			name = "md"
		}
	}
	return report.FormatNamed(name)
}
