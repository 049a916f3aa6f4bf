package playbooks_test

import (
	"encoding/json"
	"reflect"
	"slices"
	"strings"
	"testing"

	"github.com/quell-ir/quell/internal/alert"
	"github.com/quell-ir/quell/playbooks"
	"github.com/quell-ir/quell/workflows"
)

// library loads the built-in library against the real registry of step
// kinds, as quell does.
func library(t *testing.T) ([]playbooks.Playbook, *playbooks.Registry) {
	t.Helper()
	kinds, err := workflows.NewRegistry(workflows.Kinds()...)
	if err != nil {
		t.Fatal(err)
	}
	reg := kinds.Playbooks()
	pbs, err := playbooks.LoadLibrary(reg)
	if err != nil {
		t.Fatalf("LoadLibrary: %v", err)
	}
	return pbs, reg
}

func TestLibrary(t *testing.T) {
	pbs, _ := library(t)
	want := map[string]string{
		"compromised-container": "contain:docker:isolate preserve:evidence:snapshot verify:evidence:verify find-siblings:docker:discover " +
			"approve-recovery:approval rebuild:image:rebuild replace:docker:replace remove-quarantined:docker:remove " +
			"delete-image:image:delete report:report:write",
		"compromised-pod": "contain:k8s:isolate preserve:k8s:snapshot verify:evidence:verify approve-recovery:approval " +
			"rebuild:image:rebuild push:registry:push rollout:k8s:rollout delete-pod:k8s:delete-pod " +
			"block-image:k8s:block-image report:report:write",
		"vulnerable-image": "find-containers:docker:discover approve-recovery:approval rebuild:image:rebuild push:registry:push " +
			"replace:docker:replace remove-old:docker:remove blast-radius:registry:blast-radius " +
			"delete-from-registry:registry:delete delete-image:image:delete report:report:write",
	}
	var names []string
	for _, p := range pbs {
		names = append(names, p.Name)
		var steps []string
		for _, s := range p.Steps {
			steps = append(steps, s.ID+":"+s.Kind)
		}
		if got := strings.Join(steps, " "); got != want[p.Name] {
			t.Errorf("%s steps = %s\nwant %s", p.Name, got, want[p.Name])
		}
		if p.File != "library/"+p.Name+".yaml" {
			t.Errorf("%s: File = %q", p.Name, p.File)
		}
	}
	if !slices.Equal(names, []string{"compromised-container", "compromised-pod", "vulnerable-image"}) {
		t.Errorf("library = %v", names)
	}
	m := pbs[0].Match
	if m.Source != "falco" || m.Target != alert.KindDocker || m.MinPriority != alert.Warning {
		t.Errorf("compromised-container match = %+v", m)
	}
	m = pbs[1].Match
	if m.Source != "falco" || m.Target != alert.KindKubernetes || !slices.Equal(m.RequiredFields, []string{"target.namespace", "target.pod"}) {
		t.Errorf("compromised-pod match = %+v", m)
	}
	m = pbs[2].Match
	if m.Source != "trivy" || m.Target != alert.KindImage || m.MinSeverity != "high" || !m.Fixable {
		t.Errorf("vulnerable-image match = %+v", m)
	}
}

// TestLibraryJSONRoundTrip checks that each validated library playbook, as
// the workflow receives it, survives encoding/json unchanged.
func TestLibraryJSONRoundTrip(t *testing.T) {
	pbs, _ := library(t)
	for _, p := range pbs {
		b, err := json.Marshal(p)
		if err != nil {
			t.Fatalf("%s: marshal: %v", p.Name, err)
		}
		var got playbooks.Playbook
		if err := json.Unmarshal(b, &got); err != nil {
			t.Fatalf("%s: unmarshal: %v", p.Name, err)
		}
		if !reflect.DeepEqual(got, p) {
			t.Errorf("%s: round trip changed the playbook\ngot:  %+v\nwant: %+v\njson: %s", p.Name, got, p, b)
		}
		for i, s := range p.Steps {
			playbooks.CheckGettersEqual(t, s, got.Steps[i])
		}
	}
}

func TestValidateIdempotent(t *testing.T) {
	pbs, reg := library(t)
	for _, p := range pbs {
		again := p
		again.Steps = append([]playbooks.Step(nil), p.Steps...)
		if err := again.Validate(reg); err != nil {
			t.Fatalf("%s: second Validate: %v", p.Name, err)
		}
		if !reflect.DeepEqual(again, p) {
			t.Errorf("%s: second Validate changed the playbook\ngot:  %+v\nwant: %+v", p.Name, again, p)
		}
	}
}
