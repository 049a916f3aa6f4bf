package playbooks

import (
	"encoding/json"
	"errors"
	"fmt"
	"reflect"
	"strings"
	"sync"
	"time"

	"github.com/google/cel-go/cel"
	"github.com/google/cel-go/ext"

	"github.com/quell-ir/quell/internal/alert"
)

// Conditions are CEL expressions (https://cel.dev, the language of
// Kubernetes admission policies) that must evaluate to a bool. They read
// three variables:
//
//	alert   the normalised alert: source, event_source, rule, priority (its
//	        lower-case name), priority_level (0 debug .. 7 emergency),
//	        output, tags, hostname, fields (each value a string: numbers and
//	        lists as JSON writes them), labels, annotations, status,
//	        time, vulnerabilities.counts and vulnerabilities.fixable
//	target  the unit as the incident knows it now: kind, host, cluster,
//	        container_id, container_name, image, image_id, namespace, pod,
//	        resource, object, repo_tags
//	steps   the playbook's steps by id: kind, status (pending, succeeded,
//	        failed, skipped, ...), summary and error
//
// e.g. `alert.priority_level >= 7 || "shell" in alert.tags` or
// `steps.preserve.status == "succeeded"`.

// condCostLimit bounds one evaluation, so that no alert makes a condition
// run long: CEL has no loops, but its macros walk lists.
const condCostLimit = 1_000_000

// Facts is what a condition reads.
type Facts struct {
	// Alert is the alert that opened the incident.
	Alert alert.Alert `json:"alert"`
	// Target is the unit as the incident knows it (after containment it
	// names the image ID); the alert's target when zero.
	Target alert.Target `json:"target"`
	// Steps are the playbook's steps so far, by id.
	Steps map[string]StepFacts `json:"steps,omitempty"`
}

// StepFacts is what a condition reads of one step.
type StepFacts struct {
	Kind    string `json:"kind"`
	Status  string `json:"status"`
	Summary string `json:"summary"`
	Error   string `json:"error"`
}

// condAlert is the alert as conditions see it.
type condAlert struct {
	Source          string            `json:"source"`
	EventSource     string            `json:"event_source"`
	Rule            string            `json:"rule"`
	Priority        string            `json:"priority"`
	PriorityLevel   int               `json:"priority_level"`
	Output          string            `json:"output"`
	Tags            []string          `json:"tags"`
	Hostname        string            `json:"hostname"`
	Fields          map[string]string `json:"fields"`
	Labels          map[string]string `json:"labels"`
	Annotations     map[string]string `json:"annotations"`
	Status          string            `json:"status"`
	Time            time.Time         `json:"time"`
	Vulnerabilities condVulns         `json:"vulnerabilities"`
}

// condVulns is an image scan's summary as conditions see it.
type condVulns struct {
	Counts  map[string]int `json:"counts"`
	Fixable map[string]int `json:"fixable"`
}

// condTarget is the target as conditions see it.
type condTarget struct {
	Kind          string   `json:"kind"`
	Host          string   `json:"host"`
	Cluster       string   `json:"cluster"`
	ContainerID   string   `json:"container_id"`
	ContainerName string   `json:"container_name"`
	Image         string   `json:"image"`
	ImageID       string   `json:"image_id"`
	Namespace     string   `json:"namespace"`
	Pod           string   `json:"pod"`
	Resource      string   `json:"resource"`
	Object        string   `json:"object"`
	RepoTags      []string `json:"repo_tags"`
}

var (
	condEnv = sync.OnceValues(func() (*cel.Env, error) {
		return cel.NewEnv(
			ext.NativeTypes(reflect.TypeFor[condAlert](), reflect.TypeFor[condTarget](),
				reflect.TypeFor[StepFacts](), ext.ParseStructTag("json")),
			cel.Variable("alert", cel.ObjectType("playbooks.condAlert")),
			cel.Variable("target", cel.ObjectType("playbooks.condTarget")),
			cel.Variable("steps", cel.MapType(cel.StringType, cel.ObjectType("playbooks.StepFacts"))),
			ext.Strings(),
		)
	})
	// programs caches compiled conditions by expression: playbooks hold
	// few, and every alert matched evaluates them.
	programs sync.Map // string -> cel.Program
)

// compileCond type-checks a condition and returns its program. Its error
// names each problem's position in the expression: "1:7: undeclared
// reference to 'alrt'".
func compileCond(expr string) (cel.Program, error) {
	if p, ok := programs.Load(expr); ok {
		return p.(cel.Program), nil
	}
	env, err := condEnv()
	if err != nil {
		return nil, fmt.Errorf("condition environment: %w", err)
	}
	checked, iss := env.Compile(expr)
	if iss.Err() != nil {
		var msgs []string
		for _, e := range iss.Errors() {
			msgs = append(msgs, fmt.Sprintf("%d:%d: %s", e.Location.Line(), e.Location.Column()+1, e.Message))
		}
		return nil, errors.New(strings.Join(msgs, "; "))
	}
	if t := checked.OutputType(); !t.IsExactType(cel.BoolType) {
		return nil, fmt.Errorf("evaluates to %s, want bool", t)
	}
	prg, err := env.Program(checked, cel.CostLimit(condCostLimit))
	if err != nil {
		return nil, err
	}
	programs.Store(expr, prg)
	return prg, nil
}

// condProblem checks a condition for Validate: "" or the problem, naming
// the expression and the position in it.
func condProblem(field, expr string) string {
	if expr == "" {
		return ""
	}
	if _, err := compileCond(expr); err != nil {
		return fmt.Sprintf("%s %q: %v", field, expr, err)
	}
	return ""
}

// EvalCondition evaluates condition expr over f. A condition that does not
// type-check, or whose evaluation fails (a key the alert lacks, say: guard
// it with has() or `in`), is an error naming the expression.
func EvalCondition(expr string, f Facts) (bool, error) {
	prg, err := compileCond(expr)
	if err != nil {
		return false, fmt.Errorf("condition %q: %w", expr, err)
	}
	if f.Target.Kind == "" && f.Target.ContainerID == "" && f.Target.Pod == "" && f.Target.ImageID == "" {
		f.Target = f.Alert.Target
	}
	steps := f.Steps
	if steps == nil {
		steps = map[string]StepFacts{}
	}
	out, _, err := prg.Eval(map[string]any{
		"alert": alertFacts(f.Alert), "target": targetFacts(f.Target), "steps": steps,
	})
	if err != nil {
		return false, fmt.Errorf("condition %q: %w", expr, err)
	}
	b, ok := out.Value().(bool)
	if !ok {
		return false, fmt.Errorf("condition %q: evaluates to %s, want bool", expr, out.Type())
	}
	return b, nil
}

// alertFacts is a as conditions see it.
func alertFacts(a alert.Alert) condAlert {
	c := condAlert{
		Source: a.Source, EventSource: a.EventSource, Rule: a.Rule, Priority: a.Priority.String(),
		PriorityLevel: int(a.Priority), Output: a.Output, Tags: a.Tags, Hostname: a.Hostname,
		Fields: fieldStrings(a.Fields), Labels: a.Labels, Annotations: a.Annotations, Status: a.Status, Time: a.Time,
	}
	if v := a.Vulnerabilities; v != nil {
		c.Vulnerabilities = condVulns{Counts: v.Counts, Fixable: v.Fixable}
	}
	return c
}

// fieldStrings is a detector's output fields as conditions see them:
// strings as they are, other values in their JSON encoding ("42", "true").
func fieldStrings(fields map[string]any) map[string]string {
	out := make(map[string]string, len(fields))
	for k, v := range fields {
		if s, ok := v.(string); ok {
			out[k] = s
			continue
		}
		b, err := json.Marshal(v)
		if err != nil {
			continue // not from JSON: it cannot be read as JSON either
		}
		out[k] = string(b)
	}
	return out
}

// targetFacts is t as conditions see it.
func targetFacts(t alert.Target) condTarget {
	return condTarget{
		Kind: t.Kind, Host: t.Host, Cluster: t.Cluster, ContainerID: t.ContainerID, ContainerName: t.ContainerName,
		Image: t.Image, ImageID: t.ImageID, Namespace: t.Namespace, Pod: t.Pod, Resource: t.Resource,
		Object: t.Object, RepoTags: t.RepoTags,
	}
}
