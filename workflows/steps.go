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

// heartbeatTimeout is how soon a step's activity whose worker died is
// retried: the worker heartbeats for every activity while it runs (see
// internal/app), and the long ones also record their progress.
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

// runStep runs step i through its kind's function; a kind the registry
// does not hold is the one failure validation cannot catch (a playbook
// validated by a newer version), and fails the step.
func (r *response) runStep(ctx workflow.Context, i int) {
	s := r.in.Playbook.Steps[i]
	st := &r.inc.Steps[i]
	st.Status, st.StartedAt = incident.StepRunning, timePtr(workflow.Now(ctx))
	r.event(ctx, "step.started", s.ID, s.Kind)

	var summary string
	var err error
	if k, ok := r.kinds.Kind(s.Kind); ok && r.in.Playbook.StepDryRun(i) && !k.Always {
		summary, err = r.dryRun(ctx, i)
	} else if ok {
		summary, err = k.run(r, ctx, i)
	} else {
		err = temporal.NewNonRetryableApplicationError("no implementation for step kind "+s.Kind, activities.ErrTypeBadPlaybook, nil)
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

// options turns a step's timeout and retry policy, and its kind's queue
// and priority, into activity options.
func (r *response) options(ctx workflow.Context, s playbooks.Step) workflow.Context {
	return r.unitOptions(ctx, s, "")
}

// unitOptions is options for the step's activity on one unit: activity IDs
// must differ between the units a step acts on at once.
func (r *response) unitOptions(ctx workflow.Context, s playbooks.Step, unit string) workflow.Context {
	ao := workflow.ActivityOptions{
		TaskQueue:           r.kinds.QueueOf(s.Kind),
		Priority:            r.kinds.PriorityOf(s.Kind),
		StartToCloseTimeout: time.Duration(s.Timeout),
		HeartbeatTimeout:    heartbeatTimeout,
		ActivityID:          s.ID,
	}
	if unit != "" {
		ao.ActivityID += "/" + short(unit)
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
	b.WriteString(fmt.Sprintf(":lock: evidence verified: %d artifacts, manifest sha256 `%s`", len(ev.Artifacts), ev.ManifestSHA256))
	for _, a := range ev.Artifacts {
		b.WriteString(fmt.Sprintf("\n• %s (%d bytes) `%s`", a.Name, a.Size, a.SHA256))
	}
	return b.String()
}
