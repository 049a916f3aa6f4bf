package playbooks

import "github.com/quell-ir/quell/internal/alert"

// Plan is what a playbook would do for one alert against the live state of
// its unit, worked out without changing anything (quell plan, POST
// /v1/plan, dry runs).
type Plan struct {
	// Playbook is the name of the playbook that matches; empty when none.
	Playbook string `json:"playbook"`
	// File is where the playbook was loaded from.
	File string `json:"file,omitempty"`
	// DryRun is set when the playbook itself is a dry run.
	DryRun bool `json:"dry_run,omitempty"`
	// Rule, Priority and Target are the alert's.
	Rule     string         `json:"rule"`
	Priority alert.Priority `json:"priority"`
	Target   alert.Target   `json:"target"`
	// Notes say what of the live state could not be read.
	Notes []string `json:"notes,omitempty"`
	// Steps are the playbook's steps in order.
	Steps []PlannedStep `json:"steps"`
}

// PlannedStep is what one step would do.
type PlannedStep struct {
	ID   string `json:"id"`
	Kind string `json:"kind"`
	// Run is false for a step whose condition would not hold.
	Run bool `json:"run"`
	// Why says why the step would not run, or that its condition holds.
	Why string `json:"why,omitempty"`
	// DryRun is set when the step would run as a dry run.
	DryRun bool `json:"dry_run,omitempty"`
	// Destructive marks a step that destroys or replaces its target.
	Destructive bool `json:"destructive,omitempty"`
	// Changes are what the step would change (or read), one line each:
	// networks to cut, containers to replace, image IDs to delete.
	Changes []string `json:"changes"`
}
