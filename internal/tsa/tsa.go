// Package tsa asks an RFC 3161 timestamp authority for tokens over HTTP: it
// is the evidence store's Timestamper. The protocol's encoding is
// github.com/digitorus/timestamp's; this package adds the transport, the
// bounds and the checks that tie an answer to its request.
package tsa

import (
	"bytes"
	"context"
	"crypto"
	"crypto/rand"
	"crypto/sha256"
	"errors"
	"fmt"
	"io"
	"math/big"
	"mime"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"time"

	"github.com/digitorus/timestamp"

	"github.com/quell-ir/quell/internal/evidence"
)

const (
	// MaxResponse bounds an authority's answer: a token with its chain is a
	// few kilobytes.
	MaxResponse = 1 << 20
	// DefaultTimeout bounds one request when New is given none.
	DefaultTimeout = 10 * time.Second
	// queryType and replyType are RFC 3161's media types (section 4).
	queryType = "application/timestamp-query"
	replyType = "application/timestamp-reply"
)

var (
	// ErrUnreachable reports an authority that did not answer: down,
	// refusing connections or too slow.
	ErrUnreachable = errors.New("unreachable")
	// ErrRefused reports an authority that answered but gave no token, or
	// an answer that is not one to this request.
	ErrRefused = errors.New("refused")
)

// Client is an RFC 3161 timestamp authority at one URL.
type Client struct {
	url    string
	where  string // url without credentials or query, for errors
	http   *http.Client
	mu     sync.Mutex
	chain  []byte // PEM; fetched once when not configured
	random io.Reader
}

var _ evidence.Timestamper = (*Client)(nil)

// New returns a client of the authority at rawURL (http or https). chainPEM
// is the authority's certificate chain, leaf first and root last; when
// empty it is fetched from rawURL + "/certchain" (sigstore's timestamp
// authority serves it there) on first use. timeout bounds each request;
// zero means DefaultTimeout. Redirects are not followed: a 3xx is refused,
// so a request never goes where the configuration does not say.
func New(rawURL string, chainPEM []byte, timeout time.Duration) (*Client, error) {
	u, err := url.Parse(rawURL)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, errors.New("timestamp authority: url must be an absolute http or https URL")
	}
	if timeout < 0 {
		return nil, fmt.Errorf("timestamp authority %s: negative timeout", redact(u))
	}
	if timeout == 0 {
		timeout = DefaultTimeout
	}
	return &Client{
		url: rawURL, where: redact(u), chain: bytes.Clone(chainPEM), random: rand.Reader,
		http: &http.Client{Timeout: timeout, CheckRedirect: func(*http.Request, []*http.Request) error {
			return http.ErrUseLastResponse
		}},
	}, nil
}

// redact is u without user information, query or fragment: a URL may carry
// a secret in any of them.
func redact(u *url.URL) string {
	return (&url.URL{Scheme: u.Scheme, Host: u.Host, Path: u.Path}).String()
}

// Timestamp asks the authority for a token over the SHA-256 of data and
// returns its DER TimeStampToken and the authority's PEM chain. Its errors
// wrap ErrUnreachable when the authority did not answer and ErrRefused when
// it answered with no token to this request; both are transient.
func (c *Client) Timestamp(ctx context.Context, data []byte) (token, chain []byte, err error) {
	chain, err = c.Chain(ctx)
	if err != nil {
		return nil, nil, err
	}
	sum := sha256.Sum256(data)
	nonce, err := rand.Int(c.random, new(big.Int).Lsh(big.NewInt(1), 64))
	if err != nil {
		return nil, nil, fmt.Errorf("timestamp authority %s: nonce: %w", c.where, err)
	}
	req := timestamp.Request{HashAlgorithm: crypto.SHA256, HashedMessage: sum[:], Certificates: true, Nonce: nonce}
	query, err := req.Marshal()
	if err != nil {
		return nil, nil, fmt.Errorf("timestamp authority %s: request: %w", c.where, err)
	}
	body, err := c.do(ctx, http.MethodPost, c.url, query, replyType)
	if err != nil {
		return nil, nil, err
	}
	ts, err := timestamp.ParseResponse(body)
	if err != nil {
		return nil, nil, fmt.Errorf("timestamp authority %s: %w: %w", c.where, ErrRefused, err)
	}
	switch {
	case ts.Nonce == nil || ts.Nonce.Cmp(nonce) != 0:
		return nil, nil, fmt.Errorf("timestamp authority %s: %w: the token's nonce is not the request's", c.where, ErrRefused)
	case ts.HashAlgorithm != crypto.SHA256 || !bytes.Equal(ts.HashedMessage, sum[:]):
		return nil, nil, fmt.Errorf("timestamp authority %s: %w: the token covers other data (message imprint differs)", c.where, ErrRefused)
	case len(ts.Certificates) == 0:
		return nil, nil, fmt.Errorf("timestamp authority %s: %w: the token carries no certificate though one was asked for", c.where, ErrRefused)
	}
	return ts.RawToken, chain, nil
}

// Chain returns the authority's PEM certificate chain: the configured one,
// else the one fetched from the authority, once.
func (c *Client) Chain(ctx context.Context) ([]byte, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if len(c.chain) > 0 {
		return c.chain, nil
	}
	body, err := c.do(ctx, http.MethodGet, strings.TrimSuffix(c.url, "/")+"/certchain", nil, "")
	if err != nil {
		return nil, fmt.Errorf("certificate chain: %w", err)
	}
	if !bytes.Contains(body, []byte("-----BEGIN CERTIFICATE-----")) {
		return nil, fmt.Errorf("timestamp authority %s: %w: its certificate chain is not PEM", c.where, ErrRefused)
	}
	c.chain = body
	return c.chain, nil
}

// do sends one request and returns the body of a 200 answer of media type
// want (any when empty), at most MaxResponse bytes.
func (c *Client) do(ctx context.Context, method, target string, body []byte, want string) ([]byte, error) {
	req, err := http.NewRequestWithContext(ctx, method, target, bytes.NewReader(body))
	if err != nil {
		return nil, fmt.Errorf("timestamp authority %s: request: %w", c.where, err)
	}
	if body != nil {
		req.Header.Set("Content-Type", queryType)
	}
	if want != "" {
		req.Header.Set("Accept", want)
	}
	resp, err := c.http.Do(req)
	if err != nil {
		return nil, fmt.Errorf("timestamp authority %s: %w: %w", c.where, ErrUnreachable, unwrapURL(err))
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(io.LimitReader(resp.Body, MaxResponse+1))
	if err != nil {
		return nil, fmt.Errorf("timestamp authority %s: %w: reading its answer: %w", c.where, ErrUnreachable, err)
	}
	if resp.StatusCode != http.StatusOK && resp.StatusCode != http.StatusCreated {
		return nil, fmt.Errorf("timestamp authority %s: %w: HTTP %s%s", c.where, ErrRefused, resp.Status, excerpt(data))
	}
	if len(data) > MaxResponse {
		return nil, fmt.Errorf("timestamp authority %s: %w: answer over %d bytes", c.where, ErrRefused, MaxResponse)
	}
	if want != "" {
		if mt, _, err := mime.ParseMediaType(resp.Header.Get("Content-Type")); err != nil || mt != want {
			return nil, fmt.Errorf("timestamp authority %s: %w: answer of type %q, want %s", c.where, ErrRefused, resp.Header.Get("Content-Type"), want)
		}
	}
	return data, nil
}

// unwrapURL drops *url.Error's wrapping, which repeats the request's whole
// URL, credentials and query included.
func unwrapURL(err error) error {
	var ue *url.Error
	if errors.As(err, &ue) {
		return ue.Err
	}
	return err
}

// excerpt is the start of an error answer's body, printable, for the
// error message.
func excerpt(body []byte) string {
	s := strings.TrimSpace(strings.ToValidUTF8(string(body), ""))
	s = strings.Map(func(r rune) rune {
		if r < ' ' || r == 0x7f {
			return ' '
		}
		return r
	}, s)
	if len(s) > 200 {
		s = s[:200] + "..."
	}
	if s == "" {
		return ""
	}
	return ": " + s
}
