package auth

import (
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"net/http"
	"strings"
)

// TokenPrefix starts every token quell makes, so a leaked one is easy to
// recognise (secret scanners, logs).
const TokenPrefix = "quell_"

// MinSecretBytes is the shortest token or signing secret quell accepts.
const MinSecretBytes = 32

// Hash is the SHA-256 of a token: all quell keeps of it.
type Hash [sha256.Size]byte

// HashToken returns the hash of token.
func HashToken(token string) Hash { return sha256.Sum256([]byte(token)) }

// ParseHash reads a hash written as 64 hexadecimal digits.
func ParseHash(s string) (Hash, error) {
	var h Hash
	b, err := hex.DecodeString(s)
	if err != nil || len(b) != len(h) {
		return h, errors.New("want the token's SHA-256 as 64 hexadecimal digits")
	}
	copy(h[:], b)
	return h, nil
}

// String is the hash in lower-case hexadecimal.
func (h Hash) String() string { return hex.EncodeToString(h[:]) }

// Equal compares two hashes in constant time.
func (h Hash) Equal(o Hash) bool { return subtle.ConstantTimeCompare(h[:], o[:]) == 1 }

// NewToken returns a fresh token: TokenPrefix and 32 random bytes in
// unpadded base64url.
func NewToken() (string, error) {
	b := make([]byte, 32)
	if _, err := rand.Read(b); err != nil {
		return "", fmt.Errorf("token: %w", err)
	}
	return TokenPrefix + base64.RawURLEncoding.EncodeToString(b), nil
}

// CheckSecret refuses a token or signing secret that is blank or shorter
// than MinSecretBytes. The error never repeats the secret.
func CheckSecret(s string) error {
	switch {
	case strings.TrimSpace(s) == "":
		return errors.New("blank")
	case len(s) < MinSecretBytes:
		return fmt.Errorf("%d bytes, shorter than %d", len(s), MinSecretBytes)
	}
	return nil
}

// Bearer returns the credential of an "Authorization: Bearer <token>"
// header. The scheme is matched without regard to case (RFC 9110 section
// 11.1); ok is false when there is no such header.
func Bearer(h http.Header) (token string, ok bool) {
	return schemeValue(h.Get("Authorization"), "Bearer")
}

// schemeValue strips scheme from v. A scheme that ends in a letter or digit
// (an HTTP auth-scheme: "Bearer") must be followed by spaces; any other
// ("sha256=") is a plain prefix; the empty scheme takes v whole. The match
// ignores case.
func schemeValue(v, scheme string) (string, bool) {
	v = strings.TrimSpace(v)
	if scheme == "" {
		return v, v != ""
	}
	if len(v) < len(scheme) || !strings.EqualFold(v[:len(scheme)], scheme) {
		return "", false
	}
	rest := v[len(scheme):]
	if last := scheme[len(scheme)-1]; isAlnum(last) {
		trimmed := strings.TrimLeft(rest, " \t")
		if len(trimmed) == len(rest) {
			return "", false
		}
		rest = trimmed
	}
	return rest, rest != ""
}

func isAlnum(c byte) bool {
	return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9'
}
