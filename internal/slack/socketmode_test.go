package slack_test

import (
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/gorilla/websocket"
	"github.com/slack-go/slack/slacktest"

	"github.com/quell-ir/quell/internal/slack"
)

// socketServer serves Socket Mode on the fake Slack: apps.connections.open
// (checking the app token) hands out the websocket URL, whose handler sends
// hello and then each envelope, and passes the client's acks to acks.
type socketServer struct {
	f         *fakeSlack
	envelopes []string
	acks      chan string
	auth      chan string
}

func newSocketServer(t *testing.T, envelopes ...string) *socketServer {
	s := &socketServer{envelopes: envelopes, acks: make(chan string, 10), auth: make(chan string, 10)}
	s.f = newFakeSlack(t, func(c slacktest.Customize) {
		c.Handle("/apps.connections.open", s.open)
		c.Handle("/ws", slacktest.Websocket(s.serve))
	})
	return s
}

func (s *socketServer) open(w http.ResponseWriter, r *http.Request) {
	_, _ = io.Copy(io.Discard, r.Body)
	s.auth <- r.Header.Get("Authorization")
	if r.Header.Get("Authorization") != "Bearer "+appToken {
		_, _ = io.WriteString(w, `{"ok":false,"error":"invalid_auth"}`)
		return
	}
	_ = json.NewEncoder(w).Encode(map[string]any{"ok": true, "url": s.f.srv.GetWSURL()})
}

func (s *socketServer) serve(c *websocket.Conn) {
	_ = c.WriteMessage(websocket.TextMessage, []byte(`{"type":"hello","num_connections":1}`))
	for _, e := range s.envelopes {
		_ = c.WriteMessage(websocket.TextMessage, []byte(e))
	}
	for {
		var ack struct {
			EnvelopeID string `json:"envelope_id"`
		}
		if err := c.ReadJSON(&ack); err != nil {
			return
		}
		s.acks <- ack.EnvelopeID
	}
}

func envelope(id, typ, payload string) string {
	return `{"envelope_id":"` + id + `","type":"` + typ + `","accepts_response_payload":false,"payload":` + payload + `}`
}

func TestRunSocketMode(t *testing.T) {
	s := newSocketServer(t,
		envelope("env-other", "interactive", clickPayload(t, "this-is-the-action", "click_me_123")),
		envelope("env-click", "interactive", clickPayload(t, slack.ActionApprove, approveValue())))
	decided := make(chan slack.Click, 1)
	d := &fakeDecider{decide: func(_ context.Context, c slack.Click) error { decided <- c; return nil }}
	cfg := s.f.config()
	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	done := make(chan error, 1)
	go func() {
		done <- slack.RunSocketMode(ctx, cfg, d, slack.NewNotifier(cfg, nil), slog.New(slog.DiscardHandler))
	}()

	for _, want := range []string{"env-other", "env-click"} {
		select {
		case got := <-s.acks:
			if got != want {
				t.Errorf("ack %q, want %q", got, want)
			}
		case <-time.After(10 * time.Second):
			t.Fatalf("no ack for %s", want)
		}
	}
	select {
	case c := <-decided:
		if c != wantClick {
			t.Errorf("click = %+v, want %+v", c, wantClick)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("no decision")
	}
	cancel()
	select {
	case err := <-done:
		if err != nil {
			t.Errorf("RunSocketMode = %v, want nil once ctx ends", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("RunSocketMode did not return when ctx ended")
	}
	if got := len(d.seen()); got != 1 {
		t.Errorf("decider saw %d clicks, want 1", got)
	}
	calls := s.f.seen()
	if len(calls) != 1 || calls[0].Method != "chat.update" || calls[0].Form.Get("ts") != clickTS {
		t.Errorf("calls = %+v, want the clicked message updated", calls)
	}
}

func TestRunSocketModeBadToken(t *testing.T) {
	s := newSocketServer(t)
	cfg := s.f.config()
	cfg.AppToken = "xapp-1-DISTINCTIVE-wrong"
	err := slack.RunSocketMode(t.Context(), cfg, &fakeDecider{}, nil, slog.New(slog.DiscardHandler))
	if err == nil || err.Error() != "slack socket mode: invalid_auth" {
		t.Errorf("RunSocketMode = %v, want invalid_auth", err)
	}
	if got := <-s.auth; !strings.HasPrefix(got, "Bearer xapp-") {
		t.Errorf("apps.connections.open authorised with %q, want the app token", got)
	}
	if err := slack.RunSocketMode(t.Context(), slack.Config{BotToken: botToken}, &fakeDecider{}, nil, nil); err == nil || err.Error() != "slack socket mode: no app token" {
		t.Errorf("RunSocketMode without app token = %v", err)
	}
}
