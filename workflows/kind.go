package workflows

import (
	"encoding/json"
	"errors"
	"fmt"
	"reflect"
	"slices"
	"strings"

	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/workflow"

	"github.com/quell-ir/quell/activities"
	"github.com/quell-ir/quell/playbooks"
)

// Kind is one step kind, whole: how playbooks see it (description,
// parameters, needs, undo) and how the incident workflow runs it (task
// queue, priority, the function). Each kind is one value in a file of its
// own, listed once in Kinds.
type Kind struct {
	playbooks.Kind
	// Queue is the task queue of the kind's activities; empty is TaskQueue.
	Queue string
	// Contains marks containment: its activities are matched before any
	// other (PriorityContain) and a worker's heavy work waits for them.
	Contains bool
	// Always marks a kind that runs even when an earlier step stopped the
	// playbook (the report).
	Always bool

	// run runs step i of the incident's playbook and summarises what it did.
	run func(r *response, ctx workflow.Context, i int) (string, error)
	// params is the type of the struct the kind's parameters decode into.
	params reflect.Type
}

// step is what a kind's function gets: the validated step, its index in
// the playbook, and its parameters decoded into P.
type step[P any] struct {
	playbooks.Step
	// index is the step's position in the playbook.
	index int
	// P holds the step's parameters, defaults filled in.
	P P
}

// none is the parameter struct of a kind that takes no parameters.
type none struct{}

// define returns kind k whose steps run as run does (workflow.Context
// first, so that workflowcheck sees run as workflow code and checks it), with parameters of
// type P: a struct with one field per declared parameter, named by its
// json tag, of the Go type the parameter's type maps to (string, bool,
// int, playbooks.Duration, []string). NewRegistry checks that they agree.
func define[P any](k Kind, run func(ctx workflow.Context, r *response, s step[P]) (string, error)) Kind {
	k.params = reflect.TypeFor[P]()
	k.run = func(r *response, ctx workflow.Context, i int) (string, error) {
		s := r.in.Playbook.Steps[i]
		p, err := decodeParams[P](s)
		if err != nil {
			return "", err
		}
		return run(ctx, r, step[P]{Step: s, index: i, P: p})
	}
	return k
}

// decodeParams decodes a validated step's parameters into P. Validation
// has already checked and normalised them, so an error here means the
// playbook in the workflow's input was never validated.
func decodeParams[P any](s playbooks.Step) (P, error) {
	var p P
	if len(s.With) == 0 {
		return p, nil
	}
	b, err := json.Marshal(s.With)
	if err == nil {
		err = json.Unmarshal(b, &p)
	}
	if err != nil {
		return p, temporal.NewNonRetryableApplicationError(
			fmt.Sprintf("step %q (%s): params: %v", s.ID, s.Kind, err), activities.ErrTypeBadPlaybook, err)
	}
	return p, nil
}

// goTypes maps parameter types to the Go types their fields take.
var goTypes = map[string]reflect.Type{
	playbooks.ParamString:   reflect.TypeFor[string](),
	playbooks.ParamBool:     reflect.TypeFor[bool](),
	playbooks.ParamInt:      reflect.TypeFor[int](),
	playbooks.ParamDuration: reflect.TypeFor[playbooks.Duration](),
	playbooks.ParamStrings:  reflect.TypeFor[[]string](),
}

// checkParams reports every disagreement between a kind's declared
// parameters and the fields of its parameter struct.
func (k Kind) checkParams() []error {
	var errs []error
	fail := func(format string, args ...any) {
		errs = append(errs, fmt.Errorf("kind %q: "+format, append([]any{k.Name}, args...)...))
	}
	if k.params == nil || k.params.Kind() != reflect.Struct {
		fail("parameters are not a struct")
		return errs
	}
	fields := map[string]reflect.Type{}
	for i := range k.params.NumField() {
		f := k.params.Field(i)
		name, _, _ := strings.Cut(f.Tag.Get("json"), ",")
		if name == "" || name == "-" {
			fail("param field %s has no json name", f.Name)
			continue
		}
		fields[name] = f.Type
	}
	for _, p := range k.Params {
		t, ok := fields[p.Name]
		switch {
		case !ok:
			fail("param %s: no field in %s", p.Name, k.params)
		case t != goTypes[p.Type]:
			fail("param %s: field is %s, want %s for type %s", p.Name, t, goTypes[p.Type], p.Type)
		}
		delete(fields, p.Name)
	}
	for name := range fields {
		fail("field %s of %s: no such param declared", name, k.params)
	}
	return errs
}

// Registry holds the step kinds the incident workflow runs. It is built
// once, in main, from Kinds, and passed to the playbook loader, the worker
// and the workflow: dispatch, queues, priorities, the containment gate and
// `quell steps` all derive from it.
type Registry struct {
	playbooks *playbooks.Registry
	kinds     map[string]Kind
}

// NewRegistry returns the registry of kinds. A kind with no function, with
// parameters its struct does not match, or invalid as playbooks.NewRegistry
// sees it, is an error; all of them are joined.
func NewRegistry(kinds ...Kind) (*Registry, error) {
	r := &Registry{kinds: make(map[string]Kind, len(kinds))}
	var errs []error
	descs := make([]playbooks.Kind, 0, len(kinds))
	for _, k := range kinds {
		if k.run == nil {
			errs = append(errs, fmt.Errorf("kind %q: no function to run", k.Name))
		}
		errs = append(errs, k.checkParams()...)
		if k.Gate && (k.Queue != "" || k.Contains) {
			errs = append(errs, fmt.Errorf("kind %q: a gate runs no activity, so it has no queue and contains nothing", k.Name))
		}
		r.kinds[k.Name] = k
		descs = append(descs, k.Kind)
	}
	pr, err := playbooks.NewRegistry(descs...)
	if err := errors.Join(append(errs, err)...); err != nil {
		return nil, err
	}
	r.playbooks = pr
	// The playbook registry normalised the descriptions (defaults).
	for name, k := range r.kinds {
		k.Kind, _ = pr.Kind(name)
		r.kinds[name] = k
	}
	return r, nil
}

// Playbooks returns the kinds as the playbook loader and `quell steps`
// see them.
func (r *Registry) Playbooks() *playbooks.Registry { return r.playbooks }

// Kind returns the kind registered under name.
func (r *Registry) Kind(name string) (Kind, bool) {
	k, ok := r.kinds[name]
	return k, ok
}

// Names returns the registered kinds' names, sorted.
func (r *Registry) Names() []string {
	names := make([]string, 0, len(r.kinds))
	for n := range r.kinds {
		names = append(names, n)
	}
	slices.Sort(names)
	return names
}

// QueueOf returns the task queue of a step kind's activities.
func (r *Registry) QueueOf(kind string) string {
	if k, ok := r.kinds[kind]; ok && k.Queue != "" {
		return k.Queue
	}
	return TaskQueue
}

// PriorityOf returns the priority of a step kind's activities among the
// tasks of their queue: containment first, the default for the rest.
func (r *Registry) PriorityOf(kind string) temporal.Priority {
	if k, ok := r.kinds[kind]; ok && k.Contains {
		return temporal.Priority{PriorityKey: PriorityContain}
	}
	return temporal.Priority{}
}

// Queues returns every task queue the kinds' activities run on, TaskQueue
// first, then the others sorted.
func (r *Registry) Queues() []string {
	out := []string{TaskQueue}
	for _, k := range r.kinds {
		if k.Queue != "" && !slices.Contains(out, k.Queue) {
			out = append(out, k.Queue)
		}
	}
	slices.Sort(out[1:])
	return out
}
