package workflows

import (
	"context"
	"slices"
	"strings"
	"testing"

	"github.com/stretchr/testify/mock"
	"go.temporal.io/sdk/activity"
	"go.temporal.io/sdk/converter"

	"github.com/quell-ir/quell/activities"
	"github.com/quell-ir/quell/internal/alert"
	"github.com/quell-ir/quell/internal/docker"
	"github.com/quell-ir/quell/internal/incident"
	"github.com/quell-ir/quell/playbooks"
)

// live is the unit as InspectUnit reads it in these tests.
func live() activities.InspectUnitResult {
	return activities.InspectUnitResult{
		Container: docker.Container{ID: containerID, Name: "victim", Image: "example/app:1", ImageID: "sha256:bad", Running: true,
			Networks: []docker.Attachment{{Network: "app", IPv4: "172.20.0.5"}, {Network: "db"}}},
		ImageID:  "sha256:bad",
		Siblings: []docker.Container{{ID: siblingID, Name: "sibling", ImageID: "sha256:bad"}},
	}
}

// dryLibrary is the library's compromised-container playbook as a dry run.
func dryLibrary(t *testing.T) playbooks.Playbook {
	pb := library(t)
	pb.DryRun = true
	if err := pb.Validate(registry(t)); err != nil {
		t.Fatal(err)
	}
	return pb
}

func TestDryRunChangesNothing(t *testing.T) {
	f := newFixture(t)
	f.env.OnActivity(recoveryActs.InspectUnit, mock.Anything, mock.Anything).Return(live(), nil).Once()
	f.reports().Once()
	var ran []string
	f.env.SetOnActivityStartedListener(func(info *activity.Info, _ context.Context, _ converter.EncodedValues) {
		ran = append(ran, info.ActivityType.Name)
	})
	inc := f.run(dryLibrary(t))
	if want := []string{"InspectUnit", "WriteReport"}; !slices.Equal(ran, want) {
		t.Errorf("activities run = %v, want only %v", ran, want)
	}
	check(t, "steps", statuses(inc), "contain=succeeded preserve=succeeded verify=succeeded find-siblings=succeeded "+
		"approve-recovery=succeeded rebuild=succeeded replace=succeeded remove-quarantined=succeeded delete-image=succeeded report=succeeded")
	if inc.ContainedAt != nil || inc.Isolation != nil {
		t.Errorf("a dry run contained the unit: %+v", inc.Isolation)
	}
	var would []string
	for _, e := range inc.Timeline {
		if e.Type == "step.dry_run" {
			would = append(would, e.Step+": "+e.Message)
		}
	}
	got := strings.Join(would, "\n")
	for _, want := range []string{
		"contain: would disconnect container victim (4c416f3629d0) from network app (172.20.0.5); disconnect container victim (4c416f3629d0) from network db; pause container victim (4c416f3629d0)",
		"replace: would replace container victim (4c416f3629d0) by a container of the clean image; the old one is renamed <name>-quarantined-<incident> and stopped; " +
			"replace container sibling (9d8e7f6a5b4c) by a container of the clean image",
		"delete-image: would delete image sha256:bad once no container uses it",
	} {
		if !strings.Contains(got, want) {
			t.Errorf("timeline lacks %q:\n%s", want, got)
		}
	}
	if !strings.HasPrefix(inc.Resolution, "dry run, nothing changed: ") {
		t.Errorf("resolution = %q, want a dry run's", inc.Resolution)
	}
}

func TestDryRunStepRunsReadOnlyForReal(t *testing.T) {
	f := newFixture(t)
	f.env.OnActivity(recoveryActs.InspectUnit, mock.Anything, mock.Anything).Return(live(), nil).Once()
	f.snapshots().Once()
	f.reports().Once()
	pb := playbook(t, `
name: dry
dry_run: true
match: {source: falco}
steps:
  - id: contain
    kind: docker:isolate
  - id: preserve
    kind: evidence:snapshot
    dry_run: false
  - id: report
    kind: report:write
`)
	inc := f.run(pb)
	check(t, "steps", statuses(inc), "contain=succeeded preserve=succeeded report=succeeded")
	if inc.Evidence == nil {
		t.Error("the read-only snapshot did not run for real")
	}
	f.env.AssertExpectations(t)
}

func TestDryRunFalseRefusedOnChangingKind(t *testing.T) {
	_, err := playbooks.Parse("dry.yaml", []byte(`
name: dry
dry_run: true
match: {source: falco}
steps:
  - id: contain
    kind: docker:isolate
    dry_run: false
  - id: report
    kind: report:write
`), registry(t))
	want := `dry.yaml:6: step "contain" (docker:isolate): dry_run: false in a dry-run playbook, but the kind changes its target (only read-only kinds may run for real there)`
	if err == nil || err.Error() != want {
		t.Fatalf("got %v\nwant %s", err, want)
	}
}

func TestPlanOf(t *testing.T) {
	pb := playbook(t, `
name: planned
match: {source: falco}
steps:
  - id: contain
    kind: docker:isolate
  - id: preserve
    kind: evidence:snapshot
    with: {export: false}
  - id: siblings
    kind: docker:discover
  - id: approve
    kind: approval
    when: 'alert.priority != "critical"'
  - id: replace
    kind: docker:replace
    when: 'steps.approve.status == "succeeded" || alert.priority_level >= 5'
  - id: delete-image
    kind: image:delete
    when: 'steps.approve.status == "succeeded"'
  - id: report
    kind: report:write
`)
	p := kinds(t).PlanOf(pb, testAlert(), live())
	var got []string
	for _, s := range p.Steps {
		line := s.ID
		if !s.Run {
			line += " SKIP(" + s.Why + ")"
		}
		got = append(got, line+": "+strings.Join(s.Changes, "; "))
	}
	want := []string{
		"contain: disconnect container victim (4c416f3629d0) from network app (172.20.0.5); disconnect container victim (4c416f3629d0) from network db; pause container victim (4c416f3629d0)",
		"preserve: preserve victim as evidence (read only): inspect, filesystem changes, logs, processes, committed image",
		"siblings: find the containers of image bad: 1 other(s) now: sibling",
		`approve SKIP(condition alert.priority != "critical" does not hold): ` + approvalKind.Description,
		"replace: replace container victim (4c416f3629d0) by a container of the clean image; the old one is renamed <name>-quarantined-<incident> and stopped; " +
			"replace container sibling (9d8e7f6a5b4c) by a container of the clean image; the old one is renamed <name>-quarantined-<incident> and stopped",
		`delete-image SKIP(condition steps.approve.status == "succeeded" does not hold): delete image sha256:bad once no container uses it, with the evidence image committed from it`,
		"report: " + reportKind.Description,
	}
	if !slices.Equal(got, want) {
		t.Errorf("plan:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
	if p.Target.Kind != alert.KindDocker || p.Steps[4].Destructive != true || p.Steps[0].Destructive {
		t.Errorf("plan target %+v, destructive flags %t %t", p.Target, p.Steps[4].Destructive, p.Steps[0].Destructive)
	}
	_ = incident.StepSucceeded
}
