package evidence

import (
	"bytes"
	"context"
	"crypto"
	"crypto/sha256"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"time"

	"github.com/digitorus/timestamp"
)

// Trusted time: an RFC 3161 authority timestamps the envelope's signature;
// its token and the certificate chain it was checked against are kept beside
// the envelope. A folder sealed while the authority was down has none until
// Store.Timestamp adds it.
const (
	// TimestampName is the RFC 3161 TimeStampToken's file name (DER).
	TimestampName = "manifest.dsse.tsr"
	// TSAChainName is the timestamp authority's PEM certificate chain.
	TSAChainName = "tsa-chain.pem"
	// ActionTimestamped records the token's writing, with its SHA-256.
	ActionTimestamped = "timestamped"
)

// ErrNoTimestamp reports that a signed folder has no timestamp token yet.
var ErrNoTimestamp = errors.New("no timestamp")

// Timestamper asks an RFC 3161 timestamp authority for a token.
type Timestamper interface {
	// Timestamp returns a DER TimeStampToken over the SHA-256 of data, and
	// the authority's PEM certificate chain. Its errors are transient: the
	// authority is down or refused.
	Timestamp(ctx context.Context, data []byte) (token, chain []byte, err error)
}

// SetTimestamper makes Store.Timestamp ask t, and verification trust the
// authority's PEM certificate chain (when empty, the one t returns).
func (s *Store) SetTimestamper(t Timestamper, chain []byte) {
	s.stamper, s.tsaChain = t, chain
}

// Timestamp returns the time the authority certified for incidentID's
// signature, asking it for a token first if the folder has none. It returns
// an error wrapping ErrNoManifest before sealing, and ErrNoTimestamp when no
// authority is configured; errors from the authority are transient.
func (s *Store) Timestamp(ctx context.Context, incidentID string, actor Actor) (time.Time, error) {
	if err := validateIncidentID(incidentID); err != nil {
		return time.Time{}, err
	}
	dir := s.Dir(incidentID)
	env, err := os.ReadFile(filepath.Join(dir, EnvelopeName))
	if errors.Is(err, fs.ErrNotExist) {
		return time.Time{}, fmt.Errorf("incident %q: unsigned: %w", incidentID, ErrNoManifest)
	}
	if err != nil {
		return time.Time{}, fmt.Errorf("incident %q: %w", incidentID, err)
	}
	if token, err := os.ReadFile(filepath.Join(dir, TimestampName)); err == nil {
		ts, err := timestamp.Parse(token)
		if err != nil {
			return time.Time{}, fmt.Errorf("incident %q: timestamp token: %w", incidentID, err)
		}
		return ts.Time, nil
	}
	if s.stamper == nil {
		return time.Time{}, fmt.Errorf("incident %q: no timestamp authority configured: %w", incidentID, ErrNoTimestamp)
	}
	st, err := openEnvelope(env, s.PublicKey())
	if err != nil {
		return time.Time{}, fmt.Errorf("incident %q: %w", incidentID, err)
	}
	token, chain, err := s.stamper.Timestamp(ctx, st.Signature)
	if err != nil {
		return time.Time{}, fmt.Errorf("timestamp incident %q: %w", incidentID, err)
	}
	if len(s.tsaChain) > 0 {
		chain = s.tsaChain
	}
	ts, err := checkToken(token, st.Signature, chain)
	if err != nil {
		return time.Time{}, fmt.Errorf("timestamp incident %q: the authority's token: %w", incidentID, err)
	}
	inc := s.incident(incidentID)
	inc.mu.Lock()
	defer inc.mu.Unlock()
	if err := writeOnce(filepath.Join(dir, TSAChainName), chain); err != nil {
		return time.Time{}, fmt.Errorf("timestamp incident %q: %w", incidentID, err)
	}
	if err := writeOnce(filepath.Join(dir, TimestampName), token); err != nil {
		return time.Time{}, fmt.Errorf("timestamp incident %q: %w", incidentID, err)
	}
	e := CustodyEntry{
		Time: s.clock(), Action: ActionTimestamped, Artifact: TimestampName, SHA256: lineDigest(token), Actor: actor,
		Note: "signature timestamped at " + ts.Time.UTC().Format(time.RFC3339Nano) + " by " + tokenSigner(ts).Subject.String(),
	}
	if err := appendChained(dir, e); err != nil {
		return time.Time{}, fmt.Errorf("timestamp incident %q: %w", incidentID, err)
	}
	return ts.Time, nil
}

// checkToken parses token and checks that it covers signature and that its
// signer chains to the last certificate of chain (PEM) for timestamping.
func checkToken(token, signature, chain []byte) (*timestamp.Timestamp, error) {
	ts, err := timestamp.Parse(token)
	if err != nil {
		return nil, fmt.Errorf("token: %w", err)
	}
	sum := sha256.Sum256(signature)
	if ts.HashAlgorithm != crypto.SHA256 || !bytes.Equal(ts.HashedMessage, sum[:]) {
		return nil, errors.New("token does not cover the envelope's signature (message imprint differs)")
	}
	signer := tokenSigner(ts)
	if signer == nil {
		return nil, errors.New("token carries no timestamping certificate")
	}
	certs, err := parseCerts(chain)
	if err != nil {
		return nil, err
	}
	roots, inter := x509.NewCertPool(), x509.NewCertPool()
	roots.AddCert(certs[len(certs)-1])
	for _, c := range certs[:len(certs)-1] {
		inter.AddCert(c)
	}
	for _, c := range ts.Certificates {
		inter.AddCert(c)
	}
	_, err = signer.Verify(x509.VerifyOptions{
		Roots: roots, Intermediates: inter, CurrentTime: ts.Time,
		KeyUsages: []x509.ExtKeyUsage{x509.ExtKeyUsageTimeStamping},
	})
	if err != nil {
		return nil, fmt.Errorf("token signer %q: %w", signer.Subject, err)
	}
	return ts, nil
}

// parseCerts decodes the PEM certificates in chain, leaf first, root last.
func parseCerts(chain []byte) ([]*x509.Certificate, error) {
	var certs []*x509.Certificate
	for rest := chain; ; {
		var block *pem.Block
		block, rest = pem.Decode(rest)
		if block == nil {
			break
		}
		if block.Type != "CERTIFICATE" {
			continue
		}
		c, err := x509.ParseCertificate(block.Bytes)
		if err != nil {
			return nil, fmt.Errorf("authority chain: %w", err)
		}
		certs = append(certs, c)
	}
	if len(certs) == 0 {
		return nil, errors.New("authority chain: no certificate")
	}
	return certs, nil
}

// tokenSigner is the certificate in ts that is not a CA's and may sign
// timestamps, or nil.
func tokenSigner(ts *timestamp.Timestamp) *x509.Certificate {
	for _, c := range ts.Certificates {
		if !c.IsCA && slices.Contains(c.ExtKeyUsage, x509.ExtKeyUsageTimeStamping) {
			return c
		}
	}
	return nil
}

// Timestamping reports whether an authority is configured.
func (s *Store) Timestamping() bool { return s.stamper != nil }

// TimestampPending asks the authority for the token of every signed folder
// that has none, as when it was down at sealing, and returns the IDs it
// timestamped. It stops at the first refusal: the authority is still down,
// and the next pass tries again.
func (s *Store) TimestampPending(ctx context.Context, actor Actor) ([]string, error) {
	if s.stamper == nil {
		return nil, ErrNoTimestamp
	}
	entries, err := os.ReadDir(s.root)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("evidence root: %w", err)
	}
	var done []string
	for _, e := range entries {
		id := e.Name()
		if !e.IsDir() || validateIncidentID(id) != nil {
			continue
		}
		dir := s.Dir(id)
		if !exists(filepath.Join(dir, EnvelopeName)) || exists(filepath.Join(dir, TimestampName)) {
			continue
		}
		if _, err := s.Timestamp(ctx, id, actor); err != nil {
			return done, err
		}
		done = append(done, id)
	}
	return done, nil
}

func exists(path string) bool {
	_, err := os.Lstat(path)
	return err == nil
}
