package activities

import (
	"context"
	"errors"
	"fmt"

	slackgo "github.com/slack-go/slack"
	"go.temporal.io/sdk/temporal"

	"github.com/quell-ir/quell/internal/incident"
)

// Messenger is what the notify activities need of a chat service. Its
// errors never carry tokens; a rate limit wraps *slackgo.RateLimitedError.
type Messenger interface {
	// PostIncident posts the incident's message.
	PostIncident(ctx context.Context, inc incident.Incident) (incident.MessageRef, error)
	// UpdateIncident rewrites the incident's message.
	UpdateIncident(ctx context.Context, ref incident.MessageRef, inc incident.Incident) error
	// Reply posts text in the message's thread.
	Reply(ctx context.Context, ref incident.MessageRef, text string) (incident.MessageRef, error)
	// Post posts text in the channel.
	Post(ctx context.Context, text string) (incident.MessageRef, error)
	// RequestApproval posts Approve and Reject buttons for a step.
	RequestApproval(ctx context.Context, ref incident.MessageRef, inc incident.Incident, step string, what, approvers []string) (incident.MessageRef, error)
	// ShowDecision edits an approval message to show the decision.
	ShowDecision(ctx context.Context, ref incident.MessageRef, d incident.Decision) error
	// GroupMembers resolves a user group to user IDs.
	GroupMembers(ctx context.Context, group string) ([]string, error)
}

// Notify holds the activities that tell responders.
type Notify struct {
	Chat Messenger
}

// MessageInput is the input of PostIncident and UpdateIncident.
type MessageInput struct {
	Ref      incident.MessageRef `json:"ref"`
	Incident incident.Incident   `json:"incident"`
}

// MessageResult names a posted message.
type MessageResult struct {
	Ref incident.MessageRef `json:"ref"`
}

// PostIncident posts the incident's message in the channel.
func (n *Notify) PostIncident(ctx context.Context, in MessageInput) (MessageResult, error) {
	ref, err := n.Chat.PostIncident(ctx, in.Incident)
	return MessageResult{Ref: ref}, chatErr(err)
}

// UpdateIncident rewrites the incident's message from its current state.
func (n *Notify) UpdateIncident(ctx context.Context, in MessageInput) (MessageResult, error) {
	return MessageResult{Ref: in.Ref}, chatErr(n.Chat.UpdateIncident(ctx, in.Ref, in.Incident))
}

// ReplyInput is the input of Reply and Post.
type ReplyInput struct {
	Ref  incident.MessageRef `json:"ref"`
	Text string              `json:"text"`
}

// Reply posts text in the incident message's thread.
func (n *Notify) Reply(ctx context.Context, in ReplyInput) (MessageResult, error) {
	ref, err := n.Chat.Reply(ctx, in.Ref, in.Text)
	return MessageResult{Ref: ref}, chatErr(err)
}

// Post posts text in the channel: the slack:notify step.
func (n *Notify) Post(ctx context.Context, in ReplyInput) (MessageResult, error) {
	ref, err := n.Chat.Post(ctx, in.Text)
	return MessageResult{Ref: ref}, chatErr(err)
}

// ApprovalInput is the input of RequestApproval.
type ApprovalInput struct {
	Ref       incident.MessageRef `json:"ref"`
	Incident  incident.Incident   `json:"incident"`
	Step      string              `json:"step"`
	What      []string            `json:"what"`
	Approvers []string            `json:"approvers"`
}

// RequestApproval posts the Approve and Reject buttons of an approval step.
func (n *Notify) RequestApproval(ctx context.Context, in ApprovalInput) (MessageResult, error) {
	ref, err := n.Chat.RequestApproval(ctx, in.Ref, in.Incident, in.Step, in.What, in.Approvers)
	return MessageResult{Ref: ref}, chatErr(err)
}

// DecisionInput is the input of ShowDecision.
type DecisionInput struct {
	Ref      incident.MessageRef `json:"ref"`
	Decision incident.Decision   `json:"decision"`
}

// ShowDecision edits the approval message to show who decided and when.
func (n *Notify) ShowDecision(ctx context.Context, in DecisionInput) (MessageResult, error) {
	return MessageResult{Ref: in.Ref}, chatErr(n.Chat.ShowDecision(ctx, in.Ref, in.Decision))
}

// ResolveInput is the input of ResolveApprovers.
type ResolveInput struct {
	Groups []string `json:"groups"`
}

// ResolveResult maps each group to its members.
type ResolveResult struct {
	Members map[string][]string `json:"members"`
}

// ResolveApprovers resolves Slack user groups to their members.
func (n *Notify) ResolveApprovers(ctx context.Context, in ResolveInput) (ResolveResult, error) {
	res := ResolveResult{Members: map[string][]string{}}
	for _, g := range in.Groups {
		members, err := n.Chat.GroupMembers(ctx, g)
		if err != nil {
			return res, chatErr(fmt.Errorf("user group %s: %w", g, err))
		}
		res.Members[g] = members
	}
	return res, nil
}

// chatErr asks Temporal to wait as long as a rate limit says before the
// next attempt; other errors are retried with the activity's backoff.
func chatErr(err error) error {
	var limited *slackgo.RateLimitedError
	if errors.As(err, &limited) {
		return temporal.NewApplicationErrorWithOptions(err.Error(), ErrTypeRateLimited, temporal.ApplicationErrorOptions{
			NextRetryDelay: limited.RetryAfter,
		})
	}
	return err
}
