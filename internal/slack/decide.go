package slack

import (
	"cmp"
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"sync"
	"time"

	slackgo "github.com/slack-go/slack"

	"github.com/quell-ir/quell/internal/incident"
)

// decideTimeout bounds a click's decision and the Slack calls that show it.
const decideTimeout = 30 * time.Second

// Click is a responder's click on an approval button.
type Click struct {
	IncidentID string `json:"incident_id"`
	Step       string `json:"step"`
	// Decision is incident.Approve or incident.Reject.
	Decision string `json:"decision"`
	// User is the Slack user ID of who clicked.
	User     string `json:"user"`
	UserName string `json:"user_name"`
	// Channel and MessageTS name the approval message.
	Channel     string `json:"channel"`
	MessageTS   string `json:"message_ts"`
	ResponseURL string `json:"response_url"`
	// ActionID identifies the click's delivery: Slack's retries of the same
	// click carry the same one, so a Decider can take it once.
	ActionID string `json:"action_id"`
}

// Decider takes the decision a click asks for.
type Decider interface {
	// Decide takes c's decision. A refusal returns an error whose text is
	// safe to show the user who clicked.
	Decide(ctx context.Context, c Click) error
}

// decisions maps our action IDs to the decisions they take.
var decisions = map[string]string{ActionApprove: incident.Approve, ActionReject: incident.Reject}

// ClickFrom reads a click on one of quell's approval buttons from an
// interaction; ok is false when the interaction is something else. The
// error says why a click on our buttons cannot be read.
func ClickFrom(cb slackgo.InteractionCallback) (c Click, ok bool, err error) {
	if cb.Type != slackgo.InteractionTypeBlockActions {
		return Click{}, false, nil
	}
	for _, a := range cb.ActionCallback.BlockActions {
		decision, ours := decisions[a.ActionID]
		if !ours {
			continue
		}
		var v ActionValue
		if err := json.Unmarshal([]byte(a.Value), &v); err != nil || v.IncidentID == "" || v.Step == "" {
			return Click{}, true, fmt.Errorf("action value %q: not an incident and step", a.Value)
		}
		return Click{
			IncidentID: v.IncidentID, Step: v.Step, Decision: decision,
			User: cb.User.ID, UserName: cmp.Or(cb.User.Name, cb.User.Username),
			Channel: cmp.Or(cb.Container.ChannelID, cb.Channel.ID), MessageTS: cmp.Or(cb.Container.MessageTs, cb.Message.Timestamp),
			ResponseURL: cb.ResponseURL, ActionID: cmp.Or(cb.TriggerID, a.ActionTs),
		}, true, nil
	}
	return Click{}, false, nil
}

// router runs clicks' decisions in the background, for the HTTP handler
// and Socket Mode alike.
type router struct {
	decider  Decider
	notifier *Notifier
	now      func() time.Time
	log      *slog.Logger
	wg       *sync.WaitGroup
}

// route reads a click from cb and, when it is one, starts its decision in
// the background with its own timeout; it returns at once. ok and err are
// ClickFrom's.
func (r router) route(cb slackgo.InteractionCallback) (ok bool, err error) {
	c, ok, err := ClickFrom(cb)
	if !ok || err != nil {
		return ok, err
	}
	r.wg.Go(func() {
		ctx, cancel := context.WithTimeout(context.Background(), decideTimeout)
		defer cancel()
		r.decide(ctx, c)
	})
	return true, nil
}

// decide asks the Decider, then shows the decision on the approval
// message, or the refusal to the user who clicked.
func (r router) decide(ctx context.Context, c Click) {
	log := r.log.With("incident", c.IncidentID, "step", c.Step, "decision", c.Decision, "user", c.User, "action_id", c.ActionID)
	if err := r.decider.Decide(ctx, c); err != nil {
		log.Info("slack click refused", "err", err)
		if r.notifier == nil {
			return
		}
		text := fmt.Sprintf(":no_entry: Your %s of step *%s* was not recorded: %s", c.Decision, esc(c.Step), esc(err.Error()))
		if err := r.notifier.Ephemeral(ctx, c.Channel, c.User, text); err != nil {
			log.Warn("slack refusal not shown", "err", err)
		}
		return
	}
	log.Info("slack click decided")
	if r.notifier == nil {
		return
	}
	d := incident.Decision{Step: c.Step, Decision: c.Decision, Approver: c.User, At: r.now()}
	if err := r.notifier.ShowDecision(ctx, incident.MessageRef{Channel: c.Channel, TS: c.MessageTS}, d); err != nil {
		log.Warn("slack decision not shown", "err", err)
	}
}
