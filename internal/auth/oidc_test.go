package auth

import (
	"context"
	"crypto"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"math/big"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

// issuer is an OIDC issuer on loopback: a discovery document and a JWKS
// with one RSA key, and a signer for tokens.
type issuer struct {
	srv       *httptest.Server
	key       *rsa.PrivateKey
	discovery atomic.Int32
}

func newIssuer(t *testing.T) *issuer {
	t.Helper()
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	is := &issuer{key: key}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /.well-known/openid-configuration", func(w http.ResponseWriter, r *http.Request) {
		is.discovery.Add(1)
		writeTestJSON(w, map[string]any{
			"issuer": is.srv.URL, "jwks_uri": is.srv.URL + "/keys",
			"authorization_endpoint": is.srv.URL + "/auth", "token_endpoint": is.srv.URL + "/token",
			"id_token_signing_alg_values_supported": []string{"RS256"},
		})
	})
	mux.HandleFunc("GET /keys", func(w http.ResponseWriter, r *http.Request) {
		writeTestJSON(w, map[string]any{"keys": []map[string]string{{
			"kty": "RSA", "kid": "k1", "alg": "RS256", "use": "sig",
			"n": b64(key.N.Bytes()), "e": b64(big.NewInt(int64(key.E)).Bytes()),
		}}})
	})
	is.srv = httptest.NewServer(mux)
	t.Cleanup(is.srv.Close)
	return is
}

func writeTestJSON(w http.ResponseWriter, v any) {
	w.Header().Set("Content-Type", "application/json")
	_ = json.NewEncoder(w).Encode(v)
}

func b64(b []byte) string { return base64.RawURLEncoding.EncodeToString(b) }

// sign makes an RS256 JWT of claims with key.
func sign(t *testing.T, key *rsa.PrivateKey, claims map[string]any) string {
	t.Helper()
	header, _ := json.Marshal(map[string]string{"alg": "RS256", "typ": "JWT", "kid": "k1"})
	payload, err := json.Marshal(claims)
	if err != nil {
		t.Fatal(err)
	}
	input := b64(header) + "." + b64(payload)
	sum := sha256.Sum256([]byte(input))
	sig, err := rsa.SignPKCS1v15(rand.Reader, key, crypto.SHA256, sum[:])
	if err != nil {
		t.Fatal(err)
	}
	return input + "." + b64(sig)
}

func TestOIDC(t *testing.T) {
	is := newIssuer(t)
	now := time.Date(2026, 11, 23, 1, 0, 0, 0, time.UTC)
	o, err := NewOIDC(OIDCConfig{
		Issuer: is.srv.URL, Audience: "quell", UsernameClaim: "email",
		Roles: map[string]Role{"secops": Responder, "sre": Viewer, "platform-admins": Admin},
		Now:   func() time.Time { return now },
	})
	if err != nil {
		t.Fatal(err)
	}
	a, err := New(Options{OIDC: o})
	if err != nil {
		t.Fatal(err)
	}
	claims := func(change func(map[string]any)) map[string]any {
		c := map[string]any{
			"iss": is.srv.URL, "aud": "quell", "sub": "u-123", "email": "alice@example.com",
			"groups": []string{"sre", "secops", "unmapped"},
			"iat":    now.Add(-time.Minute).Unix(), "exp": now.Add(time.Hour).Unix(),
		}
		if change != nil {
			change(c)
		}
		return c
	}
	otherKey, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		name  string
		token string
		want  Principal
		err   string
	}{
		{"groups mapped, highest role", sign(t, is.key, claims(nil)), Principal{"alice@example.com", Responder, SourceOIDC}, ""},
		{"one group as a string", sign(t, is.key, claims(func(c map[string]any) { c["groups"] = "platform-admins" })),
			Principal{"alice@example.com", Admin, SourceOIDC}, ""},
		{"no mapped group: no role", sign(t, is.key, claims(func(c map[string]any) { c["groups"] = []string{"x"} })),
			Principal{"alice@example.com", "", SourceOIDC}, ""},
		{"audience among several", sign(t, is.key, claims(func(c map[string]any) { c["aud"] = []string{"other", "quell"} })),
			Principal{"alice@example.com", Responder, SourceOIDC}, ""},
		{"expired", sign(t, is.key, claims(func(c map[string]any) { c["exp"] = now.Add(-time.Second).Unix() })),
			Principal{}, "oidc token: bad credential: expired at 2026-11-23T00:59:59Z"},
		{"wrong audience", sign(t, is.key, claims(func(c map[string]any) { c["aud"] = "grafana" })),
			Principal{}, "oidc token: bad credential: wrong audience"},
		{"wrong signature", sign(t, otherKey, claims(nil)), Principal{}, "oidc token: bad credential: bad signature"},
		{"wrong issuer", sign(t, is.key, claims(func(c map[string]any) { c["iss"] = "https://evil.example" })),
			Principal{}, "oidc token: bad credential: wrong issuer"},
		{"no username claim", sign(t, is.key, claims(func(c map[string]any) { delete(c, "email") })),
			Principal{}, "oidc token: bad credential: claim email: missing"},
		{"control characters in the name", sign(t, is.key, claims(func(c map[string]any) { c["email"] = "alice\nbob" })),
			Principal{}, "oidc token: bad credential: claim email: want 1 to 256 printable characters"},
		{"tampered payload", tamper(sign(t, is.key, claims(nil))), Principal{}, "oidc token: bad credential: bad signature"},
		{"not a JWT", "opaque-token-that-is-no-jwt", Principal{}, "bearer token: bad credential"},
	}
	for _, tc := range cases {
		r := httptest.NewRequest("GET", "/v1/incidents", nil)
		r.Header.Set("Authorization", "Bearer "+tc.token)
		got, err := a.Authenticate(r)
		gotErr := ""
		if err != nil {
			gotErr = err.Error()
			if !errors.Is(err, ErrBadCredential) {
				t.Errorf("%s: %v does not wrap ErrBadCredential", tc.name, err)
			}
			if strings.Contains(gotErr, tc.token) {
				t.Errorf("%s: the error repeats the token", tc.name)
			}
		}
		if got != tc.want || gotErr != tc.err {
			t.Errorf("%s: %+v, %q; want %+v, %q", tc.name, got, gotErr, tc.want, tc.err)
		}
	}
	if n := is.discovery.Load(); n != 1 {
		t.Errorf("discovered %d times, want once", n)
	}
}

// tamper changes the payload's claims without re-signing: the groups
// become an admin's.
func tamper(jwt string) string {
	parts := strings.Split(jwt, ".")
	payload, _ := base64.RawURLEncoding.DecodeString(parts[1])
	payload = []byte(strings.Replace(string(payload), `"secops"`, `"platform-admins"`, 1))
	return parts[0] + "." + b64(payload) + "." + parts[2]
}

func TestOIDCIssuerDown(t *testing.T) {
	is := newIssuer(t)
	url := is.srv.URL
	is.srv.Close()
	now := time.Date(2026, 11, 23, 1, 0, 0, 0, time.UTC)
	o, err := NewOIDC(OIDCConfig{Issuer: url, Audience: "quell", Now: func() time.Time { return now }})
	if err != nil {
		t.Fatal(err)
	}
	tok := sign(t, is.key, map[string]any{"iss": url, "aud": "quell", "sub": "a", "exp": now.Add(time.Hour).Unix()})
	_, err = o.Verify(context.Background(), tok)
	if err == nil || errors.Is(err, ErrBadCredential) || !strings.Contains(err.Error(), "oidc issuer "+url+": discovery:") {
		t.Errorf("issuer down: %v, want a discovery error that is not a refusal", err)
	}
}

func TestNewOIDCChecks(t *testing.T) {
	_, err := NewOIDC(OIDCConfig{Issuer: "issuer.example", Roles: map[string]Role{"g": "root"}})
	want := "oidc issuer \"issuer.example\": want an http(s) URL\noidc audience: empty (the client ID tokens are issued to)\noidc group g: role \"root\": want one of detector, viewer, responder, admin"
	if err == nil || err.Error() != want {
		t.Errorf("err = %v, want %s", err, want)
	}
}
