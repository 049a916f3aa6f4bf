package workflows

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/mock"
	"go.temporal.io/sdk/activity"
	"go.temporal.io/sdk/converter"
	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/testsuite"
	"go.temporal.io/sdk/workflow"

	"github.com/quell-ir/quell/activities"
	"github.com/quell-ir/quell/internal/alert"
	"github.com/quell-ir/quell/internal/docker"
	"github.com/quell-ir/quell/internal/incident"
	"github.com/quell-ir/quell/playbooks"
)

const (
	containerID = "4c416f3629d0e8b46aa8142a661603c208a4b7c22ae704c1af4aa2e794641034"
	siblingID   = "9d8e7f6a5b4c3d2e1f0a9b8c7d6e5f4a3b2c1d0e9f8a7b6c5d4e3f2a1b0c9d8e"
)

// kinds is the registry of every kind, as main builds it.
func kinds(t *testing.T) *Registry {
	t.Helper()
	reg, err := NewRegistry(Kinds()...)
	if err != nil {
		t.Fatal(err)
	}
	return reg
}

func registry(t *testing.T) *playbooks.Registry { return kinds(t).Playbooks() }

// incidentResponse is the workflow function the worker registers.
func incidentResponse(t *testing.T) func(workflow.Context, IncidentInput) (incident.Incident, error) {
	return NewIncidents(kinds(t)).IncidentResponse
}

// playbook parses a playbook written for the test against the real registry.
func playbook(t *testing.T, yaml string) playbooks.Playbook {
	t.Helper()
	pb, err := playbooks.Parse("test.yaml", []byte(yaml), registry(t))
	if err != nil {
		t.Fatal(err)
	}
	return pb
}

func library(t *testing.T) playbooks.Playbook {
	t.Helper()
	pbs, err := playbooks.LoadLibrary(registry(t))
	if err != nil {
		t.Fatal(err)
	}
	for _, pb := range pbs {
		if pb.Name == "compromised-container" {
			return pb
		}
	}
	t.Fatal("library has no compromised-container playbook")
	return playbooks.Playbook{}
}

const gated = `
name: gated
match: {source: falco}
steps:
  - id: contain
    kind: docker:isolate
  - id: preserve
    kind: evidence:snapshot
  - id: approve
    kind: approval
    timeout: 1h
    with: {approvers: [alice, bob], on_reject: %s}
  - id: verify
    kind: evidence:verify
  - id: report
    kind: report:write
`

func gatedPlaybook(t *testing.T, onReject string) playbooks.Playbook {
	return playbook(t, strings.Replace(gated, "%s", onReject, 1))
}

func testAlert() alert.Alert {
	return alert.Alert{
		Source: "falco", Rule: "Terminal shell in container", Priority: alert.Critical,
		Time:       time.Date(2026, 11, 23, 1, 0, 0, 0, time.UTC),
		ReceivedAt: time.Date(2026, 11, 23, 1, 0, 1, 0, time.UTC),
		Digest:     "sha256:00",
		Target:     alert.Target{Kind: alert.KindDocker, Host: "h", ContainerID: containerID[:12]},
	}
}

// fixture is one workflow test: an environment with the activities mocked
// to succeed unless a test says otherwise.
type fixture struct {
	t   *testing.T
	env *testsuite.TestWorkflowEnvironment
	// opener posted the alert that opens the incident.
	opener string
}

func newFixture(t *testing.T) *fixture {
	var suite testsuite.WorkflowTestSuite
	env := suite.NewTestWorkflowEnvironment()
	env.RegisterActivity(&activities.Docker{})
	env.RegisterActivity(&activities.Evidence{})
	env.RegisterActivity(&activities.Reports{})
	env.RegisterActivity(&activities.Recovery{})
	return &fixture{t: t, env: env}
}

func (f *fixture) isolates() *testsuite.MockCallWrapper {
	target := testAlert().Target
	target.ContainerID, target.ContainerName = containerID, "victim"
	return f.env.OnActivity(dockerActs.IsolateContainer, mock.Anything, mock.Anything).Return(activities.IsolateResult{
		Target: target,
		Isolation: incident.Isolation{ContainerID: containerID, Paused: true,
			Networks: []incident.Attachment{{Network: "app", Aliases: []string{"web"}}}},
	}, nil)
}

func (f *fixture) snapshots() *testsuite.MockCallWrapper {
	return f.env.OnActivity(evidenceActs.SnapshotContainer, mock.Anything, mock.Anything).Return(activities.SnapshotResult{
		Evidence: incident.Evidence{Dir: "/e", ManifestSHA256: "abc", Artifacts: []incident.Artifact{{Name: "container/inspect.json", Size: 2, SHA256: "ff"}}},
	}, nil)
}

func (f *fixture) verifies() *testsuite.MockCallWrapper {
	return f.env.OnActivity(evidenceActs.VerifyEvidence, mock.Anything, mock.Anything).Return(activities.VerifyResult{Verified: 1, ManifestSHA256: "abc"}, nil)
}

// recovers mocks the recovery activities: one sibling container uses the
// image, everything succeeds.
func (f *fixture) recovers() {
	f.env.OnActivity(recoveryActs.DiscoverContainers, mock.Anything, mock.Anything).Return(activities.DiscoverResult{
		Containers: []docker.Container{{ID: containerID, Name: "victim", ImageID: "sha256:bad"}, {ID: siblingID, Name: "sibling", ImageID: "sha256:bad"}},
	}, nil)
	f.env.OnActivity(recoveryActs.RebuildImage, mock.Anything, mock.Anything).Return(activities.RebuildResult{
		Image: incident.ImageChange{OldImageID: "sha256:bad", NewImageID: "sha256:clean", Tags: []string{"example/app:1"}},
	}, nil)
	f.env.OnActivity(recoveryActs.ReplaceContainer, mock.Anything, mock.Anything).Return(
		func(_ context.Context, in activities.ReplaceInput) (activities.ReplaceResult, error) {
			return activities.ReplaceResult{
				Quarantined: in.Unit.Name + "-quarantined-" + in.QuarantineSuffix,
				Replacement: incident.Replacement{ContainerID: "new-" + in.Unit.ContainerID[:4], Name: in.Unit.Name, ImageID: in.ImageID},
			}, nil
		})
	f.env.OnActivity(recoveryActs.RemoveContainer, mock.Anything, mock.Anything).Return(
		func(_ context.Context, in activities.RemoveInput) (activities.RemoveResult, error) {
			return activities.RemoveResult{Removed: in.Unit.Quarantined}, nil
		})
	f.env.OnActivity(recoveryActs.DeleteImage, mock.Anything, mock.Anything).Return(activities.DeleteImageResult{
		Removed: []string{"sha256:bad"},
	}, nil)
}

func (f *fixture) reports() *testsuite.MockCallWrapper {
	return f.env.OnActivity(reportActs.WriteReport, mock.Anything, mock.Anything).Return(activities.ReportResult{Markdown: "r.md", JSON: "r.json"}, nil)
}

// alerts signals the alerts to the workflow after d, in one batch as
// intake does.
func (f *fixture) alerts(d time.Duration, as ...alert.Alert) {
	refs := make([]incident.AlertRef, len(as))
	for i, a := range as {
		refs[i] = incident.RefOf(a)
	}
	f.env.RegisterDelayedCallback(func() { f.env.SignalWorkflow(SignalAlerts, refs) }, d)
}

// run starts the workflow with the first alert signalled, as intake does.
func (f *fixture) run(pb playbooks.Playbook) incident.Incident {
	f.t.Helper()
	a := testAlert()
	a.PostedBy = f.opener
	f.alerts(0, a)
	f.env.ExecuteWorkflow(incidentResponse(f.t), IncidentInput{Alert: a, Playbook: pb, Approvers: []string{"carol"}})
	if !f.env.IsWorkflowCompleted() {
		f.t.Fatal("workflow did not complete")
	}
	if err := f.env.GetWorkflowError(); err != nil {
		f.t.Fatalf("workflow error: %v", err)
	}
	var inc incident.Incident
	if err := f.env.GetWorkflowResult(&inc); err != nil {
		f.t.Fatal(err)
	}
	return inc
}

// decide sends a decision after delay; the validator's refusal, if any, is passed to refused.
func (f *fixture) decide(delay time.Duration, d incident.DecisionRequest, refused func(error)) {
	f.env.RegisterDelayedCallback(func() {
		f.env.UpdateWorkflow(UpdateDecide, "", &testsuite.TestUpdateCallback{
			OnReject: func(err error) {
				if refused == nil {
					f.t.Errorf("decision %+v refused: %v", d, err)
					return
				}
				refused(err)
			},
			OnAccept:   func() {},
			OnComplete: func(any, error) {},
		}, d)
	}, delay)
}

func statuses(inc incident.Incident) string {
	var parts []string
	for _, s := range inc.Steps {
		parts = append(parts, s.ID+"="+s.Status)
	}
	return strings.Join(parts, " ")
}

func check(t *testing.T, name, got, want string) {
	t.Helper()
	if got != want {
		t.Errorf("%s = %q, want %q", name, got, want)
	}
}

func TestIncidentSucceeds(t *testing.T) {
	f := newFixture(t)
	f.isolates().Once()
	f.snapshots().Once()
	f.verifies().Once()
	f.recovers()
	f.reports().Once()
	queues := map[string]string{}
	f.env.SetOnActivityStartedListener(func(info *activity.Info, _ context.Context, _ converter.EncodedValues) {
		queues[info.ActivityType.Name] = info.TaskQueue
	})
	f.decide(time.Minute, incident.DecisionRequest{Step: "approve-recovery", Decision: incident.Approve, Approver: "carol"}, nil)
	inc := f.run(library(t))

	for act, want := range map[string]string{
		ActivityIsolate: TaskQueue, "SnapshotContainer": HeavyQueue, "VerifyEvidence": HeavyQueue,
		"RebuildImage": HeavyQueue, "DiscoverContainers": TaskQueue, "ReplaceContainer": TaskQueue, "WriteReport": TaskQueue,
	} {
		check(t, act+" queue", queues[act], want)
	}
	// The testsuite does not carry activity priorities: the e2e tests check
	// containment's in a real history.
	check(t, "steps", statuses(inc), "contain=succeeded preserve=succeeded verify=succeeded find-siblings=succeeded "+
		"approve-recovery=succeeded rebuild=succeeded replace=succeeded remove-quarantined=succeeded delete-image=succeeded report=succeeded")
	if len(inc.Units) != 2 || !inc.Units[0].Compromised || inc.Units[1].Compromised {
		t.Fatalf("units = %+v, want the victim (compromised) and its sibling", inc.Units)
	}
	for _, u := range inc.Units {
		if u.Replacement == nil || u.Replacement.ImageID != "sha256:clean" || !u.Removed || len(u.Results) != 2 {
			t.Errorf("unit %s = %+v", u.Name, u)
		}
	}
	if inc.Image == nil || inc.Image.NewImageID != "sha256:clean" || inc.Image.DeletedAt == nil {
		t.Errorf("image = %+v", inc.Image)
	}
	check(t, "status", inc.Status, incident.StatusCompleted)
	check(t, "container name", inc.Target.ContainerName, "victim")
	if inc.AlertsCount != 1 {
		t.Errorf("alerts_count = %d, want 1", inc.AlertsCount)
	}
	if inc.ContainedAt == nil || inc.ClosedAt == nil {
		t.Errorf("contained_at %v, closed_at %v: want both set", inc.ContainedAt, inc.ClosedAt)
	}
	if inc.Evidence == nil || !inc.Evidence.Verified {
		t.Errorf("evidence = %+v, want verified", inc.Evidence)
	}
	for _, s := range inc.Steps {
		if s.StartedAt == nil || s.FinishedAt == nil {
			t.Errorf("step %s: started %v finished %v", s.ID, s.StartedAt, s.FinishedAt)
		}
	}
	f.env.AssertExpectations(t)
}

func TestIncidentStepFailureAborts(t *testing.T) {
	f := newFixture(t)
	f.isolates()
	f.env.OnActivity(evidenceActs.SnapshotContainer, mock.Anything, mock.Anything).Return(activities.SnapshotResult{},
		temporal.NewNonRetryableApplicationError("export container: disk full", activities.ErrTypeRefused, nil))
	f.reports().Once()
	inc := f.run(library(t))

	check(t, "steps", statuses(inc), "contain=succeeded preserve=failed verify=skipped find-siblings=skipped approve-recovery=skipped "+
		"rebuild=skipped replace=skipped remove-quarantined=skipped delete-image=skipped report=succeeded")
	check(t, "status", inc.Status, incident.StatusFailed)
	check(t, "error", inc.Steps[1].Error, "export container: disk full")
	check(t, "resolution", inc.Resolution, "aborted: step preserve failed: export container: disk full")
	f.env.AssertNotCalled(t, "VerifyEvidence", mock.Anything, mock.Anything)
}

func TestIncidentStepFailureContinues(t *testing.T) {
	pb := playbook(t, `
name: lenient
match: {source: falco}
steps:
  - {id: contain, kind: docker:isolate}
  - {id: preserve, kind: evidence:snapshot, on_failure: continue, retry: {max_attempts: 2}}
  - {id: verify, kind: evidence:verify, on_failure: continue}
  - {id: report, kind: report:write}
`)
	f := newFixture(t)
	f.isolates()
	f.env.OnActivity(evidenceActs.SnapshotContainer, mock.Anything, mock.Anything).Return(activities.SnapshotResult{},
		errors.New("daemon hiccup")).Times(2)
	f.env.OnActivity(evidenceActs.VerifyEvidence, mock.Anything, mock.Anything).Return(activities.VerifyResult{},
		temporal.NewNonRetryableApplicationError("no manifest", activities.ErrTypeNotFound, nil))
	f.reports().Once()
	inc := f.run(pb)

	check(t, "steps", statuses(inc), "contain=succeeded preserve=failed verify=failed report=succeeded")
	check(t, "status", inc.Status, incident.StatusCompleted)
	check(t, "resolution", inc.Resolution, "every step ran; failed and continued: [preserve verify]")
	f.env.AssertExpectations(t)
}

func TestApprovalApproved(t *testing.T) {
	f := newFixture(t)
	f.isolates()
	f.snapshots()
	f.verifies().Once()
	f.reports()
	f.decide(time.Minute, incident.DecisionRequest{Step: "approve", Decision: incident.Approve, Approver: "alice", Comment: "go"}, nil)
	inc := f.run(gatedPlaybook(t, "stop"))

	check(t, "steps", statuses(inc), "contain=succeeded preserve=succeeded approve=succeeded verify=succeeded report=succeeded")
	check(t, "summary", inc.Steps[2].Summary, "approved by alice: go")
	if len(inc.Decisions) != 1 || inc.Decisions[0].Approver != "alice" {
		t.Errorf("decisions = %+v", inc.Decisions)
	}
	f.env.AssertExpectations(t)
}

func TestApprovalRejectedKeepsContainment(t *testing.T) {
	f := newFixture(t)
	f.isolates()
	f.snapshots()
	f.reports().Once()
	f.decide(time.Minute, incident.DecisionRequest{Step: "approve", Decision: incident.Reject, Approver: "bob", Comment: "wait for forensics"}, nil)
	inc := f.run(gatedPlaybook(t, "stop"))

	check(t, "steps", statuses(inc), "contain=succeeded preserve=succeeded approve=failed verify=skipped report=succeeded")
	check(t, "status", inc.Status, incident.StatusCompleted)
	check(t, "resolution", inc.Resolution, "rejected by bob: wait for forensics; containment kept")
	f.env.AssertNotCalled(t, "UndoIsolation", mock.Anything, mock.Anything)
	f.env.AssertNotCalled(t, "VerifyEvidence", mock.Anything, mock.Anything)
}

func TestApprovalRejectedReleases(t *testing.T) {
	f := newFixture(t)
	f.isolates()
	f.snapshots()
	f.reports()
	var undone activities.UndoIsolationInput
	f.env.OnActivity(dockerActs.UndoIsolation, mock.Anything, mock.Anything).Run(func(args mock.Arguments) {
		undone = args.Get(1).(activities.UndoIsolationInput)
	}).Return(activities.UndoIsolationResult{Reconnected: []string{"app"}, Unpaused: true}, nil).Once()
	f.decide(time.Minute, incident.DecisionRequest{Step: "approve", Decision: incident.Reject, Approver: "alice", Comment: "false positive"}, nil)
	inc := f.run(gatedPlaybook(t, "release"))

	check(t, "resolution", inc.Resolution, "rejected by alice: false positive; containment released")
	check(t, "undone network", undone.Isolation.Networks[0].Network, "app")
	f.env.AssertExpectations(t)
}

func TestApprovalRefusesUnknownApprover(t *testing.T) {
	f := newFixture(t)
	f.isolates()
	f.snapshots()
	f.verifies()
	f.reports()
	var refusals []string
	refuse := func(err error) {
		var app *temporal.ApplicationError
		if !errors.As(err, &app) {
			t.Errorf("refusal %v is not an application error", err)
			return
		}
		refusals = append(refusals, app.Type()+": "+app.Message())
	}
	f.decide(time.Second, incident.DecisionRequest{Step: "approve", Decision: incident.Approve, Approver: "carol"}, refuse)
	f.decide(2*time.Second, incident.DecisionRequest{Step: "approve", Decision: incident.Approve, Approver: "mallory"}, refuse)
	f.decide(3*time.Second, incident.DecisionRequest{Step: "verify", Decision: incident.Approve, Approver: "alice"}, refuse)
	f.decide(4*time.Second, incident.DecisionRequest{Step: "approve", Decision: "maybe", Approver: "alice"}, refuse)
	f.decide(5*time.Second, incident.DecisionRequest{Step: "approve", Decision: incident.Approve, Approver: "bob"}, nil)
	inc := f.run(gatedPlaybook(t, "stop"))

	want := []string{
		`NotApprover: approver "carol" may not decide step "approve"`,
		`NotApprover: approver "mallory" may not decide step "approve"`,
		`NotWaiting: step "verify" is not an approval step`,
		`BadDecision: decision "maybe": want approve or reject`,
	}
	if strings.Join(refusals, "\n") != strings.Join(want, "\n") {
		t.Errorf("refusals =\n%s\nwant\n%s", strings.Join(refusals, "\n"), strings.Join(want, "\n"))
	}
	check(t, "steps", statuses(inc), "contain=succeeded preserve=succeeded approve=succeeded verify=succeeded report=succeeded")
	if len(inc.Decisions) != 1 {
		t.Errorf("decisions = %+v, want only bob's", inc.Decisions)
	}
}

func TestApprovalUsesConfiguredApprovers(t *testing.T) {
	pb := playbook(t, `
name: plain-gate
match: {source: falco}
steps:
  - {id: contain, kind: docker:isolate}
  - {id: approve, kind: approval}
`)
	f := newFixture(t)
	f.isolates()
	f.decide(time.Second, incident.DecisionRequest{Step: "approve", Decision: incident.Approve, Approver: "alice"}, func(error) {})
	f.decide(2*time.Second, incident.DecisionRequest{Step: "approve", Decision: incident.Approve, Approver: "carol"}, nil)
	inc := f.run(pb)
	check(t, "summary", inc.Steps[1].Summary, "approved by carol")
}

func TestApprovalTimesOut(t *testing.T) {
	f := newFixture(t)
	f.isolates()
	f.snapshots()
	f.reports().Once()
	inc := f.run(gatedPlaybook(t, "stop"))

	check(t, "steps", statuses(inc), "contain=succeeded preserve=succeeded approve=failed verify=skipped report=succeeded")
	check(t, "error", inc.Steps[2].Error, "no decision within 1h0m0s: rejected by default; containment kept")
	check(t, "status", inc.Status, incident.StatusCompleted)
}

func TestDecisionOnStepNotWaiting(t *testing.T) {
	f := newFixture(t)
	f.isolates()
	f.snapshots()
	f.verifies()
	f.reports()
	var got string
	f.decide(time.Minute, incident.DecisionRequest{Step: "approve", Decision: incident.Approve, Approver: "alice"}, nil)
	f.decide(2*time.Minute, incident.DecisionRequest{Step: "approve", Decision: incident.Approve, Approver: "bob"}, func(err error) {
		var app *temporal.ApplicationError
		if errors.As(err, &app) {
			got = app.Type()
		}
	})
	in := IncidentInput{Alert: testAlert(), Playbook: gatedPlaybook(t, "stop"), DedupWindow: 10 * time.Minute}
	f.alerts(0, in.Alert)
	f.env.ExecuteWorkflow(incidentResponse(f.t), in)
	check(t, "second decision refused as", got, activities.ErrTypeNotWaiting)
}

func TestAlertsJoinWhileOpen(t *testing.T) {
	f := newFixture(t)
	f.isolates()
	f.snapshots()
	f.verifies()
	f.reports()
	a := testAlert()
	f.alerts(0, a, a, a)
	// As quell before batches sent them: one alert a signal.
	f.env.RegisterDelayedCallback(func() { f.env.SignalWorkflow(SignalAlert, a) }, time.Second)
	f.alerts(2*time.Minute, a)
	f.alerts(9*time.Minute, a, a) // after the steps, within the dedup window
	pb := playbook(t, `
name: contain-only
match: {source: falco}
steps:
  - {id: contain, kind: docker:isolate}
  - {id: preserve, kind: evidence:snapshot}
  - {id: verify, kind: evidence:verify}
  - {id: report, kind: report:write}
`)
	f.env.ExecuteWorkflow(incidentResponse(f.t), IncidentInput{Alert: a, Playbook: pb, DedupWindow: 10 * time.Minute})
	var inc incident.Incident
	if err := f.env.GetWorkflowResult(&inc); err != nil {
		t.Fatal(err)
	}
	if inc.AlertsCount != 7 || len(inc.Alerts) != 7 {
		t.Errorf("alerts_count = %d with %d kept, want 7", inc.AlertsCount, len(inc.Alerts))
	}
	check(t, "status", inc.Status, incident.StatusCompleted)
}

// TestRepeatedReportsCountOnce: reports a detector repeats under one
// idempotency key (Alertmanager's repeats and retries) count once, and a
// resolution goes on the timeline without counting.
func TestRepeatedReportsCountOnce(t *testing.T) {
	f := newFixture(t)
	f.isolates()
	firing := testAlert()
	firing.Status, firing.IdempotencyKey = alert.StatusFiring, "alertmanager/abc/2026-11-23T01:00:00Z/firing"
	other := firing
	other.IdempotencyKey = "alertmanager/def/2026-11-23T01:00:00Z/firing"
	resolved := firing
	resolved.Status, resolved.IdempotencyKey = alert.StatusResolved, "alertmanager/abc/2026-11-23T01:00:00Z/resolved"
	f.alerts(0, firing, firing)
	f.alerts(time.Minute, firing, other, other)
	f.alerts(2*time.Minute, resolved, resolved)
	pb := playbook(t, `
name: contain-only
match: {source: falco}
steps:
  - {id: contain, kind: docker:isolate}
`)
	f.env.ExecuteWorkflow(incidentResponse(f.t), IncidentInput{Alert: firing, Playbook: pb, DedupWindow: 10 * time.Minute})
	var inc incident.Incident
	if err := f.env.GetWorkflowResult(&inc); err != nil {
		t.Fatal(err)
	}
	if inc.AlertsCount != 2 || inc.AlertsRepeated != 4 {
		t.Errorf("alerts_count = %d, repeated %d; want 2 and 4", inc.AlertsCount, inc.AlertsRepeated)
	}
	if got := timeline(inc, "alert.resolved"); len(got) != 1 {
		t.Errorf("resolutions on the timeline: %v, want one", got)
	}
}

// TestFailedContainmentTakesNoLateAlerts: an incident whose containment
// failed (no such container) ends without the dedup window, so the next
// alert that names the unit opens an incident that contains it.
func TestFailedContainmentTakesNoLateAlerts(t *testing.T) {
	for _, tc := range []struct {
		name    string
		fail    bool
		atLeast time.Duration
	}{{"contained", false, 10 * time.Minute}, {"containment failed", true, 0}} {
		t.Run(tc.name, func(t *testing.T) {
			f := newFixture(t)
			if tc.fail {
				f.env.OnActivity(dockerActs.IsolateContainer, mock.Anything, mock.Anything).Return(activities.IsolateResult{},
					temporal.NewNonRetryableApplicationError("no such container", activities.ErrTypeNotFound, nil))
			} else {
				f.isolates()
			}
			f.reports()
			pb := playbook(t, `
name: contain-only
match: {source: falco}
steps:
  - {id: contain, kind: docker:isolate}
  - {id: report, kind: report:write}
`)
			a := testAlert()
			f.alerts(0, a)
			start := f.env.Now()
			f.env.ExecuteWorkflow(incidentResponse(f.t), IncidentInput{Alert: a, Playbook: pb, DedupWindow: 10 * time.Minute})
			took := f.env.Now().Sub(start)
			if took < tc.atLeast || (tc.fail && took >= time.Minute) {
				t.Errorf("incident took %s of workflow time, want at least %s (and under a minute when containment failed)", took, tc.atLeast)
			}
		})
	}
}

func TestStatusQueryWhileAwaitingApproval(t *testing.T) {
	f := newFixture(t)
	f.isolates()
	f.snapshots()
	f.verifies()
	f.reports()
	f.env.RegisterDelayedCallback(func() {
		v, err := f.env.QueryWorkflow(QueryStatus)
		if err != nil {
			t.Fatal(err)
		}
		var inc incident.Incident
		if err := v.Get(&inc); err != nil {
			t.Fatal(err)
		}
		check(t, "status while waiting", inc.Status, incident.StatusAwaitingApproval)
		check(t, "steps while waiting", statuses(inc), "contain=succeeded preserve=succeeded approve=awaiting_approval verify=pending report=pending")
	}, 30*time.Second)
	f.decide(time.Minute, incident.DecisionRequest{Step: "approve", Decision: incident.Approve, Approver: "alice"}, nil)
	f.run(gatedPlaybook(t, "stop"))
}

func TestLibraryRejectedKeepsContainmentDeletesNothing(t *testing.T) {
	f := newFixture(t)
	f.isolates()
	f.snapshots()
	f.verifies()
	f.recovers()
	f.reports().Once()
	f.decide(time.Minute, incident.DecisionRequest{Step: "approve-recovery", Decision: incident.Reject, Approver: "carol", Comment: "keep for forensics"}, nil)
	inc := f.run(library(t))

	check(t, "steps", statuses(inc), "contain=succeeded preserve=succeeded verify=succeeded find-siblings=succeeded approve-recovery=failed "+
		"rebuild=skipped replace=skipped remove-quarantined=skipped delete-image=skipped report=succeeded")
	for _, name := range []string{"RebuildImage", "ReplaceContainer", "RemoveContainer", "DeleteImage", "UndoIsolation"} {
		f.env.AssertNotCalled(t, name, mock.Anything, mock.Anything)
	}
	if inc.Isolation == nil || !inc.Isolation.Paused {
		t.Errorf("isolation = %+v, want kept", inc.Isolation)
	}
}

func TestOneUnitFailingDoesNotHideTheOthers(t *testing.T) {
	f := newFixture(t)
	f.isolates()
	f.snapshots()
	f.verifies()
	f.env.OnActivity(recoveryActs.DiscoverContainers, mock.Anything, mock.Anything).Return(activities.DiscoverResult{
		Containers: []docker.Container{{ID: siblingID, Name: "sibling", ImageID: "sha256:bad"}},
	}, nil)
	f.env.OnActivity(recoveryActs.RebuildImage, mock.Anything, mock.Anything).Return(activities.RebuildResult{
		Image: incident.ImageChange{OldImageID: "sha256:bad", NewImageID: "sha256:clean"},
	}, nil)
	f.env.OnActivity(recoveryActs.ReplaceContainer, mock.Anything, mock.Anything).Return(
		func(_ context.Context, in activities.ReplaceInput) (activities.ReplaceResult, error) {
			if in.Unit.Name == "sibling" {
				return activities.ReplaceResult{}, temporal.NewNonRetryableApplicationError("replacement not ready: unhealthy", activities.ErrTypeRefused, nil)
			}
			if len(in.Networks) != 1 || in.Networks[0].Network != "app" {
				t.Errorf("compromised unit replaced without its recorded networks: %+v", in.Networks)
			}
			return activities.ReplaceResult{Quarantined: "victim-quarantined", Replacement: incident.Replacement{ContainerID: "new", ImageID: in.ImageID}}, nil
		})
	f.reports()
	f.decide(time.Minute, incident.DecisionRequest{Step: "approve-recovery", Decision: incident.Approve, Approver: "carol"}, nil)
	inc := f.run(library(t))

	check(t, "replace step", inc.Steps[6].Status+": "+inc.Steps[6].Error, "failed: 1 unit(s) failed: sibling (1 succeeded)")
	check(t, "victim", inc.Units[0].Results[0].Status, incident.StepSucceeded)
	check(t, "sibling", inc.Units[1].Results[0].Error, "replacement not ready: unhealthy")
	check(t, "after", statuses(inc)[strings.Index(statuses(inc), "remove"):], "remove-quarantined=skipped delete-image=skipped report=succeeded")
	f.env.AssertNotCalled(t, "DeleteImage", mock.Anything, mock.Anything)
}

func TestDestructiveStepsRefusedWithoutVerifiedEvidence(t *testing.T) {
	pb := playbook(t, `
name: sloppy
match: {source: falco}
steps:
  - {id: contain, kind: docker:isolate}
  - {id: preserve, kind: evidence:snapshot}
  - {id: rebuild, kind: image:rebuild}
  - {id: replace, kind: docker:replace}
  - {id: remove, kind: docker:remove, on_failure: continue}
  - {id: delete, kind: image:delete}
  - {id: report, kind: report:write}
`)
	f := newFixture(t)
	f.isolates()
	f.snapshots()
	f.recovers()
	f.reports()
	inc := f.run(pb)
	check(t, "remove", inc.Units[0].Results[1].Error, "refused: the snapshot of victim has not verified")
	check(t, "delete", inc.Steps[5].Error, "refused: unit victim ran the image and its snapshot has not verified")
	f.env.AssertNotCalled(t, "RemoveContainer", mock.Anything, mock.Anything)
	f.env.AssertNotCalled(t, "DeleteImage", mock.Anything, mock.Anything)
}
