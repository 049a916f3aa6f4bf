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
	"github.com/quell-ir/quell/internal/intake"
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
		s.refuseAlert(w, source, err)
		return
	}
	opened, code, err := s.open(r, source, a)
	if err != nil {
		writeError(w, code, "open incident: "+err.Error())
		return
	}
	if code == http.StatusOK {
		writeJSON(w, code, map[string]any{"matched": false, "reason": opened.IncidentID})
		return
	}
	writeJSON(w, code, opened)
}

// postAlerts takes a body of several alerts (Alertmanager's webhook): each
// opens or joins its incident, and the answer comes once all are durably
// recorded. The sender retries the whole body on an error, which the
// alerts' idempotency keys make harmless.
func (s *Server) postAlerts(source string, parse func([]byte, time.Time) ([]alert.Alert, error)) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		body, ok := s.readAlert(w, r, source)
		if !ok {
			return
		}
		alerts, err := parse(body, s.now())
		if err != nil {
			s.refuseAlert(w, source, err)
			return
		}
		type answer struct {
			incident.Opened
			Matched bool   `json:"matched"`
			Reason  string `json:"reason,omitempty"`
		}
		out := make([]answer, 0, len(alerts))
		for _, a := range alerts {
			opened, code, err := s.open(r, source, a)
			if err != nil {
				writeError(w, code, fmt.Sprintf("open incident for alert %d of %d: %v", len(out)+1, len(alerts), err))
				return
			}
			if code == http.StatusOK {
				out = append(out, answer{Reason: opened.IncidentID})
				continue
			}
			out = append(out, answer{Opened: opened, Matched: true})
		}
		writeJSON(w, http.StatusAccepted, map[string]any{"alerts": out})
	}
}

// refuseAlert answers a payload the parser refused: 413 for one too large
// to keep, 400 otherwise, with the parser's reason.
func (s *Server) refuseAlert(w http.ResponseWriter, source string, err error) {
	if errors.Is(err, intake.ErrTooLarge) {
		s.metrics.alert(source, "too_large")
		writeError(w, http.StatusRequestEntityTooLarge, err.Error())
		return
	}
	s.metrics.alert(source, "invalid")
	writeError(w, http.StatusBadRequest, err.Error())
}

// open opens or joins the incident of one alert posted by the request's
// principal and returns the answer's status: 202 when recorded, 200 when
// nothing was to be recorded (the reason in IncidentID's place), or an
// error's status.
func (s *Server) open(r *http.Request, source string, a alert.Alert) (incident.Opened, int, error) {
	p := principalOf(r)
	a.PostedBy = p.Name
	opened, err := s.opts.Incidents.Open(r.Context(), a)
	switch {
	case errors.Is(err, incident.ErrUnmatched):
		s.metrics.alert(source, "unmatched")
		return incident.Opened{IncidentID: "no playbook matches"}, http.StatusOK, nil
	case errors.Is(err, incident.ErrNoIncident):
		s.metrics.alert(source, "unmatched")
		return incident.Opened{IncidentID: "resolved, and no incident is open for its unit"}, http.StatusOK, nil
	case err != nil:
		s.metrics.alert(source, "error")
		s.log.Error("open incident", "rule", a.Rule, "digest", a.Digest, "err", err)
		return incident.Opened{}, statusOf(err), err
	}
	outcome, joined := "incident", "opened the incident"
	if opened.Deduplicated {
		outcome, joined = "deduplicated", "joined the open incident"
	}
	s.metrics.alert(source, outcome)
	s.audit(r, p, audit.Event{Action: "alert." + source, Incident: opened.IncidentID, Outcome: audit.Accepted,
		Reason: fmt.Sprintf("rule %q %s", a.Rule, joined)})
	s.log.Info("alert accepted", "rule", a.Rule, "incident", opened.IncidentID, "deduplicated", opened.Deduplicated, "principal", p.Name)
	return opened, http.StatusAccepted, nil
}
