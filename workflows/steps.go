package workflows

import (
	"errors"
	"fmt"
	"strings"
	"time"

	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/workflow"

	"github.com/quell-ir/quell/activities"
	"github.com/quell-ir/quell/internal/incident"
	"github.com/quell-ir/quell/playbooks"
)

// heartbeatTimeout is how soon a long activity whose worker died is retried.
const heartbeatTimeout = 20 * time.Second

// Activity receivers: workflows name activities through nil pointers of the
// structs the worker registers.
var (
	dockerActs   *activities.Docker
	evidenceActs *activities.Evidence
	reportActs   *activities.Reports
)

// errStop stops the playbook whatever the step's on_failure says.
type errStop struct{ reason string }

func (e errStop) Error() string { return e.reason }

func (r *response) runStep(ctx workflow.Context, i int) {
	s := r.in.Playbook.Steps[i]
	st := &r.inc.Steps[i]
	st.Status, st.StartedAt = incident.StepRunning, timePtr(workflow.Now(ctx))
	r.event(ctx, "step.started", s.ID, s.Kind)

	var summary string
	var err error
	switch s.Kind {
	case KindIsolate:
		summary, err = r.isolate(ctx, s)
	case KindSnapshot:
		summary, err = r.snapshot(ctx, s)
	case KindVerify:
		summary, err = r.verify(ctx, s)
	case KindApproval:
		summary, err = r.approval(ctx, i)
	case KindReport:
		summary, err = r.report(ctx, i)
	case KindDiscover:
		summary, err = r.discover(ctx, s)
	case KindRebuild:
		summary, err = r.rebuild(ctx, s)
	case KindReplace:
		summary, err = r.replace(ctx, s)
	case KindRemove:
		summary, err = r.remove(ctx, s)
	case KindDelete:
		summary, err = r.deleteImage(ctx, s)
	case KindNotify:
		summary, err = r.notifyStep(ctx, s)
	default:
		err = temporal.NewNonRetryableApplicationError("no implementation for step kind "+s.Kind, "BadPlaybook", nil)
	}
	r.finish(ctx, i, summary, err)
}

func (r *response) finish(ctx workflow.Context, i int, summary string, err error) {
	s := r.in.Playbook.Steps[i]
	st := &r.inc.Steps[i]
	st.FinishedAt = timePtr(workflow.Now(ctx))
	st.Summary = summary
	if err == nil {
		st.Status = incident.StepSucceeded
		r.event(ctx, "step.succeeded", s.ID, orText(summary, s.Kind))
		return
	}
	st.Status, st.Error = incident.StepFailed, message(err)
	r.event(ctx, "step.failed", s.ID, st.Error)
	var stop errStop
	switch {
	case errors.As(err, &stop):
		r.stopped = stop.reason
		r.inc.Resolution = stop.reason
	case s.OnFailure == playbooks.OnFailureContinue:
	default:
		r.stopped = fmt.Sprintf("step %s failed: %s", s.ID, st.Error)
		r.inc.Resolution = "aborted: " + r.stopped
		r.aborted = true
	}
}

func (r *response) skip(ctx workflow.Context, i int) {
	r.inc.Steps[i].Status = incident.StepSkipped
	r.event(ctx, "step.skipped", r.inc.Steps[i].ID, r.stopped)
}

// options turns a step's timeout and retry policy into activity options.
func options(ctx workflow.Context, s playbooks.Step, heartbeat bool) workflow.Context {
	return unitOptions(ctx, s, heartbeat, "")
}

// unitOptions is options for the step's activity on one unit: activity IDs
// must differ between the units a step acts on at once.
func unitOptions(ctx workflow.Context, s playbooks.Step, heartbeat bool, unit string) workflow.Context {
	ao := workflow.ActivityOptions{
		TaskQueue:           QueueOf(s.Kind),
		Priority:            PriorityOf(s.Kind),
		StartToCloseTimeout: time.Duration(s.Timeout),
		ActivityID:          s.ID,
	}
	if unit != "" {
		ao.ActivityID += "/" + short(unit)
	}
	if heartbeat {
		ao.HeartbeatTimeout = heartbeatTimeout
	}
	if rp := s.Retry; rp != nil {
		ao.RetryPolicy = &temporal.RetryPolicy{
			InitialInterval:        time.Duration(rp.InitialInterval),
			BackoffCoefficient:     rp.BackoffCoefficient,
			MaximumInterval:        time.Duration(rp.MaximumInterval),
			MaximumAttempts:        int32(rp.MaxAttempts),
			NonRetryableErrorTypes: rp.NonRetryable,
		}
	}
	return workflow.WithActivityOptions(ctx, ao)
}

func (r *response) isolate(ctx workflow.Context, s playbooks.Step) (string, error) {
	var res activities.IsolateResult
	in := activities.IsolateInput{IncidentID: r.inc.ID, Target: r.inc.Target}
	if err := workflow.ExecuteActivity(options(ctx, s, false), dockerActs.IsolateContainer, in).Get(ctx, &res); err != nil {
		return "", err
	}
	r.inc.Target = res.Target
	r.inc.Isolation = &res.Isolation
	if _, ok := r.inc.Unit(res.Target.ContainerID); !ok {
		r.inc.Units = append(r.inc.Units, incident.Unit{
			ContainerID: res.Target.ContainerID, Name: res.Target.ContainerName, ImageID: res.Target.ImageID, Compromised: true,
		})
	}
	r.inc.ContainedAt = timePtr(workflow.Now(ctx))
	r.undo = append(r.undo, compensation{step: s.ID, run: func(ctx workflow.Context) (string, error) {
		var undone activities.UndoIsolationResult
		in := activities.UndoIsolationInput{IncidentID: r.inc.ID, Isolation: res.Isolation}
		err := workflow.ExecuteActivity(options(ctx, s, false), dockerActs.UndoIsolation, in).Get(ctx, &undone)
		return fmt.Sprintf("reconnected %v, unpaused %t", undone.Reconnected, undone.Unpaused), err
	}})
	summary := fmt.Sprintf("disconnected from %d network(s), paused %t", len(res.Isolation.Networks), res.Isolation.Paused)
	r.notifyReply(fmt.Sprintf(":no_entry: contained *%s* in %s: %s", res.Target.ContainerName,
		r.inc.TimeToContain().Round(time.Millisecond), summary))
	r.event(ctx, "incident.contained", s.ID, fmt.Sprintf("container %s (%s) %s in %s", short(res.Target.ContainerID),
		res.Target.ContainerName, summary, r.inc.TimeToContain().Round(time.Millisecond)))
	return summary, nil
}

func (r *response) snapshot(ctx workflow.Context, s playbooks.Step) (string, error) {
	var res activities.SnapshotResult
	in := activities.SnapshotInput{
		IncidentID: r.inc.ID, Target: r.inc.Target,
		Logs: s.Bool("logs"), Processes: s.Bool("processes"), Export: s.Bool("export"), Commit: s.Bool("commit"),
	}
	if err := workflow.ExecuteActivity(options(ctx, s, true), evidenceActs.SnapshotContainer, in).Get(ctx, &res); err != nil {
		return "", err
	}
	r.inc.Evidence = &res.Evidence
	var size int64
	for _, a := range res.Evidence.Artifacts {
		size += a.Size
	}
	return fmt.Sprintf("%d artifacts, %d bytes, manifest sha256 %s", len(res.Evidence.Artifacts), size, res.Evidence.ManifestSHA256), nil
}

func (r *response) verify(ctx workflow.Context, s playbooks.Step) (string, error) {
	var res activities.VerifyResult
	in := activities.VerifyInput{IncidentID: r.inc.ID}
	if err := workflow.ExecuteActivity(options(ctx, s, true), evidenceActs.VerifyEvidence, in).Get(ctx, &res); err != nil {
		return "", err
	}
	if r.inc.Evidence != nil {
		r.inc.Evidence.Verified, r.inc.Evidence.VerifiedAt = true, timePtr(res.At)
		if u, ok := r.inc.Unit(r.inc.Target.ContainerID); ok {
			u.EvidenceVerified = true
		}
		r.notifyReply(evidenceReply(*r.inc.Evidence))
	}
	return fmt.Sprintf("%d artifacts verified, manifest sha256 %s", res.Verified, res.ManifestSHA256), nil
}

func (r *response) report(ctx workflow.Context, i int) (string, error) {
	s := r.in.Playbook.Steps[i]
	// The report shows its own step as done; a failure below corrects the live state.
	snapshot := r.inc
	snapshot.Steps = append([]incident.Step(nil), r.inc.Steps...)
	snapshot.Steps[i].Status, snapshot.Steps[i].FinishedAt = incident.StepSucceeded, timePtr(workflow.Now(ctx))
	var res activities.ReportResult
	in := activities.ReportInput{Incident: snapshot}
	if err := workflow.ExecuteActivity(options(ctx, s, false), reportActs.WriteReport, in).Get(ctx, &res); err != nil {
		return "", err
	}
	return "wrote " + res.Markdown + " and " + res.JSON, nil
}

// message is an error's text without Temporal's wrapping.
func message(err error) string {
	var app *temporal.ApplicationError
	if errors.As(err, &app) {
		return app.Message()
	}
	var timeout *temporal.TimeoutError
	if errors.As(err, &timeout) {
		return "timed out (" + timeout.TimeoutType().String() + ")"
	}
	return err.Error()
}

func orText(s, fallback string) string {
	if s == "" {
		return fallback
	}
	return s
}

// short is a container ID as Docker prints it.
func short(id string) string {
	if len(id) > 12 {
		return id[:12]
	}
	return id
}

// evidenceReply lists the verified evidence with its hashes, for chat.
func evidenceReply(ev incident.Evidence) string {
	var b strings.Builder
	fmt.Fprintf(&b, ":lock: evidence verified: %d artifacts, manifest sha256 `%s`", len(ev.Artifacts), ev.ManifestSHA256)
	for _, a := range ev.Artifacts {
		fmt.Fprintf(&b, "\n• %s (%d bytes) `%s`", a.Name, a.Size, a.SHA256)
	}
	return b.String()
}
