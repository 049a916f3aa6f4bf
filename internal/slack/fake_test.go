package slack_test

import (
	"testing"

	"github.com/slack-go/slack/slacktest"

	"github.com/quell-ir/quell/internal/slack"
	"github.com/quell-ir/quell/internal/slack/slacktesting"
)

const (
	botToken = slacktesting.BotToken
	appToken = slacktesting.AppToken
	channel  = slacktesting.Channel
)

// call is one Web API call the fake Slack saw.
type call = slacktesting.Call

// fakeSlack is the fake Slack of package slacktesting.
type fakeSlack struct {
	*slacktesting.Server
	srv *slacktest.Server
}

func newFakeSlack(t *testing.T, custom ...slacktest.Binder) *fakeSlack {
	t.Helper()
	s := slacktesting.New(t, custom...)
	return &fakeSlack{Server: s, srv: s.Srv}
}

func (f *fakeSlack) seen() []call                  { return f.Calls() }
func (f *fakeSlack) config() slack.Config          { return f.Config() }
func methods(calls []call) []string                { return slacktesting.Methods(calls) }
func texts(t *testing.T, blocksJSON string) string { return slacktesting.Texts(t, blocksJSON) }
