package slack_test

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"testing"

	"github.com/slack-go/slack/slacktest"

	"github.com/quell-ir/quell/internal/slack"
)

const (
	botToken = "xoxb-42-DISTINCTIVE-bot-token"
	appToken = "xapp-1-DISTINCTIVE-app-token"
	channel  = "C0QUELL"
)

// call is one Web API call the fake Slack saw.
type call struct {
	Method string
	Form   url.Values
	Auth   string
}

// fakeSlack is slack-go's slacktest server with the Web API methods quell
// uses answered like Slack does, and every call recorded.
type fakeSlack struct {
	srv     *slacktest.Server
	members []string

	mu    sync.Mutex
	calls []call
	seq   int
}

// newFakeSlack starts a fake Slack; custom handlers win over the defaults.
func newFakeSlack(t *testing.T, custom ...slacktest.Binder) *fakeSlack {
	t.Helper()
	f := &fakeSlack{members: []string{"U01ALICE", "U02BOB"}}
	f.srv = slacktest.NewTestServer(append(custom, f.bind)...)
	f.srv.Start()
	t.Cleanup(f.srv.Stop)
	return f
}

func (f *fakeSlack) bind(c slacktest.Customize) {
	c.Handle("/chat.postMessage", f.record(func(form url.Values) any {
		return map[string]any{"ok": true, "channel": form.Get("channel"), "ts": f.nextTS(),
			"message": map[string]any{"text": form.Get("text")}}
	}))
	c.Handle("/chat.update", f.record(func(form url.Values) any {
		return map[string]any{"ok": true, "channel": form.Get("channel"), "ts": form.Get("ts"), "text": form.Get("text")}
	}))
	c.Handle("/chat.postEphemeral", f.record(func(url.Values) any {
		return map[string]any{"ok": true, "message_ts": f.nextTS()}
	}))
	c.Handle("/usergroups.users.list", f.record(func(url.Values) any {
		return map[string]any{"ok": true, "users": f.members}
	}))
}

// record answers a form call with answer(form) as JSON, refusing a wrong
// bot token as Slack does, and records it.
func (f *fakeSlack) record(answer func(url.Values) any) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		form, _ := url.ParseQuery(string(body))
		f.mu.Lock()
		f.calls = append(f.calls, call{Method: strings.TrimPrefix(r.URL.Path, "/"), Form: form, Auth: r.Header.Get("Authorization")})
		f.mu.Unlock()
		w.Header().Set("Content-Type", "application/json")
		if form.Get("token") != botToken {
			_, _ = io.WriteString(w, `{"ok":false,"error":"invalid_auth"}`)
			return
		}
		_ = json.NewEncoder(w).Encode(answer(form))
	}
}

func (f *fakeSlack) nextTS() string {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.seq++
	return fmt.Sprintf("1700000000.%06d", f.seq)
}

// seen returns the calls so far.
func (f *fakeSlack) seen() []call {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]call(nil), f.calls...)
}

// methods lists the methods of calls in order.
func methods(calls []call) []string {
	out := make([]string, len(calls))
	for i, c := range calls {
		out[i] = c.Method
	}
	return out
}

func (f *fakeSlack) config() slack.Config {
	return slack.Config{BotToken: botToken, AppToken: appToken, SigningSecret: "s3cret-signing", Channel: channel, APIURL: f.srv.GetAPIURL()}
}

// texts joins every "text" string found in a blocks JSON document, one per line.
func texts(t *testing.T, blocksJSON string) string {
	t.Helper()
	var doc any
	if err := json.Unmarshal([]byte(blocksJSON), &doc); err != nil {
		t.Fatalf("blocks %q: %v", blocksJSON, err)
	}
	var out []string
	var walk func(any)
	walk = func(v any) {
		switch v := v.(type) {
		case map[string]any:
			if s, ok := v["text"].(string); ok {
				out = append(out, s)
			}
			for _, c := range v {
				walk(c)
			}
		case []any:
			for _, c := range v {
				walk(c)
			}
		}
	}
	walk(doc)
	return strings.Join(out, "\n")
}
