package workflows

import (
	"fmt"
	"slices"
	"strings"
	"time"

	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/workflow"

	"github.com/quell-ir/quell/internal/incident"
	"github.com/quell-ir/quell/playbooks"
)

// DecisionRequest is a responder's decision on an approval step, the
// argument of UpdateDecide.
type DecisionRequest struct {
	Step     string `json:"step"`
	Decision string `json:"decision"`
	Approver string `json:"approver"`
	Comment  string `json:"comment"`
}

// validateDecision refuses a decision before it enters history: unknown
// decision, a step not waiting, or an approver not on the allow-list.
func (r *response) validateDecision(ctx workflow.Context, d DecisionRequest) error {
	if d.Decision != incident.Approve && d.Decision != incident.Reject {
		return temporal.NewApplicationError(
			fmt.Sprintf("decision %q: want approve or reject", d.Decision), ErrTypeBadDecision)
	}
	st, ok := r.inc.Step(d.Step)
	if !ok || st.Kind != KindApproval {
		return temporal.NewApplicationError(fmt.Sprintf("step %q is not an approval step", d.Step), ErrTypeNotWaiting)
	}
	if st.Status != incident.StepAwaitingApproval {
		return temporal.NewApplicationError(fmt.Sprintf("step %q is not waiting for a decision (it is %s)", d.Step, st.Status), ErrTypeNotWaiting)
	}
	idx := slices.IndexFunc(r.in.Playbook.Steps, func(s playbooks.Step) bool { return s.ID == d.Step })
	allowed := r.approvers(r.in.Playbook.Steps[idx])
	if strings.TrimSpace(d.Approver) == "" || !slices.Contains(allowed, d.Approver) {
		return temporal.NewApplicationError(fmt.Sprintf("approver %q may not decide step %q", d.Approver, d.Step), ErrTypeNotApprover)
	}
	return nil
}

// decide records a validated decision; the waiting step picks it up.
func (r *response) decide(ctx workflow.Context, d DecisionRequest) (incident.Decision, error) {
	dec := incident.Decision{Step: d.Step, Decision: d.Decision, Approver: d.Approver, Comment: d.Comment, At: workflow.Now(ctx)}
	r.decisions[d.Step] = dec
	r.inc.Decisions = append(r.inc.Decisions, dec)
	r.event(ctx, "decision."+d.Decision, d.Step, fmt.Sprintf("%s by %s%s", d.Decision, d.Approver, comment(d.Comment)))
	return dec, nil
}

// approval waits for a decision on step i until the step's timeout.
func (r *response) approval(ctx workflow.Context, i int) (string, error) {
	s := r.in.Playbook.Steps[i]
	r.inc.Steps[i].Status = incident.StepAwaitingApproval
	r.refreshStatus(ctx)
	r.event(ctx, "approval.requested", s.ID, fmt.Sprintf("waiting up to %s for one of %v", time.Duration(s.Timeout), r.approvers(s)))
	got, err := workflow.AwaitWithTimeout(ctx, time.Duration(s.Timeout), func() bool {
		_, ok := r.decisions[s.ID]
		return ok
	})
	r.inc.Steps[i].Status = incident.StepRunning
	r.refreshStatus(ctx)
	if err != nil {
		return "", err
	}
	if !got {
		return "", fmt.Errorf("no decision within %s", time.Duration(s.Timeout))
	}
	dec := r.decisions[s.ID]
	if dec.Decision == incident.Approve {
		return fmt.Sprintf("approved by %s%s", dec.Approver, comment(dec.Comment)), nil
	}
	reason := fmt.Sprintf("rejected by %s%s", dec.Approver, comment(dec.Comment))
	if s.String("on_reject") == "release" {
		r.release(ctx)
		return "", errStop{reason: reason + "; containment released"}
	}
	return "", errStop{reason: reason + "; containment kept"}
}

// release runs the compensations in reverse: a false positive goes free.
func (r *response) release(ctx workflow.Context) {
	for i := len(r.undo) - 1; i >= 0; i-- {
		c := r.undo[i]
		summary, err := c.run(ctx)
		if err != nil {
			r.event(ctx, "undo.failed", c.step, message(err))
			continue
		}
		r.event(ctx, "undo.succeeded", c.step, summary)
	}
	r.undo = nil
	r.event(ctx, "incident.released", "", "containment undone")
}

func comment(c string) string {
	if c == "" {
		return ""
	}
	return ": " + c
}
