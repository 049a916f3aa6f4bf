package workflows

import (
	"strings"
	"testing"

	"go.temporal.io/sdk/workflow"

	"github.com/quell-ir/quell/playbooks"
)

// TestEveryListedKindRuns: the registry of the listed kinds builds, and
// every one of them has a function to run and parameters that match.
func TestEveryListedKindRuns(t *testing.T) {
	reg, err := NewRegistry(Kinds()...)
	if err != nil {
		t.Fatal(err)
	}
	for _, name := range reg.Names() {
		k, _ := reg.Kind(name)
		if k.run == nil {
			t.Errorf("kind %s has no function", name)
		}
		if _, ok := reg.Playbooks().Kind(name); !ok {
			t.Errorf("kind %s is not in the playbook registry", name)
		}
	}
	if got, want := len(reg.Names()), len(Kinds()); got != want {
		t.Errorf("%d kinds registered, %d listed", got, want)
	}
}

func TestRegistryRefusesBrokenKinds(t *testing.T) {
	type wrong struct {
		Text   bool `json:"text"`
		Stray  int  `json:"stray"`
		NoName int
	}
	run := func(workflow.Context, *response, step[wrong]) (string, error) { return "", nil }
	desc := playbooks.Kind{Name: "test:broken", Params: []playbooks.Param{
		{Name: "text", Type: "string"}, {Name: "missing", Type: "int"},
	}}
	_, err := NewRegistry(
		Kind{Kind: playbooks.Kind{Name: "test:norun"}, params: nil},
		define(Kind{Kind: desc}, run),
		define(Kind{Kind: playbooks.Kind{Name: "test:gate", Gate: true}, Queue: HeavyQueue}, func(workflow.Context, *response, step[none]) (string, error) { return "", nil }),
	)
	if err == nil {
		t.Fatal("NewRegistry accepted broken kinds")
	}
	for _, want := range []string{
		`kind "test:norun": no function to run`,
		`kind "test:norun": parameters are not a struct`,
		`kind "test:broken": param field NoName has no json name`,
		`kind "test:broken": param text: field is bool, want string for type string`,
		`kind "test:broken": param missing: no field in workflows.wrong`,
		`kind "test:broken": field stray of workflows.wrong: no such param declared`,
		`kind "test:gate": a gate runs no activity, so it has no queue and contains nothing`,
	} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error lacks %q:\n%v", want, err)
		}
	}
}

func TestQueuesAndPrioritiesComeFromTheKinds(t *testing.T) {
	reg, err := NewRegistry(Kinds()...)
	if err != nil {
		t.Fatal(err)
	}
	for kind, want := range map[string]string{
		KindIsolate: TaskQueue, KindSnapshot: HeavyQueue, KindVerify: HeavyQueue, KindRebuild: HeavyQueue,
		KindReplace: TaskQueue, KindReport: TaskQueue, "unknown:kind": TaskQueue,
	} {
		if got := reg.QueueOf(kind); got != want {
			t.Errorf("QueueOf(%s) = %s, want %s", kind, got, want)
		}
	}
	for _, name := range reg.Names() {
		k, _ := reg.Kind(name)
		p := reg.PriorityOf(name)
		if got := IsContainment(reg.QueueOf(name), p); got != k.Contains {
			t.Errorf("%s: IsContainment = %t, want %t", name, got, k.Contains)
		}
	}
	if got := strings.Join(reg.Queues(), ","); got != TaskQueue+","+HeavyQueue {
		t.Errorf("Queues = %s", got)
	}
	if !IsContainment(ContainQueue, reg.PriorityOf("")) {
		t.Error("activities on the old containment queue are not containment")
	}
}
