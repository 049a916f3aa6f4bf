package api

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"net/http"
	"time"

	"github.com/quell-ir/quell/internal/alert"
	"github.com/quell-ir/quell/internal/audit"
	"github.com/quell-ir/quell/internal/auth"
	"github.com/quell-ir/quell/internal/incident"
)

// parser turns a detector's payload into an alert.
type parser func(body []byte, receivedAt time.Time) (alert.Alert, error)

// postAlert takes a detector's alert. It answers 202 only once the incident
// workflow has durably recorded the alert.
func (s *Server) postAlert(source string, parse parser) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) { s.takeAlert(w, r, source, parse) }
}

// readAlert reads an alert's body, at most MaxAlertBytes; it answers the
// request itself when it cannot.
func (s *Server) readAlert(w http.ResponseWriter, r *http.Request, source string) ([]byte, bool) {
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, MaxAlertBytes))
	var tooBig *http.MaxBytesError
	if errors.As(err, &tooBig) {
		s.metrics.alert(source, "too_large")
		writeError(w, http.StatusRequestEntityTooLarge, fmt.Sprintf("alert body over %d bytes", MaxAlertBytes))
		return nil, false
	}
	if err != nil {
		s.metrics.alert(source, "invalid")
		writeError(w, http.StatusBadRequest, "read alert: "+err.Error())
		return nil, false
	}
	return body, true
}

// intakeGuard lets an alert through only with its source's own credential
// (a token, or a signature of the raw body); the handler reads the body
// the guard read.
func (s *Server) intakeGuard(action, source string, next http.HandlerFunc) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		body, ok := s.readAlert(w, r, source)
		if !ok {
			return
		}
		p, err := s.opts.Intake.Verify(source, r.Header, body)
		if err != nil {
			s.refuse(w, r, action, auth.Principal{}, err)
			return
		}
		r.Body = io.NopCloser(bytes.NewReader(body))
		next(w, withPrincipal(r, p))
	}
}

func (s *Server) takeAlert(w http.ResponseWriter, r *http.Request, source string, parse parser) {
	body, ok := s.readAlert(w, r, source)
	if !ok {
		return
	}
	a, err := parse(body, s.now())
	if err != nil {
		s.metrics.alert(source, "invalid")
		writeError(w, http.StatusBadRequest, err.Error())
		return
	}
	p := principalOf(r)
	a.PostedBy = p.Name
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
	outcome, joined := "incident", "opened the incident"
	if opened.Deduplicated {
		outcome, joined = "deduplicated", "joined the open incident"
	}
	s.metrics.alert(source, outcome)
	s.audit(r, p, audit.Event{Action: "alert." + source, Incident: opened.IncidentID, Outcome: audit.Accepted,
		Reason: fmt.Sprintf("rule %q %s", a.Rule, joined)})
	s.log.Info("alert accepted", "rule", a.Rule, "incident", opened.IncidentID, "deduplicated", opened.Deduplicated, "principal", p.Name)
	writeJSON(w, http.StatusAccepted, opened)
}
