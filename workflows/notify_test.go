package workflows

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/stretchr/testify/mock"

	"github.com/quell-ir/quell/activities"
	"github.com/quell-ir/quell/internal/incident"
)

// TestSlackDownNeverDelaysContainment runs an incident whose chat service
// fails for its first minutes: containment and evidence start at once, and
// every message is caught up once the service answers.
func TestSlackDownNeverDelaysContainment(t *testing.T) {
	f := newFixture(t)
	f.env.RegisterActivity(&activities.Notify{})
	f.isolates()
	f.snapshots()
	f.verifies()
	f.reports()
	var start time.Time
	down := func() bool { return f.env.Now().Sub(start) < 15*time.Minute } // past the close
	posts, replies := 0, 0
	var lastShown string // the status the incident's message last showed
	var shown []incident.Decision
	f.env.OnActivity(notifyActs.PostIncident, mock.Anything, mock.Anything).Return(
		func(_ context.Context, in activities.MessageInput) (activities.MessageResult, error) {
			if down() {
				return activities.MessageResult{}, errors.New("slack: connection refused")
			}
			posts++
			lastShown = in.Incident.Status
			return activities.MessageResult{Ref: incident.MessageRef{Channel: "C1", TS: "1.1"}}, nil
		})
	f.env.OnActivity(notifyActs.UpdateIncident, mock.Anything, mock.Anything).Return(
		func(_ context.Context, in activities.MessageInput) (activities.MessageResult, error) {
			lastShown = in.Incident.Status
			return activities.MessageResult{}, nil
		})
	f.env.OnActivity(notifyActs.Reply, mock.Anything, mock.Anything).Return(
		func(context.Context, activities.ReplyInput) (activities.MessageResult, error) {
			replies++
			return activities.MessageResult{}, nil
		})
	f.env.OnActivity(notifyActs.RequestApproval, mock.Anything, mock.Anything).Return(
		func(_ context.Context, in activities.ApprovalInput) (activities.MessageResult, error) {
			if len(in.What) != 0 || in.Step != "approve" {
				t.Errorf("approval request = %+v", in)
			}
			return activities.MessageResult{Ref: incident.MessageRef{Channel: "C1", TS: "2.2"}}, nil
		})
	f.env.OnActivity(notifyActs.ShowDecision, mock.Anything, mock.Anything).Return(
		func(_ context.Context, in activities.DecisionInput) (activities.MessageResult, error) {
			if in.Ref.TS != "2.2" {
				t.Errorf("decision shown on %+v, want the approval message", in.Ref)
			}
			shown = append(shown, in.Decision)
			return activities.MessageResult{}, nil
		})
	f.decide(10*time.Minute, incident.DecisionRequest{Step: "approve", Decision: incident.Approve, Approver: "alice"}, nil)
	a := testAlert()
	f.alerts(0, a)
	start = f.env.Now()
	f.env.ExecuteWorkflow(incidentResponse(t), IncidentInput{Alert: a, Playbook: gatedPlaybook(t, "stop"), Notify: true})
	var inc incident.Incident
	if err := f.env.GetWorkflowResult(&inc); err != nil {
		t.Fatal(err)
	}
	if got := inc.Steps[0].StartedAt.Sub(start); got > time.Second {
		t.Errorf("containment started %s after the alert, with Slack down", got)
	}
	if inc.ContainedAt == nil || inc.ContainedAt.Sub(start) > time.Second {
		t.Errorf("contained at %v", inc.ContainedAt)
	}
	if posts != 1 || len(shown) != 1 || shown[0].Approver != "alice" {
		t.Errorf("posts %d, decisions shown %+v", posts, shown)
	}
	// The message, posted as the incident was when Slack went down, is
	// brought up to date.
	if lastShown != incident.StatusCompleted {
		t.Errorf("the incident's message last showed %q, want %q", lastShown, incident.StatusCompleted)
	}
	// contained, evidence verified, decision, closed.
	if replies < 4 {
		t.Errorf("%d thread replies, want at least 4", replies)
	}
}
