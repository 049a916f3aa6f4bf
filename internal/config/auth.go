package config

import (
	"errors"
	"fmt"
	"os"
	"slices"
	"sort"
	"strings"

	"github.com/quell-ir/quell/internal/auth"
)

// Auth says who may use the API and how each is recognised. Tokens are
// given by their SHA-256 (`printf %s "$TOKEN" | sha256sum`), never
// themselves; tokens made by `quell token create` live in the data
// directory instead.
type Auth struct {
	// Principals are named people and systems with a role and a token.
	Principals []Principal `yaml:"principals"`
	// OIDC accepts bearer JWTs from an OpenID Connect issuer.
	OIDC *OIDC `yaml:"oidc"`
	// Intake gives alert sources credentials of their own, by source
	// (falco, trivy, alertmanager, generic).
	Intake map[string]IntakeCredential `yaml:"intake"`
	// Metrics puts /metrics behind a credential.
	Metrics Metrics `yaml:"metrics"`
}

// Principal is one configured principal.
type Principal struct {
	Name string `yaml:"name"`
	// Role is detector, viewer, responder or admin.
	Role string `yaml:"role"`
	// TokenSHA256 is the SHA-256 of the principal's token, in hexadecimal.
	TokenSHA256 string `yaml:"token_sha256"`
}

// OIDC configures an OpenID Connect issuer whose bearer JWTs are accepted.
type OIDC struct {
	// Issuer is the issuer URL, as its tokens' iss claim says.
	Issuer string `yaml:"issuer"`
	// Audience is the client ID tokens must be issued to.
	Audience string `yaml:"audience"`
	// UsernameClaim names the principal; default sub.
	UsernameClaim string `yaml:"username_claim"`
	// GroupsClaim lists the principal's groups; default groups.
	GroupsClaim string `yaml:"groups_claim"`
	// Roles maps groups to roles; the highest of a principal's wins.
	Roles map[string]string `yaml:"roles"`
}

// IntakeCredential is an alert source's own credential: a token by its
// hash, or an HMAC-SHA256 secret that signs each body (a secret: prefer
// hmac_secret_file or QUELL_INTAKE_<SOURCE>_HMAC_SECRET[_FILE]).
type IntakeCredential struct {
	TokenSHA256    string `yaml:"token_sha256"`
	HMACSecret     string `yaml:"hmac_secret"`
	HMACSecretFile string `yaml:"hmac_secret_file"`
	// Header carries the credential: default Authorization for a token,
	// X-Quell-Signature for a signature.
	Header string `yaml:"header"`
	// Scheme comes before the credential: default Bearer in Authorization,
	// none in another header, sha256= before a signature.
	Scheme string `yaml:"scheme"`
}

// Metrics configures who may read /metrics.
type Metrics struct {
	// TokenSHA256, when set, is the hash of the token Prometheus scrapes
	// with; viewers and admins may read /metrics too.
	TokenSHA256 string `yaml:"token_sha256"`
}

// IntakeSources are the alert sources that may have credentials of their
// own.
var IntakeSources = []string{"falco", "trivy", "alertmanager", "generic"}

// applyAuthEnv reads the intake secrets from the environment and files.
func (c *Config) applyAuthEnv(getenv func(string) string) error {
	for _, src := range IntakeSources {
		env := "QUELL_INTAKE_" + strings.ToUpper(src) + "_HMAC_SECRET"
		secret, file := getenv(env), getenv(env+"_FILE")
		if secret == "" && file == "" {
			continue
		}
		if c.Auth.Intake == nil {
			c.Auth.Intake = map[string]IntakeCredential{}
		}
		ic := c.Auth.Intake[src]
		if secret != "" {
			ic.HMACSecret = secret
		}
		if file != "" {
			ic.HMACSecretFile = file
		}
		c.Auth.Intake[src] = ic
	}
	var errs []error
	for _, src := range sortedKeys(c.Auth.Intake) {
		ic := c.Auth.Intake[src]
		if ic.HMACSecret != "" || ic.HMACSecretFile == "" {
			continue
		}
		b, err := os.ReadFile(ic.HMACSecretFile)
		if err != nil {
			errs = append(errs, fmt.Errorf("config: auth.intake.%s.hmac_secret_file: %w", src, err))
			continue
		}
		ic.HMACSecret = strings.TrimSpace(string(b))
		c.Auth.Intake[src] = ic
	}
	return errors.Join(errs...)
}

// validateAuth checks the auth section and the legacy API token.
func (c Config) validateAuth() []error {
	var errs []error
	if c.API.Token != "" {
		if err := auth.CheckSecret(c.API.Token); err != nil {
			errs = append(errs, fmt.Errorf("api.token: %w", err))
		}
	}
	roles := map[string]string{}
	for i, p := range c.Auth.Principals {
		at := fmt.Sprintf("auth.principals[%d] (%s)", i, p.Name)
		if err := auth.CheckName(p.Name); err != nil {
			errs = append(errs, fmt.Errorf("%s: %w", at, err))
		}
		if _, err := auth.ParseRole(p.Role); err != nil {
			errs = append(errs, fmt.Errorf("%s: %w", at, err))
		} else if r, ok := roles[p.Name]; ok && r != p.Role {
			errs = append(errs, fmt.Errorf("%s: role %s, but an earlier entry gives it %s", at, p.Role, r))
		}
		roles[p.Name] = p.Role
		if _, err := auth.ParseHash(p.TokenSHA256); err != nil {
			errs = append(errs, fmt.Errorf("%s: token_sha256: %w", at, err))
		}
	}
	if o := c.Auth.OIDC; o != nil {
		if o.Issuer == "" {
			errs = append(errs, errors.New("auth.oidc.issuer: empty"))
		}
		if o.Audience == "" {
			errs = append(errs, errors.New("auth.oidc.audience: empty (the client ID tokens are issued to)"))
		}
		for _, g := range sortedKeys(o.Roles) {
			if _, err := auth.ParseRole(o.Roles[g]); err != nil {
				errs = append(errs, fmt.Errorf("auth.oidc.roles.%s: %w", g, err))
			}
		}
	}
	for _, src := range sortedKeys(c.Auth.Intake) {
		errs = append(errs, validateIntake(src, c.Auth.Intake[src])...)
	}
	if h := c.Auth.Metrics.TokenSHA256; h != "" {
		if _, err := auth.ParseHash(h); err != nil {
			errs = append(errs, fmt.Errorf("auth.metrics.token_sha256: %w", err))
		}
	}
	return errs
}

func validateIntake(src string, ic IntakeCredential) []error {
	at := "auth.intake." + src
	if !slices.Contains(IntakeSources, src) {
		return []error{fmt.Errorf("%s: unknown source (want one of %s)", at, strings.Join(IntakeSources, ", "))}
	}
	var errs []error
	switch hasToken, hasSecret := ic.TokenSHA256 != "", ic.HMACSecret != ""; {
	case hasToken == hasSecret:
		errs = append(errs, fmt.Errorf("%s: want token_sha256 or an HMAC secret, not both or neither", at))
	case hasToken:
		if _, err := auth.ParseHash(ic.TokenSHA256); err != nil {
			errs = append(errs, fmt.Errorf("%s.token_sha256: %w", at, err))
		}
	default:
		if err := auth.CheckSecret(ic.HMACSecret); err != nil {
			errs = append(errs, fmt.Errorf("%s: hmac secret: %w", at, err))
		}
	}
	if ic.Header != "" && strings.ContainsAny(ic.Header, " \t:\r\n") {
		errs = append(errs, fmt.Errorf("%s.header %q: not an HTTP header name", at, ic.Header))
	}
	return errs
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}
