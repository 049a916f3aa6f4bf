package api

import (
	"errors"
	"fmt"
	"io"
	"net/http"

	"github.com/quell-ir/quell/internal/intake"
	"github.com/quell-ir/quell/playbooks"
)

// postFalco takes a Falco or Falcosidekick alert. It answers 202 only once
// the incident workflow has durably recorded the alert.
func (s *Server) postFalco(w http.ResponseWriter, r *http.Request) {
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, MaxAlertBytes))
	var tooBig *http.MaxBytesError
	if errors.As(err, &tooBig) {
		s.metrics.alert("falco", "too_large")
		writeError(w, http.StatusRequestEntityTooLarge, fmt.Sprintf("alert body over %d bytes", MaxAlertBytes))
		return
	}
	if err != nil {
		s.metrics.alert("falco", "invalid")
		writeError(w, http.StatusBadRequest, "read alert: "+err.Error())
		return
	}
	a, err := intake.ParseFalco(body, s.now())
	if err != nil {
		s.metrics.alert("falco", "invalid")
		writeError(w, http.StatusBadRequest, err.Error())
		return
	}
	pb, ok := playbooks.Select(s.opts.Playbooks, a)
	if !ok {
		s.metrics.alert("falco", "unmatched")
		writeJSON(w, http.StatusOK, map[string]bool{"matched": false})
		return
	}
	opened, err := s.opts.Incidents.Open(r.Context(), a, pb)
	if err != nil {
		s.metrics.alert("falco", "error")
		s.log.Error("open incident", "rule", a.Rule, "digest", a.Digest, "err", err)
		writeError(w, statusOf(err), "open incident: "+err.Error())
		return
	}
	outcome := "incident"
	if opened.Deduplicated {
		outcome = "deduplicated"
	}
	s.metrics.alert("falco", outcome)
	s.log.Info("alert accepted", "rule", a.Rule, "incident", opened.IncidentID, "deduplicated", opened.Deduplicated)
	writeJSON(w, http.StatusAccepted, opened)
}
