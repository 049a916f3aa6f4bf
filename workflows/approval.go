package workflows

import (
	"fmt"
	"slices"
	"strings"
	"time"

	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/workflow"

	"github.com/quell-ir/quell/activities"
	"github.com/quell-ir/quell/internal/incident"
	"github.com/quell-ir/quell/playbooks"
)

// KindApproval waits for responders' decision.
const KindApproval = "approval"

// approvalParams are the parameters of an approval step.
type approvalParams struct {
	Approvers     []string           `json:"approvers"`
	Required      int                `json:"required"`
	TwoPerson     bool               `json:"two_person"`
	OnReject      string             `json:"on_reject"`
	RemindAfter   playbooks.Duration `json:"remind_after"`
	EscalateAfter playbooks.Duration `json:"escalate_after"`
	EscalateTo    []string           `json:"escalate_to"`
	OnTimeout     string             `json:"on_timeout"`
}

var approvalKind = define(Kind{
	Kind: playbooks.Kind{
		Name: KindApproval,
		Description: "Wait for responders' decision (approve or reject) before the steps that follow. " +
			"Rejection stops the playbook and leaves containment in place, or with on_reject: release " +
			"undoes what was done (a false positive). Reminds, escalates, and at the step timeout takes " +
			"the declared default, each recorded in the timeline.",
		Params: []playbooks.Param{
			{Name: "approvers", Type: "strings", Description: "who may decide: names, Slack user IDs (U...) or user groups (S...); " +
				"default: approvals.approvers in the config"},
			{Name: "required", Type: "int", Default: 1, Description: "how many different approvers must approve (N of M)"},
			{Name: "two_person", Type: "bool", Default: false,
				Description: "nobody who approved an earlier gate of the incident, or whose alert opened it, may approve this one"},
			{Name: "on_reject", Type: "string", Default: "stop", Enum: []string{"stop", "release"},
				Description: "stop: keep the containment; release: undo it"},
			{Name: "remind_after", Type: "duration", Description: "remind the approvers after this long without a decision"},
			{Name: "escalate_after", Type: "duration", Description: "mention escalate_to after this long without a decision"},
			{Name: "escalate_to", Type: "strings", Description: "who to mention when escalating (Slack user or group IDs)"},
			{Name: "on_timeout", Type: "string", Default: "reject", Enum: []string{"reject", "approve", "wait"},
				Description: "what the step timeout decides: reject (containment kept), approve, or wait on"},
		},
		Gate:           true,
		DefaultTimeout: 24 * time.Hour,
	},
}, approval)

// ApprovalApprovers returns who an approval step names as its approvers,
// nil when it leaves them to the configuration.
func ApprovalApprovers(s playbooks.Step) []string {
	p, _ := decodeParams[approvalParams](s)
	return p.Approvers
}

// gate is the state of one approval step while it waits.
type gate struct {
	step      step[approvalParams]
	allowed   []string
	approvals []incident.Decision
	rejection *incident.Decision
}

// validateDecision refuses a decision before it enters history: unknown
// decision, a step not waiting, an approver not on the allow-list, one who
// already approved, or one the two-person rule excludes.
func (r *response) validateDecision(ctx workflow.Context, d incident.DecisionRequest) error {
	if d.Decision != incident.Approve && d.Decision != incident.Reject {
		return temporal.NewApplicationError(
			fmt.Sprintf("decision %q: want approve or reject", d.Decision), activities.ErrTypeBadDecision)
	}
	st, ok := r.inc.Step(d.Step)
	if !ok || st.Kind != KindApproval {
		return temporal.NewApplicationError(fmt.Sprintf("step %q is not an approval step", d.Step), activities.ErrTypeNotWaiting)
	}
	g := r.gates[d.Step]
	if st.Status != incident.StepAwaitingApproval || g == nil {
		return temporal.NewApplicationError(fmt.Sprintf("step %q is not waiting for a decision (it is %s)", d.Step, st.Status), activities.ErrTypeNotWaiting)
	}
	if strings.TrimSpace(d.Approver) == "" || !slices.Contains(g.allowed, d.Approver) {
		return temporal.NewApplicationError(fmt.Sprintf("approver %q may not decide step %q", d.Approver, d.Step), activities.ErrTypeNotApprover)
	}
	if slices.ContainsFunc(g.approvals, func(a incident.Decision) bool { return a.Approver == d.Approver }) {
		return temporal.NewApplicationError(fmt.Sprintf("approver %q already approved step %q", d.Approver, d.Step), activities.ErrTypeNotApprover)
	}
	if d.Decision == incident.Approve && g.step.P.TwoPerson {
		if why := r.involved(d.Approver, d.Step); why != "" {
			return temporal.NewApplicationError(fmt.Sprintf("approver %q %s: the two-person rule needs someone else", d.Approver, why), activities.ErrTypeNotApprover)
		}
	}
	return nil
}

// involved says how who already took part in the incident, for the
// two-person rule: approved an earlier gate, or posted the alert that
// opened it; "" when neither.
func (r *response) involved(who, gateStep string) string {
	for _, d := range r.inc.Decisions {
		if d.Approver == who && d.Decision == incident.Approve && d.Step != gateStep {
			return fmt.Sprintf("approved gate %q", d.Step)
		}
	}
	if who != "" && who == r.in.Alert.PostedBy {
		return "posted the alert that opened the incident"
	}
	return ""
}

// decide records a validated decision; the waiting step picks it up.
func (r *response) decide(ctx workflow.Context, d incident.DecisionRequest) (incident.Decision, error) {
	dec := incident.Decision{Step: d.Step, Decision: d.Decision, Approver: d.Approver, Comment: d.Comment, At: workflow.Now(ctx)}
	g := r.gates[d.Step]
	if d.Decision == incident.Approve {
		g.approvals = append(g.approvals, dec)
	} else if g.rejection == nil {
		g.rejection = &dec
	}
	r.inc.Decisions = append(r.inc.Decisions, dec)
	r.event(ctx, "decision."+d.Decision, d.Step, fmt.Sprintf("%s by %s%s", d.Decision, d.Approver, comment(d.Comment)))
	r.notifyDecision(dec)
	return dec, nil
}

// decided reports whether the gate has its answer.
func (g *gate) decided() bool {
	return g.rejection != nil || len(g.approvals) >= max(1, g.step.P.Required)
}

// approval waits for the decision on step i: reminding, escalating, and at
// the step's timeout taking its declared default.
func approval(ctx workflow.Context, r *response, s step[approvalParams]) (string, error) {
	i := s.index
	g := &gate{step: s, allowed: r.approvers(ctx, s.ID, s.P.Approvers)}
	r.gates[s.ID] = g
	r.inc.Steps[i].Status = incident.StepAwaitingApproval
	r.refreshStatus(ctx)
	r.event(ctx, "approval.requested", s.ID, fmt.Sprintf("waiting up to %s for %d approval(s) from %v", time.Duration(s.Timeout), max(1, s.P.Required), g.allowed))
	r.notifyApproval(s.ID, g.allowed)
	timedOut, err := r.await(ctx, g)
	delete(r.gates, s.ID)
	r.inc.Steps[i].Status = incident.StepRunning
	r.refreshStatus(ctx)
	if err != nil {
		return "", err
	}
	switch {
	case g.rejection != nil:
		return r.rejected(ctx, s, fmt.Sprintf("rejected by %s%s", g.rejection.Approver, comment(g.rejection.Comment)))
	case timedOut && s.P.OnTimeout != "approve":
		return r.rejected(ctx, s, fmt.Sprintf("no decision within %s: rejected by default", time.Duration(s.Timeout)))
	case timedOut:
		r.event(ctx, "approval.defaulted", s.ID, "no decision: approved by default")
		return fmt.Sprintf("no decision within %s: approved by default", time.Duration(s.Timeout)), nil
	}
	var by []string
	for _, a := range g.approvals {
		by = append(by, a.Approver+comment(a.Comment))
	}
	return "approved by " + strings.Join(by, ", "), nil
}

// await waits for the gate's decision through its reminder, escalation and
// timeout; it reports whether the timeout decided.
func (r *response) await(ctx workflow.Context, g *gate) (bool, error) {
	s := g.step
	start := workflow.Now(ctx)
	type phase struct {
		after time.Duration
		run   func()
	}
	phases := []phase{
		{time.Duration(s.P.RemindAfter), func() { r.remind(ctx, s.ID, "reminder", g.allowed) }},
		{time.Duration(s.P.EscalateAfter), func() { r.remind(ctx, s.ID, "escalation", s.P.EscalateTo) }},
		{time.Duration(s.Timeout), nil},
	}
	for _, p := range phases {
		if p.after <= 0 || (p.run != nil && p.after >= time.Duration(s.Timeout)) {
			continue
		}
		wait := p.after - workflow.Now(ctx).Sub(start)
		ok, err := workflow.AwaitWithTimeout(ctx, max(wait, 0), g.decided)
		if err != nil || ok {
			return false, err
		}
		if p.run != nil {
			p.run()
		}
	}
	if s.P.OnTimeout != "wait" {
		return true, nil
	}
	r.event(ctx, "approval.waiting", s.ID, "no decision within the timeout: waiting on, as the playbook declares")
	return false, workflow.Await(ctx, g.decided)
}

// remind records a reminder or an escalation and sends it.
func (r *response) remind(ctx workflow.Context, step, what string, who []string) {
	r.event(ctx, "approval."+what, step, fmt.Sprintf("%s sent to %v", what, who))
	r.notifyReply(fmt.Sprintf(":alarm_clock: %s: step *%s* still waits for a decision from %s", what, step, mentions(who)))
}

// rejected stops the playbook, releasing the containment when the step says so.
func (r *response) rejected(ctx workflow.Context, s step[approvalParams], reason string) (string, error) {
	if s.P.OnReject == "release" {
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

// mentions formats approvers for chat: Slack user and group IDs as
// mentions, other names as they are.
func mentions(who []string) string {
	out := make([]string, len(who))
	for i, w := range who {
		switch {
		case isSlackUser(w):
			out[i] = "<@" + w + ">"
		case isSlackGroup(w):
			out[i] = "<!subteam^" + w + ">"
		default:
			out[i] = w
		}
	}
	return strings.Join(out, ", ")
}

func isSlackUser(s string) bool {
	return len(s) > 1 && (s[0] == 'U' || s[0] == 'W') && strings.ToUpper(s) == s
}
func isSlackGroup(s string) bool { return len(s) > 1 && s[0] == 'S' && strings.ToUpper(s) == s }
