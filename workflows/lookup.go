package workflows

import (
	"time"

	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/workflow"

	"github.com/quell-ir/quell/activities"
	"github.com/quell-ir/quell/internal/alert"
)

// LookupUnit completes a target that names a container by name alone with
// the container's ID, by asking the Docker host's worker, so that intake
// can key the alert by the container's ID. It runs at containment's
// priority: an incident waits on it.
func LookupUnit(ctx workflow.Context, t alert.Target) (alert.Target, error) {
	ctx = workflow.WithActivityOptions(ctx, workflow.ActivityOptions{
		TaskQueue:           TaskQueue,
		Priority:            temporal.Priority{PriorityKey: PriorityContain},
		StartToCloseTimeout: 10 * time.Second,
		RetryPolicy:         &temporal.RetryPolicy{MaximumAttempts: 3, InitialInterval: 100 * time.Millisecond},
	})
	var res activities.LookupResult
	err := workflow.ExecuteActivity(ctx, dockerActs.LookupContainer, activities.LookupInput{Target: t}).Get(ctx, &res)
	return res.Target, err
}

// InspectLive reads the unit a target names, changing nothing, by asking
// the Docker host's worker: plan mode over the HTTP API works out from it
// what a playbook would change, and the API process holds no Docker
// socket of its own.
func InspectLive(ctx workflow.Context, t alert.Target) (activities.InspectUnitResult, error) {
	ctx = workflow.WithActivityOptions(ctx, workflow.ActivityOptions{
		TaskQueue:           TaskQueue,
		StartToCloseTimeout: 10 * time.Second,
		RetryPolicy:         &temporal.RetryPolicy{MaximumAttempts: 3, InitialInterval: 100 * time.Millisecond},
	})
	var res activities.InspectUnitResult
	err := workflow.ExecuteActivity(ctx, recoveryActs.InspectUnit, activities.InspectUnitInput{Target: t}).Get(ctx, &res)
	return res, err
}
