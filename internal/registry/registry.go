// Package registry is quell's adapter for container registries (the OCI
// distribution API, through github.com/google/go-containerregistry): it
// resolves references to manifests, reads image configs, lists catalogs and
// tags, deletes manifests, and pushes a local image through the Docker
// Engine so that the daemon knows the digest it pushed.
//
// It acts only on the registries it is configured with. Credentials come
// from that configuration or, for a registry configured without any, from
// the Docker config file ($DOCKER_CONFIG/config.json); they are never put
// in an error or a log line.
package registry

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strings"

	"github.com/distribution/reference"
	"github.com/google/go-containerregistry/pkg/authn"
	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/remote/transport"
)

// Errors the client wraps.
var (
	// ErrNotFound: the repository, tag or manifest does not exist.
	ErrNotFound = errors.New("not found in the registry")
	// ErrDeleteRefused: the registry does not allow deletes (405 or
	// UNSUPPORTED), as many do by default.
	ErrDeleteRefused = errors.New("registry refuses deletes")
	// ErrNotConfigured: the reference names a registry quell is not
	// configured with.
	ErrNotConfigured = errors.New("registry not configured")
	// ErrDenied: the registry refused the credentials (401 or 403).
	ErrDenied = errors.New("registry denied access")
)

// Host is one registry quell may act on.
type Host struct {
	// Name is host[:port] as image references name it, e.g. registry.example:5000.
	Name string
	// Username and Password authenticate with basic auth (or the
	// registry's token service).
	Username, Password string
	// Token is a registry bearer token, used instead of a password.
	Token string
	// Insecure allows plain HTTP; loopback and private addresses are
	// always allowed it.
	Insecure bool
}

// Client reaches the configured registries.
type Client struct {
	hosts     map[string]Host
	order     []string
	keychain  authn.Keychain
	transport http.RoundTripper
	engine    Engine
}

// Option changes a Client.
type Option func(*Client)

// WithKeychain sets where the credentials of a registry configured without
// any come from; the default is the Docker config file.
func WithKeychain(k authn.Keychain) Option { return func(c *Client) { c.keychain = k } }

// WithEngine sets the Docker Engine that Push pushes through.
func WithEngine(e Engine) Option { return func(c *Client) { c.engine = e } }

// WithTransport sets the HTTP transport to the registries.
func WithTransport(t http.RoundTripper) Option { return func(c *Client) { c.transport = t } }

// New returns a client of the hosts. A host named twice or with a name that
// is not host[:port] is an error.
func New(hosts []Host, opts ...Option) (*Client, error) {
	c := &Client{hosts: map[string]Host{}, keychain: authn.DefaultKeychain, transport: http.DefaultTransport}
	var errs []error
	for _, h := range hosts {
		reg, err := name.NewRegistry(h.Name, name.StrictValidation)
		switch {
		case err != nil || reg.Name() != h.Name:
			errs = append(errs, fmt.Errorf("registry %q: want host[:port]", h.Name))
		case c.hosts[reg.Name()].Name != "":
			errs = append(errs, fmt.Errorf("registry %s: listed twice", h.Name))
		default:
			c.hosts[reg.Name()] = h
			c.order = append(c.order, reg.Name())
		}
	}
	for _, o := range opts {
		o(c)
	}
	return c, errors.Join(errs...)
}

// Hosts returns the configured registries' names, in configuration order.
func (c *Client) Hosts() []string { return slices.Clone(c.order) }

// HostOf returns the configured registry that ref (an image reference such
// as host:5000/team/app:1) is in, and false when quell is not configured
// with it or ref does not parse.
func (c *Client) HostOf(ref string) (string, bool) {
	r, err := c.parse(ref)
	if err != nil {
		return "", false
	}
	return r.Context().RegistryStr(), true
}

// parse parses an image reference in a configured registry. It must
// follow the distribution grammar (github.com/distribution/reference),
// stricter than go-containerregistry's: no "..", no upper case, no empty
// path component.
func (c *Client) parse(ref string) (name.Reference, error) {
	if _, err := reference.ParseNamed(ref); err != nil {
		return nil, fmt.Errorf("reference %q: %w", ref, err)
	}
	r, err := name.ParseReference(ref)
	if err != nil {
		return nil, fmt.Errorf("reference %q: %w", ref, err)
	}
	h, ok := c.hosts[r.Context().RegistryStr()]
	if !ok {
		return nil, fmt.Errorf("reference %s: %w", ref, ErrNotConfigured)
	}
	if h.Insecure {
		return name.ParseReference(ref, name.Insecure)
	}
	return r, nil
}

// repository parses host/path in a configured registry.
func (c *Client) repository(repo string) (name.Repository, error) {
	if _, err := reference.ParseNamed(repo); err != nil {
		return name.Repository{}, fmt.Errorf("repository %q: %w", repo, err)
	}
	r, err := name.NewRepository(repo)
	if err != nil {
		return name.Repository{}, fmt.Errorf("repository %q: %w", repo, err)
	}
	h, ok := c.hosts[r.RegistryStr()]
	if !ok {
		return name.Repository{}, fmt.Errorf("repository %s: %w", repo, ErrNotConfigured)
	}
	if h.Insecure {
		return name.NewRepository(repo, name.Insecure)
	}
	return r, nil
}

// registry returns the configured registry named host.
func (c *Client) registry(host string) (name.Registry, error) {
	h, ok := c.hosts[host]
	if !ok {
		return name.Registry{}, fmt.Errorf("registry %s: %w", host, ErrNotConfigured)
	}
	if h.Insecure {
		return name.NewRegistry(host, name.Insecure)
	}
	return name.NewRegistry(host)
}

// auth returns the authenticator of a configured registry: its configured
// credentials, else the keychain's.
func (c *Client) auth(ctx context.Context, reg name.Registry) (authn.Authenticator, error) {
	h := c.hosts[reg.RegistryStr()]
	switch {
	case h.Token != "":
		return authn.FromConfig(authn.AuthConfig{RegistryToken: h.Token}), nil
	case h.Username != "":
		return authn.FromConfig(authn.AuthConfig{Username: h.Username, Password: h.Password}), nil
	}
	a, err := authn.Resolve(ctx, c.keychain, reg)
	if err != nil {
		// The keychain's errors name files, never secrets.
		return nil, fmt.Errorf("credentials for %s: %w", reg.RegistryStr(), err)
	}
	return a, nil
}

// options are the remote options for a call to reg.
func (c *Client) options(ctx context.Context, reg name.Registry) ([]remote.Option, error) {
	a, err := c.auth(ctx, reg)
	if err != nil {
		return nil, err
	}
	return []remote.Option{
		remote.WithContext(ctx), remote.WithAuth(a), remote.WithTransport(c.transport),
		remote.WithUserAgent("quell"),
	}, nil
}

// classify maps a registry's answer to the package's errors, keeping the
// registry's message (never a credential: requests are not printed).
func classify(err error) error {
	var te *transport.Error
	if !errors.As(err, &te) {
		return err
	}
	switch {
	case te.StatusCode == http.StatusNotFound || hasCode(te, transport.ManifestUnknownErrorCode, transport.NameUnknownErrorCode):
		return fmt.Errorf("%w: %w", ErrNotFound, err)
	case te.StatusCode == http.StatusUnauthorized || te.StatusCode == http.StatusForbidden:
		return fmt.Errorf("%w: %w", ErrDenied, err)
	}
	return err
}

// refused reports whether err is a registry's refusal to delete.
func refused(err error) (*transport.Error, bool) {
	var te *transport.Error
	if !errors.As(err, &te) {
		return nil, false
	}
	return te, te.StatusCode == http.StatusMethodNotAllowed || hasCode(te, transport.UnsupportedErrorCode)
}

func hasCode(te *transport.Error, want ...transport.ErrorCode) bool {
	for _, d := range te.Errors {
		if slices.Contains(want, d.Code) {
			return true
		}
	}
	return false
}

// codes names a registry error by its status and error codes, e.g.
// "405 UNSUPPORTED".
func codes(te *transport.Error) string {
	out := []string{fmt.Sprint(te.StatusCode)}
	for _, d := range te.Errors {
		out = append(out, string(d.Code))
	}
	if len(out) == 1 {
		out = append(out, http.StatusText(te.StatusCode))
	}
	return strings.Join(out, " ")
}
