package slack

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	slackgo "github.com/slack-go/slack"
	"github.com/slack-go/slack/socketmode"
)

// RunSocketMode receives interactions over Socket Mode with cfg.AppToken
// (xapp-...), acknowledges each envelope, and takes the decisions of clicks
// on approval buttons as the HTTP handler does. It returns nil when ctx
// ends, once the decisions under way have finished, and an error when the
// connection cannot be made (a bad token, say).
func RunSocketMode(ctx context.Context, cfg Config, d Decider, n *Notifier, log *slog.Logger) error {
	if cfg.AppToken == "" {
		return errors.New("slack socket mode: no app token")
	}
	if log == nil {
		log = slog.Default()
	}
	client := socketmode.New(newAPI(cfg))
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	runErr := make(chan error, 1)
	go func() { runErr <- client.RunContext(ctx) }()

	var wg sync.WaitGroup
	defer wg.Wait()
	r := router{decider: d, notifier: n, now: time.Now, log: log, wg: &wg}
	for {
		select {
		case <-ctx.Done():
			return nil
		case err := <-runErr:
			if ctx.Err() != nil {
				return nil
			}
			return fmt.Errorf("slack socket mode: %w", cfg.redactErr(err))
		case evt := <-client.Events:
			handleEvent(ctx, client, r, evt, log)
		}
	}
}

// handleEvent acknowledges a Socket Mode request and routes clicks.
func handleEvent(ctx context.Context, client *socketmode.Client, r router, evt socketmode.Event, log *slog.Logger) {
	switch evt.Type {
	case socketmode.EventTypeConnected:
		log.Info("slack socket mode connected")
	case socketmode.EventTypeConnectionError, socketmode.EventTypeInvalidAuth:
		log.Warn("slack socket mode connection failed", "event", evt.Type)
	}
	if evt.Request == nil || evt.Request.EnvelopeID == "" {
		return
	}
	if err := client.AckCtx(ctx, evt.Request.EnvelopeID, nil); err != nil {
		log.Warn("slack socket mode ack failed", "err", err)
	}
	cb, ok := evt.Data.(slackgo.InteractionCallback)
	if evt.Type != socketmode.EventTypeInteractive || !ok {
		return
	}
	if _, err := r.route(cb); err != nil {
		log.Warn("slack click unreadable", "err", err)
	}
}
