package evidence

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// signedIncident is sealedIncident with a Store that signs, and the key.
func signedIncident(t *testing.T, id string) (*Store, *Folder, ed25519.PrivateKey) {
	t.Helper()
	s := newTestStore(t)
	key, err := LoadOrCreateKey(filepath.Join(t.TempDir(), KeyFile))
	if err != nil {
		t.Fatal(err)
	}
	s.SetSigner(key)
	f := openFolder(t, s, id)
	mustWrite(t, f, "inspect.json", 1, 3000)
	mustWrite(t, f, "logs/stdout.log", 2, 5000)
	if _, err := f.Seal(testSubject); err != nil {
		t.Fatal(err)
	}
	return s, f, key
}

// firstFailure verifies dir against pub and returns its first failed line.
func firstFailure(t *testing.T, dir string, pub ed25519.PublicKey) string {
	t.Helper()
	return verifyFailure(t, dir, pub, nil)
}

func TestSignedVerify(t *testing.T) {
	_, f, key := signedIncident(t, "inc-signed")
	pub := key.Public().(ed25519.PublicKey)
	v, err := VerifyDir(context.Background(), f.Dir(), "", VerifyOptions{PublicKey: pub})
	if err != nil {
		t.Fatal(err)
	}
	if !v.OK() {
		t.Fatalf("problems = %+v", v.Problems)
	}
	var lines []string
	for _, r := range v.Results {
		lines = append(lines, r.String())
	}
	out := strings.Join(lines, "\n")
	for _, want := range []string{"ok   manifest.dsse.json: signed by ed25519 key " + KeyID(pub), "ok   inspect.json: sha256", "ok   logs/stdout.log: sha256", "ok   custody.log: lines 1-3 are the ones signed"} {
		if !strings.Contains(out, want) {
			t.Errorf("results lack %q:\n%s", want, out)
		}
	}
	other, _, _ := ed25519.GenerateKey(nil)
	if got, want := firstFailure(t, f.Dir(), other), "FAIL manifest.dsse.json: signature does not verify with key "+KeyID(other); !strings.HasPrefix(got, want) {
		t.Errorf("first failure with another key = %q, want %q...", got, want)
	}
}

func TestSignedTampered(t *testing.T) {
	tests := []struct {
		name   string
		tamper func(t *testing.T, dir string)
		want   string // prefix of the first failed line
	}{
		{"artifact byte", func(t *testing.T, dir string) {
			flipByte(t, filepath.Join(dir, "logs", "stdout.log"), 4000)
		}, "FAIL logs/stdout.log: sha256 mismatch"},
		{"manifest edited, hashes recomputed", func(t *testing.T, dir string) {
			// Change an artifact, write its new hash into the manifest and the
			// manifest's new hash into the custody log's sealed line.
			art := filepath.Join(dir, "inspect.json")
			flipByte(t, art, 10)
			mpath := writable(t, filepath.Join(dir, ManifestName))
			old, _ := os.ReadFile(mpath)
			oldSum := lineDigest(old)
			edited := strings.ReplaceAll(string(old), genSHA256(t, 1, 3000), fileSHA256(t, art))
			if err := os.WriteFile(mpath, []byte(edited), 0o440); err != nil {
				t.Fatal(err)
			}
			cpath := filepath.Join(dir, CustodyName)
			log, _ := os.ReadFile(cpath)
			if err := os.WriteFile(cpath, []byte(strings.ReplaceAll(string(log), oldSum, lineDigest([]byte(edited)))), 0o640); err != nil {
				t.Fatal(err)
			}
		}, "FAIL manifest.dsse.json: signature does not cover this manifest"},
		{"custody line edited", func(t *testing.T, dir string) {
			lines := custodyLines(t, dir)
			lines[0] = []byte(strings.Replace(string(lines[0]), "test-host", "else-host", 1))
			writeCustody(t, dir, lines)
		}, "FAIL custody.log: line 2: chain broken"},
		{"custody rewritten from the start", func(t *testing.T, dir string) {
			// Drop the first line and relink the rest: the chain holds, the
			// signed head is gone.
			lines := custodyLines(t, dir)[1:]
			if err := os.Remove(filepath.Join(dir, CustodyName)); err != nil {
				t.Fatal(err)
			}
			for _, l := range lines {
				var e CustodyEntry
				mustUnmarshal(t, l, &e)
				if err := appendChained(dir, e); err != nil {
					t.Fatal(err)
				}
			}
		}, "FAIL custody.log: the signed head (line 3) is not in the log"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, f, key := signedIncident(t, "inc-tamper")
			tt.tamper(t, f.Dir())
			if got := firstFailure(t, f.Dir(), key.Public().(ed25519.PublicKey)); !strings.HasPrefix(got, tt.want) {
				t.Errorf("first failure = %q, want %q...", got, tt.want)
			}
		})
	}
}

func TestLoadOrCreateKey(t *testing.T) {
	path := filepath.Join(t.TempDir(), KeyFile)
	k1, err := LoadOrCreateKey(path)
	if err != nil {
		t.Fatal(err)
	}
	k2, err := LoadOrCreateKey(path)
	if err != nil {
		t.Fatal(err)
	}
	if !k1.Equal(k2) {
		t.Error("second load returned another key")
	}
	info, err := os.Stat(path)
	if err != nil || info.Mode().Perm() != 0o600 {
		t.Errorf("key file mode = %v (%v), want 0600", info.Mode(), err)
	}
	pub, err := ParsePublicKey(MarshalPublicKey(k1.Public().(ed25519.PublicKey)))
	if err != nil || !pub.Equal(k1.Public()) {
		t.Errorf("public key round trip = %v, %v", pub, err)
	}
	if err := os.WriteFile(path, []byte("junk"), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := LoadOrCreateKey(path); err == nil || !strings.Contains(err.Error(), "no PEM PRIVATE KEY block") {
		t.Errorf("junk key file: err = %v", err)
	}
}

func mustUnmarshal(t *testing.T, line []byte, v any) {
	t.Helper()
	if err := json.Unmarshal(bytes.TrimSpace(line), v); err != nil {
		t.Fatal(err)
	}
}
