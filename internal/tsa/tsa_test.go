package tsa_test

import (
	"bytes"
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"crypto/x509"
	"crypto/x509/pkix"
	"errors"
	"io"
	"math/big"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/digitorus/timestamp"

	"github.com/quell-ir/quell/internal/tsa"
)

// signer is a timestamping certificate and its key, for answers made in
// the test.
type signer struct {
	cert *x509.Certificate
	key  crypto.Signer
}

func newSigner(t *testing.T) signer {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "httptest TSA"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		KeyUsage: x509.KeyUsageDigitalSignature, ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageTimeStamping},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, key.Public(), key)
	if err != nil {
		t.Fatal(err)
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatal(err)
	}
	return signer{cert, key}
}

// answer signs a granted response to req, changed by edit first.
func (s signer) answer(t *testing.T, req *timestamp.Request, edit func(*timestamp.Timestamp)) []byte {
	t.Helper()
	ts := &timestamp.Timestamp{
		HashAlgorithm: req.HashAlgorithm, HashedMessage: req.HashedMessage, Time: time.Now(),
		Nonce: req.Nonce, Policy: []int{1, 2, 3}, SerialNumber: big.NewInt(7), AddTSACertificate: req.Certificates,
	}
	if edit != nil {
		edit(ts)
	}
	resp, err := ts.CreateResponseWithOpts(s.cert, s.key, crypto.SHA256)
	if err != nil {
		t.Fatal(err)
	}
	return resp
}

const chainPEM = "-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n"

// TestClientRequestAndAnswer: the client sends an RFC 3161 query over the
// data's SHA-256 with a nonce and certReq, and returns the token part of
// the answer with the configured chain.
func TestClientRequestAndAnswer(t *testing.T) {
	s := newSigner(t)
	data := []byte("signature")
	var raw []byte
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if got, want := r.Header.Get("Content-Type"), "application/timestamp-query"; r.Method != http.MethodPost || got != want {
			t.Errorf("request %s with type %q, want POST %s", r.Method, got, want)
		}
		body, _ := io.ReadAll(r.Body)
		req, err := timestamp.ParseRequest(body)
		if err != nil {
			t.Errorf("parse the request: %v", err)
			http.Error(w, "bad request", http.StatusBadRequest)
			return
		}
		if sum := sha256.Sum256(data); req.HashAlgorithm != crypto.SHA256 || !bytes.Equal(req.HashedMessage, sum[:]) ||
			!req.Certificates || req.Nonce == nil {
			t.Errorf("request %+v, want SHA-256 of the data, certReq and a nonce", req)
		}
		raw = s.answer(t, req, nil)
		w.Header().Set("Content-Type", "application/timestamp-reply")
		_, _ = w.Write(raw)
	}))
	defer srv.Close()
	token, chain, err := newClient(t, srv.URL, []byte(chainPEM)).Timestamp(t.Context(), data)
	if err != nil {
		t.Fatal(err)
	}
	if string(chain) != chainPEM {
		t.Errorf("chain = %q, want the configured one", chain)
	}
	want, err := timestamp.ParseResponse(raw)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(token, want.RawToken) || bytes.Equal(token, raw) {
		t.Errorf("token is not the answer's TimeStampToken")
	}
}

// TestClientRefusals: every answer that is not a token to this request is
// refused, naming why, and an authority that does not answer is
// unreachable.
func TestClientRefusals(t *testing.T) {
	s := newSigner(t)
	reply := func(t *testing.T, w http.ResponseWriter, r *http.Request, edit func(*timestamp.Timestamp)) {
		body, _ := io.ReadAll(r.Body)
		req, err := timestamp.ParseRequest(body)
		if err != nil {
			t.Fatal(err)
		}
		w.Header().Set("Content-Type", "application/timestamp-reply")
		_, _ = w.Write(s.answer(t, req, edit))
	}
	rejection, err := timestamp.CreateErrorResponse(timestamp.Rejection, timestamp.BadAlgorithm)
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name    string
		handler http.HandlerFunc
		is      error
		says    string
	}{
		{"status", func(w http.ResponseWriter, r *http.Request) {
			http.Error(w, "overloaded", http.StatusServiceUnavailable)
		}, tsa.ErrRefused, "HTTP 503 Service Unavailable: overloaded"},
		{"content type", func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Type", "text/html")
			_, _ = w.Write([]byte("<html>login</html>"))
		}, tsa.ErrRefused, `answer of type "text/html", want application/timestamp-reply`},
		{"oversize", func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Type", "application/timestamp-reply")
			_, _ = w.Write(make([]byte, tsa.MaxResponse+1))
		}, tsa.ErrRefused, "answer over 1048576 bytes"},
		{"rejection", func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Type", "application/timestamp-reply")
			_, _ = w.Write(rejection)
		}, tsa.ErrRefused, "rejected"},
		{"nonce", func(w http.ResponseWriter, r *http.Request) {
			reply(t, w, r, func(ts *timestamp.Timestamp) { ts.Nonce = new(big.Int).Add(ts.Nonce, big.NewInt(1)) })
		}, tsa.ErrRefused, "the token's nonce is not the request's"},
		{"no nonce", func(w http.ResponseWriter, r *http.Request) {
			reply(t, w, r, func(ts *timestamp.Timestamp) { ts.Nonce = nil })
		}, tsa.ErrRefused, "the token's nonce is not the request's"},
		{"imprint", func(w http.ResponseWriter, r *http.Request) {
			reply(t, w, r, func(ts *timestamp.Timestamp) { ts.HashedMessage = bytes.Repeat([]byte{1}, 32) })
		}, tsa.ErrRefused, "message imprint differs"},
		{"no certificate", func(w http.ResponseWriter, r *http.Request) {
			reply(t, w, r, func(ts *timestamp.Timestamp) { ts.AddTSACertificate = false })
		}, tsa.ErrRefused, "carries no certificate"},
		{"slow", func(w http.ResponseWriter, r *http.Request) {
			_, _ = io.Copy(io.Discard, r.Body) // so that the server sees the client leave
			select {
			case <-r.Context().Done():
			case <-time.After(5 * time.Second):
			}
		}, tsa.ErrUnreachable, "Client.Timeout exceeded"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			srv := httptest.NewServer(tc.handler)
			defer srv.Close()
			c, err := tsa.New(srv.URL, []byte(chainPEM), 500*time.Millisecond)
			if err != nil {
				t.Fatal(err)
			}
			_, _, err = c.Timestamp(t.Context(), []byte("signature"))
			if !errors.Is(err, tc.is) || !strings.Contains(err.Error(), tc.says) {
				t.Errorf("err = %v, want %v saying %q", err, tc.is, tc.says)
			}
		})
	}
}

// TestClientErrorsKeepSecrets: an authority down is unreachable, and the
// error names it without the credentials or query its URL carries.
func TestClientErrorsKeepSecrets(t *testing.T) {
	srv := httptest.NewServer(http.NotFoundHandler())
	where := srv.URL
	srv.Close()
	u := strings.Replace(where, "http://", "http://user:pa55word@", 1) + "/tsa?token=s3cret"
	_, _, err := newClient(t, u, []byte(chainPEM)).Timestamp(t.Context(), []byte("signature"))
	if !errors.Is(err, tsa.ErrUnreachable) || !strings.Contains(err.Error(), "timestamp authority "+where+"/tsa: unreachable") {
		t.Fatalf("err = %v, want the authority unreachable", err)
	}
	for _, secret := range []string{"pa55word", "s3cret", "user"} {
		if strings.Contains(err.Error(), secret) {
			t.Errorf("error %q shows %q", err, secret)
		}
	}
	// Fetching the chain says the same.
	_, _, err = newClient(t, u, nil).Timestamp(t.Context(), []byte("signature"))
	if !errors.Is(err, tsa.ErrUnreachable) || strings.Contains(err.Error(), "s3cret") || !strings.Contains(err.Error(), "certificate chain") {
		t.Errorf("err = %v, want the chain's fetch unreachable", err)
	}
}

func TestNewRefusesURLs(t *testing.T) {
	for _, u := range []string{"", "tsa.example.com", "/api/v1/timestamp", "ftp://tsa.example.com", "http://"} {
		if _, err := tsa.New(u, nil, 0); err == nil {
			t.Errorf("New(%q) = nil error, want refused", u)
		}
	}
	if _, err := tsa.New("https://tsa.example.com/", nil, -time.Second); err == nil {
		t.Error("New with a negative timeout = nil error")
	}
}
