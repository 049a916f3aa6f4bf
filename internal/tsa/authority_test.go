package tsa_test

import (
	"context"
	"crypto/ed25519"
	"crypto/sha256"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/digitorus/timestamp"

	"github.com/quell-ir/quell/internal/evidence"
	"github.com/quell-ir/quell/internal/tsa"
	"github.com/quell-ir/quell/internal/tsa/tsatest"
)

var actor = evidence.Actor{Who: "quell-worker", Host: "test-host", Version: "v0.0.0-test"}

// sealed returns a store in a temporary directory with a signing key, and
// incidentID's evidence in it sealed and signed.
func sealed(t *testing.T, incidentIDs ...string) (*evidence.Store, ed25519.PublicKey) {
	t.Helper()
	root := t.TempDir()
	s := evidence.NewStore(filepath.Join(root, "evidence"))
	key, err := evidence.LoadOrCreateKey(filepath.Join(root, evidence.KeyFile))
	if err != nil {
		t.Fatal(err)
	}
	s.SetSigner(key)
	for _, id := range incidentIDs {
		f, err := s.Open(id, actor)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := f.Write(t.Context(), "inspect.json", strings.NewReader(`{"id":"3f2a9c"}`), nil); err != nil {
			t.Fatal(err)
		}
		if _, err := f.Seal(map[string]string{"container_id": "3f2a9c"}); err != nil {
			t.Fatal(err)
		}
	}
	return s, key.Public().(ed25519.PublicKey)
}

func newClient(t *testing.T, url string, chain []byte) *tsa.Client {
	t.Helper()
	c, err := tsa.New(url, chain, 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// TestTimestampRealAuthority: sigstore's authority answers with a token
// over the data's SHA-256, of the time now, signed by the certificate its
// chain vouches for; with no chain configured, the client fetches the one
// the authority serves.
func TestTimestampRealAuthority(t *testing.T) {
	a := tsatest.Start(t)
	for _, chain := range [][]byte{a.Chain, nil} {
		c := newClient(t, a.URL, chain)
		data := []byte("the envelope's signature")
		token, gotChain, err := c.Timestamp(t.Context(), data)
		if err != nil {
			t.Fatalf("Timestamp: %v\n%s", err, a.Log())
		}
		if string(gotChain) != string(a.Chain) {
			t.Errorf("chain = %q, want the authority's %q", gotChain, a.Chain)
		}
		ts, err := timestamp.Parse(token)
		if err != nil {
			t.Fatalf("parse the token: %v", err)
		}
		if d := time.Since(ts.Time); d < -time.Minute || d > time.Minute {
			t.Errorf("token time %s, %s from now", ts.Time, d)
		}
		if sum := sha256.Sum256(data); string(ts.HashedMessage) != string(sum[:]) {
			t.Errorf("token covers %x, want %x", ts.HashedMessage, sum)
		}
		if len(ts.Certificates) == 0 || ts.Certificates[0].Subject.CommonName != "tsatest timestamping" {
			t.Errorf("token certificates %v, want the authority's", ts.Certificates)
		}
	}
}

// TestStoreTimestampRealAuthority: a sealed folder is timestamped by the
// real authority and verifies with its chain; while the authority is down,
// Store.Timestamp fails with the client's transient error and writes
// nothing, the folder verifying with no timestamp; once the authority is
// back, the same call succeeds.
func TestStoreTimestampRealAuthority(t *testing.T) {
	a := tsatest.Start(t)
	s, pub := sealed(t, "inc-up", "inc-down")
	s.SetTimestamper(newClient(t, a.URL, a.Chain), a.Chain)
	opts := evidence.VerifyOptions{PublicKey: pub, TSAChain: a.Chain}

	at, err := s.Timestamp(t.Context(), "inc-up", actor)
	if err != nil {
		t.Fatalf("Timestamp: %v\n%s", err, a.Log())
	}
	if d := time.Since(at); d < -time.Minute || d > time.Minute {
		t.Errorf("timestamped at %s, %s from now", at, d)
	}
	v, err := evidence.VerifyDir(t.Context(), s.Dir("inc-up"), "inc-up", opts)
	if err != nil || !v.OK() || v.Timestamped == nil || !v.Timestamped.Equal(at) {
		t.Fatalf("verify = %+v, %v; want OK, timestamped at %s", v, err, at)
	}
	// The folder's own chain serves an auditor given none.
	v, err = evidence.VerifyDir(t.Context(), s.Dir("inc-up"), "inc-up", evidence.VerifyOptions{PublicKey: pub})
	if err != nil || !v.OK() || v.Timestamped == nil {
		t.Fatalf("verify with the folder's chain = %+v, %v", v, err)
	}

	a.Stop()
	_, err = s.Timestamp(t.Context(), "inc-down", actor)
	if !errors.Is(err, tsa.ErrUnreachable) || errors.Is(err, evidence.ErrNoTimestamp) {
		t.Fatalf("Timestamp with the authority down = %v, want ErrUnreachable", err)
	}
	if !strings.Contains(err.Error(), "unreachable") || !strings.Contains(err.Error(), "connection refused") {
		t.Errorf("error %q does not say the authority is down", err)
	}
	for _, name := range []string{evidence.TimestampName, evidence.TSAChainName} {
		if _, err := os.Stat(filepath.Join(s.Dir("inc-down"), name)); !errors.Is(err, os.ErrNotExist) {
			t.Errorf("%s after a failed timestamp: %v, want none", name, err)
		}
	}
	v, err = evidence.VerifyDir(t.Context(), s.Dir("inc-down"), "inc-down", opts)
	if err != nil || !v.OK() || v.Timestamped != nil {
		t.Fatalf("verify with no token = %+v, %v; want OK and no timestamp", v, err)
	}

	a.Restart(t)
	if _, err := s.Timestamp(t.Context(), "inc-down", actor); err != nil {
		t.Fatalf("Timestamp with the authority back: %v\n%s", err, a.Log())
	}
	v, err = evidence.VerifyDir(t.Context(), s.Dir("inc-down"), "inc-down", opts)
	if err != nil || !v.OK() || v.Timestamped == nil {
		t.Fatalf("verify after the authority came back = %+v, %v", v, err)
	}
}

// otherData asks the authority for a token over other data than it is given.
type otherData struct{ c *tsa.Client }

func (o otherData) Timestamp(ctx context.Context, data []byte) ([]byte, []byte, error) {
	return o.c.Timestamp(ctx, append([]byte("not "), data...))
}

// TestTokenOverOtherDataRefused: a genuine token of the real authority
// over other data is refused by the store before it is written, and
// verification fails a folder whose token is another incident's.
func TestTokenOverOtherDataRefused(t *testing.T) {
	a := tsatest.Start(t)
	s, pub := sealed(t, "inc-a", "inc-b")
	s.SetTimestamper(otherData{newClient(t, a.URL, a.Chain)}, a.Chain)
	_, err := s.Timestamp(t.Context(), "inc-a", actor)
	if err == nil || !strings.Contains(err.Error(), "message imprint differs") {
		t.Fatalf("Timestamp with a token over other data = %v, want the imprint refused", err)
	}
	if _, err := os.Stat(filepath.Join(s.Dir("inc-a"), evidence.TimestampName)); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("token written though refused: %v", err)
	}

	s.SetTimestamper(newClient(t, a.URL, a.Chain), a.Chain)
	if _, err := s.Timestamp(t.Context(), "inc-a", actor); err != nil {
		t.Fatal(err)
	}
	token, err := os.ReadFile(filepath.Join(s.Dir("inc-a"), evidence.TimestampName))
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(s.Dir("inc-b"), evidence.TimestampName), token, 0o600); err != nil {
		t.Fatal(err)
	}
	v, err := evidence.VerifyDir(t.Context(), s.Dir("inc-b"), "inc-b", evidence.VerifyOptions{PublicKey: pub, TSAChain: a.Chain})
	if err != nil {
		t.Fatal(err)
	}
	if v.OK() || v.Timestamped != nil || len(v.Problems) != 1 || v.Problems[0].Artifact != evidence.TimestampName ||
		!strings.Contains(v.Problems[0].Reason, "message imprint differs") {
		t.Errorf("verify with another incident's token = %+v, want the token refused", v)
	}
}
