package slack

import (
	"errors"
	"fmt"
	"time"

	slackgo "github.com/slack-go/slack"
)

// RetryAfter returns how long Slack asked the caller to wait when err comes
// from a rate-limited (429) call.
func RetryAfter(err error) (time.Duration, bool) {
	if rl, ok := errors.AsType[*slackgo.RateLimitedError](err); ok {
		return rl.RetryAfter, true
	}
	return 0, false
}

// fail wraps err with what was being done, keeping its chain for errors.Is
// and errors.As, and scrubs any secret of the configuration from its text.
func (n *Notifier) fail(op string, err error) error {
	return n.cfg.redactErr(fmt.Errorf("slack %s: %w", op, err))
}

// redactedError shows a scrubbed text for an error whose own text held a
// secret.
type redactedError struct {
	text string
	err  error
}

func (e redactedError) Error() string { return e.text }
func (e redactedError) Unwrap() error { return e.err }

// redactErr returns err, or an error with the same chain and any secret of
// c scrubbed from its text.
func (c Config) redactErr(err error) error {
	if text := c.redact(err.Error()); text != err.Error() {
		return redactedError{text: text, err: err}
	}
	return err
}
