package workflows

import (
	"fmt"
	"strings"

	"github.com/quell-ir/quell/activities"
	"github.com/quell-ir/quell/internal/alert"
	"github.com/quell-ir/quell/internal/docker"
	"github.com/quell-ir/quell/internal/incident"
	"github.com/quell-ir/quell/playbooks"
)

// planView is what a kind's plan reads: the step, the live state of the
// unit, and the units the incident would hold by then.
type planView struct {
	step  playbooks.Step
	live  activities.InspectUnitResult
	units []docker.Container
}

// planners say, for the kinds that change or read the live unit, what a
// step would change, worked out from the live state alone; the other
// kinds are described by their registry description.
var planners = map[string]func(v planView) []string{
	KindIsolate:  planIsolate,
	KindSnapshot: planSnapshot,
	KindDiscover: func(v planView) []string {
		return []string{fmt.Sprintf("find the containers of image %s: %d other(s) now%s",
			shortImage(v.live.ImageID), len(v.live.Siblings), names(v.live.Siblings))}
	},
	KindReplace: func(v planView) []string {
		return eachContainer(v.units, "replace container %s (%s) by a container of the clean image; the old one is renamed <name>-quarantined-<incident> and stopped")
	},
	KindRemove: func(v planView) []string {
		return eachContainer(v.units, "remove the quarantined container %s (%s)")
	},
	KindDelete: func(v planView) []string {
		if v.live.ImageID == "" {
			return []string{"delete the bad image (not known: the target was not inspected)"}
		}
		return []string{fmt.Sprintf("delete image %s once no container uses it, with the evidence image committed from it", v.live.ImageID)}
	},
	KindRebuild: func(v planView) []string {
		return []string{fmt.Sprintf("rebuild a clean image for %s (image %s) from its trusted source", orText(v.live.Container.Image, "the bad image"), shortImage(v.live.ImageID))}
	},
}

// PlanOf works out what pb would do for a, given the live state of its
// unit, changing nothing: each step's condition evaluated as if the steps
// before it succeeded, and what each would change.
func (r *Registry) PlanOf(pb playbooks.Playbook, a alert.Alert, live activities.InspectUnitResult) playbooks.Plan {
	p := playbooks.Plan{Playbook: pb.Name, File: pb.File, DryRun: pb.DryRun, Rule: a.Rule, Priority: a.Priority, Target: a.Target}
	if live.Note != "" {
		p.Notes = append(p.Notes, live.Note)
	}
	target := a.Target
	if c := live.Container; c.ID != "" {
		target.ContainerID, target.ContainerName, target.ImageID = c.ID, c.Name, c.ImageID
	}
	facts := playbooks.Facts{Alert: a, Target: target, Steps: map[string]playbooks.StepFacts{}}
	for _, s := range pb.Steps {
		facts.Steps[s.ID] = playbooks.StepFacts{Kind: s.Kind, Status: incident.StepPending}
	}
	var units []docker.Container
	if live.Container.ID != "" {
		units = append(units, live.Container)
	}
	for i, s := range pb.Steps {
		k, _ := r.Kind(s.Kind)
		ps := playbooks.PlannedStep{ID: s.ID, Kind: s.Kind, Run: true, Destructive: k.Destructive,
			DryRun: pb.StepDryRun(i) && !k.Always}
		if s.When != "" {
			holds, err := playbooks.EvalCondition(s.When, facts)
			switch {
			case err != nil:
				ps.Run, ps.Why = false, "the step would fail: "+err.Error()
			case !holds:
				ps.Run, ps.Why = false, fmt.Sprintf("condition %s does not hold", s.When)
			default:
				ps.Why = fmt.Sprintf("condition %s holds", s.When)
			}
		}
		if s.Kind == KindDiscover && ps.Run {
			units = append(units, live.Siblings...)
		}
		ps.Changes = r.changes(s, live, units)
		status := incident.StepSucceeded
		if !ps.Run {
			status = incident.StepSkipped
		}
		facts.Steps[s.ID] = playbooks.StepFacts{Kind: s.Kind, Status: status}
		p.Steps = append(p.Steps, ps)
	}
	return p
}

// changes says what step s would change, given the live state and the
// units the incident would hold by then.
func (r *Registry) changes(s playbooks.Step, live activities.InspectUnitResult, units []docker.Container) []string {
	if plan, ok := planners[s.Kind]; ok {
		return plan(planView{step: s, live: live, units: units})
	}
	k, _ := r.Kind(s.Kind)
	return []string{k.Description}
}

// planIsolate lists the networks isolation would cut and the pause.
func planIsolate(v planView) []string {
	c := v.live.Container
	if c.ID == "" {
		return []string{"cut the container off every network and pause it (not inspected)"}
	}
	var out []string
	for _, n := range c.Networks {
		line := fmt.Sprintf("disconnect container %s (%s) from network %s", c.Name, short(c.ID), n.Network)
		if n.IPv4 != "" {
			line += " (" + n.IPv4 + ")"
		}
		out = append(out, line)
	}
	if len(c.Networks) == 0 {
		out = append(out, fmt.Sprintf("container %s (%s) is on no network: nothing to cut", c.Name, short(c.ID)))
	}
	switch {
	case c.Paused:
		out = append(out, fmt.Sprintf("container %s is already paused", c.Name))
	case c.Running:
		out = append(out, fmt.Sprintf("pause container %s (%s)", c.Name, short(c.ID)))
	default:
		out = append(out, fmt.Sprintf("container %s is not running: nothing to pause", c.Name))
	}
	return out
}

// planSnapshot lists what the snapshot would preserve.
func planSnapshot(v planView) []string {
	p, err := decodeParams[snapshotParams](v.step)
	if err != nil {
		return []string{err.Error()}
	}
	parts := []string{"inspect", "filesystem changes"}
	for _, opt := range []struct {
		on   bool
		what string
	}{{p.Logs, "logs"}, {p.Processes, "processes"}, {p.Export, "filesystem export"}, {p.Commit, "committed image"}} {
		if opt.on {
			parts = append(parts, opt.what)
		}
	}
	name := orText(v.live.Container.Name, "the container")
	return []string{fmt.Sprintf("preserve %s as evidence (read only): %s", name, strings.Join(parts, ", "))}
}

// eachContainer formats line (name, short ID) for every container.
func eachContainer(cs []docker.Container, line string) []string {
	if len(cs) == 0 {
		return []string{"no container known to act on (the target was not inspected)"}
	}
	out := make([]string, len(cs))
	for i, c := range cs {
		out[i] = fmt.Sprintf(line, c.Name, short(c.ID))
	}
	return out
}

// names lists containers' names for a plan line: ": a, b" or "".
func names(cs []docker.Container) string {
	if len(cs) == 0 {
		return ""
	}
	ns := make([]string, len(cs))
	for i, c := range cs {
		ns[i] = c.Name
	}
	return ": " + strings.Join(ns, ", ")
}
