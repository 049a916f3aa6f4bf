package evidence

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// sealedIncident collects three artifacts and seals them.
func sealedIncident(t *testing.T, id string) (*Store, *Folder, []Artifact) {
	t.Helper()
	s := newTestStore(t)
	f := openFolder(t, s, id)
	arts := []Artifact{
		mustWrite(t, f, "inspect.json", 1, 3000),
		mustWrite(t, f, "logs/stdout.log", 2, 2<<20+5),
		mustWrite(t, f, "fs/diff.txt", 3, 12),
	}
	if _, err := f.Seal(testSubject); err != nil {
		t.Fatal(err)
	}
	return s, f, arts
}

// writable makes the file at path writable and returns its path.
func writable(t *testing.T, path string) string {
	t.Helper()
	if err := os.Chmod(path, 0o640); err != nil {
		t.Fatal(err)
	}
	return path
}

func flipByte(t *testing.T, path string, off int64) {
	t.Helper()
	file, err := os.OpenFile(writable(t, path), os.O_RDWR, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer file.Close()
	b := make([]byte, 1)
	if _, err := file.ReadAt(b, off); err != nil {
		t.Fatal(err)
	}
	b[0] ^= 0x01
	if _, err := file.WriteAt(b, off); err != nil {
		t.Fatal(err)
	}
}

func TestVerify(t *testing.T) {
	tests := []struct {
		name     string
		tamper   func(t *testing.T, dir string)
		want     []string // "artifact: reason"
		verified int
	}{
		{"intact", func(*testing.T, string) {}, nil, 3},
		{"flipped byte", func(t *testing.T, dir string) {
			flipByte(t, filepath.Join(dir, "logs", "stdout.log"), 1<<20+17)
		}, []string{"logs/stdout.log: sha256 mismatch"}, 2},
		{"deleted", func(t *testing.T, dir string) {
			if err := os.Remove(filepath.Join(dir, "inspect.json")); err != nil {
				t.Fatal(err)
			}
		}, []string{"inspect.json: missing"}, 2},
		{"truncated", func(t *testing.T, dir string) {
			if err := os.Truncate(writable(t, filepath.Join(dir, "fs", "diff.txt")), 10); err != nil {
				t.Fatal(err)
			}
		}, []string{"fs/diff.txt: size 10, want 12"}, 2},
		{"tampered manifest", func(t *testing.T, dir string) {
			path := writable(t, filepath.Join(dir, ManifestName))
			data, err := os.ReadFile(path)
			if err != nil {
				t.Fatal(err)
			}
			data = []byte(strings.Replace(string(data), "shop/web:1.4", "shop/web:1.5", 1))
			if err := os.WriteFile(path, data, 0o440); err != nil {
				t.Fatal(err)
			}
		}, []string{"manifest.json: sha256 mismatch"}, 3},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s, f, _ := sealedIncident(t, "inc-verify")
			tt.tamper(t, f.Dir())
			v, err := s.Verify(context.Background(), "inc-verify", verifyActor, nil)
			if err != nil {
				t.Fatal(err)
			}
			var got []string
			for _, p := range v.Problems {
				got = append(got, p.Artifact+": "+p.Reason)
			}
			if strings.Join(got, "\n") != strings.Join(tt.want, "\n") {
				t.Errorf("problems = %q, want %q", got, tt.want)
			}
			if got, want := v.Verified, tt.verified; got != want {
				t.Errorf("verified = %d, want %d", got, want)
			}
			if got, want := v.OK(), tt.want == nil; got != want {
				t.Errorf("OK() = %t, want %t", got, want)
			}
			checkVerifyEntry(t, s, v)
		})
	}
}

// checkVerifyEntry checks the custody entry Verify appended.
func checkVerifyEntry(t *testing.T, s *Store, v Verification) {
	t.Helper()
	entries, err := s.Custody(v.IncidentID)
	if err != nil {
		t.Fatal(err)
	}
	last := entries[len(entries)-1]
	want := ActionVerified
	if !v.OK() {
		want = ActionVerificationFailed
	}
	if last.Action != want || last.Actor != verifyActor || last.SHA256 != v.ManifestSHA256 || !last.Time.Equal(v.At) {
		t.Errorf("last custody entry = %+v, want %s by %+v with sha256 %s", last, want, verifyActor, v.ManifestSHA256)
	}
}

func TestVerifyFlippedByteDetail(t *testing.T) {
	s, f, arts := sealedIncident(t, "inc-flip")
	path := filepath.Join(f.Dir(), "inspect.json")
	flipByte(t, path, 0)
	v, err := s.Verify(context.Background(), "inc-flip", verifyActor, nil)
	if err != nil {
		t.Fatal(err)
	}
	want := Problem{Artifact: "inspect.json", Want: arts[0].SHA256, Got: fileSHA256(t, path), Reason: "sha256 mismatch"}
	if len(v.Problems) != 1 || v.Problems[0] != want {
		t.Errorf("problems = %+v, want [%+v]", v.Problems, want)
	}
}

func TestVerifyNoManifest(t *testing.T) {
	s := newTestStore(t)
	f := openFolder(t, s, "inc-open")
	mustWrite(t, f, "a.log", 1, 10)
	_, err := s.Verify(context.Background(), "inc-open", verifyActor, nil)
	if !errors.Is(err, ErrNoManifest) {
		t.Errorf("err = %v, want ErrNoManifest", err)
	}
	if got, want := errString(err), `incident "inc-open": no manifest`; got != want {
		t.Errorf("err = %q, want %q", got, want)
	}
	if _, err := s.Manifest("inc-none"); !errors.Is(err, ErrNoManifest) {
		t.Errorf("Manifest of unknown incident: err = %v, want ErrNoManifest", err)
	}
}

func TestVerifyProgress(t *testing.T) {
	s, _, arts := sealedIncident(t, "inc-prog")
	var total int64
	for _, a := range arts {
		total += a.Size
	}
	var lastDone, lastTotal int64
	_, err := s.Verify(context.Background(), "inc-prog", verifyActor, func(done, total int64) {
		if done < lastDone {
			t.Errorf("progress went back from %d to %d", lastDone, done)
		}
		lastDone, lastTotal = done, total
	})
	if err != nil {
		t.Fatal(err)
	}
	if lastDone != total || lastTotal != total {
		t.Errorf("last progress = %d/%d, want %d/%d", lastDone, lastTotal, total, total)
	}
}

func TestVerifyCancelled(t *testing.T) {
	s, _, _ := sealedIncident(t, "inc-cancelled")
	before, _ := s.Custody("inc-cancelled")
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	_, err := s.Verify(ctx, "inc-cancelled", verifyActor, nil)
	if !errors.Is(err, context.Canceled) {
		t.Errorf("err = %v, want context.Canceled", err)
	}
	if after, _ := s.Custody("inc-cancelled"); len(after) != len(before) {
		t.Errorf("custody grew from %d to %d entries on a cancelled verification", len(before), len(after))
	}
}
