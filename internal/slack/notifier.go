package slack

import (
	"context"
	"errors"
	"net/http"
	"time"

	slackgo "github.com/slack-go/slack"

	"github.com/quell-ir/quell/internal/incident"
)

// callTimeout bounds every Web API call, whatever the caller's context.
// Slack being slow must not hold an activity: Temporal retries instead.
const callTimeout = 10 * time.Second

// ErrDisabled is returned by every Notifier call when the configuration has
// no bot token or no channel.
var ErrDisabled = errors.New("slack not configured")

// Links are the URLs shown on an incident's message; empty ones are omitted.
type Links struct {
	// Report is the incident report's URL.
	Report string
	// Temporal is the workflow's URL in the Temporal UI.
	Temporal string
}

// Notifier posts and edits quell's Slack messages. Its calls never retry:
// a 429 returns an error holding a *slackgo.RateLimitedError (see
// RetryAfter), other failures a wrapped error; no error text holds a token.
type Notifier struct {
	cfg   Config
	api   *slackgo.Client
	links func(incidentID string) Links
}

// NewNotifier returns a Notifier for cfg; links gives the URLs shown on an
// incident's message and may be nil.
func NewNotifier(cfg Config, links func(incidentID string) Links) *Notifier {
	if links == nil {
		links = func(string) Links { return Links{} }
	}
	return &Notifier{cfg: cfg, api: newAPI(cfg), links: links}
}

// newAPI returns a Web API client for cfg that does not retry.
func newAPI(cfg Config) *slackgo.Client {
	opts := []slackgo.Option{
		slackgo.OptionHTTPClient(&http.Client{Timeout: callTimeout}),
		slackgo.OptionAppLevelToken(cfg.AppToken),
	}
	if u := cfg.apiURL(); u != "" {
		opts = append(opts, slackgo.OptionAPIURL(u))
	}
	return slackgo.New(cfg.BotToken, opts...)
}

// PostIncident posts the incident's message in the configured channel and
// returns its channel and ts.
func (n *Notifier) PostIncident(ctx context.Context, inc incident.Incident) (incident.MessageRef, error) {
	ref, err := n.post(ctx, n.cfg.Channel,
		slackgo.MsgOptionText(incidentText(inc), false),
		slackgo.MsgOptionBlocks(IncidentBlocks(inc, n.links(inc.ID))...))
	if err != nil {
		return incident.MessageRef{}, n.fail("post incident "+inc.ID, err)
	}
	return ref, nil
}

// UpdateIncident rewrites the incident's message from its current state.
func (n *Notifier) UpdateIncident(ctx context.Context, ref incident.MessageRef, inc incident.Incident) error {
	err := n.update(ctx, ref,
		slackgo.MsgOptionText(incidentText(inc), false),
		slackgo.MsgOptionBlocks(IncidentBlocks(inc, n.links(inc.ID))...))
	if err != nil {
		return n.fail("update incident "+inc.ID, err)
	}
	return nil
}

// Reply posts text (mrkdwn) in the message's thread and returns the reply's ref.
func (n *Notifier) Reply(ctx context.Context, ref incident.MessageRef, text string) (incident.MessageRef, error) {
	r, err := n.post(ctx, ref.Channel, slackgo.MsgOptionText(text, false), slackgo.MsgOptionTS(ref.TS))
	if err != nil {
		return incident.MessageRef{}, n.fail("reply to "+ref.TS, err)
	}
	return r, nil
}

// Post posts text (mrkdwn) in the configured channel and returns its ref.
func (n *Notifier) Post(ctx context.Context, text string) (incident.MessageRef, error) {
	r, err := n.post(ctx, n.cfg.Channel, slackgo.MsgOptionText(text, false))
	if err != nil {
		return incident.MessageRef{}, n.fail("post message", err)
	}
	return r, nil
}

// Ephemeral shows text (mrkdwn) in channel to user alone.
func (n *Notifier) Ephemeral(ctx context.Context, channel, user, text string) error {
	if !n.cfg.Enabled() {
		return ErrDisabled
	}
	ctx, cancel := context.WithTimeout(ctx, callTimeout)
	defer cancel()
	if _, err := n.api.PostEphemeralContext(ctx, channel, user, slackgo.MsgOptionText(text, false)); err != nil {
		return n.fail("post ephemeral to "+user, err)
	}
	return nil
}

// GroupMembers returns the user IDs of the user group (S...).
func (n *Notifier) GroupMembers(ctx context.Context, group string) ([]string, error) {
	if !n.cfg.Enabled() {
		return nil, ErrDisabled
	}
	ctx, cancel := context.WithTimeout(ctx, callTimeout)
	defer cancel()
	users, err := n.api.GetUserGroupMembersContext(ctx, group)
	if err != nil {
		return nil, n.fail("list members of "+group, err)
	}
	return users, nil
}

// post sends a chat.postMessage to channel.
func (n *Notifier) post(ctx context.Context, channel string, opts ...slackgo.MsgOption) (incident.MessageRef, error) {
	if !n.cfg.Enabled() {
		return incident.MessageRef{}, ErrDisabled
	}
	ctx, cancel := context.WithTimeout(ctx, callTimeout)
	defer cancel()
	opts = append(opts, slackgo.MsgOptionDisableLinkUnfurl(), slackgo.MsgOptionDisableMediaUnfurl())
	ch, ts, err := n.api.PostMessageContext(ctx, channel, opts...)
	if err != nil {
		return incident.MessageRef{}, err
	}
	return incident.MessageRef{Channel: ch, TS: ts}, nil
}

// update sends a chat.update of the message ref.
func (n *Notifier) update(ctx context.Context, ref incident.MessageRef, opts ...slackgo.MsgOption) error {
	if !n.cfg.Enabled() {
		return ErrDisabled
	}
	ctx, cancel := context.WithTimeout(ctx, callTimeout)
	defer cancel()
	_, _, _, err := n.api.UpdateMessageContext(ctx, ref.Channel, ref.TS, opts...)
	return err
}
