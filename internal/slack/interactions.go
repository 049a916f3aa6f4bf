package slack

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"sync"
	"time"

	slackgo "github.com/slack-go/slack"
)

// MaxInteractionBytes is the largest interaction request body read.
const MaxInteractionBytes = 64 << 10

// Interactions is the handler for POST /v1/slack/interactions, Slack's
// interactivity request URL. It answers at once and takes the decision in
// the background (see Wait).
type Interactions struct {
	// Secret is the app's signing secret.
	Secret string
	// Decider takes the decisions.
	Decider Decider
	// Notifier shows them in Slack; nil shows nothing.
	Notifier *Notifier
	// Now is the clock; nil means time.Now.
	Now func() time.Time
	// Log records clicks and refusals; nil means slog.Default().
	Log *slog.Logger

	wg sync.WaitGroup
}

// ServeHTTP verifies a request from Slack (401 when it fails, and nothing
// else happens), reads its payload and, for a click on an approval button,
// starts the decision and answers 200 at once. Other interactions get 200
// and are ignored.
func (h *Interactions) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodPost {
		w.Header().Set("Allow", http.MethodPost)
		http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
		return
	}
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, MaxInteractionBytes))
	if err != nil {
		status := http.StatusBadRequest
		if _, ok := errors.AsType[*http.MaxBytesError](err); ok {
			status = http.StatusRequestEntityTooLarge
		}
		http.Error(w, "cannot read body", status)
		return
	}
	if err := Verify(r.Header, body, h.Secret, h.now()); err != nil {
		h.logger().Warn("slack interaction refused", "err", err, "remote", r.RemoteAddr)
		http.Error(w, "unauthorized", http.StatusUnauthorized)
		return
	}
	cb, err := parsePayload(body)
	if err != nil {
		h.logger().Warn("slack interaction unreadable", "err", err)
		http.Error(w, "bad payload", http.StatusBadRequest)
		return
	}
	if _, err := h.router().route(cb); err != nil {
		h.logger().Warn("slack click unreadable", "err", err)
		http.Error(w, "bad action value", http.StatusBadRequest)
		return
	}
	w.WriteHeader(http.StatusOK)
}

// Wait waits for the decisions started so far to finish.
func (h *Interactions) Wait() { h.wg.Wait() }

// parsePayload reads the interaction from a form body's payload field.
func parsePayload(body []byte) (slackgo.InteractionCallback, error) {
	var cb slackgo.InteractionCallback
	form, err := url.ParseQuery(string(body))
	if err != nil {
		return cb, fmt.Errorf("form: %w", err)
	}
	if err := json.Unmarshal([]byte(form.Get("payload")), &cb); err != nil {
		return cb, fmt.Errorf("payload: %w", err)
	}
	return cb, nil
}

func (h *Interactions) router() router {
	return router{decider: h.Decider, notifier: h.Notifier, now: h.now, log: h.logger(), wg: &h.wg}
}

func (h *Interactions) now() time.Time {
	if h.Now == nil {
		return time.Now()
	}
	return h.Now()
}

func (h *Interactions) logger() *slog.Logger {
	if h.Log == nil {
		return slog.Default()
	}
	return h.Log
}
