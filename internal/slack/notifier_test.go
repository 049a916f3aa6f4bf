package slack_test

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	slackgo "github.com/slack-go/slack"
	"github.com/slack-go/slack/slacktest"

	"github.com/quell-ir/quell/internal/alert"
	"github.com/quell-ir/quell/internal/incident"
	"github.com/quell-ir/quell/internal/slack"
)

var t0 = time.Date(2026, 3, 14, 3, 12, 0, 0, time.UTC)

func at(d time.Duration) *time.Time { t := t0.Add(d); return &t }

// testIncident is an incident halfway through: contained, waiting for
// approval to delete the image.
func testIncident() incident.Incident {
	return incident.Incident{
		ID: "quell-docker-3f2a1b9c8d7e.0195f3c2-run", Status: incident.StatusAwaitingApproval,
		Playbook: "contain-and-replace", Rule: "Terminal shell in container", Priority: alert.Critical,
		Target: alert.Target{Kind: alert.KindDocker, Host: "prod-host-1", ContainerID: "3f2a1b9c8d7e0a1b2c3d",
			ContainerName: "web-1", Image: "example/app:1"},
		AlertRecord: incident.AlertRecord{AlertsCount: 3},
		Steps: []incident.Step{
			{ID: "contain", Kind: "docker:isolate", Status: incident.StepSucceeded, StartedAt: at(0), FinishedAt: at(200 * time.Millisecond)},
			{ID: "snapshot", Kind: "evidence:snapshot", Status: incident.StepSucceeded, StartedAt: at(time.Second), FinishedAt: at(75 * time.Second), Summary: "5 artifacts"},
			{ID: "approve-delete", Kind: "slack:approve", Status: incident.StepAwaitingApproval, StartedAt: at(80 * time.Second)},
			{ID: "delete-image", Kind: "image:delete", Status: incident.StepPending},
		},
		Evidence:    &incident.Evidence{ManifestSHA256: "9b2e5f0c1d2e3f4a5b6c7d8e9f", Artifacts: make([]incident.Artifact, 5), Verified: true},
		OpenedAt:    t0,
		ContainedAt: at(800 * time.Millisecond),
	}
}

func TestPostIncidentThenUpdate(t *testing.T) {
	f := newFakeSlack(t)
	n := slack.NewNotifier(f.config(), func(id string) slack.Links { return slack.Links{Report: "https://quell.example/r/" + id} })
	inc := testIncident()
	ref, err := n.PostIncident(t.Context(), inc)
	if err != nil {
		t.Fatal(err)
	}
	inc.Steps[2].Status, inc.Steps[2].FinishedAt = incident.StepSucceeded, at(90*time.Second)
	inc.Steps[3].Status, inc.Steps[3].StartedAt, inc.Steps[3].FinishedAt = incident.StepFailed, at(91*time.Second), at(93*time.Second)
	inc.Steps[3].Error = "image in use"
	if err := n.UpdateIncident(t.Context(), ref, inc); err != nil {
		t.Fatal(err)
	}
	calls := f.seen()
	if got, want := methods(calls), []string{"chat.postMessage", "chat.update"}; !slices.Equal(got, want) {
		t.Fatalf("methods = %v, want %v", got, want)
	}
	if ref.Channel != channel || ref.TS == "" {
		t.Errorf("ref = %+v", ref)
	}
	if got := calls[1].Form; got.Get("channel") != ref.Channel || got.Get("ts") != ref.TS {
		t.Errorf("chat.update channel, ts = %q, %q, want %q, %q", got.Get("channel"), got.Get("ts"), ref.Channel, ref.TS)
	}
	for _, tc := range []struct {
		call int
		want []string
	}{
		{0, []string{":raised_hand: Awaiting approval · Terminal shell in container", ":white_check_mark: contain (docker:isolate) 0.2s",
			":raised_hand: *approve-delete* (slack:approve): waiting for approval", ":white_circle: delete-image (image:delete)", "<https://quell.example/r/quell-docker-3f2a1b9c8d7e.0195f3c2-run|Report>"}},
		{1, []string{":white_check_mark: approve-delete (slack:approve)", ":x: *delete-image* (image:delete) 2.0s: image in use"}},
	} {
		got := texts(t, calls[tc.call].Form.Get("blocks"))
		for _, w := range tc.want {
			if !strings.Contains(got, w) {
				t.Errorf("call %d blocks lack %q:\n%s", tc.call, w, got)
			}
		}
	}
	if got, want := calls[0].Form.Get("text"), ":raised_hand: Awaiting approval · Terminal shell in container on web-1"; got != want {
		t.Errorf("text = %q, want %q", got, want)
	}
}

func TestReplyAndPost(t *testing.T) {
	f := newFakeSlack(t)
	n := slack.NewNotifier(f.config(), nil)
	reply, err := n.Reply(t.Context(), incident.MessageRef{Channel: channel, TS: "1700000000.000009"}, "*reminder*")
	if err != nil {
		t.Fatal(err)
	}
	post, err := n.Post(t.Context(), "hello")
	if err != nil {
		t.Fatal(err)
	}
	calls := f.seen()
	if got := calls[0].Form; got.Get("thread_ts") != "1700000000.000009" || got.Get("text") != "*reminder*" {
		t.Errorf("reply form = %v", got)
	}
	if got := calls[1].Form; got.Get("thread_ts") != "" || got.Get("channel") != channel || got.Get("text") != "hello" {
		t.Errorf("post form = %v", got)
	}
	if reply.TS == post.TS || reply.Channel != channel {
		t.Errorf("refs = %+v, %+v", reply, post)
	}
}

func TestRequestApproval(t *testing.T) {
	f := newFakeSlack(t)
	n := slack.NewNotifier(f.config(), nil)
	inc := testIncident()
	parent := incident.MessageRef{Channel: channel, TS: "1700000000.000009"}
	ref, err := n.RequestApproval(t.Context(), parent, inc, "approve-delete", []string{"image sha256:0123456789ab"}, []string{"U01ALICE", "S0SECOPS"})
	if err != nil {
		t.Fatal(err)
	}
	c := f.seen()[0]
	if c.Method != "chat.postMessage" || c.Form.Get("thread_ts") != parent.TS || ref.TS == "" {
		t.Fatalf("call %s thread_ts %q ref %+v", c.Method, c.Form.Get("thread_ts"), ref)
	}
	buttons := buttonsOf(t, c.Form.Get("blocks"))
	if len(buttons) != 2 {
		t.Fatalf("%d buttons, want 2", len(buttons))
	}
	for i, want := range []struct {
		id    string
		style slackgo.Style
	}{{slack.ActionApprove, slackgo.StylePrimary}, {slack.ActionReject, slackgo.StyleDanger}} {
		b := buttons[i]
		var v slack.ActionValue
		if err := json.Unmarshal([]byte(b.Value), &v); err != nil {
			t.Fatal(err)
		}
		if b.ActionID != want.id || b.Style != want.style || v != (slack.ActionValue{IncidentID: inc.ID, Step: "approve-delete"}) {
			t.Errorf("button %d = %s %s %+v", i, b.ActionID, b.Style, v)
		}
		if b.Confirm == nil {
			t.Errorf("button %s has no confirm", b.ActionID)
		}
	}
	if got := buttons[1].Confirm.Text.Text; got != slack.RejectConfirm {
		t.Errorf("reject confirm = %q", got)
	}
	if got, want := buttons[0].Confirm.Text.Text, "This will destroy or replace:\n• image sha256:0123456789ab"; got != want {
		t.Errorf("approve confirm = %q, want %q", got, want)
	}
	if got := texts(t, c.Form.Get("blocks")); !strings.Contains(got, "Who may decide: <@U01ALICE>, <!subteam^S0SECOPS>") {
		t.Errorf("blocks lack the approvers:\n%s", got)
	}
}

// buttonsOf returns the buttons of the actions blocks in a blocks document.
func buttonsOf(t *testing.T, blocksJSON string) []*slackgo.ButtonBlockElement {
	t.Helper()
	var blocks slackgo.Blocks
	if err := json.Unmarshal([]byte(blocksJSON), &blocks); err != nil {
		t.Fatal(err)
	}
	var out []*slackgo.ButtonBlockElement
	for _, b := range blocks.BlockSet {
		if a, ok := b.(*slackgo.ActionBlock); ok {
			for _, e := range a.Elements.ElementSet {
				if btn, ok := e.(*slackgo.ButtonBlockElement); ok {
					out = append(out, btn)
				}
			}
		}
	}
	return out
}

func TestShowDecision(t *testing.T) {
	f := newFakeSlack(t)
	n := slack.NewNotifier(f.config(), nil)
	ref := incident.MessageRef{Channel: channel, TS: "1700000000.000042"}
	d := incident.Decision{Step: "approve-delete", Decision: incident.Approve, Approver: "U01ALICE", Comment: "image is <bad>", At: time.Date(2026, 3, 14, 4, 12, 9, 0, time.FixedZone("CET", 3600))}
	if err := n.ShowDecision(t.Context(), ref, d); err != nil {
		t.Fatal(err)
	}
	c := f.seen()[0]
	if c.Method != "chat.update" || c.Form.Get("channel") != ref.Channel || c.Form.Get("ts") != ref.TS {
		t.Fatalf("call = %s %v", c.Method, c.Form)
	}
	if got := buttonsOf(t, c.Form.Get("blocks")); len(got) != 0 {
		t.Errorf("%d buttons left", len(got))
	}
	want := ":white_check_mark: *Approved* by <@U01ALICE> at 03:12:09 UTC: image is &lt;bad&gt;"
	if got := texts(t, c.Form.Get("blocks")); !strings.Contains(got, want) {
		t.Errorf("blocks = %s, want %q", got, want)
	}
}

func TestGroupMembers(t *testing.T) {
	f := newFakeSlack(t)
	got, err := slack.NewNotifier(f.config(), nil).GroupMembers(t.Context(), "S0SECOPS")
	if err != nil {
		t.Fatal(err)
	}
	if want := []string{"U01ALICE", "U02BOB"}; !slices.Equal(got, want) {
		t.Errorf("members = %v, want %v", got, want)
	}
	if c := f.seen()[0]; c.Method != "usergroups.users.list" || c.Form.Get("usergroup") != "S0SECOPS" {
		t.Errorf("call = %s %v", c.Method, c.Form)
	}
}

func TestEphemeral(t *testing.T) {
	f := newFakeSlack(t)
	if err := slack.NewNotifier(f.config(), nil).Ephemeral(t.Context(), channel, "U02BOB", "not you"); err != nil {
		t.Fatal(err)
	}
	if c := f.seen()[0]; c.Method != "chat.postEphemeral" || c.Form.Get("user") != "U02BOB" || c.Form.Get("channel") != channel || c.Form.Get("text") != "not you" {
		t.Errorf("call = %s %v", c.Method, c.Form)
	}
}

func TestRateLimited(t *testing.T) {
	f := newFakeSlack(t, func(c slacktest.Customize) {
		c.Handle("/chat.postMessage", func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Retry-After", "7")
			w.WriteHeader(http.StatusTooManyRequests)
		})
	})
	_, err := slack.NewNotifier(f.config(), nil).Post(t.Context(), "hello")
	if got, want := err.Error(), "slack post message: slack rate limit exceeded, retry after 7s"; got != want {
		t.Errorf("error = %q, want %q", got, want)
	}
	if d, ok := slack.RetryAfter(err); !ok || d != 7*time.Second {
		t.Errorf("RetryAfter = %v, %v, want 7s", d, ok)
	}
	if rl, ok := errors.AsType[*slackgo.RateLimitedError](err); !ok || rl.RetryAfter != 7*time.Second {
		t.Errorf("errors.As RateLimitedError = %v, %v", rl, ok)
	}
}

// TestErrorsHideTokens makes Slack echo the token in its error: no call's
// error shows it.
func TestErrorsHideTokens(t *testing.T) {
	echo := func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		_ = json.NewEncoder(w).Encode(map[string]any{"ok": false, "error": "invalid_auth: " + string(body)})
	}
	f := newFakeSlack(t, func(c slacktest.Customize) {
		for _, m := range []string{"/chat.postMessage", "/chat.update", "/chat.postEphemeral", "/usergroups.users.list"} {
			c.Handle(m, echo)
		}
	})
	n := slack.NewNotifier(f.config(), nil)
	ctx, ref := t.Context(), incident.MessageRef{Channel: channel, TS: "1.2"}
	for name, call := range map[string]func() error{
		"PostIncident":    func() error { _, err := n.PostIncident(ctx, testIncident()); return err },
		"UpdateIncident":  func() error { return n.UpdateIncident(ctx, ref, testIncident()) },
		"Reply":           func() error { _, err := n.Reply(ctx, ref, "x"); return err },
		"Post":            func() error { _, err := n.Post(ctx, "x"); return err },
		"RequestApproval": func() error { _, err := n.RequestApproval(ctx, ref, testIncident(), "s", nil, nil); return err },
		"ShowDecision":    func() error { return n.ShowDecision(ctx, ref, incident.Decision{}) },
		"Ephemeral":       func() error { return n.Ephemeral(ctx, channel, "U1", "x") },
		"GroupMembers":    func() error { _, err := n.GroupMembers(ctx, "S1"); return err },
	} {
		err := call()
		if err == nil || !strings.Contains(err.Error(), "invalid_auth: ") {
			t.Errorf("%s error = %v, want Slack's error", name, err)
			continue
		}
		if strings.Contains(err.Error(), "DISTINCTIVE") || !strings.Contains(err.Error(), "[redacted]") {
			t.Errorf("%s error shows a token: %v", name, err)
		}
	}
}

func TestSlowSlackReturnsPromptly(t *testing.T) {
	f := newFakeSlack(t, func(c slacktest.Customize) {
		c.Handle("/chat.postMessage", func(w http.ResponseWriter, r *http.Request) {
			_, _ = io.Copy(io.Discard, r.Body) // lets the server see the client go
			select {
			case <-r.Context().Done():
			case <-time.After(5 * time.Second):
			}
		})
	})
	ctx, cancel := context.WithTimeout(t.Context(), 100*time.Millisecond)
	defer cancel()
	start := time.Now()
	_, err := slack.NewNotifier(f.config(), nil).Post(ctx, "hello")
	if !errors.Is(err, context.DeadlineExceeded) || time.Since(start) > 2*time.Second {
		t.Errorf("error = %v after %s, want a deadline within 2s", err, time.Since(start))
	}
}

func TestDisabled(t *testing.T) {
	n := slack.NewNotifier(slack.Config{BotToken: botToken}, nil)
	_, err := n.PostIncident(t.Context(), testIncident())
	if !errors.Is(err, slack.ErrDisabled) {
		t.Errorf("error = %v, want ErrDisabled", err)
	}
}
