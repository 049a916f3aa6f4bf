package slack_test

import (
	"testing"

	slackgo "github.com/slack-go/slack"

	"github.com/quell-ir/quell/internal/incident"
	"github.com/quell-ir/quell/internal/slack"
)

func TestClickFrom(t *testing.T) {
	button := func(id, value, ts string) slackgo.ActionCallbacks {
		return slackgo.ActionCallbacks{BlockActions: []*slackgo.BlockAction{{ActionID: id, Value: value, ActionTs: ts}}}
	}
	user := slackgo.User{ID: "U01ALICE", Name: "alice"}
	value := `{"incident_id":"inc-1","step":"gate"}`
	for _, tc := range []struct {
		name    string
		cb      slackgo.InteractionCallback
		want    slack.Click
		ok      bool
		wantErr string
	}{
		{"approve, trigger ID", slackgo.InteractionCallback{Type: slackgo.InteractionTypeBlockActions, TriggerID: "trig-1", User: user,
			Container: slackgo.Container{ChannelID: "C1", MessageTs: "1.5"}, ActionCallback: button(slack.ActionApprove, value, "9.9")},
			slack.Click{IncidentID: "inc-1", Step: "gate", Decision: incident.Approve, User: "U01ALICE", UserName: "alice", Channel: "C1", MessageTS: "1.5", ActionID: "trig-1"}, true, ""},
		{"reject, no trigger ID: action_ts", slackgo.InteractionCallback{Type: slackgo.InteractionTypeBlockActions, User: user,
			Channel: slackgo.Channel{GroupConversation: slackgo.GroupConversation{Conversation: slackgo.Conversation{ID: "C2"}}},
			Message: slackgo.Message{Msg: slackgo.Msg{Timestamp: "2.5"}}, ActionCallback: button(slack.ActionReject, value, "9.9")},
			slack.Click{IncidentID: "inc-1", Step: "gate", Decision: incident.Reject, User: "U01ALICE", UserName: "alice", Channel: "C2", MessageTS: "2.5", ActionID: "9.9"}, true, ""},
		{"other button", slackgo.InteractionCallback{Type: slackgo.InteractionTypeBlockActions, ActionCallback: button("other", value, "9.9")},
			slack.Click{}, false, ""},
		{"view submission", slackgo.InteractionCallback{Type: slackgo.InteractionTypeViewSubmission, ActionCallback: button(slack.ActionApprove, value, "9.9")},
			slack.Click{}, false, ""},
		{"bad value", slackgo.InteractionCallback{Type: slackgo.InteractionTypeBlockActions, ActionCallback: button(slack.ActionApprove, `{"step":"gate"}`, "9.9")},
			slack.Click{}, true, `action value "{\"step\":\"gate\"}": not an incident and step`},
	} {
		got, ok, err := slack.ClickFrom(tc.cb)
		if got != tc.want || ok != tc.ok || errString(err) != tc.wantErr {
			t.Errorf("%s: ClickFrom = %+v, %v, %v; want %+v, %v, %q", tc.name, got, ok, err, tc.want, tc.ok, tc.wantErr)
		}
	}
}

func errString(err error) string {
	if err == nil {
		return ""
	}
	return err.Error()
}
