package chaos

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/quell-ir/quell/internal/bench/rig"
	"github.com/quell-ir/quell/internal/incident"
	"github.com/quell-ir/quell/internal/slack/slacktesting"
)

// fakeSlack is slacktesting's fake Slack Web API behind a front that can
// be taken down and brought back on the same address. The fake keeps every
// call it answered across outages.
type fakeSlack struct {
	fake *slacktesting.Server
	*slacktesting.Front
}

// startSlack starts the fake Slack and brings its front up.
func startSlack() (*fakeSlack, error) {
	fake := slacktesting.Start()
	front, err := fake.Front()
	if err == nil {
		err = front.Up()
	}
	if err != nil {
		fake.Srv.Stop()
		return nil, err
	}
	return &fakeSlack{fake: fake, Front: front}, nil
}

// Env points quell serve and worker at the fake Slack.
func (s *fakeSlack) Env() []string {
	return []string{
		"QUELL_SLACK_BOT_TOKEN=" + slacktesting.BotToken,
		"QUELL_SLACK_CHANNEL=" + slacktesting.Channel,
		"QUELL_SLACK_API_URL=" + s.URL(),
	}
}

// Close takes the fake Slack down for good.
func (s *fakeSlack) Close() {
	s.Down()
	s.fake.Srv.Stop()
}

// Calls returns the Web API calls the fake Slack answered.
func (s *fakeSlack) Calls() []slacktesting.Call { return s.fake.Calls() }

// containBound is how soon after the alert the container must be paused
// while Slack is down: generous, against the other trials' alert-to-pause
// times, under a second (median 0.4 s) on a loaded two-core machine.
const containBound = 10 * time.Second

// catchUpTimeout bounds the wait for the incident's messages once Slack is
// back: the notify activities retry with a backoff that reaches a minute.
const catchUpTimeout = 2 * time.Minute

// slackDown takes the fake Slack down before the alert.
func slackDown(_ context.Context, r *run, v *victim) error {
	r.slack.Down()
	v.slackDown = time.Now()
	return nil
}

// slackBack waits until every step of the incident has run with Slack
// down, then brings Slack back.
func slackBack(ctx context.Context, r *run, v *victim) error {
	v.struck = "contained with Slack down"
	inc, err := v.api.WaitIncident(ctx, v.id, 250*time.Millisecond, rig.Finished)
	if err != nil {
		return err
	}
	v.struck = fmt.Sprintf("Slack down for %s; incident %s", time.Since(v.slackDown).Round(time.Millisecond), inc.Status)
	v.slackCalls = len(r.slack.Calls())
	v.slackUp = time.Now()
	return r.slack.Up()
}

// checkSlackDown checks containment came on time with Slack down, and
// that the incident's messages arrived once Slack was back.
func checkSlackDown(ctx context.Context, r *run, v *victim) []error {
	var errs []error
	ttc, ok := v.toContain(r.lab.Events.Events(v.c.ID))
	switch {
	case !ok:
		errs = append(errs, errors.New("no pause event after the alert"))
	case ttc > containBound:
		errs = append(errs, fmt.Errorf("paused %s after the alert with Slack down, want within %s", ttc.Round(time.Millisecond), containBound))
	}
	r.logf("alert to pause with Slack down: %s (bound %s); other trials: %s", ttc.Round(time.Millisecond), containBound, durations(r.toContain))
	if before := v.mentions(r.slack.Calls()[:v.slackCalls]); len(before) > 0 {
		errs = append(errs, fmt.Errorf("Slack was down but took %d calls about the incident", len(before)))
	}
	ctx, cancel := context.WithTimeout(ctx, catchUpTimeout)
	defer cancel()
	missing, err := v.caughtUp(ctx, r.slack)
	if err != nil {
		errs = append(errs, fmt.Errorf("%s after Slack came back (%v), still missing: %s",
			time.Since(v.slackUp).Round(time.Second), err, strings.Join(missing, "; ")))
	} else {
		r.logf("Slack caught up %s after it came back", time.Since(v.slackUp).Round(time.Millisecond))
	}
	return errs
}

// caughtUp waits until the fake Slack has every message the incident owes
// it, and returns those still missing when ctx ends or once the closing
// reply came without them: the notifier sends it last.
func (v *victim) caughtUp(ctx context.Context, s *fakeSlack) ([]string, error) {
	closedAt := time.Time{}
	for {
		missing, closed := v.owed(s.Calls())
		if len(missing) == 0 {
			return nil, nil
		}
		if closed && closedAt.IsZero() {
			closedAt = time.Now()
		}
		if closed && time.Since(closedAt) > settle {
			return missing, errors.New("the closing reply came without them")
		}
		select {
		case <-ctx.Done():
			return missing, ctx.Err()
		case <-time.After(250 * time.Millisecond):
		}
	}
}

// owed lists what calls lack of the incident's messages: the message
// itself, the containment and closing replies in its thread, and the
// message brought up to date: an update of it showing the incident
// completed. closed reports whether the closing reply came.
func (v *victim) owed(calls []slacktesting.Call) (missing []string, closed bool) {
	posted := "none"
	if i := slices.IndexFunc(calls, func(c slacktesting.Call) bool {
		return c.Method == "chat.postMessage" && c.Form.Get("thread_ts") == "" && v.named(c.Form.Get("text"))
	}); i >= 0 {
		posted = strconv.Quote(calls[i].Form.Get("text"))
	} else {
		missing = append(missing, "the incident message")
	}
	i := slices.IndexFunc(calls, func(c slacktesting.Call) bool {
		return isReply(c) && strings.Contains(c.Form.Get("text"), "contained *"+v.c.Name+"*")
	})
	if i < 0 {
		return append(missing, "the containment reply, and so the thread"), false
	}
	thread := calls[i].Form.Get("thread_ts")
	closed = slices.ContainsFunc(calls, func(c slacktesting.Call) bool {
		return isReply(c) && c.Form.Get("thread_ts") == thread && strings.Contains(c.Form.Get("text"), ":checkered_flag: incident "+incident.StatusCompleted)
	})
	if !closed {
		missing = append(missing, "the closing reply")
	}
	last := "none"
	for _, c := range calls {
		if c.Method == "chat.update" && c.Form.Get("ts") == thread {
			last = strconv.Quote(c.Form.Get("text"))
		}
	}
	if !strings.Contains(last, statusCompleted) {
		missing = append(missing, fmt.Sprintf("an update of the message (ts %s) to %s: posted as %s, last update %s",
			thread, statusCompleted, posted, last))
	}
	return missing, closed
}

// named reports whether text names the victim: by name, or by the short ID
// the alert gave before containment learnt the name.
func (v *victim) named(text string) bool {
	return strings.Contains(text, v.c.Name) || strings.Contains(text, v.c.ID[:12])
}

// statusCompleted is how the incident message names a completed incident.
const statusCompleted = "Completed"

func isReply(c slacktesting.Call) bool {
	return c.Method == "chat.postMessage" && c.Form.Get("thread_ts") != ""
}

// mentions returns the calls that name the victim.
func (v *victim) mentions(calls []slacktesting.Call) []slacktesting.Call {
	var out []slacktesting.Call
	for _, c := range calls {
		if v.named(c.Form.Get("text")) || v.named(c.Form.Get("blocks")) {
			out = append(out, c)
		}
	}
	return out
}

func durations(ds []time.Duration) string {
	if len(ds) == 0 {
		return "none measured"
	}
	sorted := slices.Sorted(slices.Values(ds))
	return fmt.Sprintf("%d measured, median %s, max %s", len(ds),
		sorted[len(sorted)/2].Round(time.Millisecond), sorted[len(sorted)-1].Round(time.Millisecond))
}
