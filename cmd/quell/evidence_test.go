package main

import (
	"bytes"
	"crypto/ed25519"
	"crypto/rand"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/quell-ir/quell/internal/evidence"
)

// sealedEvidence seals an incident's evidence in dataDir as a worker
// would, signed with the data dir's key, with its Markdown report beside.
func sealedEvidence(t *testing.T, dataDir, id string) {
	t.Helper()
	key, err := evidence.LoadOrCreateKey(filepath.Join(dataDir, evidence.KeyFile))
	if err != nil {
		t.Fatal(err)
	}
	s := evidence.NewStore(filepath.Join(dataDir, "evidence"))
	s.SetSigner(key)
	f, err := s.Open(id, evidence.Actor{Who: "quell-worker", Host: "h", Version: "test"})
	if err != nil {
		t.Fatal(err)
	}
	for name, body := range map[string]string{"inspect.json": `{"Id":"3f2a9c"}`, "logs/stdout.log": strings.Repeat("a line of output\n", 200)} {
		if _, err := f.Write(t.Context(), name, strings.NewReader(body), nil); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := f.Seal(map[string]string{"container_id": "3f2a9c"}); err != nil {
		t.Fatal(err)
	}
	if err := os.MkdirAll(filepath.Join(dataDir, "reports"), 0o750); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dataDir, "reports", id+".md"), []byte("# incident\n"), 0o640); err != nil {
		t.Fatal(err)
	}
}

// TestEvidenceBundleVerify is the auditor's path: the collector's key from
// quell evidence pubkey, a bundle, and a verify with no server running
// that passes, and fails naming what was changed.
func TestEvidenceBundleVerify(t *testing.T) {
	dataDir := t.TempDir()
	const id = "docker-falco-abc.run-1"
	sealedEvidence(t, dataDir, id)

	pem, err := runCmd(t, "evidence", "pubkey", "--data-dir", dataDir)
	if err != nil {
		t.Fatal(err)
	}
	pub, err := evidence.ParsePublicKey([]byte(pem))
	if err != nil {
		t.Fatalf("pubkey printed %q: %v", pem, err)
	}
	keyFile := filepath.Join(t.TempDir(), "collector.pem")
	if err := os.WriteFile(keyFile, []byte(pem), 0o600); err != nil {
		t.Fatal(err)
	}

	out := filepath.Join(t.TempDir(), "audit.tar")
	if msg, err := runCmd(t, "evidence", "bundle", id, "-o", out, "--data-dir", dataDir); err != nil || !strings.Contains(msg, "wrote "+out) {
		t.Fatalf("bundle: %v\n%s", err, msg)
	}
	msg, err := runCmd(t, "evidence", "verify", out, "--key", keyFile)
	if err != nil {
		t.Fatalf("verify bundle: %v\n%s", err, msg)
	}
	if !strings.Contains(msg, "evidence of incident "+id+": ok, 2 artifacts intact, signed by "+evidence.KeyID(pub)) {
		t.Errorf("verify bundle printed:\n%s", msg)
	}
	// Without --key, the bundle's own key, said so.
	if msg, err := runCmd(t, "evidence", "verify", out); err != nil || !strings.Contains(msg, "the key inside the bundle") {
		t.Errorf("verify bundle without --key: %v\n%s", err, msg)
	}
	// Against another key, the signature fails.
	other, _, _ := ed25519.GenerateKey(rand.Reader)
	otherFile := filepath.Join(t.TempDir(), "other.pem")
	if err := os.WriteFile(otherFile, evidence.MarshalPublicKey(other), 0o600); err != nil {
		t.Fatal(err)
	}
	if msg, err := runCmd(t, "evidence", "verify", out, "--key", otherFile); err == nil || !strings.Contains(err.Error(), "first: "+evidence.EnvelopeName) {
		t.Errorf("verify against another key = %v\n%s", err, msg)
	}

	// The folder itself: one byte of an artifact changed.
	folder := filepath.Join(dataDir, "evidence", id)
	art := filepath.Join(folder, "logs", "stdout.log")
	flipByte(t, art, 7)
	if msg, err := runCmd(t, "evidence", "verify", folder, "--key", keyFile); err == nil || !strings.Contains(err.Error(), "first: logs/stdout.log") {
		t.Errorf("verify after a byte changed = %v\n%s", err, msg)
	}
	flipByte(t, art, 7)
	if _, err := runCmd(t, "evidence", "verify", folder, "--key", keyFile); err != nil {
		t.Fatalf("verify after the byte is back: %v", err)
	}
	// One custody line removed: verify names the line after it.
	custody := filepath.Join(folder, evidence.CustodyName)
	data, err := os.ReadFile(custody)
	if err != nil {
		t.Fatal(err)
	}
	lines := bytes.SplitAfter(data, []byte("\n"))
	if len(lines) < 4 {
		t.Fatalf("custody log has %d lines", len(lines))
	}
	if err := os.WriteFile(custody, bytes.Join(append(lines[:1:1], lines[2:]...), nil), 0o640); err != nil {
		t.Fatal(err)
	}
	if msg, err := runCmd(t, "evidence", "verify", folder, "--key", keyFile); err == nil || !strings.Contains(msg, "line 2") {
		t.Errorf("verify after a custody line was removed = %v\n%s", err, msg)
	}
}

func flipByte(t *testing.T, path string, i int) {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	b[i] ^= 1
	if err := os.Chmod(path, 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, b, 0o644); err != nil {
		t.Fatal(err)
	}
}

func TestEvidenceUsageErrors(t *testing.T) {
	dataDir := t.TempDir()
	for _, args := range [][]string{
		{"evidence"}, {"evidence", "sign"}, {"evidence", "verify"}, {"evidence", "bundle", "x"},
		{"evidence", "bundle", "-o", "x.tar"}, {"evidence", "pubkey", "extra", "--data-dir", dataDir},
	} {
		if _, err := runCmd(t, args...); exitCode(err) != 2 {
			t.Errorf("%v = %v (exit %d), want a usage error", args, err, exitCode(err))
		}
	}
	out := filepath.Join(t.TempDir(), "x.tar")
	if _, err := runCmd(t, "evidence", "bundle", "../../etc", "-o", out, "--data-dir", dataDir); err == nil || !strings.Contains(err.Error(), "incident id") {
		t.Errorf("bundle of a path = %v, want the incident id refused", err)
	}
	if _, err := runCmd(t, "evidence", "bundle", "no-such-incident", "-o", out, "--data-dir", dataDir); err == nil {
		t.Error("bundle of an unknown incident succeeded")
	}
	if _, err := os.Stat(out); err == nil {
		t.Error("a refused bundle left its file")
	}
}

// TestEvidenceHoldAndExpire: a held incident's evidence outlives its
// retention, the other's goes, and the audit log records the hold and the
// removal.
func TestEvidenceHoldAndExpire(t *testing.T) {
	dataDir := t.TempDir()
	sealedEvidence(t, dataDir, "inc-held")
	sealedEvidence(t, dataDir, "inc-gone")
	if _, err := runCmd(t, "evidence", "hold", "inc-held", "--data-dir", dataDir); exitCode(err) != 2 {
		t.Errorf("hold without --reason = %v, want a usage error", err)
	}
	if _, err := runCmd(t, "evidence", "hold", "inc-held", "--reason", "case 17", "--data-dir", dataDir); err != nil {
		t.Fatal(err)
	}
	out, err := runCmd(t, "evidence", "expire", "--older-than", "1ns", "--dry-run", "--data-dir", dataDir)
	if err != nil || !strings.Contains(out, "inc-gone\tsealed ") || !strings.Contains(out, "would be removed") {
		t.Fatalf("dry run: %v\n%s", err, out)
	}
	out, err = runCmd(t, "evidence", "expire", "--older-than", "1ns", "--data-dir", dataDir)
	if err != nil || !strings.Contains(out, "kept: under a legal hold") || !strings.Contains(out, "\tremoved") {
		t.Fatalf("expire: %v\n%s", err, out)
	}
	if _, err := os.Stat(filepath.Join(dataDir, "evidence", "inc-gone")); !os.IsNotExist(err) {
		t.Errorf("expired evidence still there: %v", err)
	}
	if _, err := os.Stat(filepath.Join(dataDir, "evidence", "inc-held", evidence.ManifestName)); err != nil {
		t.Errorf("held evidence removed: %v", err)
	}
	log, err := os.ReadFile(filepath.Join(dataDir, "audit.log"))
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{`"action":"evidence.hold","incident":"inc-held"`, `"action":"evidence.expire","incident":"inc-gone"`} {
		if !strings.Contains(string(log), want) {
			t.Errorf("audit log lacks %s:\n%s", want, log)
		}
	}
	if _, err := runCmd(t, "audit", "verify", "--data-dir", dataDir); err != nil {
		t.Errorf("audit verify: %v", err)
	}
	if _, err := runCmd(t, "evidence", "release", "inc-held", "--reason", "case closed", "--data-dir", dataDir); err != nil {
		t.Fatal(err)
	}
	if out, err := runCmd(t, "evidence", "expire", "--older-than", "1ns", "--data-dir", dataDir); err != nil || !strings.Contains(out, "inc-held\tsealed ") {
		t.Errorf("expire after release: %v\n%s", err, out)
	}
}

// TestEvidenceSigningKeyFromConfig: with evidence.signing_key_file set,
// quell evidence pubkey prints that key and never creates one in its place.
func TestEvidenceSigningKeyFromConfig(t *testing.T) {
	keyDir := t.TempDir()
	keyFile := filepath.Join(keyDir, "collector.pem")
	key, err := evidence.LoadOrCreateKey(keyFile)
	if err != nil {
		t.Fatal(err)
	}
	cfgFile := filepath.Join(t.TempDir(), "quell.yaml")
	if err := os.WriteFile(cfgFile, []byte("data_dir: "+t.TempDir()+"\nevidence:\n  signing_key_file: "+keyFile+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	out, err := runCmd(t, "evidence", "pubkey", "--config", cfgFile)
	if err != nil || out != string(evidence.MarshalPublicKey(key.Public().(ed25519.PublicKey))) {
		t.Errorf("pubkey = %q, %v; want the configured key's", out, err)
	}
	missing := filepath.Join(keyDir, "typo.pem")
	if err := os.WriteFile(cfgFile, []byte("evidence:\n  signing_key_file: "+missing+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := runCmd(t, "evidence", "pubkey", "--config", cfgFile); err == nil || !strings.Contains(err.Error(), "typo.pem") {
		t.Errorf("pubkey with a missing key file = %v, want it named", err)
	}
	if _, err := os.Stat(missing); err == nil {
		t.Error("a missing configured key was created")
	}
}
