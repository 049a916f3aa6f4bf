package slack

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"

	slackgo "github.com/slack-go/slack"

	"github.com/quell-ir/quell/internal/incident"
)

// Action IDs of the approval buttons.
const (
	ActionApprove = "quell_approve"
	ActionReject  = "quell_reject"
)

// maxValue is Slack's limit on a button's value.
const maxValue = 2000

// Slack's limits on a confirm dialog.
const (
	maxConfirmTitle = 100
	maxConfirmText  = 300
	maxWhat         = 20
)

// RejectConfirm is the question the Reject button asks before it sends.
const RejectConfirm = "Reject and stop the playbook? Containment stays in place."

// ActionValue is the value of an approval button: the decision it is about.
type ActionValue struct {
	IncidentID string `json:"incident_id"`
	Step       string `json:"step"`
}

// encode returns v as JSON.
func (v ActionValue) encode() string {
	b, _ := json.Marshal(v) // two strings always marshal
	return string(b)
}

// RequestApproval posts, in the incident message's thread, the approval
// request for step with its Approve and Reject buttons, and returns its ref.
func (n *Notifier) RequestApproval(ctx context.Context, ref incident.MessageRef, inc incident.Incident, step string, what []string, approvers []string) (incident.MessageRef, error) {
	if v := (ActionValue{IncidentID: inc.ID, Step: step}).encode(); len(v) > maxValue {
		return incident.MessageRef{}, fmt.Errorf("slack request approval of %s: button value is %d bytes, over Slack's %d", step, len(v), maxValue)
	}
	r, err := n.post(ctx, ref.Channel, slackgo.MsgOptionTS(ref.TS),
		slackgo.MsgOptionText(fmt.Sprintf(":raised_hand: Approval needed: step %s on %s", esc(step), esc(targetName(inc.Target))), false),
		slackgo.MsgOptionBlocks(ApprovalBlocks(inc, step, what, approvers)...))
	if err != nil {
		return incident.MessageRef{}, n.fail("request approval of "+step, err)
	}
	return r, nil
}

// ShowDecision edits the approval message ref: the buttons go and the
// decision shows, e.g. "Approved by <@U1> at 03:12:09 UTC: comment".
func (n *Notifier) ShowDecision(ctx context.Context, ref incident.MessageRef, d incident.Decision) error {
	text := DecisionText(d)
	err := n.update(ctx, ref, slackgo.MsgOptionText(text, false),
		slackgo.MsgOptionBlocks(section(text), slackgo.NewContextBlock("", mrkdwn("Step "+code(d.Step)))))
	if err != nil {
		return n.fail("show decision on "+d.Step, err)
	}
	return nil
}

// DecisionText says who decided what, when: "Approved by <@U1> at 03:12:09 UTC: comment".
func DecisionText(d incident.Decision) string {
	verb := ":no_entry: *Rejected*"
	if d.Decision == incident.Approve {
		verb = ":white_check_mark: *Approved*"
	}
	s := fmt.Sprintf("%s by %s at %s", verb, mention(d.Approver), d.At.UTC().Format("15:04:05 UTC"))
	if d.Comment != "" {
		s += ": " + esc(d.Comment)
	}
	return s
}

// ApprovalBlocks renders an approval request: what the step is, what
// approving destroys or replaces, who may decide, and the Approve and
// Reject buttons, each asking for confirmation where it matters.
func ApprovalBlocks(inc incident.Incident, step string, what, approvers []string) []slackgo.Block {
	blocks := []slackgo.Block{section(approvalText(inc, step))}
	if len(what) > 0 {
		blocks = append(blocks, section("*Approving will destroy or replace:*\n"+bullets(what, maxWhat)))
	}
	if len(approvers) > 0 {
		who := make([]string, len(approvers))
		for i, a := range approvers {
			who[i] = mention(a)
		}
		blocks = append(blocks, slackgo.NewContextBlock("", mrkdwn("Who may decide: "+strings.Join(who, ", "))))
	}
	value := ActionValue{IncidentID: inc.ID, Step: step}.encode()
	return append(blocks, slackgo.NewActionBlock("quell_approval", approveButton(step, value, what), rejectButton(step, value)))
}

func approvalText(inc incident.Incident, step string) string {
	s := ":raised_hand: *Approval needed* for step *" + esc(step) + "*"
	if st, ok := inc.Step(step); ok && st.Kind != "" {
		s += " (" + esc(st.Kind) + ")"
	}
	return s + "\n" + containerText(inc.Target) + ": " + esc(inc.Rule)
}

func approveButton(step, value string, what []string) *slackgo.ButtonBlockElement {
	b := slackgo.NewButtonBlockElement(ActionApprove, value, plain("Approve")).WithStyle(slackgo.StylePrimary)
	if len(what) == 0 {
		return b
	}
	return b.WithConfirm(slackgo.NewConfirmationBlockObject(
		plain(truncate("Approve "+step+"?", maxConfirmTitle)),
		plain(truncate("This will destroy or replace:\n"+plainBullets(what), maxConfirmText)),
		plain("Approve"), plain("Cancel")))
}

func rejectButton(step, value string) *slackgo.ButtonBlockElement {
	return slackgo.NewButtonBlockElement(ActionReject, value, plain("Reject")).
		WithStyle(slackgo.StyleDanger).
		WithConfirm(slackgo.NewConfirmationBlockObject(
			plain(truncate("Reject "+step+"?", maxConfirmTitle)),
			plain(RejectConfirm), plain("Reject"), plain("Cancel")).WithStyle(slackgo.StyleDanger))
}

// bullets lists at most n items, escaped, one per line.
func bullets(items []string, n int) string {
	var b strings.Builder
	for i, it := range items {
		if i == n {
			fmt.Fprintf(&b, "• … and %d more", len(items)-n)
			break
		}
		fmt.Fprintf(&b, "• %s\n", code(truncate(it, maxLine)))
	}
	return strings.TrimSuffix(b.String(), "\n")
}

// plainBullets lists items as plain text, one per line.
func plainBullets(items []string) string {
	return "• " + strings.Join(items, "\n• ")
}
