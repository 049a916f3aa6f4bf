package playbooks

import (
	"errors"
	"fmt"
	"regexp"
	"slices"
	"time"
)

// Bounds and default of a step's timeout.
const (
	// MinTimeout is the shortest step timeout a playbook may set.
	MinTimeout = time.Second
	// MaxTimeout is the longest step timeout a playbook may set.
	MaxTimeout = 24 * time.Hour
	// DefaultStepTimeout is the timeout of a kind that declares none.
	DefaultStepTimeout = 5 * time.Minute
)

var (
	kindNamePattern  = regexp.MustCompile(`^[a-z0-9]+(:[a-z0-9-]+)?$`)
	paramNamePattern = regexp.MustCompile(`^[a-z][a-z0-9_]*$`)
)

// Kind describes a step kind as playbooks see it: what it does, the
// parameters it takes, how dangerous it is and what it needs. What runs it
// lives with the description, in workflows.Kind.
type Kind struct {
	// Name is "category:verb", e.g. "docker:isolate", or a bare word such as
	// "approval".
	Name string `json:"name"`
	// Description says in one sentence what the step does.
	Description string `json:"description"`
	// Params are the parameters a step of this kind takes in its "with".
	Params []Param `json:"params,omitempty"`
	// Destructive marks a kind that destroys or replaces its target; a
	// playbook must preserve the target (see Preserves) in an earlier step.
	Destructive bool `json:"destructive,omitempty"`
	// Preserves marks a kind that takes evidence of its target.
	Preserves bool `json:"preserves,omitempty"`
	// ReadOnly marks a kind that changes nothing of its target (it reads
	// or writes evidence and reports), so a dry-run playbook may run it
	// for real (dry_run: false on the step).
	ReadOnly bool `json:"read_only,omitempty"`
	// Gate marks a human gate, run by the workflow itself with no activity.
	Gate bool `json:"gate,omitempty"`
	// Needs lists the Docker API calls or Kubernetes RBAC verbs the kind
	// uses, e.g. "POST /networks/{id}/disconnect".
	Needs []string `json:"needs,omitempty"`
	// Undo says what undoes the step, in words or as the undo activity's
	// name; empty means the step cannot be undone.
	Undo string `json:"undo,omitempty"`
	// DefaultTimeout is the timeout of a step that sets none; 0 means
	// DefaultStepTimeout.
	DefaultTimeout time.Duration `json:"default_timeout"`
	// DefaultRetry is the retry policy of a step that sets none (gates have
	// none).
	DefaultRetry Retry `json:"default_retry"`
}

// Param describes one parameter of a step kind.
type Param struct {
	// Name is the key in a step's "with": lower-case, digits and underscores.
	Name string `json:"name"`
	// Type is one of ParamString, ParamBool, ParamInt, ParamDuration and
	// ParamStrings.
	Type string `json:"type"`
	// Default is the value used when a step leaves the parameter out; nil
	// for none. A duration default may be a time.Duration or a string.
	Default any `json:"default,omitempty"`
	// Required means a step must set the parameter; it has no default.
	Required bool `json:"required,omitempty"`
	// Enum, when set, lists the allowed values of a string parameter (or of
	// each element of a strings parameter).
	Enum []string `json:"enum,omitempty"`
	// Description says in one sentence what the parameter does.
	Description string `json:"description"`
}

// Registry holds the descriptions of the step kinds a playbook may use, for
// the loader and `quell steps`; workflows.NewRegistry builds it from the
// kinds it runs.
type Registry struct {
	kinds map[string]Kind
	names []string
}

// NewRegistry returns a registry of kinds. Invalid kinds (bad names,
// duplicates, bad parameters or defaults) are errors, all of them joined.
// Parameter defaults are stored in their normalised form, and a zero
// DefaultTimeout becomes DefaultStepTimeout.
func NewRegistry(kinds ...Kind) (*Registry, error) {
	r := &Registry{kinds: make(map[string]Kind, len(kinds))}
	var errs []error
	for _, k := range kinds {
		if _, dup := r.kinds[k.Name]; dup {
			errs = append(errs, fmt.Errorf("kind %q: registered twice", k.Name))
			continue
		}
		k, err := checkKind(k)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		r.kinds[k.Name] = k
		r.names = append(r.names, k.Name)
	}
	if err := errors.Join(errs...); err != nil {
		return nil, err
	}
	slices.Sort(r.names)
	return r, nil
}

// Kind returns the kind registered under name.
func (r *Registry) Kind(name string) (Kind, bool) {
	if r == nil {
		return Kind{}, false
	}
	k, ok := r.kinds[name]
	return k, ok
}

// Kinds returns every registered kind, sorted by name.
func (r *Registry) Kinds() []Kind {
	if r == nil {
		return nil
	}
	out := make([]Kind, 0, len(r.names))
	for _, n := range r.names {
		out = append(out, r.kinds[n])
	}
	return out
}

// preservers returns the names of the kinds that preserve evidence, sorted.
func (r *Registry) preservers() []string {
	var out []string
	for _, k := range r.Kinds() {
		if k.Preserves {
			out = append(out, k.Name)
		}
	}
	return out
}

// checkKind validates k and returns it with defaults normalised.
func checkKind(k Kind) (Kind, error) {
	var errs []error
	fail := func(format string, args ...any) {
		errs = append(errs, fmt.Errorf("kind %q: "+format, append([]any{k.Name}, args...)...))
	}
	if !kindNamePattern.MatchString(k.Name) {
		fail("name must match %s", kindNamePattern)
	}
	if k.Gate && (k.Destructive || k.Preserves) {
		fail("a gate runs no activity, so it can neither destroy nor preserve")
	}
	if k.DefaultTimeout == 0 {
		k.DefaultTimeout = DefaultStepTimeout
	}
	if k.DefaultTimeout < MinTimeout || k.DefaultTimeout > MaxTimeout {
		fail("default timeout %s out of range (want %s to %s)",
			shortDuration(k.DefaultTimeout), shortDuration(MinTimeout), shortDuration(MaxTimeout))
	}
	for _, msg := range k.DefaultRetry.problems() {
		fail("default %s", msg)
	}
	k.Params = slices.Clone(k.Params)
	seen := map[string]bool{}
	for i, p := range k.Params {
		if seen[p.Name] {
			fail("param %s: declared twice", p.Name)
		}
		seen[p.Name] = true
		var msgs []string
		k.Params[i], msgs = checkParam(p)
		for _, msg := range msgs {
			fail("param %s: %s", p.Name, msg)
		}
	}
	return k, errors.Join(errs...)
}

// checkParam validates a parameter's declaration and returns it with its
// default normalised.
func checkParam(p Param) (Param, []string) {
	var msgs []string
	if !paramNamePattern.MatchString(p.Name) {
		msgs = append(msgs, fmt.Sprintf("name must match %s", paramNamePattern))
	}
	if !slices.Contains(paramTypes, p.Type) {
		return p, append(msgs, fmt.Sprintf("unknown type %q", p.Type))
	}
	if len(p.Enum) > 0 && p.Type != ParamString && p.Type != ParamStrings {
		msgs = append(msgs, fmt.Sprintf("enum needs type string or strings, not %s", p.Type))
	}
	if p.Default == nil {
		return p, msgs
	}
	if p.Required {
		msgs = append(msgs, "required and has a default")
	}
	v, err := p.coerce(p.Default)
	if err != nil {
		return p, append(msgs, "default: "+err.Error())
	}
	p.Default = v
	return p, msgs
}
