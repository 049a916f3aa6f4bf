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

var notifyActs *activities.Notify

// outbox holds what responders have yet to be told. A coroutine of its own
// drains it, so a slow or absent chat service never delays a step.
type outbox struct {
	ref       *incident.MessageRef
	dirty     bool
	replies   []string
	approvals []approvalRequest
	decisions []incident.Decision
	approved  map[string]incident.MessageRef
	closed    bool
	flushed   bool
}

// approvalRequest asks responders for a step's decision.
type approvalRequest struct {
	step      string
	approvers []string
}

func (o *outbox) pending() bool {
	return o.ref == nil || o.dirty || len(o.replies) > 0 || len(o.approvals) > 0 || len(o.decisions) > 0
}

// notifyOptions retry until the chat service answers: messages are caught
// up when it comes back, and a rate limit sets its own delay.
var notifyOptions = workflow.ActivityOptions{
	StartToCloseTimeout: 30 * time.Second,
	RetryPolicy: &temporal.RetryPolicy{
		InitialInterval: time.Second, BackoffCoefficient: 2, MaximumInterval: time.Minute,
	},
}

// startNotifier starts the coroutine that posts and updates the incident's
// message, when the incident has a chat service.
func (r *response) startNotifier(ctx workflow.Context) {
	if !r.in.Notify {
		return
	}
	r.out = &outbox{approved: map[string]incident.MessageRef{}}
	workflow.Go(ctx, func(ctx workflow.Context) {
		ctx = workflow.WithActivityOptions(ctx, notifyOptions)
		for {
			if err := workflow.Await(ctx, func() bool { return r.out.pending() || r.out.closed }); err != nil {
				return
			}
			if !r.out.pending() {
				r.out.flushed = true
				return
			}
			r.flush(ctx)
		}
	})
}

// flush sends one round of what is pending, oldest kind first.
func (r *response) flush(ctx workflow.Context) {
	o := r.out
	var res activities.MessageResult
	switch {
	case o.ref == nil:
		// The post shows the incident as it is now: what changes while it
		// is on its way (Slack may be down for long) needs an update after.
		// Before version 1 that was forgotten.
		fixed := workflow.GetVersion(ctx, "post-keeps-later-changes", workflow.DefaultVersion, 1) == 1
		if fixed {
			o.dirty = false
		}
		if r.call(ctx, notifyActs.PostIncident, activities.MessageInput{Incident: r.inc}, &res) {
			o.ref = &res.Ref
		}
		if !fixed {
			o.dirty = false
		}
	case o.dirty:
		o.dirty = false
		r.call(ctx, notifyActs.UpdateIncident, activities.MessageInput{Ref: *o.ref, Incident: r.inc}, &res)
	case len(o.replies) > 0:
		text := o.replies[0]
		o.replies = o.replies[1:]
		r.call(ctx, notifyActs.Reply, activities.ReplyInput{Ref: *o.ref, Text: text}, &res)
	case len(o.approvals) > 0:
		a := o.approvals[0]
		o.approvals = o.approvals[1:]
		in := activities.ApprovalInput{Ref: *o.ref, Incident: r.inc, Step: a.step, What: r.destroys(a.step), Approvers: a.approvers}
		if r.call(ctx, notifyActs.RequestApproval, in, &res) {
			o.approved[a.step] = res.Ref
		}
	default:
		d := o.decisions[0]
		o.decisions = o.decisions[1:]
		if ref, ok := o.approved[d.Step]; ok {
			r.call(ctx, notifyActs.ShowDecision, activities.DecisionInput{Ref: ref, Decision: d}, &res)
		}
	}
}

// call runs a notify activity; a failure is recorded, never fatal.
func (r *response) call(ctx workflow.Context, act any, in any, out *activities.MessageResult) bool {
	if err := workflow.ExecuteActivity(ctx, act, in).Get(ctx, out); err != nil {
		r.event(ctx, "notify.failed", "", message(err))
		return false
	}
	return true
}

// destroys says what approving a gate lets the playbook destroy or replace.
func (r *response) destroys(step string) []string {
	var what []string
	after := false
	for _, s := range r.in.Playbook.Steps {
		if after {
			switch s.Kind {
			case KindReplace:
				what = append(what, fmt.Sprintf("replace %s by containers of a rebuilt image", r.unitNames()))
			case KindRemove:
				what = append(what, "remove the quarantined container(s) "+r.unitNames())
			case KindDelete:
				what = append(what, "delete image "+shortImage(r.badImage()))
			case KindK8sRollout:
				what = append(what, "roll the workload of pod "+r.podName()+" out to the rebuilt image")
			case KindK8sDeletePod:
				what = append(what, "delete the quarantined pod "+r.podName())
			case KindK8sBlockImage:
				what = append(what, "refuse the bad image in the cluster (admission policy)")
			case KindApproval:
				return what
			}
		}
		after = after || s.ID == step
	}
	return what
}

// podName is the incident's pod as namespace/name.
func (r *response) podName() string {
	return r.inc.Target.Namespace + "/" + r.inc.Target.Pod
}

func (r *response) unitNames() string {
	var names []string
	for _, u := range r.inc.Units {
		names = append(names, u.Name)
	}
	if len(names) == 0 {
		return "every container of the image"
	}
	return strings.Join(names, ", ")
}

func (r *response) notifyReply(text string) {
	if r.out != nil {
		r.out.replies = append(r.out.replies, text)
	}
}

func (r *response) notifyApproval(step string, approvers []string) {
	if r.out != nil {
		r.out.approvals = append(r.out.approvals, approvalRequest{step: step, approvers: approvers})
	}
}

func (r *response) notifyDecision(d incident.Decision) {
	if r.out != nil {
		r.out.decisions = append(r.out.decisions, d)
		r.out.replies = append(r.out.replies, fmt.Sprintf("*%s* on step *%s* by %s%s", d.Decision, d.Step, mentions([]string{d.Approver}), comment(d.Comment)))
	}
}

// closeNotifier waits until responders have been told everything.
func (r *response) closeNotifier(ctx workflow.Context) error {
	if r.out == nil {
		return nil
	}
	r.out.closed = true
	return workflow.Await(ctx, func() bool { return r.out.flushed })
}

// KindNotify posts a message to the incident channel.
const KindNotify = "slack:notify"

// notifyParams are the parameters of slack:notify.
type notifyParams struct {
	Text string `json:"text"`
}

var notifyKind = define(Kind{
	Kind: playbooks.Kind{
		Name: KindNotify,
		Description: "Post a message in the incident channel. The text may name {incident}, {rule}, {container}, " +
			"{status} and {playbook}. Every incident also gets a message of its own, kept up to date, when Slack is configured.",
		Params:         []playbooks.Param{{Name: "text", Type: "string", Required: true, Description: "what to post (Slack mrkdwn)"}},
		Needs:          []string{"chat:write"},
		DefaultTimeout: 30 * time.Second,
		DefaultRetry:   playbooks.Retry{MaxAttempts: 5, InitialInterval: playbooks.Duration(time.Second), BackoffCoefficient: 2},
	},
}, notifyStep)

// notifyStep runs a slack:notify step: it posts the step's text.
func notifyStep(ctx workflow.Context, r *response, s step[notifyParams]) (string, error) {
	text := strings.NewReplacer("{incident}", r.inc.ID, "{rule}", r.inc.Rule, "{container}", r.inc.Target.ContainerName,
		"{status}", r.inc.Status, "{playbook}", r.inc.Playbook).Replace(s.P.Text)
	var res activities.MessageResult
	if err := workflow.ExecuteActivity(r.options(ctx, s.Step), notifyActs.Post, activities.ReplyInput{Text: text}).Get(ctx, &res); err != nil {
		return "", err
	}
	return "posted to " + res.Ref.Channel, nil
}

// resolveApprovers expands Slack user groups among the approvers; a group
// that cannot be resolved allows nobody, and the timeline says so.
func (r *response) resolveApprovers(ctx workflow.Context, step string, list []string) []string {
	var groups []string
	for _, a := range list {
		if isSlackGroup(a) {
			groups = append(groups, a)
		}
	}
	if len(groups) == 0 || !r.in.Notify {
		return list
	}
	ctx = workflow.WithActivityOptions(ctx, workflow.ActivityOptions{
		StartToCloseTimeout: 30 * time.Second, RetryPolicy: &temporal.RetryPolicy{MaximumAttempts: 5},
	})
	var res activities.ResolveResult
	if err := workflow.ExecuteActivity(ctx, notifyActs.ResolveApprovers, activities.ResolveInput{Groups: groups}).Get(ctx, &res); err != nil {
		r.event(ctx, "approval.groups-unresolved", step, message(err))
		return list
	}
	out := append([]string(nil), list...)
	for _, g := range groups {
		for _, m := range res.Members[g] {
			if !slices.Contains(out, m) {
				out = append(out, m)
			}
		}
	}
	return out
}
