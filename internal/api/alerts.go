package api

import (
	"errors"
	"fmt"
	"io"
	"net/http"
	"time"

	"github.com/quell-ir/quell/internal/alert"
	"github.com/quell-ir/quell/internal/incident"
)

// parser turns a detector's payload into an alert.
type parser func(body []byte, receivedAt time.Time) (alert.Alert, error)

// postAlert takes a detector's alert. It answers 202 only once the incident
// workflow has durably recorded the alert.
func (s *Server) postAlert(source string, parse parser) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) { s.takeAlert(w, r, source, parse) }
}

func (s *Server) takeAlert(w http.ResponseWriter, r *http.Request, source string, parse parser) {
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, MaxAlertBytes))
	var tooBig *http.MaxBytesError
	if errors.As(err, &tooBig) {
		s.metrics.alert(source, "too_large")
		writeError(w, http.StatusRequestEntityTooLarge, fmt.Sprintf("alert body over %d bytes", MaxAlertBytes))
		return
	}
	if err != nil {
		s.metrics.alert(source, "invalid")
		writeError(w, http.StatusBadRequest, "read alert: "+err.Error())
		return
	}
	a, err := parse(body, s.now())
	if err != nil {
		s.metrics.alert(source, "invalid")
		writeError(w, http.StatusBadRequest, err.Error())
		return
	}
	opened, err := s.opts.Incidents.Open(r.Context(), a)
	if errors.Is(err, incident.ErrUnmatched) {
		s.metrics.alert(source, "unmatched")
		writeJSON(w, http.StatusOK, map[string]bool{"matched": false})
		return
	}
	if err != nil {
		s.metrics.alert(source, "error")
		s.log.Error("open incident", "rule", a.Rule, "digest", a.Digest, "err", err)
		writeError(w, statusOf(err), "open incident: "+err.Error())
		return
	}
	outcome := "incident"
	if opened.Deduplicated {
		outcome = "deduplicated"
	}
	s.metrics.alert(source, outcome)
	s.log.Info("alert accepted", "rule", a.Rule, "incident", opened.IncidentID, "deduplicated", opened.Deduplicated)
	writeJSON(w, http.StatusAccepted, opened)
}
