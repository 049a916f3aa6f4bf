package evidence

import (
	"context"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"io"
	"io/fs"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

var (
	testActor   = Actor{Who: "quell-worker", Host: "test-host", Version: "v0.0.0-test"}
	verifyActor = Actor{Who: "quell-cli", Host: "audit-host", Version: "v0.0.0-test"}
)

// newTestStore returns a Store in a temporary directory whose clock starts
// at a fixed time and advances one second per reading.
func newTestStore(t testing.TB) *Store {
	t.Helper()
	return reopenStore(filepath.Join(t.TempDir(), "evidence"))
}

// reopenStore returns a fresh Store on root, as a restarted process would see it.
func reopenStore(root string) *Store {
	s := NewStore(root)
	t0 := time.Date(2026, 3, 1, 12, 0, 0, 0, time.FixedZone("CET", 3600))
	var ticks atomic.Int64
	s.now = func() time.Time { return t0.Add(time.Duration(ticks.Add(1)) * time.Second) }
	return s
}

func openFolder(t testing.TB, s *Store, id string) *Folder {
	t.Helper()
	f, err := s.Open(id, testActor)
	if err != nil {
		t.Fatalf("Open(%q): %v", id, err)
	}
	return f
}

// gen returns n deterministic pseudo-random bytes for seed.
func gen(seed uint64, n int64) io.Reader {
	var key [32]byte
	binary.LittleEndian.PutUint64(key[:], seed)
	return io.LimitReader(rand.NewChaCha8(key), n)
}

// genSHA256 hashes gen(seed, n) independently of the package.
func genSHA256(t testing.TB, seed uint64, n int64) string {
	t.Helper()
	h := sha256.New()
	if _, err := io.Copy(h, gen(seed, n)); err != nil {
		t.Fatal(err)
	}
	return hex.EncodeToString(h.Sum(nil))
}

func fileSHA256(t testing.TB, path string) string {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	sum := sha256.Sum256(data)
	return hex.EncodeToString(sum[:])
}

func mustWrite(t testing.TB, f *Folder, name string, seed uint64, n int64) Artifact {
	t.Helper()
	a, err := f.Write(context.Background(), name, gen(seed, n), nil)
	if err != nil {
		t.Fatalf("Write(%q): %v", name, err)
	}
	return a
}

// partials lists the temporary files under dir.
func partials(t testing.TB, dir string) []string {
	t.Helper()
	var found []string
	err := filepath.WalkDir(dir, func(path string, d fs.DirEntry, err error) error {
		if err == nil && strings.HasSuffix(d.Name(), partialSuffix) {
			found = append(found, path)
		}
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	return found
}

func actions(entries []CustodyEntry) []string {
	var got []string
	for _, e := range entries {
		got = append(got, e.Action+" "+e.Artifact)
	}
	return got
}
