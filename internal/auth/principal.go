package auth

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"regexp"
	"strings"
)

// Principal is who a request comes from, as its credential proves.
type Principal struct {
	// Name identifies the principal: a person's or a system's name, as
	// playbooks list approvers.
	Name string `json:"name"`
	// Role is what the principal may do; empty holds nothing.
	Role Role `json:"role"`
	// Source says how the principal was recognised: one of the Source*
	// constants.
	Source string `json:"source"`
}

// How a principal was recognised.
const (
	// SourceStore: a token made by `quell token create`.
	SourceStore = "token"
	// SourceConfig: a token whose hash the configuration lists.
	SourceConfig = "config"
	// SourceOIDC: a bearer JWT from the configured OIDC issuer.
	SourceOIDC = "oidc"
	// SourceLegacy: the single QUELL_API_TOKEN of earlier versions.
	SourceLegacy = "legacy"
	// SourceIntake: an alert source's own credential.
	SourceIntake = "intake"
	// SourceOpen: nobody, because no credential is configured at all.
	SourceOpen = "open"
)

// LegacyName is the principal the legacy QUELL_API_TOKEN stands for.
const LegacyName = "admin"

// Anonymous is the principal of every request when no credential is
// configured (quell dev as it starts): it may do everything, and names no
// one, so decisions keep the approver their body gives.
var Anonymous = Principal{Role: Admin, Source: SourceOpen}

// Errors Authenticate wraps; both mean 401.
var (
	// ErrNoCredential: the request carries no credential.
	ErrNoCredential = errors.New("no credential")
	// ErrBadCredential: the credential is not one quell knows, or no
	// longer valid.
	ErrBadCredential = errors.New("bad credential")
)

// maxNameBytes bounds principal names, which go into histories and logs.
const maxNameBytes = 256

// validName is what names of tokens and configured principals look like.
var validName = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._@+-]{0,63}$`)

// CheckName refuses a token or principal name that is not 1 to 64 letters,
// digits and ._@+- (starting with a letter or digit).
func CheckName(name string) error {
	if !validName.MatchString(name) {
		return fmt.Errorf("name %q: want 1 to 64 letters, digits and ._@+-, starting with a letter or digit", truncate(name, 80))
	}
	return nil
}

// Credential is a token a configuration names a principal for, by hash.
type Credential struct {
	Principal Principal
	Hash      Hash
}

// Options configure an Authenticator; each part is optional.
type Options struct {
	// Credentials are the configured principals' token hashes.
	Credentials []Credential
	// Store holds the tokens `quell token create` made.
	Store *Store
	// OIDC verifies bearer JWTs.
	OIDC *OIDC
	// LegacyToken is the single API token of earlier versions: it stands
	// for an admin named LegacyName.
	LegacyToken string
}

// Authenticator recognises the principal of a request from its bearer
// credential.
type Authenticator struct {
	creds []Credential
	store *Store
	oidc  *OIDC
}

// New returns an Authenticator; it refuses a legacy token that CheckSecret
// refuses and a credential with an invalid role.
func New(opts Options) (*Authenticator, error) {
	a := &Authenticator{store: opts.Store, oidc: opts.OIDC}
	var errs []error
	if opts.LegacyToken != "" {
		if err := CheckSecret(opts.LegacyToken); err != nil {
			errs = append(errs, fmt.Errorf("legacy api token: %w", err))
		}
		a.creds = append(a.creds, Credential{
			Principal: Principal{Name: LegacyName, Role: Admin, Source: SourceLegacy}, Hash: HashToken(opts.LegacyToken),
		})
	}
	for _, c := range opts.Credentials {
		if _, err := ParseRole(string(c.Principal.Role)); err != nil {
			errs = append(errs, fmt.Errorf("principal %s: %w", c.Principal.Name, err))
		}
		if c.Principal.Source == "" {
			c.Principal.Source = SourceConfig
		}
		a.creds = append(a.creds, c)
	}
	return a, errors.Join(errs...)
}

// Open reports whether no credential is configured at all, so that every
// request is Anonymous. A token store that exists, even with every token
// revoked, closes the API.
func (a *Authenticator) Open() bool {
	return len(a.creds) == 0 && a.oidc == nil && (a.store == nil || !a.store.InUse())
}

// Authenticate returns the principal of r: Anonymous when Open, otherwise
// the principal of its bearer token. Errors wrap ErrNoCredential or
// ErrBadCredential, and never repeat the credential.
func (a *Authenticator) Authenticate(r *http.Request) (Principal, error) {
	if a.Open() {
		return Anonymous, nil
	}
	raw, ok := Bearer(r.Header)
	if !ok {
		if r.Header.Get("Authorization") != "" {
			return Principal{}, fmt.Errorf("authorization: %w: want the Bearer scheme", ErrBadCredential)
		}
		return Principal{}, fmt.Errorf("authorization: %w", ErrNoCredential)
	}
	return a.Token(r.Context(), raw)
}

// Token returns the principal a bearer token stands for: a static token
// (configured, stored or legacy), or else an OIDC JWT.
func (a *Authenticator) Token(ctx context.Context, raw string) (Principal, error) {
	h := HashToken(raw)
	p, found := matchAll(a.creds, h)
	if a.store != nil {
		sp, sfound, err := a.store.Lookup(h)
		if err != nil {
			return Principal{}, err
		}
		if sfound && !found {
			p, found = sp, true
		}
	}
	if found {
		return p, nil
	}
	if a.oidc != nil && looksLikeJWT(raw) {
		return a.oidc.Verify(ctx, raw)
	}
	return Principal{}, fmt.Errorf("bearer token: %w", ErrBadCredential)
}

// matchAll compares h with every credential, never stopping early, so the
// time taken says nothing of which one (if any) matched.
func matchAll(creds []Credential, h Hash) (Principal, bool) {
	var p Principal
	found := false
	for _, c := range creds {
		if c.Hash.Equal(h) && !found {
			p, found = c.Principal, true
		}
	}
	return p, found
}

// looksLikeJWT reports whether s has a JWS compact serialisation's three
// parts.
func looksLikeJWT(s string) bool {
	return strings.Count(s, ".") == 2 && !strings.HasPrefix(s, TokenPrefix)
}

// truncate cuts s to at most n bytes, for echoing attacker-written names.
func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n] + "..."
}
