package config

import (
	"errors"
	"fmt"
	"net/url"
	"os"
	"time"
)

// Bounds of a timestamp authority's timeout: long enough for a distant
// authority, short enough that a sealing activity does not hang on one.
const (
	minTSATimeout = time.Second
	maxTSATimeout = 2 * time.Minute
)

// Evidence configures the evidence store.
type Evidence struct {
	// TimestampAuthority, when its url is set, gives every sealed folder's
	// signature an RFC 3161 trusted time.
	TimestampAuthority TimestampAuthority `yaml:"timestamp_authority"`
	// SigningKeyFile is the collector's Ed25519 signing key (PEM, PKCS #8),
	// which must exist; empty means keys/evidence-ed25519.pem under the
	// data dir, created on first start.
	SigningKeyFile string `yaml:"signing_key_file"`
	// Retention is how long the worker keeps an incident's evidence after
	// sealing it (e.g. 2160h for 90 days); a legal hold (quell evidence
	// hold) keeps it past that. 0 keeps evidence until removed by hand.
	Retention time.Duration `yaml:"retention"`
}

// minRetention bounds retention from below: evidence is kept at least a
// day, so that no typo ("24m") removes it under an incident's feet.
const minRetention = 24 * time.Hour

// validate checks the evidence settings.
func (e Evidence) validate() []error {
	errs := e.TimestampAuthority.validate()
	if e.Retention != 0 && e.Retention < minRetention {
		errs = append(errs, fmt.Errorf("evidence.retention: %s; at least %s, or 0 to keep evidence until removed by hand", e.Retention, minRetention))
	}
	return errs
}

// TimestampAuthority is an RFC 3161 timestamp authority.
type TimestampAuthority struct {
	// URL takes RFC 3161 requests (POST application/timestamp-query), e.g.
	// https://timestamp.sigstore.dev/api/v1/timestamp. It may carry
	// credentials; they are never shown in errors.
	URL string `yaml:"url"`
	// ChainFile is the authority's PEM certificate chain, leaf first and
	// root last, that tokens are checked against. Empty means it is fetched
	// from <url>/certchain (where sigstore's authority serves it) on first
	// use, and trusted as the authority gives it.
	ChainFile string `yaml:"chain_file"`
	// Timeout bounds one request; default 10s, between 1s and 2m.
	Timeout time.Duration `yaml:"timeout"`
}

// Enabled reports whether an authority is configured.
func (t TimestampAuthority) Enabled() bool { return t.URL != "" }

// ReadChain returns the PEM chain in ChainFile, or nil when none is
// configured (the client then fetches the authority's).
func (t TimestampAuthority) ReadChain() ([]byte, error) {
	if t.ChainFile == "" {
		return nil, nil
	}
	b, err := os.ReadFile(t.ChainFile)
	if err != nil {
		return nil, fmt.Errorf("evidence.timestamp_authority.chain_file: %w", err)
	}
	return b, nil
}

// validate checks the authority's settings: an absolute http or https
// URL, a chain file and timeout only with one, the timeout in bounds.
func (t TimestampAuthority) validate() []error {
	const at = "evidence.timestamp_authority"
	var errs []error
	if t.URL == "" {
		if t.ChainFile != "" {
			errs = append(errs, fmt.Errorf("%s: chain_file set but no url", at))
		}
		return errs
	}
	u, err := url.Parse(t.URL)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		// The URL may hold credentials: say what is wrong, not what it is.
		errs = append(errs, errors.New(at+".url: want an absolute http or https URL"))
	}
	if t.Timeout != 0 && (t.Timeout < minTSATimeout || t.Timeout > maxTSATimeout) {
		errs = append(errs, fmt.Errorf("%s.timeout: %s; between %s and %s", at, t.Timeout, minTSATimeout, maxTSATimeout))
	}
	return errs
}
