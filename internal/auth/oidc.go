package auth

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"time"
	"unicode"

	"github.com/coreos/go-oidc/v3/oidc"
)

// OIDCConfig says which issuer's bearer JWTs to accept and how their
// claims name the principal and its role.
type OIDCConfig struct {
	// Issuer is the issuer URL, exactly as its tokens' iss claim says; its
	// discovery document is at Issuer/.well-known/openid-configuration.
	Issuer string
	// Audience is the client ID tokens must be issued to (their aud claim).
	Audience string
	// UsernameClaim names the principal; default "sub".
	UsernameClaim string
	// GroupsClaim lists the principal's groups; default "groups".
	GroupsClaim string
	// Roles maps groups to roles; a principal takes the highest role of
	// its groups, and none when no group is mapped.
	Roles map[string]Role
	// Client makes the discovery and key set requests; default a client
	// with a 10 s timeout.
	Client *http.Client
	// Now is the clock expiry is checked against; default time.Now.
	Now func() time.Time
}

// OIDC verifies bearer JWTs from one issuer. It discovers the issuer at the
// first token, so quell starts while the issuer is down; after a failed
// discovery it waits rediscoverAfter before asking again.
type OIDC struct {
	cfg OIDCConfig

	mu       sync.Mutex
	verifier *oidc.IDTokenVerifier
	failedAt time.Time
	failure  error
}

// rediscoverAfter is how long a failed discovery is remembered, so a burst
// of tokens while the issuer is down costs it one request.
const rediscoverAfter = 5 * time.Second

// NewOIDC checks cfg and returns its verifier.
func NewOIDC(cfg OIDCConfig) (*OIDC, error) {
	if cfg.UsernameClaim == "" {
		cfg.UsernameClaim = "sub"
	}
	if cfg.GroupsClaim == "" {
		cfg.GroupsClaim = "groups"
	}
	if cfg.Client == nil {
		cfg.Client = &http.Client{Timeout: 10 * time.Second}
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	var errs []error
	if u, err := url.Parse(cfg.Issuer); err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" {
		errs = append(errs, fmt.Errorf("oidc issuer %q: want an http(s) URL", cfg.Issuer))
	}
	if cfg.Audience == "" {
		errs = append(errs, errors.New("oidc audience: empty (the client ID tokens are issued to)"))
	}
	for g, r := range cfg.Roles {
		if _, err := ParseRole(string(r)); err != nil {
			errs = append(errs, fmt.Errorf("oidc group %s: %w", g, err))
		}
	}
	if err := errors.Join(errs...); err != nil {
		return nil, err
	}
	return &OIDC{cfg: cfg}, nil
}

// Verify checks a bearer JWT (signature, issuer, audience, expiry) and
// returns its principal. Errors wrap ErrBadCredential when the token is
// refused, and say why without repeating it.
func (o *OIDC) Verify(ctx context.Context, raw string) (Principal, error) {
	v, err := o.verifierFor(ctx)
	if err != nil {
		return Principal{}, err
	}
	tok, err := v.Verify(oidc.ClientContext(ctx, o.cfg.Client), raw)
	if err != nil {
		return Principal{}, fmt.Errorf("oidc token: %w: %s", ErrBadCredential, refusal(err))
	}
	var claims map[string]json.RawMessage
	if err := tok.Claims(&claims); err != nil {
		return Principal{}, fmt.Errorf("oidc token: %w: claims: %v", ErrBadCredential, err)
	}
	name, err := claimName(claims, o.cfg.UsernameClaim)
	if err != nil {
		return Principal{}, fmt.Errorf("oidc token: %w: %v", ErrBadCredential, err)
	}
	groups, err := claimGroups(claims, o.cfg.GroupsClaim)
	if err != nil {
		return Principal{}, fmt.Errorf("oidc token: %w: %v", ErrBadCredential, err)
	}
	var role Role
	for _, g := range groups {
		if r, ok := o.cfg.Roles[g]; ok && r.rank() > role.rank() {
			role = r
		}
	}
	return Principal{Name: name, Role: role, Source: SourceOIDC}, nil
}

// verifierFor discovers the issuer once.
func (o *OIDC) verifierFor(ctx context.Context) (*oidc.IDTokenVerifier, error) {
	o.mu.Lock()
	defer o.mu.Unlock()
	if o.verifier != nil {
		return o.verifier, nil
	}
	if o.failure != nil && o.cfg.Now().Sub(o.failedAt) < rediscoverAfter {
		return nil, o.failure
	}
	dctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	// The key set outlives this request: it refreshes keys in the
	// background as the issuer rotates them.
	keyCtx := oidc.ClientContext(context.Background(), o.cfg.Client)
	p, err := oidc.NewProvider(oidc.ClientContext(dctx, o.cfg.Client), o.cfg.Issuer)
	if err != nil {
		o.failedAt, o.failure = o.cfg.Now(), fmt.Errorf("oidc issuer %s: discovery: %s", o.cfg.Issuer, truncate(err.Error(), 200))
		return nil, o.failure
	}
	o.verifier = p.VerifierContext(keyCtx, &oidc.Config{ClientID: o.cfg.Audience, Now: o.cfg.Now})
	return o.verifier, nil
}

// refusal says briefly why go-oidc refused a token.
func refusal(err error) string {
	var expired *oidc.TokenExpiredError
	msg := err.Error()
	switch {
	case errors.As(err, &expired):
		return "expired at " + expired.Expiry.UTC().Format(time.RFC3339)
	case strings.Contains(msg, "expected audience"):
		return "wrong audience"
	case strings.Contains(msg, "issued by a different provider"):
		return "wrong issuer"
	case strings.Contains(msg, "failed to verify signature"):
		return "bad signature"
	case strings.Contains(msg, "malformed jwt"):
		return "malformed"
	case strings.Contains(msg, "nbf"):
		return "not valid yet"
	}
	return "invalid"
}

// claimName reads the username claim: a string of printable characters,
// at most maxNameBytes long.
func claimName(claims map[string]json.RawMessage, claim string) (string, error) {
	raw, ok := claims[claim]
	if !ok {
		return "", fmt.Errorf("claim %s: missing", claim)
	}
	var name string
	if err := json.Unmarshal(raw, &name); err != nil {
		return "", fmt.Errorf("claim %s: want a string", claim)
	}
	if name == "" || len(name) > maxNameBytes || strings.IndexFunc(name, func(r rune) bool { return !unicode.IsPrint(r) }) >= 0 {
		return "", fmt.Errorf("claim %s: want 1 to %d printable characters", claim, maxNameBytes)
	}
	return name, nil
}

// claimGroups reads the groups claim: a list of strings or one string;
// missing is no groups.
func claimGroups(claims map[string]json.RawMessage, claim string) ([]string, error) {
	raw, ok := claims[claim]
	if !ok {
		return nil, nil
	}
	var list []string
	if err := json.Unmarshal(raw, &list); err == nil {
		return list, nil
	}
	var one string
	if err := json.Unmarshal(raw, &one); err != nil {
		return nil, fmt.Errorf("claim %s: want a list of strings", claim)
	}
	return []string{one}, nil
}
