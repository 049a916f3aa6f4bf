package app

import (
	"context"
	"fmt"

	"github.com/quell-ir/quell/activities"
	"github.com/quell-ir/quell/internal/alert"
	"github.com/quell-ir/quell/internal/docker"
	"github.com/quell-ir/quell/internal/incident"
	"github.com/quell-ir/quell/playbooks"
	"github.com/quell-ir/quell/workflows"
)

// Planner works out what the playbooks would do for an alert against the
// live unit, changing nothing: quell plan and POST /v1/plan.
type Planner struct {
	// Kinds is the registry of step kinds the playbooks are checked against.
	Kinds *workflows.Registry
	// Playbooks are matched against the alert when no playbook is given.
	Playbooks []playbooks.Playbook
	// Inspect reads the unit: on the local daemon for quell plan, through
	// the Docker host's worker for the API. nil plans without the live
	// state.
	Inspect func(ctx context.Context, t alert.Target) (activities.InspectUnitResult, error)
}

// NewPlanner returns a planner that reads the unit on the Docker daemon at
// host (the environment's when empty), as config.Docker.Host names it.
func NewPlanner(host string, kinds *workflows.Registry, pbs []playbooks.Playbook) (*Planner, error) {
	rt, err := docker.New(host)
	if err != nil {
		return nil, err
	}
	r := &activities.Recovery{Containers: rt}
	return &Planner{Kinds: kinds, Playbooks: pbs, Inspect: func(ctx context.Context, t alert.Target) (activities.InspectUnitResult, error) {
		return r.InspectUnit(ctx, activities.InspectUnitInput{Target: t})
	}}, nil
}

// Plan returns the plan for a of the playbook that matches it or, when
// playbookYAML is not empty, of that playbook (validated first; its
// errors are returned). No playbook matching wraps incident.ErrUnmatched.
// A unit that cannot be read is a note on the plan, not an error.
func (p *Planner) Plan(ctx context.Context, a alert.Alert, playbookYAML []byte) (playbooks.Plan, error) {
	var pb playbooks.Playbook
	if len(playbookYAML) > 0 {
		var err error
		if pb, err = playbooks.Parse("playbook", playbookYAML, p.Kinds.Playbooks()); err != nil {
			return playbooks.Plan{}, fmt.Errorf("%w: %w", incident.ErrBadRequest, err)
		}
		if !pb.Match.Matches(a) {
			return playbooks.Plan{}, fmt.Errorf("playbook %q does not match the alert (rule %q, %s): %w", pb.Name, a.Rule, a.Priority, incident.ErrUnmatched)
		}
	} else {
		var ok bool
		if pb, ok = playbooks.Select(p.Playbooks, a); !ok {
			return playbooks.Plan{}, fmt.Errorf("alert rule %q (%s, source %s): %w", a.Rule, a.Priority, a.Source, incident.ErrUnmatched)
		}
	}
	var live activities.InspectUnitResult
	if p.Inspect != nil {
		var err error
		if live, err = p.Inspect(ctx, a.Target); err != nil {
			live = activities.InspectUnitResult{Note: "the unit could not be read: " + err.Error()}
		}
	} else {
		live.Note = "no Docker daemon: the unit was not read"
	}
	return p.Kinds.PlanOf(pb, a, live), nil
}
