package slack_test

import (
	"encoding/json"
	"errors"
	"net/http"
	"os"
	"strconv"
	"testing"
	"time"

	"github.com/quell-ir/quell/internal/slack"
)

func TestVerifyVectors(t *testing.T) {
	b, err := os.ReadFile("testdata/signature_vectors.json")
	if err != nil {
		t.Fatal(err)
	}
	var doc struct {
		Vectors []struct {
			Origin        string            `json:"origin"`
			SigningSecret string            `json:"signing_secret"`
			Headers       map[string]string `json:"headers"`
			Body          string            `json:"body"`
			ExpectValid   bool              `json:"expect_valid"`
		} `json:"vectors"`
	}
	if err := json.Unmarshal(b, &doc); err != nil {
		t.Fatal(err)
	}
	if len(doc.Vectors) != 4 {
		t.Fatalf("%d vectors, want 4", len(doc.Vectors))
	}
	for _, v := range doc.Vectors {
		h := http.Header{}
		for k, val := range v.Headers {
			h.Set(k, val)
		}
		sec, _ := strconv.ParseInt(v.Headers["X-Slack-Request-Timestamp"], 10, 64)
		err := slack.Verify(h, []byte(v.Body), v.SigningSecret, time.Unix(sec, 0))
		if v.ExpectValid && err != nil {
			t.Errorf("%s: %v, want valid", v.Origin, err)
		}
		if !v.ExpectValid && !errors.Is(err, slack.ErrBadSignature) {
			t.Errorf("%s: %v, want ErrBadSignature", v.Origin, err)
		}
	}
}

func TestVerifyRefuses(t *testing.T) {
	const secret = "s3cret-signing"
	body := []byte("payload=%7B%7D")
	now := time.Unix(1700000000, 0)
	signed := func(ts time.Time) http.Header { return signedHeader(secret, body, ts) }
	for _, tc := range []struct {
		name   string
		h      http.Header
		secret string
		want   error
	}{
		{"fresh", signed(now), secret, nil},
		{"five minutes old", signed(now.Add(-5 * time.Minute)), secret, nil},
		{"six minutes old", signed(now.Add(-6 * time.Minute)), secret, slack.ErrStale},
		{"six minutes ahead", signed(now.Add(6 * time.Minute)), secret, slack.ErrStale},
		{"no headers", http.Header{}, secret, slack.ErrMissingHeaders},
		{"no signature", http.Header{"X-Slack-Request-Timestamp": {"1700000000"}}, secret, slack.ErrMissingHeaders},
		{"no timestamp", http.Header{"X-Slack-Signature": signed(now)["X-Slack-Signature"]}, secret, slack.ErrMissingHeaders},
		{"other secret", signed(now), "other", slack.ErrBadSignature},
		{"no secret configured", signed(now), "", slack.ErrBadSignature},
		{"timestamp not a number", http.Header{"X-Slack-Request-Timestamp": {"soon"}, "X-Slack-Signature": {"v0=00"}}, secret, slack.ErrBadSignature},
	} {
		if err := slack.Verify(tc.h, body, tc.secret, now); !errors.Is(err, tc.want) || (tc.want == nil) != (err == nil) {
			t.Errorf("%s: Verify = %v, want %v", tc.name, err, tc.want)
		}
	}
}
