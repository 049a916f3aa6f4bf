package incident

import (
	"errors"
	"time"

	"github.com/quell-ir/quell/internal/alert"
)

// DecisionRequest is a responder's decision on an approval step as it
// crosses from the API or Slack to the incident workflow, where it is the
// argument of the decision update.
type DecisionRequest struct {
	Step     string `json:"step"`
	Decision string `json:"decision"`
	Approver string `json:"approver"`
	Comment  string `json:"comment"`
	// RequestID makes a retried request decide once; optional.
	RequestID string `json:"request_id,omitempty"`
}

// Opened is the answer to an alert that started or joined an incident.
type Opened struct {
	IncidentID   string `json:"incident_id"`
	Deduplicated bool   `json:"deduplicated"`
}

// Summary is one incident in a list.
type Summary struct {
	ID       string       `json:"id"`
	Status   string       `json:"status"`
	Playbook string       `json:"playbook"`
	Target   alert.Target `json:"target"`
	OpenedAt time.Time    `json:"opened_at"`
	ClosedAt *time.Time   `json:"closed_at,omitempty"`
}

// Errors that the incident service wraps, for its callers to tell apart.
var (
	// ErrNotFound: no such incident.
	ErrNotFound = errors.New("not found")
	// ErrForbidden: the approver may not decide the step.
	ErrForbidden = errors.New("forbidden")
	// ErrNotWaiting: the step is not waiting for a decision.
	ErrNotWaiting = errors.New("not waiting")
	// ErrBadRequest: the request itself is wrong.
	ErrBadRequest = errors.New("bad request")
	// ErrUnmatched: no playbook matches the alert, so no incident opens.
	ErrUnmatched = errors.New("no playbook matches")
	// ErrNoIncident: the alert only resolves, and no incident is open for
	// its unit.
	ErrNoIncident = errors.New("no open incident")
)
