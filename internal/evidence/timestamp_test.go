package evidence

import (
	"crypto/ed25519"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/quell-ir/quell/internal/evidence/evidencetest"
)

// TestTimestampLateAndVerified: sealed while the authority is down, a
// folder has no token and verifies as missing one; the pending pass adds
// it once the authority answers, verification then checks it, and only
// once.
func TestTimestampLateAndVerified(t *testing.T) {
	s, f, key := signedIncident(t, "inc-ts")
	pub := key.Public().(ed25519.PublicKey)
	tsa := evidencetest.NewAuthority(t)
	s.SetTimestamper(tsa, tsa.Chain)
	tsa.Down = true
	if _, err := s.Timestamp(t.Context(), "inc-ts", testActor); err == nil || errors.Is(err, ErrNoTimestamp) {
		t.Fatalf("Timestamp with the authority down = %v, want its error", err)
	}
	if done, err := s.TimestampPending(t.Context(), testActor); err == nil || len(done) != 0 {
		t.Fatalf("TimestampPending with the authority down = %v, %v", done, err)
	}
	if _, err := os.Stat(filepath.Join(f.Dir(), TimestampName)); err == nil {
		t.Fatal("a token was written while the authority was down")
	}
	v, err := VerifyDir(t.Context(), f.Dir(), "", VerifyOptions{PublicKey: pub, TSAChain: tsa.Chain})
	if err != nil || !v.OK() || v.Timestamped != nil {
		t.Fatalf("verify without a token = %+v, %v", v, err)
	}

	tsa.Down = false
	done, err := s.TimestampPending(t.Context(), testActor)
	if err != nil || strings.Join(done, ",") != "inc-ts" {
		t.Fatalf("TimestampPending = %v, %v, want inc-ts", done, err)
	}
	v, err = VerifyDir(t.Context(), f.Dir(), "", VerifyOptions{PublicKey: pub, TSAChain: tsa.Chain})
	if err != nil || !v.OK() || v.Timestamped == nil || time.Since(*v.Timestamped) > time.Minute {
		t.Fatalf("verify with the token = %+v, %v", v, err)
	}
	asked := tsa.Asked
	if done, err := s.TimestampPending(t.Context(), testActor); err != nil || len(done) != 0 || tsa.Asked != asked {
		t.Errorf("a second pass = %v, %v, asked %d more times; want nothing to do", done, err, tsa.Asked-asked)
	}
	entries, _ := s.Custody("inc-ts")
	if last := entries[len(entries)-1]; last.Action != ActionTimestamped || !strings.Contains(last.Note, "test TSA") {
		t.Errorf("last custody entry %+v, want the timestamp's", last)
	}

	// Another authority's chain does not vouch for the token.
	other := evidencetest.NewAuthority(t)
	if got := verifyFailure(t, f.Dir(), pub, other.Chain); !strings.Contains(got, TimestampName) {
		t.Errorf("verify against another authority: first failure %q, want the timestamp", got)
	}
	// An envelope signed again at another time, with the same key over the
	// same evidence: the signature verifies, the token does not cover it.
	data, err := os.ReadFile(filepath.Join(f.Dir(), ManifestName))
	if err != nil {
		t.Fatal(err)
	}
	var m Manifest
	if err := json.Unmarshal(data, &m); err != nil {
		t.Fatal(err)
	}
	chain, err := readChain(f.Dir())
	if err != nil {
		t.Fatal(err)
	}
	env, err := signStatement(key, data, m, chain, testActor, time.Now().Add(48*time.Hour))
	if err != nil {
		t.Fatal(err)
	}
	swapped, _ := json.MarshalIndent(env, "", "  ")
	envPath := filepath.Join(f.Dir(), EnvelopeName)
	if err := os.Chmod(envPath, 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(envPath, append(swapped, '\n'), 0o644); err != nil {
		t.Fatal(err)
	}
	if got := verifyFailure(t, f.Dir(), pub, tsa.Chain); !strings.Contains(got, TimestampName) || !strings.Contains(got, "does not cover") {
		t.Errorf("verify after the envelope was swapped: first failure %q, want the timestamp's", got)
	}
}

func TestTimestampPendingWithoutAuthority(t *testing.T) {
	s, _, _ := signedIncident(t, "inc-none")
	if _, err := s.TimestampPending(t.Context(), testActor); !errors.Is(err, ErrNoTimestamp) {
		t.Errorf("TimestampPending with no authority = %v, want ErrNoTimestamp", err)
	}
	if _, err := s.Timestamp(t.Context(), "inc-none", testActor); !errors.Is(err, ErrNoTimestamp) {
		t.Errorf("Timestamp with no authority = %v, want ErrNoTimestamp", err)
	}
}

// verifyFailure verifies dir with pub and chain and returns its first failed line.
func verifyFailure(t *testing.T, dir string, pub ed25519.PublicKey, chain []byte) string {
	t.Helper()
	v, err := VerifyDir(t.Context(), dir, "", VerifyOptions{PublicKey: pub, TSAChain: chain})
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range v.Results {
		if !r.OK {
			return r.String()
		}
	}
	return ""
}
