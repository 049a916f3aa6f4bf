package slack_test

import (
	"bytes"
	"fmt"
	"log/slog"
	"strings"
	"testing"

	"github.com/quell-ir/quell/internal/slack"
)

func TestConfigString(t *testing.T) {
	c := slack.Config{BotToken: botToken, AppToken: appToken, SigningSecret: "DISTINCTIVE-secret", Channel: channel}
	want := `slack.Config{Channel: "C0QUELL", APIURL: "", BotToken: [redacted], AppToken: [redacted], SigningSecret: [redacted]}`
	if got := c.String(); got != want {
		t.Errorf("String() = %s, want %s", got, want)
	}
	var logged bytes.Buffer
	slog.New(slog.NewJSONHandler(&logged, nil)).Info("config", "slack", c)
	slog.New(slog.NewTextHandler(&logged, nil)).Info("config", "slack", c)
	for _, out := range []string{fmt.Sprint(c), fmt.Sprintf("%+v", c), fmt.Sprintf("%#v", c), fmt.Sprintf("%v", &c), logged.String()} {
		if strings.Contains(out, "DISTINCTIVE") {
			t.Errorf("secret printed: %s", out)
		}
	}
	if got, want := (slack.Config{AppToken: appToken}).String(), `slack.Config{Channel: "", APIURL: "", BotToken: [unset], AppToken: [redacted], SigningSecret: [unset]}`; got != want {
		t.Errorf("String() = %s, want %s", got, want)
	}
}

func TestConfigEnabled(t *testing.T) {
	for _, tc := range []struct {
		c    slack.Config
		want bool
	}{
		{slack.Config{}, false},
		{slack.Config{BotToken: botToken}, false},
		{slack.Config{Channel: channel, AppToken: appToken}, false},
		{slack.Config{BotToken: botToken, Channel: channel}, true},
	} {
		if got := tc.c.Enabled(); got != tc.want {
			t.Errorf("%v.Enabled() = %v, want %v", tc.c, got, tc.want)
		}
	}
}
