package auth

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"net/http"
	"net/textproto"
	"strings"
)

// Defaults for intake credentials.
const (
	// DefaultSignatureHeader carries an HMAC signature when no header is
	// configured.
	DefaultSignatureHeader = "X-Quell-Signature"
	// DefaultSignatureScheme comes before the signature's hexadecimal
	// digits when no scheme is configured.
	DefaultSignatureScheme = "sha256="
)

// IntakeCredential is the credential one alert source presents: a token
// (kept as its hash) in a header, or an HMAC-SHA256 signature of the raw
// body made with a shared secret.
type IntakeCredential struct {
	// Source is the alert source: falco, trivy, alertmanager, generic.
	Source string
	// Header carries the credential: default Authorization for a token
	// (Alertmanager's http_config), DefaultSignatureHeader for a signature.
	// Falcosidekick's webhook output can send any header.
	Header string
	// Scheme comes before the credential in the header, matched without
	// regard to case: default Bearer in Authorization, none in any other
	// header for a token, DefaultSignatureScheme for a signature.
	Scheme string
	// Token is the hash of the source's token; or
	Token *Hash
	// HMACSecret signs each body: the header holds the scheme and the
	// signature's hexadecimal digits.
	HMACSecret []byte
}

// Intake checks the alert sources' own credentials.
type Intake struct {
	creds map[string]IntakeCredential
}

// NewIntake checks the credentials (one per source, a token or a secret of
// at least MinSecretBytes) and returns their checker.
func NewIntake(creds ...IntakeCredential) (*Intake, error) {
	in := &Intake{creds: map[string]IntakeCredential{}}
	var errs []error
	for _, c := range creds {
		at := "intake " + c.Source
		switch {
		case c.Source == "":
			errs = append(errs, errors.New("intake: source empty"))
		case in.creds[c.Source].Source != "":
			errs = append(errs, fmt.Errorf("%s: listed twice", at))
		case (c.Token == nil) == (c.HMACSecret == nil):
			errs = append(errs, fmt.Errorf("%s: want a token hash or an HMAC secret, not both or neither", at))
		case c.HMACSecret != nil:
			if err := CheckSecret(string(c.HMACSecret)); err != nil {
				errs = append(errs, fmt.Errorf("%s: hmac secret: %w", at, err))
			}
		}
		if c.Header == "" && c.Token != nil {
			c.Header = "Authorization"
		}
		if c.Header == "" {
			c.Header = DefaultSignatureHeader
		}
		if c.Scheme == "" && c.Token != nil && strings.EqualFold(c.Header, "Authorization") {
			c.Scheme = "Bearer"
		}
		if c.Scheme == "" && c.HMACSecret != nil {
			c.Scheme = DefaultSignatureScheme
		}
		if !validHeader(c.Header) {
			errs = append(errs, fmt.Errorf("%s: header %q: not an HTTP header name", at, c.Header))
		}
		c.Header = textproto.CanonicalMIMEHeaderKey(c.Header)
		in.creds[c.Source] = c
	}
	return in, errors.Join(errs...)
}

// Has reports whether source has a credential of its own.
func (in *Intake) Has(source string) bool {
	if in == nil {
		return false
	}
	_, ok := in.creds[source]
	return ok
}

// Verify checks the credential of an alert from source with headers h and
// raw body, in constant time, and returns the source's principal: a
// detector named "intake:<source>". Errors wrap ErrNoCredential or
// ErrBadCredential and never repeat the credential.
func (in *Intake) Verify(source string, h http.Header, body []byte) (Principal, error) {
	c, ok := in.creds[source]
	if !ok {
		return Principal{}, fmt.Errorf("intake %s: %w: none configured", source, ErrBadCredential)
	}
	v := h.Get(c.Header)
	if v == "" {
		return Principal{}, fmt.Errorf("intake %s: header %s: %w", source, c.Header, ErrNoCredential)
	}
	cred, ok := schemeValue(v, c.Scheme)
	if !ok {
		return Principal{}, fmt.Errorf("intake %s: header %s: %w: want the %s scheme", source, c.Header, ErrBadCredential, c.Scheme)
	}
	if c.Token != nil {
		if !c.Token.Equal(HashToken(cred)) {
			return Principal{}, fmt.Errorf("intake %s: %w: wrong token", source, ErrBadCredential)
		}
	} else {
		got, err := hex.DecodeString(cred)
		mac := hmac.New(sha256.New, c.HMACSecret)
		mac.Write(body)
		if err != nil || !hmac.Equal(got, mac.Sum(nil)) {
			return Principal{}, fmt.Errorf("intake %s: %w: wrong signature", source, ErrBadCredential)
		}
	}
	return Principal{Name: "intake:" + source, Role: Detector, Source: SourceIntake}, nil
}

// Sign returns the header value that signs body for a source configured
// with secret and scheme (DefaultSignatureScheme when empty): for
// detectors written in Go, and tests.
func Sign(secret, body []byte, scheme string) string {
	if scheme == "" {
		scheme = DefaultSignatureScheme
	}
	mac := hmac.New(sha256.New, secret)
	mac.Write(body)
	if isAlnum(scheme[len(scheme)-1]) {
		scheme += " "
	}
	return scheme + hex.EncodeToString(mac.Sum(nil))
}

// validHeader reports whether s is an HTTP field name (RFC 9110 token).
func validHeader(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !isAlnum(c) && !strings.ContainsRune("!#$%&'*+-.^_`|~", rune(c)) {
			return false
		}
	}
	return true
}
