// Package evidencetest gives tests a timestamp authority of their own.
package evidencetest

import (
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/asn1"
	"encoding/pem"
	"errors"
	"math/big"
	"testing"
	"time"

	"github.com/digitorus/timestamp"
)

// Authority is an RFC 3161 timestamp authority in the test's own process,
// an evidence.Timestamper: a CA and a timestamping certificate, signing
// tokens with digitorus/timestamp. It is for tests of what quell does with
// tokens; internal/tsa tests the protocol against a real authority server.
type Authority struct {
	// Chain is the authority's PEM chain, root last.
	Chain []byte
	// Down makes it refuse, as an authority that is not there.
	Down bool
	// Asked counts the requests.
	Asked int

	cert *x509.Certificate
	key  crypto.Signer
}

// NewAuthority returns an authority with a fresh CA, valid for an hour.
func NewAuthority(t testing.TB) *Authority {
	t.Helper()
	caKey, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	ca := &x509.Certificate{
		SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "test TSA root"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		IsCA: true, BasicConstraintsValid: true, KeyUsage: x509.KeyUsageCertSign,
	}
	caDER, err := x509.CreateCertificate(rand.Reader, ca, ca, caKey.Public(), caKey)
	if err != nil {
		t.Fatal(err)
	}
	ca, _ = x509.ParseCertificate(caDER)
	key, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	leaf := &x509.Certificate{
		SerialNumber: big.NewInt(2), Subject: pkix.Name{CommonName: "test TSA"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		KeyUsage: x509.KeyUsageDigitalSignature, ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageTimeStamping},
	}
	leafDER, err := x509.CreateCertificate(rand.Reader, leaf, ca, key.Public(), caKey)
	if err != nil {
		t.Fatal(err)
	}
	leaf, _ = x509.ParseCertificate(leafDER)
	chain := append(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: leafDER}), pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: caDER})...)
	return &Authority{cert: leaf, key: key, Chain: chain}
}

// Timestamp returns a token over the SHA-256 of data, and Chain.
func (a *Authority) Timestamp(_ context.Context, data []byte) ([]byte, []byte, error) {
	a.Asked++
	if a.Down {
		return nil, nil, errors.New("timestamp authority: connection refused")
	}
	sum := sha256.Sum256(data)
	ts := timestamp.Timestamp{
		HashAlgorithm: crypto.SHA256, HashedMessage: sum[:], Time: time.Now(),
		Policy: asn1.ObjectIdentifier{1, 3, 6, 1, 4, 1, 57264, 2}, Qualified: false, AddTSACertificate: true,
	}
	resp, err := ts.CreateResponse(a.cert, a.key)
	if err != nil {
		return nil, nil, err
	}
	parsed, err := timestamp.ParseResponse(resp)
	if err != nil {
		return nil, nil, err
	}
	return parsed.RawToken, a.Chain, nil
}
