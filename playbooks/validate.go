package playbooks

import (
	"errors"
	"fmt"
	"github.com/quell-ir/quell/internal/alert"
	"regexp"
	"slices"
	"strings"
	"time"
)

var idPattern = regexp.MustCompile(`^[a-z0-9][a-z0-9-]*$`)

// problem is one validation problem. It remembers what it is about so that
// Parse can point at the right line.
type problem struct {
	step  int // index of the step it is about, or -1
	match bool
	msg   string
}

// Error returns the problem's message.
func (e *problem) Error() string { return e.msg }

// Validate applies defaults to p, then checks it against reg and returns
// every problem found, joined with errors.Join, or nil.
//
// Defaults, applied in place: a step's missing parameters take the kind's
// defaults and given ones are normalised (see Step.With); a zero timeout
// becomes the kind's; a nil retry becomes a copy of the kind's (gates keep
// none); an empty on_failure becomes OnFailureAbort; empty lists and maps
// become nil. Validate is idempotent.
//
// Each problem names what it is about: `playbook "<name>": ...`,
// `match: ...` or `step "<id>" (<kind>): ...`.
func (p *Playbook) Validate(reg *Registry) error {
	p.normalize()
	var errs []error
	if p.Name == "" {
		errs = append(errs, &problem{step: -1, msg: "playbook: name required"})
	} else if !idPattern.MatchString(p.Name) {
		errs = append(errs, &problem{step: -1, msg: fmt.Sprintf("playbook %q: name must match %s", p.Name, idPattern)})
	}
	for _, msg := range p.Match.problems() {
		errs = append(errs, &problem{step: -1, match: true, msg: msg})
	}
	if len(p.Steps) == 0 {
		errs = append(errs, &problem{step: -1, msg: fmt.Sprintf("playbook %q: no steps", p.Name)})
	}
	ids := map[string]int{}
	// An earlier snapshot that aborts; one that may be skipped. A playbook
	// for vulnerable images acts on no compromised unit, so there is nothing
	// to preserve before replacing: its units were never compromised.
	preserved, soft := p.Match.Target == alert.KindImage, ""
	for i := range p.Steps {
		s := &p.Steps[i]
		msgs := s.check(reg, i, ids)
		if k, ok := reg.Kind(s.Kind); ok {
			if p.DryRun && s.DryRun != nil && !*s.DryRun && !k.ReadOnly {
				msgs = append(msgs, "dry_run: false in a dry-run playbook, but the kind changes its target (only read-only kinds may run for real there)")
			}
			if k.Destructive && !preserved {
				msgs = append(msgs, destructiveProblem(reg, soft))
			}
			switch {
			case k.Preserves && s.OnFailure == OnFailureAbort:
				preserved = true
			case k.Preserves && soft == "":
				soft = strings.TrimPrefix(stepLabel(i, Step{ID: s.ID}), "step ")
			}
		}
		for _, msg := range msgs {
			errs = append(errs, &problem{step: i, msg: stepLabel(i, *s) + ": " + msg})
		}
	}
	return errors.Join(errs...)
}

// normalize turns empty lists and maps into nil, so that the value
// round-trips through JSON unchanged.
func (p *Playbook) normalize() {
	m := &p.Match
	m.Rules, m.Tags, m.RequiredFields = nilIfEmpty(m.Rules), nilIfEmpty(m.Tags), nilIfEmpty(m.RequiredFields)
	if len(m.Labels) == 0 {
		m.Labels = nil
	}
	for i := range p.Steps {
		s := &p.Steps[i]
		if len(s.With) == 0 {
			s.With = nil
		}
		if s.Retry != nil {
			s.Retry.NonRetryable = nilIfEmpty(s.Retry.NonRetryable)
		}
	}
}

// nilIfEmpty returns nil for an empty slice and s otherwise.
func nilIfEmpty(s []string) []string {
	if len(s) == 0 {
		return nil
	}
	return s
}

// stepLabel names step i in messages: `step "<id>" (<kind>)`, or
// `step #<n>` when it has no id.
func stepLabel(i int, s Step) string {
	label := fmt.Sprintf("step %q", s.ID)
	if s.ID == "" {
		label = fmt.Sprintf("step #%d", i+1)
	}
	if s.Kind != "" {
		label += " (" + s.Kind + ")"
	}
	return label
}

// destructiveProblem words the refusal of a destructive step with no
// earlier snapshot; soft names (quoted id or #n) an earlier snapshot whose
// failure is ignored.
func destructiveProblem(reg *Registry, soft string) string {
	if soft != "" {
		return fmt.Sprintf("destructive step's earlier snapshot %s has on_failure: continue "+
			"(make it abort, so that a failed snapshot stops the playbook)", soft)
	}
	kinds := reg.preservers()
	if len(kinds) == 0 {
		return "destructive step has no earlier snapshot of its target (and no registered kind preserves evidence)"
	}
	return fmt.Sprintf("destructive step has no earlier snapshot of its target (add an %s step before it)",
		strings.Join(kinds, " or "))
}

// check applies the kind's defaults to step i and returns its problems,
// not yet labelled. ids maps the ids seen so far to their step index.
func (s *Step) check(reg *Registry, i int, ids map[string]int) []string {
	var msgs []string
	switch j, dup := ids[s.ID]; {
	case s.ID == "":
		msgs = append(msgs, "id required")
	case !idPattern.MatchString(s.ID):
		msgs = append(msgs, fmt.Sprintf("id must match %s", idPattern))
	case dup:
		msgs = append(msgs, fmt.Sprintf("id already used by step #%d", j+1))
	default:
		ids[s.ID] = i
	}
	k, known := reg.Kind(s.Kind)
	switch {
	case s.Kind == "":
		msgs = append(msgs, "kind required")
	case !known:
		msgs = append(msgs, fmt.Sprintf("unknown kind %q", s.Kind))
	default:
		msgs = append(msgs, s.applyParams(k)...)
		msgs = append(msgs, s.applyPolicy(k)...)
	}
	if msg := condProblem("when", s.When); msg != "" {
		msgs = append(msgs, msg)
	}
	if s.OnFailure == "" {
		s.OnFailure = OnFailureAbort
	} else if s.OnFailure != OnFailureAbort && s.OnFailure != OnFailureContinue {
		msgs = append(msgs, fmt.Sprintf("on_failure %q unknown (want %s or %s)", s.OnFailure, OnFailureAbort, OnFailureContinue))
	}
	return msgs
}

// applyPolicy fills in the kind's timeout and retry and checks them.
func (s *Step) applyPolicy(k Kind) []string {
	var msgs []string
	if s.Timeout == 0 {
		s.Timeout = Duration(k.DefaultTimeout)
	}
	if d := time.Duration(s.Timeout); d < MinTimeout || d > MaxTimeout {
		msgs = append(msgs, fmt.Sprintf("timeout %s out of range (want %s to %s)",
			shortDuration(d), shortDuration(MinTimeout), shortDuration(MaxTimeout)))
	}
	switch {
	case k.Gate && s.Retry != nil:
		msgs = append(msgs, "retry: a gate is run by the workflow and never retried")
	case k.Gate:
	case s.Retry == nil:
		r := k.DefaultRetry
		r.NonRetryable = nilIfEmpty(slices.Clone(r.NonRetryable))
		s.Retry = &r
	default:
		msgs = append(msgs, s.Retry.problems()...)
	}
	return msgs
}

// problems returns every problem with r, each starting "retry: ".
func (r Retry) problems() []string {
	var out []string
	add := func(format string, args ...any) { out = append(out, "retry: "+fmt.Sprintf(format, args...)) }
	if r.MaxAttempts < 0 {
		add("max_attempts %d is negative", r.MaxAttempts)
	}
	if r.InitialInterval < 0 {
		add("initial_interval %s is negative", r.InitialInterval)
	}
	if r.MaximumInterval < 0 {
		add("maximum_interval %s is negative", r.MaximumInterval)
	}
	if r.BackoffCoefficient != 0 && r.BackoffCoefficient < 1 {
		add("backoff_coefficient %g is less than 1", r.BackoffCoefficient)
	}
	if r.InitialInterval > 0 && r.MaximumInterval > 0 && r.MaximumInterval < r.InitialInterval {
		add("maximum_interval %s is less than initial_interval %s", r.MaximumInterval, r.InitialInterval)
	}
	if slices.Contains(r.NonRetryable, "") {
		add("empty non_retryable error type")
	}
	return out
}

// shortDuration formats d without trailing zero units: "24h", not "24h0m0s".
func shortDuration(d time.Duration) string {
	s := d.String()
	if strings.HasSuffix(s, "m0s") {
		s = strings.TrimSuffix(s, "0s")
	}
	if strings.HasSuffix(s, "h0m") {
		s = strings.TrimSuffix(s, "0m")
	}
	return s
}
