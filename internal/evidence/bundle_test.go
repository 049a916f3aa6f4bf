package evidence

import (
	"archive/tar"
	"bytes"
	"crypto/ed25519"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// bundled seals a signed incident with a report beside it and returns its
// bundle, the key and the store.
func bundled(t *testing.T, id string) ([]byte, ed25519.PublicKey, *Store) {
	t.Helper()
	s, _, key := signedIncident(t, id)
	pub := key.Public().(ed25519.PublicKey)
	reports := t.TempDir()
	for name, body := range map[string]string{id + ".md": "# report\n", id + ".json": "{}\n", "other-incident.md": "not this one\n"} {
		if err := os.WriteFile(filepath.Join(reports, name), []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	var buf bytes.Buffer
	if err := s.Bundle(id, &buf, pub, reports, verifyActor, "bundled into audit.tar"); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes(), pub, s
}

func TestBundleUnpacksAndVerifies(t *testing.T) {
	const id = "inc-bundle"
	data, pub, s := bundled(t, id)
	dir := t.TempDir()
	ev, got, err := Unpack(bytes.NewReader(data), dir)
	if err != nil {
		t.Fatal(err)
	}
	if !got.Equal(pub) {
		t.Errorf("bundle's key %s, want %s", KeyID(got), KeyID(pub))
	}
	v, err := VerifyDir(t.Context(), ev, id, VerifyOptions{PublicKey: pub})
	if err != nil || !v.OK() {
		t.Fatalf("VerifyDir(unpacked) = %+v, %v", v.Problems, err)
	}
	root := filepath.Join(dir, BundleRoot(id))
	for _, name := range []string{"README.txt", BundleKeyName, BundleSumsName, "report/" + id + ".md", "report/" + id + ".json", "evidence/logs/stdout.log"} {
		if _, err := os.Stat(filepath.Join(root, name)); err != nil {
			t.Errorf("bundle lacks %s: %v", name, err)
		}
	}
	if _, err := os.Stat(filepath.Join(root, "report/other-incident.md")); err == nil {
		t.Error("bundle holds another incident's report")
	}
	// The read is in the custody log, in the bundle's copy too.
	entries, err := s.Custody(id)
	if err != nil {
		t.Fatal(err)
	}
	last := entries[len(entries)-1]
	if last.Action != ActionBundled || last.Actor != verifyActor {
		t.Errorf("last custody entry %+v, want %s by %+v", last, ActionBundled, verifyActor)
	}
	inBundle, err := readCustody(ev)
	if err != nil || len(inBundle) != len(entries) {
		t.Errorf("bundle's custody log has %d entries (%v), want %d", len(inBundle), err, len(entries))
	}
	// sha256sum -c, as the README tells the auditor.
	sha, err := exec.LookPath("sha256sum")
	if err != nil {
		t.Fatalf("sha256sum (coreutils) is needed: %v", err)
	}
	cmd := exec.Command(sha, "-c", "--strict", BundleSumsName)
	cmd.Dir = root
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("sha256sum -c: %v\n%s", err, out)
	}
	// One byte of an artifact changed: sha256sum and verify both name it.
	art := filepath.Join(ev, "logs", "stdout.log")
	b, err := os.ReadFile(art)
	if err != nil {
		t.Fatal(err)
	}
	b[10] ^= 1
	if err := os.Chmod(art, 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(art, b, 0o644); err != nil {
		t.Fatal(err)
	}
	cmd = exec.Command(sha, "-c", "--quiet", BundleSumsName)
	cmd.Dir = root
	if out, err := cmd.CombinedOutput(); err == nil || !strings.Contains(string(out), "evidence/logs/stdout.log: FAILED") {
		t.Errorf("sha256sum -c on a changed artifact = %v\n%s", err, out)
	}
	if got := firstFailure(t, ev, pub); !strings.Contains(got, "logs/stdout.log") {
		t.Errorf("first failure after a byte changed = %q, want it to name logs/stdout.log", got)
	}
}

func TestBundleRefuses(t *testing.T) {
	s, _, key := signedIncident(t, "inc-sealed")
	pub := key.Public().(ed25519.PublicKey)
	var buf bytes.Buffer
	if err := s.Bundle("../inc-sealed", &buf, pub, "", verifyActor, ""); !errors.Is(err, ErrInvalidName) {
		t.Errorf("Bundle(../inc-sealed) = %v, want ErrInvalidName", err)
	}
	if err := s.Bundle("inc-*", &buf, pub, t.TempDir(), verifyActor, ""); !errors.Is(err, ErrInvalidName) {
		t.Errorf("Bundle(inc-*) = %v, want ErrInvalidName", err)
	}
	f := openFolder(t, s, "inc-open")
	mustWrite(t, f, "inspect.json", 1, 100)
	if err := s.Bundle("inc-open", &buf, pub, "", verifyActor, ""); !errors.Is(err, ErrNoManifest) {
		t.Errorf("Bundle(unsealed) = %v, want ErrNoManifest", err)
	}
	if buf.Len() != 0 {
		t.Errorf("refused bundles wrote %d bytes", buf.Len())
	}
}

// TestUnpackRefusesHostileBundles: a bundle comes from outside, so every
// entry that would land outside its folder, or is not a plain file, is
// refused, and nothing is written outside dir.
func TestUnpackRefusesHostileBundles(t *testing.T) {
	const root = "quell-evidence-inc-1/"
	type entry struct {
		name     string
		typeflag byte
		link     string
	}
	file := func(name string) entry { return entry{name: name, typeflag: tar.TypeReg} }
	manifest := file(root + "evidence/" + ManifestName)
	for name, entries := range map[string][]entry{
		"parent":        {manifest, file(root + "../escape")},
		"absolute":      {manifest, file("/tmp/escape")},
		"dot-dot top":   {file("../escape")},
		"symlink":       {manifest, {name: root + "evidence/link", typeflag: tar.TypeSymlink, link: "/etc/passwd"}},
		"hard link":     {manifest, {name: root + "evidence/link", typeflag: tar.TypeLink, link: root + "evidence/" + ManifestName}},
		"device":        {manifest, {name: root + "evidence/dev", typeflag: tar.TypeChar}},
		"two tops":      {manifest, file("quell-evidence-inc-2/evidence/x")},
		"foreign top":   {file("etc/passwd")},
		"file on top":   {file("quell-evidence-inc-1")},
		"twice":         {manifest, manifest},
		"backslash":     {manifest, file(root + `evidence\..\..\x`)},
		"no manifest":   {file(root + "evidence/inspect.json")},
		"bad id in top": {file("quell-evidence-../x")},
	} {
		t.Run(name, func(t *testing.T) {
			var buf bytes.Buffer
			tw := tar.NewWriter(&buf)
			for _, e := range entries {
				hdr := &tar.Header{Name: e.name, Typeflag: e.typeflag, Linkname: e.link, Mode: 0o644}
				if e.typeflag == tar.TypeReg {
					hdr.Size = 2
				}
				if err := tw.WriteHeader(hdr); err != nil {
					t.Fatal(err)
				}
				if e.typeflag == tar.TypeReg {
					if _, err := tw.Write([]byte("{}")); err != nil {
						t.Fatal(err)
					}
				}
			}
			if err := tw.Close(); err != nil {
				t.Fatal(err)
			}
			parent := t.TempDir()
			dir := filepath.Join(parent, "unpack")
			if err := os.Mkdir(dir, 0o750); err != nil {
				t.Fatal(err)
			}
			if _, _, err := Unpack(&buf, dir); err == nil {
				t.Fatal("Unpack accepted it")
			}
			if _, err := os.Lstat(filepath.Join(parent, "escape")); err == nil {
				t.Error("a file was written outside the folder")
			}
		})
	}
}
