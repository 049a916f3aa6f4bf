package api

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"

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

func (s *Server) postDecision(w http.ResponseWriter, r *http.Request) {
	var d incident.DecisionRequest
	dec := json.NewDecoder(io.LimitReader(r.Body, 64<<10))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&d); err != nil {
		writeError(w, http.StatusBadRequest, "decision: "+err.Error())
		return
	}
	if d.Step == "" || d.Approver == "" || d.Decision == "" {
		writeError(w, http.StatusBadRequest, "decision: step, decision and approver are required")
		return
	}
	got, err := s.opts.Incidents.Decide(r.Context(), r.PathValue("id"), d)
	if err != nil {
		writeError(w, statusOf(err), err.Error())
		return
	}
	s.log.Info("decision", "incident", r.PathValue("id"), "step", d.Step, "decision", d.Decision, "approver", d.Approver)
	writeJSON(w, http.StatusOK, got)
}

func (s *Server) getReport(w http.ResponseWriter, r *http.Request) {
	format := r.URL.Query().Get("format")
	if format != "" && format != "md" && format != "json" {
		writeError(w, http.StatusBadRequest, `format: want "md" or "json"`)
		return
	}
	inc, err := s.opts.Incidents.Get(r.Context(), r.PathValue("id"))
	if err != nil {
		writeError(w, statusOf(err), err.Error())
		return
	}
	var buf bytes.Buffer
	ctype := "text/markdown; charset=utf-8"
	if wantsJSON(r) {
		err, ctype = report.JSON(&buf, inc, s.now()), "application/json"
	} else {
		err = report.Markdown(&buf, inc, s.now())
	}
	if err != nil {
		writeError(w, http.StatusInternalServerError, err.Error())
		return
	}
	w.Header().Set("Content-Type", ctype)
	_, _ = w.Write(buf.Bytes())
}
