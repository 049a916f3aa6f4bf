package api

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"time"

	"github.com/quell-ir/quell/internal/alert"
	"github.com/quell-ir/quell/internal/incident"
	"github.com/quell-ir/quell/internal/intake"
	"github.com/quell-ir/quell/playbooks"
)

// Planner works out what a playbook would do for an alert, changing
// nothing.
type Planner interface {
	// Plan returns the plan of the playbook that matches a or, when
	// playbookYAML is not empty, of that playbook. It wraps
	// incident.ErrUnmatched when no playbook (or not the one given)
	// matches, and incident.ErrBadRequest when the playbook is invalid.
	Plan(ctx context.Context, a alert.Alert, playbookYAML []byte) (playbooks.Plan, error)
}

// PlanRequest is the body of POST /v1/plan.
type PlanRequest struct {
	// Source is the alert's format: "falco" (the default), "trivy" or
	// "generic" (quell's own).
	Source string `json:"source,omitempty"`
	// Alert is the alert as its detector posts it.
	Alert json.RawMessage `json:"alert"`
	// Playbook is a playbook's YAML to plan instead of the one that matches.
	Playbook string `json:"playbook,omitempty"`
}

// maxPlanBytes bounds a plan request: an alert and a playbook.
const maxPlanBytes = 2 * MaxAlertBytes

// postPlan answers which playbook matches an alert and what its steps
// would change on the live unit; nothing is changed and no incident opens.
func (s *Server) postPlan(w http.ResponseWriter, r *http.Request) {
	if s.opts.Planner == nil {
		writeError(w, http.StatusNotImplemented, "this quell serves no plans")
		return
	}
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, maxPlanBytes))
	var tooBig *http.MaxBytesError
	if errors.As(err, &tooBig) {
		writeError(w, http.StatusRequestEntityTooLarge, fmt.Sprintf("plan request over %d bytes", maxPlanBytes))
		return
	}
	if err != nil {
		writeError(w, http.StatusBadRequest, "read plan request: "+err.Error())
		return
	}
	var req PlanRequest
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&req); err != nil {
		writeError(w, http.StatusBadRequest, "plan request: "+err.Error())
		return
	}
	if req.Source == "" {
		req.Source = "falco"
	}
	parse, ok := intake.Parsers[req.Source]
	if !ok || len(req.Alert) == 0 {
		writeError(w, http.StatusBadRequest, "plan request: want an alert and a source of falco, trivy or generic")
		return
	}
	a, err := parse(req.Alert, time.Now().UTC())
	if err != nil {
		writeError(w, http.StatusBadRequest, err.Error())
		return
	}
	plan, err := s.opts.Planner.Plan(r.Context(), a, []byte(req.Playbook))
	switch {
	case errors.Is(err, incident.ErrUnmatched):
		writeError(w, http.StatusUnprocessableEntity, err.Error())
	case err != nil:
		writeError(w, statusOf(err), err.Error())
	default:
		writeJSON(w, http.StatusOK, plan)
	}
}
