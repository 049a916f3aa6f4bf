package workflows

import (
	"fmt"
	"strings"
	"time"

	"go.temporal.io/sdk/workflow"

	"github.com/quell-ir/quell/activities"
	"github.com/quell-ir/quell/internal/alert"
	"github.com/quell-ir/quell/internal/incident"
	"github.com/quell-ir/quell/playbooks"
)

var recoveryActs *activities.Recovery

// recoveryRetry is the default retry policy of the kinds that eradicate and
// recover.
var recoveryRetry = playbooks.Retry{MaxAttempts: 5, InitialInterval: playbooks.Duration(time.Second), BackoffCoefficient: 2}

// concurrencyParam bounds how many units a per-unit step acts on at once.
var concurrencyParam = playbooks.Param{Name: "concurrency", Type: "int", Default: 4,
	Description: "how many units the step acts on at once"}

// perUnit are the parameters of the kinds that act on every unit.
type perUnit struct {
	Concurrency int `json:"concurrency"`
}

// committedImageArtifact is the evidence artifact that holds the committed
// image, which lets image:delete remove the image itself from the daemon.
const committedImageArtifact = "container/committed-image.tar"

// badImage is the image the incident is about.
func (r *response) badImage() string {
	if r.inc.Target.Kind == alert.KindKubernetes {
		// A pod's image is on its node and in a registry, not on the
		// worker's daemon: it is named by reference (badPodImages).
		return ""
	}
	if r.inc.Image != nil {
		return r.inc.Image.OldImageID
	}
	return r.inc.Target.ImageID
}

// eachUnit runs act on every unit pick selects, at most the step's
// concurrency at once, recording each unit's result. One unit's failure
// does not stop or hide the others; the step fails when any unit failed.
func (r *response) eachUnit(ctx workflow.Context, s step[perUnit], pick func(incident.Unit) bool,
	act func(workflow.Context, *incident.Unit) (string, error)) (string, error) {
	sem := workflow.NewSemaphore(ctx, int64(max(1, s.P.Concurrency)))
	wg := workflow.NewWaitGroup(ctx)
	var failed, done []string
	for i := range r.inc.Units {
		if !pick(r.inc.Units[i]) {
			continue
		}
		wg.Add(1)
		workflow.Go(ctx, func(ctx workflow.Context) {
			defer wg.Done()
			if err := sem.Acquire(ctx, 1); err != nil {
				return
			}
			defer sem.Release(1)
			u := &r.inc.Units[i]
			res := incident.UnitResult{Step: s.ID, Status: incident.StepRunning, StartedAt: timePtr(workflow.Now(ctx))}
			summary, err := act(ctx, u)
			res.FinishedAt, res.Summary = timePtr(workflow.Now(ctx)), summary
			if err != nil {
				res.Status, res.Error = incident.StepFailed, message(err)
				failed = append(failed, u.Name)
				r.event(ctx, "unit.failed", s.ID, fmt.Sprintf("%s: %s", u.Name, res.Error))
			} else {
				res.Status = incident.StepSucceeded
				done = append(done, u.Name)
				r.event(ctx, "unit.succeeded", s.ID, fmt.Sprintf("%s: %s", u.Name, summary))
			}
			u.Results = append(u.Results, res)
		})
	}
	wg.Wait(ctx)
	if len(failed) > 0 {
		return "", fmt.Errorf("%d unit(s) failed: %s (%d succeeded)", len(failed), strings.Join(failed, ", "), len(done))
	}
	return fmt.Sprintf("%d unit(s): %s", len(done), strings.Join(done, ", ")), nil
}

// suffix names what an incident quarantines: the first characters of its run.
func (r *response) suffix() string {
	_, run, _ := strings.Cut(r.inc.ID, ".")
	return run[:min(8, len(run))]
}

func shortImage(id string) string {
	return short(strings.TrimPrefix(id, "sha256:"))
}
