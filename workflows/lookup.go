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
