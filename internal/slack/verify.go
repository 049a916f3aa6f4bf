package slack

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"time"
)

// Errors Verify returns.
var (
	ErrMissingHeaders = errors.New("slack request: signature or timestamp header missing")
	ErrBadSignature   = errors.New("slack request: bad signature")
	ErrStale          = errors.New("slack request: timestamp too far from now")
)

// MaxSkew is how far a request's timestamp may be from now.
const MaxSkew = 5 * time.Minute

// Verify checks a request from Slack with its signing secret (signature
// v0): "v0=" + hex(HMAC-SHA256(secret, "v0:" + timestamp + ":" + body)),
// compared in constant time. It returns ErrMissingHeaders when a header is
// missing, ErrStale when the timestamp is more than MaxSkew from now, and
// ErrBadSignature otherwise, including when secret is empty.
func Verify(h http.Header, body []byte, secret string, now time.Time) error {
	ts, sig := h.Get("X-Slack-Request-Timestamp"), h.Get("X-Slack-Signature")
	if ts == "" || sig == "" {
		return ErrMissingHeaders
	}
	sec, err := strconv.ParseInt(ts, 10, 64)
	if err != nil {
		return fmt.Errorf("timestamp %q: %w", ts, ErrBadSignature)
	}
	if d := now.Sub(time.Unix(sec, 0)); d > MaxSkew || d < -MaxSkew {
		return ErrStale
	}
	if secret == "" {
		return fmt.Errorf("no signing secret configured: %w", ErrBadSignature)
	}
	if !hmac.Equal([]byte(sign(secret, ts, body)), []byte(sig)) {
		return ErrBadSignature
	}
	return nil
}

// sign returns the v0 signature of body sent at ts.
func sign(secret, ts string, body []byte) string {
	m := hmac.New(sha256.New, []byte(secret))
	m.Write([]byte("v0:" + ts + ":"))
	m.Write(body)
	return "v0=" + hex.EncodeToString(m.Sum(nil))
}
