// Package slack keeps one Slack message per incident up to date, asks for
// approvals with buttons, and turns the clicks that come back (over HTTP or
// Socket Mode) into decisions on the incident's workflow.
package slack

import (
	"fmt"
	"log/slog"
	"strings"
)

// Config is what quell needs to talk to Slack. Its String, GoString and
// LogValue never show the tokens or the signing secret.
type Config struct {
	// BotToken is the bot user's OAuth token (xoxb-...).
	BotToken string
	// AppToken is the app-level token (xapp-...) Socket Mode connects with.
	AppToken string
	// SigningSecret verifies the requests Slack sends to the HTTP endpoint.
	SigningSecret string
	// Channel is the channel ID incidents are posted to.
	Channel string
	// APIURL replaces Slack's Web API URL (a proxy or a test server); empty
	// means Slack's own. A missing trailing slash is added.
	APIURL string
}

// String describes c with its secrets redacted.
func (c Config) String() string {
	return fmt.Sprintf("slack.Config{Channel: %q, APIURL: %q, BotToken: %s, AppToken: %s, SigningSecret: %s}",
		c.Channel, c.APIURL, secret(c.BotToken), secret(c.AppToken), secret(c.SigningSecret))
}

// GoString is String, so that %#v does not print the secrets either.
func (c Config) GoString() string { return c.String() }

// LogValue is String, so that slog handlers do not print the secrets.
func (c Config) LogValue() slog.Value { return slog.StringValue(c.String()) }

// Enabled reports whether a bot token and a channel are set.
func (c Config) Enabled() bool { return c.BotToken != "" && c.Channel != "" }

// apiURL is the Web API URL to use, ending with a slash, or "" for Slack's.
func (c Config) apiURL() string {
	if c.APIURL == "" || strings.HasSuffix(c.APIURL, "/") {
		return c.APIURL
	}
	return c.APIURL + "/"
}

// redact replaces every secret of c found in s.
func (c Config) redact(s string) string {
	for _, v := range []string{c.BotToken, c.AppToken, c.SigningSecret} {
		if v != "" {
			s = strings.ReplaceAll(s, v, "[redacted]")
		}
	}
	return s
}

func secret(v string) string {
	if v == "" {
		return "[unset]"
	}
	return "[redacted]"
}
