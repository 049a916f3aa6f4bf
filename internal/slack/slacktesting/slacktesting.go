// Package slacktesting is a Slack Web API for tests: slack-go's slacktest
// server with the methods quell uses answered as Slack answers them
// (chat.update, usergroups.users.list and chat.postEphemeral, which
// slacktest lacks), every call recorded, and requests signed as Slack signs
// them.
package slacktesting

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httputil"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/slack-go/slack/slacktest"

	"github.com/quell-ir/quell/internal/slack"
)

// Credentials the server accepts; distinctive, so a test can check they
// never leak into errors or logs.
const (
	BotToken      = "xoxb-42-DISTINCTIVE-bot-token"
	AppToken      = "xapp-1-DISTINCTIVE-app-token"
	Channel       = "C0QUELL"
	SigningSecret = "s3cret-signing"
)

// Call is one Web API call the server saw.
type Call struct {
	Method string
	Form   url.Values
	Auth   string
}

// Server is a fake Slack Web API.
type Server struct {
	// Srv is the underlying slacktest server.
	Srv *slacktest.Server
	// Members answers usergroups.users.list.
	Members []string

	mu    sync.Mutex
	calls []Call
	seq   int
}

// New starts a fake Slack, stopped when the test ends; custom handlers win
// over the defaults.
func New(t testing.TB, custom ...slacktest.Binder) *Server {
	t.Helper()
	s := Start(custom...)
	t.Cleanup(s.Srv.Stop)
	return s
}

// Start starts a fake Slack outside a test; Srv.Stop stops it.
func Start(custom ...slacktest.Binder) *Server {
	s := &Server{Members: []string{"U01ALICE", "U02BOB"}}
	s.Srv = slacktest.NewTestServer(append(custom, s.bind)...)
	s.Srv.Start()
	return s
}

// Front serves the fake Slack on an address of its own that can be taken
// down, refusing connections as a Slack outage does, and brought back on
// the same address. It starts down.
type Front struct {
	addr  string
	proxy http.Handler

	mu  sync.Mutex
	srv *http.Server
}

// Front returns a front for s on a free loopback port.
func (s *Server) Front() (*Front, error) {
	target, err := url.Parse(s.Srv.GetAPIURL())
	if err != nil {
		return nil, fmt.Errorf("fake slack: %w", err)
	}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, fmt.Errorf("fake slack front: %w", err)
	}
	defer l.Close()
	return &Front{addr: l.Addr().String(), proxy: httputil.NewSingleHostReverseProxy(target)}, nil
}

// URL is the Web API URL quell is given.
func (f *Front) URL() string { return "http://" + f.addr + "/" }

// Up serves again, on the same address.
func (f *Front) Up() error {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.srv != nil {
		return nil
	}
	var l net.Listener
	var err error
	for range 50 { // the port can linger for a moment after Down
		if l, err = net.Listen("tcp", f.addr); err == nil {
			break
		}
		time.Sleep(100 * time.Millisecond)
	}
	if err != nil {
		return fmt.Errorf("fake slack back on %s: %w", f.addr, err)
	}
	f.srv = &http.Server{Handler: f.proxy, ReadHeaderTimeout: 10 * time.Second}
	go func(srv *http.Server) { _ = srv.Serve(l) }(f.srv)
	return nil
}

// Down closes the listener and every connection through it.
func (f *Front) Down() {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.srv != nil {
		_ = f.srv.Close()
		f.srv = nil
	}
}

func (s *Server) bind(c slacktest.Customize) {
	c.Handle("/chat.postMessage", s.record(func(form url.Values) any {
		return map[string]any{"ok": true, "channel": form.Get("channel"), "ts": s.nextTS(),
			"message": map[string]any{"text": form.Get("text")}}
	}))
	c.Handle("/chat.update", s.record(func(form url.Values) any {
		return map[string]any{"ok": true, "channel": form.Get("channel"), "ts": form.Get("ts"), "text": form.Get("text")}
	}))
	c.Handle("/chat.postEphemeral", s.record(func(url.Values) any {
		return map[string]any{"ok": true, "message_ts": s.nextTS()}
	}))
	c.Handle("/usergroups.users.list", s.record(func(url.Values) any {
		return map[string]any{"ok": true, "users": s.Members}
	}))
}

// record answers a form call with answer(form) as JSON, refusing a wrong
// bot token as Slack does, and records it.
func (s *Server) record(answer func(url.Values) any) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		form, _ := url.ParseQuery(string(body))
		s.mu.Lock()
		s.calls = append(s.calls, Call{Method: strings.TrimPrefix(r.URL.Path, "/"), Form: form, Auth: r.Header.Get("Authorization")})
		s.mu.Unlock()
		w.Header().Set("Content-Type", "application/json")
		if form.Get("token") != BotToken {
			_, _ = io.WriteString(w, `{"ok":false,"error":"invalid_auth"}`)
			return
		}
		_ = json.NewEncoder(w).Encode(answer(form))
	}
}

func (s *Server) nextTS() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.seq++
	return fmt.Sprintf("1700000000.%06d", s.seq)
}

// Calls returns the calls so far.
func (s *Server) Calls() []Call {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]Call(nil), s.calls...)
}

// Methods lists the methods of calls in order.
func Methods(calls []Call) []string {
	out := make([]string, len(calls))
	for i, c := range calls {
		out[i] = c.Method
	}
	return out
}

// Config is a Slack configuration pointing at the server.
func (s *Server) Config() slack.Config {
	return slack.Config{BotToken: BotToken, AppToken: AppToken, SigningSecret: SigningSecret, Channel: Channel, APIURL: s.Srv.GetAPIURL()}
}

// Sign returns the headers Slack sends with body at ts.
func Sign(secret string, body []byte, ts time.Time) http.Header {
	stamp := strconv.FormatInt(ts.Unix(), 10)
	m := hmac.New(sha256.New, []byte(secret))
	fmt.Fprintf(m, "v0:%s:%s", stamp, body)
	h := http.Header{}
	h.Set("X-Slack-Request-Timestamp", stamp)
	h.Set("X-Slack-Signature", "v0="+hex.EncodeToString(m.Sum(nil)))
	h.Set("Content-Type", "application/x-www-form-urlencoded")
	return h
}

// Texts joins every "text" string found in a blocks JSON document, one per line.
func Texts(t testing.TB, blocksJSON string) string {
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
