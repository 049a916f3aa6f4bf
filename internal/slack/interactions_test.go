package slack_test

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/quell-ir/quell/internal/incident"
	"github.com/quell-ir/quell/internal/slack"
	"github.com/quell-ir/quell/internal/slack/slacktesting"
)

// fakeDecider is a Decider whose Decide calls decide and records the click.
type fakeDecider struct {
	decide func(ctx context.Context, c slack.Click) error

	mu     sync.Mutex
	clicks []slack.Click
}

var _ slack.Decider = (*fakeDecider)(nil)

func (d *fakeDecider) Decide(ctx context.Context, c slack.Click) error {
	d.mu.Lock()
	d.clicks = append(d.clicks, c)
	d.mu.Unlock()
	if d.decide == nil {
		return nil
	}
	return d.decide(ctx, c)
}

func (d *fakeDecider) seen() []slack.Click {
	d.mu.Lock()
	defer d.mu.Unlock()
	return append([]slack.Click(nil), d.clicks...)
}

const (
	signingSecret = "s3cret-signing"
	clickChannel  = "C0QUELL"
	clickTS       = "1700000000.000100"
	incidentID    = "quell-docker-3f2a1b9c8d7e.0195f3c2-run"
)

// wantClick is the click clickPayload describes.
var wantClick = slack.Click{
	IncidentID: incidentID, Step: "approve-delete", Decision: incident.Approve,
	User: "WJC6QG0MS", UserName: "ksera", Channel: clickChannel, MessageTS: clickTS,
	ResponseURL: "https://www.postresponsestome.com/T123567/1509734234", ActionID: "12466734323.1395872398",
}

// clickPayload is the sample block_actions payload with its button made
// one of ours (actionID, value) on the message clickChannel/clickTS.
func clickPayload(t *testing.T, actionID, value string) string {
	t.Helper()
	b, err := os.ReadFile("testdata/block_actions_button.json")
	if err != nil {
		t.Fatal(err)
	}
	var p map[string]any
	if err := json.Unmarshal(b, &p); err != nil {
		t.Fatal(err)
	}
	action := p["actions"].([]any)[0].(map[string]any)
	action["action_id"], action["value"] = actionID, value
	container := p["container"].(map[string]any)
	container["channel_id"], container["message_ts"] = clickChannel, clickTS
	p["channel"] = map[string]any{"id": clickChannel, "name": "incidents"}
	out, err := json.Marshal(p)
	if err != nil {
		t.Fatal(err)
	}
	return string(out)
}

func approveValue() string {
	b, _ := json.Marshal(slack.ActionValue{IncidentID: incidentID, Step: "approve-delete"})
	return string(b)
}

// signedHeader signs body as Slack does at ts.
func signedHeader(secret string, body []byte, ts time.Time) http.Header {
	return slacktesting.Sign(secret, body, ts)
}

// interactionRequest is payload posted as Slack posts it, signed at ts.
func interactionRequest(payload string, ts time.Time) *http.Request {
	body := url.Values{"payload": {payload}}.Encode()
	r := httptest.NewRequest(http.MethodPost, "/v1/slack/interactions", strings.NewReader(body))
	r.Header = signedHeader(signingSecret, []byte(body), ts)
	return r
}

var now = time.Date(2026, 3, 14, 3, 12, 9, 0, time.UTC)

func newInteractions(f *fakeSlack, d slack.Decider) *slack.Interactions {
	return &slack.Interactions{Secret: signingSecret, Decider: d, Notifier: slack.NewNotifier(f.config(), nil), Now: func() time.Time { return now }}
}

func TestInteractionsDecide(t *testing.T) {
	f := newFakeSlack(t)
	release := make(chan struct{})
	d := &fakeDecider{decide: func(ctx context.Context, c slack.Click) error { <-release; return nil }}
	h := newInteractions(f, d)
	w := httptest.NewRecorder()
	start := time.Now()
	h.ServeHTTP(w, interactionRequest(clickPayload(t, slack.ActionApprove, approveValue()), now))
	if took := time.Since(start); w.Code != http.StatusOK || took > time.Second {
		t.Fatalf("status %d after %s, want 200 at once", w.Code, took)
	}
	close(release)
	h.Wait()
	if got := d.seen(); len(got) != 1 || got[0] != wantClick {
		t.Fatalf("clicks = %+v, want [%+v]", got, wantClick)
	}
	calls := f.seen()
	if len(calls) != 1 || calls[0].Method != "chat.update" || calls[0].Form.Get("channel") != clickChannel || calls[0].Form.Get("ts") != clickTS {
		t.Fatalf("calls = %+v, want one chat.update of the clicked message", calls)
	}
	if got, want := calls[0].Form.Get("text"), ":white_check_mark: *Approved* by <@WJC6QG0MS> at 03:12:09 UTC"; got != want {
		t.Errorf("text = %q, want %q", got, want)
	}
}

func TestInteractionsRefuse(t *testing.T) {
	for _, tc := range []struct {
		name string
		req  func(t *testing.T) *http.Request
		want int
	}{
		{"bad signature", func(t *testing.T) *http.Request {
			r := interactionRequest(clickPayload(t, slack.ActionApprove, approveValue()), now)
			r.Header.Set("X-Slack-Signature", "v0=0123")
			return r
		}, http.StatusUnauthorized},
		{"six minutes old", func(t *testing.T) *http.Request {
			return interactionRequest(clickPayload(t, slack.ActionApprove, approveValue()), now.Add(-6*time.Minute))
		}, http.StatusUnauthorized},
		{"unsigned", func(t *testing.T) *http.Request {
			r := interactionRequest(clickPayload(t, slack.ActionApprove, approveValue()), now)
			r.Header.Del("X-Slack-Signature")
			return r
		}, http.StatusUnauthorized},
		{"another app's button", func(t *testing.T) *http.Request {
			return interactionRequest(clickPayload(t, "this-is-the-action", "click_me_123"), now)
		}, http.StatusOK},
		{"our button, bad value", func(t *testing.T) *http.Request {
			return interactionRequest(clickPayload(t, slack.ActionReject, "click_me_123"), now)
		}, http.StatusBadRequest},
		{"not a form", func(t *testing.T) *http.Request {
			r := httptest.NewRequest(http.MethodPost, "/", strings.NewReader("payload=%7B"))
			r.Header = signedHeader(signingSecret, []byte("payload=%7B"), now)
			return r
		}, http.StatusBadRequest},
		{"too large", func(t *testing.T) *http.Request {
			body := "payload=" + strings.Repeat("x", slack.MaxInteractionBytes)
			r := httptest.NewRequest(http.MethodPost, "/", strings.NewReader(body))
			r.Header = signedHeader(signingSecret, []byte(body), now)
			return r
		}, http.StatusRequestEntityTooLarge},
		{"GET", func(t *testing.T) *http.Request { return httptest.NewRequest(http.MethodGet, "/", nil) }, http.StatusMethodNotAllowed},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := newFakeSlack(t)
			d := &fakeDecider{}
			h := newInteractions(f, d)
			w := httptest.NewRecorder()
			h.ServeHTTP(w, tc.req(t))
			h.Wait()
			if w.Code != tc.want {
				t.Errorf("status = %d, want %d", w.Code, tc.want)
			}
			if len(d.seen()) != 0 || len(f.seen()) != 0 {
				t.Errorf("decider saw %d clicks, Slack %d calls; want none", len(d.seen()), len(f.seen()))
			}
		})
	}
}

func TestInteractionsRefusal(t *testing.T) {
	f := newFakeSlack(t)
	d := &fakeDecider{decide: func(context.Context, slack.Click) error {
		return errors.New(`approver "WJC6QG0MS" may not decide step "approve-delete"`)
	}}
	h := newInteractions(f, d)
	w := httptest.NewRecorder()
	h.ServeHTTP(w, interactionRequest(clickPayload(t, slack.ActionReject, approveValue()), now))
	h.Wait()
	calls := f.seen()
	if w.Code != http.StatusOK || len(calls) != 1 || calls[0].Method != "chat.postEphemeral" {
		t.Fatalf("status %d, calls %+v; want 200 and one ephemeral", w.Code, calls)
	}
	form := calls[0].Form
	want := `:no_entry: Your reject of step *approve-delete* was not recorded: approver "WJC6QG0MS" may not decide step "approve-delete"`
	if form.Get("user") != "WJC6QG0MS" || form.Get("channel") != clickChannel || form.Get("text") != want {
		t.Errorf("ephemeral to %s in %s: %q, want %q", form.Get("user"), form.Get("channel"), form.Get("text"), want)
	}
}

func TestInteractionsReplay(t *testing.T) {
	f := newFakeSlack(t)
	d := &fakeDecider{}
	h := newInteractions(f, d)
	payload := clickPayload(t, slack.ActionApprove, approveValue())
	for range 2 {
		w := httptest.NewRecorder()
		h.ServeHTTP(w, interactionRequest(payload, now))
		if w.Code != http.StatusOK {
			t.Fatalf("status = %d", w.Code)
		}
	}
	h.Wait()
	got := d.seen()
	if len(got) != 2 || got[0].ActionID != wantClick.ActionID || got[1].ActionID != wantClick.ActionID {
		t.Errorf("clicks = %+v, want two with action ID %s", got, wantClick.ActionID)
	}
}
