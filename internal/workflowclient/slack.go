package workflowclient

import (
	"context"

	"github.com/quell-ir/quell/internal/incident"
	"github.com/quell-ir/quell/internal/slack"
)

// SlackDecider takes Slack button clicks through the same decision path as
// the API: the workflow's decision Update, with Slack's action ID as the
// update ID so that Slack's retries never decide twice.
type SlackDecider struct {
	Service *Service
}

var _ slack.Decider = SlackDecider{}

// Decide turns a click into a decision by the clicking Slack user.
func (d SlackDecider) Decide(ctx context.Context, c slack.Click) error {
	_, err := d.Service.Decide(ctx, c.IncidentID, incident.DecisionRequest{
		Step: c.Step, Decision: c.Decision, Approver: c.User, RequestID: c.ActionID,
	})
	return err
}
