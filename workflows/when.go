package workflows

import (
	"context"
	"fmt"
	"time"

	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/workflow"

	"github.com/quell-ir/quell/activities"
	"github.com/quell-ir/quell/internal/incident"
	"github.com/quell-ir/quell/playbooks"
)

// ConditionInput is the input of evalCondition.
type ConditionInput struct {
	// Expr is the step's `when:` condition.
	Expr string `json:"expr"`
	// Facts is what it reads.
	Facts playbooks.Facts `json:"facts"`
}

// ConditionResult is what evalCondition found.
type ConditionResult struct {
	// Holds is the condition's value.
	Holds bool `json:"holds"`
}

// evalCondition evaluates a step's condition. It runs as a local activity:
// CEL's evaluation of plain data is deterministic, but the interpreter is
// not workflow code workflowcheck can vouch for, and its result recorded in
// history means that replay never evaluates it again, so a later cel-go or
// a later facts view cannot change a running incident.
func evalCondition(_ context.Context, in ConditionInput) (ConditionResult, error) {
	ok, err := playbooks.EvalCondition(in.Expr, in.Facts)
	if err != nil {
		return ConditionResult{}, temporal.NewNonRetryableApplicationError(err.Error(), activities.ErrTypeBadPlaybook, nil)
	}
	return ConditionResult{Holds: ok}, nil
}

// when evaluates step i's condition over the alert, the target as the
// incident knows it and the steps so far.
func (r *response) when(ctx workflow.Context, i int) (bool, error) {
	in := ConditionInput{Expr: r.in.Playbook.Steps[i].When, Facts: playbooks.Facts{
		Alert: r.in.Alert, Target: r.inc.Target, Steps: map[string]playbooks.StepFacts{},
	}}
	for _, s := range r.inc.Steps {
		in.Facts.Steps[s.ID] = playbooks.StepFacts{Kind: s.Kind, Status: s.Status, Summary: s.Summary, Error: s.Error}
	}
	lctx := workflow.WithLocalActivityOptions(ctx, workflow.LocalActivityOptions{
		StartToCloseTimeout: 10 * time.Second,
		RetryPolicy:         &temporal.RetryPolicy{MaximumAttempts: 3},
	})
	var res ConditionResult
	if err := workflow.ExecuteLocalActivity(lctx, evalCondition, in).Get(ctx, &res); err != nil {
		return false, err
	}
	return res.Holds, nil
}

// skipWhen records that step i's condition did not hold.
func (r *response) skipWhen(ctx workflow.Context, i int) {
	st := &r.inc.Steps[i]
	st.Status = incident.StepSkipped
	st.Summary = fmt.Sprintf("condition %s does not hold", r.in.Playbook.Steps[i].When)
	r.event(ctx, "step.skipped", st.ID, st.Summary)
}
