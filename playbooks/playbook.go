// Package playbooks holds the playbook schema as Go types, the strict YAML
// loader, validation, the step-kind registry and the built-in library of
// playbooks.
//
// A playbook says which alerts it answers (its Match) and the ordered steps
// quell runs for them. The incident workflow receives a validated Playbook as
// JSON input, so every type here round-trips through encoding/json without
// loss.
package playbooks

import "github.com/quell-ir/quell/internal/alert"

// What a step's failure does to the rest of the playbook.
const (
	// OnFailureAbort stops the playbook when the step fails (the default).
	OnFailureAbort = "abort"
	// OnFailureContinue records the failure and runs the next step.
	OnFailureContinue = "continue"
)

// Playbook is an ordered list of steps run for alerts that match it.
type Playbook struct {
	// Name identifies the playbook; lower-case letters, digits and dashes.
	Name string `yaml:"name" json:"name"`
	// Description says in human words what the playbook does and why.
	Description string `yaml:"description" json:"description,omitempty"`
	// Match selects the alerts the playbook answers.
	Match Match `yaml:"match" json:"match"`
	// Steps run in order.
	Steps []Step `yaml:"steps" json:"steps"`
	// DryRun runs every step as a dry run (see Step.DryRun): the incident
	// records what the playbook would have done and changes nothing.
	DryRun bool `yaml:"dry_run" json:"dry_run,omitempty"`
	// File is where the playbook was loaded from, when it came from a file.
	File string `yaml:"-" json:"file,omitempty"`
	// Digest is "sha256:" and the hex SHA-256 of the playbook's file as
	// loaded: the version an incident ran, recorded on it and its report.
	Digest string `yaml:"-" json:"digest,omitempty"`
}

// Match selects alerts. Every criterion must hold; empty criteria hold for
// any alert.
type Match struct {
	// Source is the detector family the alert must come from, e.g. "falco".
	Source string `yaml:"source" json:"source"`
	// Target is the kind of unit the alert must name ("docker",
	// "kubernetes" or "image"); empty matches any alert, even one naming
	// no unit.
	Target string `yaml:"target" json:"target,omitempty"`
	// MinPriority is the lowest priority that matches.
	MinPriority alert.Priority `yaml:"min_priority" json:"min_priority"`
	// Rules are rule names the alert's rule must match one of: exact names,
	// globs in path.Match syntax ("*" alone matches every rule, "/"
	// included), or "regex:<re>" (unanchored, Go syntax). Empty matches
	// any rule.
	Rules []string `yaml:"rules" json:"rules,omitempty"`
	// Tags must all be among the alert's tags.
	Tags []string `yaml:"tags" json:"tags,omitempty"`
	// RequiredFields are detector output fields (e.g. "proc.cmdline") that
	// must be present and non-empty, or target.* pseudo-fields (e.g.
	// "target.container_id") naming parts of the alert's target that must
	// be non-empty.
	RequiredFields []string `yaml:"required_fields" json:"required_fields,omitempty"`
	// MinSeverity is the lowest severity of an image scan's findings that
	// counts towards MinCount, one of alert.Severities; empty counts
	// findings of any severity.
	MinSeverity string `yaml:"min_severity" json:"min_severity,omitempty"`
	// MinCount is how many counted findings the alert must carry. When
	// any of MinSeverity, MinCount and Fixable is set, the alert must
	// carry a scan summary with at least max(MinCount, 1) counted
	// findings, so zero means one.
	MinCount int `yaml:"min_count" json:"min_count,omitempty"`
	// Fixable counts only findings that have a fixed version.
	Fixable bool `yaml:"fixable" json:"fixable,omitempty"`
	// Labels maps label names to patterns the alert's label of that name
	// must match, as Rules patterns do: an exact value, a glob, or
	// "regex:<re>". A label the alert lacks (or has empty) matches no
	// pattern. Alertmanager alerts and quell's own format carry labels.
	Labels map[string]string `yaml:"labels" json:"labels,omitempty"`
	// When is a CEL condition over the alert and its target that must
	// hold too, e.g. `alert.priority_level >= 6 && "shell" in alert.tags`;
	// type-checked when the playbook loads.
	When string `yaml:"when" json:"when,omitempty"`
}

// Step is one action of a playbook, run as a Temporal activity (or, for a
// gate kind, by the workflow itself).
type Step struct {
	// ID names the step within its playbook.
	ID string `yaml:"id" json:"id"`
	// Kind is the registered step kind, e.g. "docker:isolate".
	Kind string `yaml:"kind" json:"kind"`
	// With holds the kind's parameters. After Validate it holds every
	// parameter that has a value (defaults included), as string, bool, int
	// or []string; durations are canonical strings such as "1m30s".
	With map[string]any `yaml:"with" json:"with,omitempty"`
	// Timeout bounds one run of the step (for a gate: the wait for a human).
	Timeout Duration `yaml:"timeout" json:"timeout,omitempty"`
	// Retry is the step's retry policy; nil for gates.
	Retry *Retry `yaml:"retry" json:"retry,omitempty"`
	// OnFailure is OnFailureAbort or OnFailureContinue.
	OnFailure string `yaml:"on_failure" json:"on_failure"`
	// When is a CEL condition over the alert, the target and earlier
	// steps' results (steps.<id>.status, .summary, .error); the step is
	// skipped, and the timeline says why, when it does not hold. E.g.
	// `alert.priority != "emergency"`. Type-checked when the playbook loads.
	When string `yaml:"when" json:"when,omitempty"`
	// DryRun true records what the step would do and does nothing. In a
	// dry-run playbook every step is a dry run but the report; false runs
	// a read-only step (a snapshot, say) there for real.
	DryRun *bool `yaml:"dry_run" json:"dry_run,omitempty"`
}

// Retry is a step's retry policy, in the terms of Temporal's RetryPolicy.
// Zero fields leave Temporal's defaults in place; MaxAttempts 0 means
// unlimited attempts within the step's timeout.
type Retry struct {
	// MaxAttempts caps the attempts, the first included.
	MaxAttempts int `yaml:"max_attempts" json:"max_attempts,omitempty"`
	// InitialInterval is the wait before the first retry.
	InitialInterval Duration `yaml:"initial_interval" json:"initial_interval,omitempty"`
	// BackoffCoefficient multiplies the wait after each retry; at least 1.
	BackoffCoefficient float64 `yaml:"backoff_coefficient" json:"backoff_coefficient,omitempty"`
	// MaximumInterval caps the wait between retries.
	MaximumInterval Duration `yaml:"maximum_interval" json:"maximum_interval,omitempty"`
	// NonRetryable lists application error types that are never retried.
	NonRetryable []string `yaml:"non_retryable" json:"non_retryable,omitempty"`
}

// StepDryRun reports whether step i of p is a dry run: its own dry_run
// says so, or else the playbook's.
func (p Playbook) StepDryRun(i int) bool {
	if d := p.Steps[i].DryRun; d != nil {
		return *d
	}
	return p.DryRun
}

// Select returns the first playbook, in the order given, that matches a.
func Select(pbs []Playbook, a alert.Alert) (Playbook, bool) {
	for _, p := range pbs {
		if p.Match.Matches(a) {
			return p, true
		}
	}
	return Playbook{}, false
}
