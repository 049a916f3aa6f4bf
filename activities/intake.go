package activities

import (
	"context"

	"github.com/quell-ir/quell/internal/alert"
	"github.com/quell-ir/quell/internal/incident"
)

// AlertGroup is what an alert inbox holds for one unit: the alerts that
// join its incident, in the order quell took them.
type AlertGroup struct {
	// Unit is the workflow ID of the unit's incident.
	Unit string `json:"unit"`
	// Playbook names the playbook First matched.
	Playbook string `json:"playbook"`
	// First is the group's first alert in full: it opens the unit's
	// incident again if the one intake saw open has closed since.
	First alert.Alert `json:"first"`
	// Refs are the group's alerts, First's among them.
	Refs []incident.AlertRef `json:"refs"`
}

// ForwardInput is the input of ForwardAlerts.
type ForwardInput struct {
	Groups []AlertGroup `json:"groups"`
	// Request names this forwarding: retries of it signal no incident
	// twice (Temporal drops a signal whose request ID it has taken).
	Request string `json:"request"`
}

// ForwardResult says which groups did not reach their incident.
type ForwardResult struct {
	// Failed are the indexes in the input of the groups to send again.
	Failed []int `json:"failed,omitempty"`
	// Errors say why, one for each of Failed.
	Errors []string `json:"errors,omitempty"`
}

// Forwarder records alert groups in their units' incidents.
type Forwarder interface {
	// Forward signals each group to its unit's incident (or the
	// incident's alert tally), opening the incident again if it has
	// closed; it returns an error for each group, nil for those recorded.
	Forward(ctx context.Context, groups []AlertGroup, request string) []error
}

// Intake holds the activities of alert intake.
type Intake struct {
	Forwarder Forwarder
}

// ForwardAlerts passes an inbox's alerts on to their incidents. A group
// that fails is named in the result, not an error, so that one unit that
// cannot take its alerts holds up no other.
func (a *Intake) ForwardAlerts(ctx context.Context, in ForwardInput) (ForwardResult, error) {
	var out ForwardResult
	for i, err := range a.Forwarder.Forward(ctx, in.Groups, in.Request) {
		if err != nil {
			out.Failed = append(out.Failed, i)
			out.Errors = append(out.Errors, err.Error())
		}
	}
	return out, nil
}
