// Package apikey keeps the secret that quell's own processes present to the
// embedded Temporal server of quell dev: 32 random bytes, hex-encoded, in a
// file only its owner may read, so that a quell process started later on the
// same data directory (a restarted quell dev, a quell worker) can use it and
// no other local user can.
package apikey

import (
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
)

// FileName is the key file's name in a data directory.
const FileName = "temporal.key"

// size is the key's length in random bytes.
const size = 32

// Path is where the key of the server whose data lives in dir is kept.
func Path(dir string) string { return filepath.Join(dir, FileName) }

// New returns a fresh random key, for a server that keeps nothing on disk.
func New() string {
	b := make([]byte, size)
	_, _ = rand.Read(b) // never fails (crypto/rand)
	return hex.EncodeToString(b)
}

// Load reads the key at path, creating it (mode 0600) when there is none.
// Two processes creating it at once agree on one key. A key file that group
// or others may read, or that does not hold a key, is an error: it is never
// replaced silently.
func Load(path string) (string, error) {
	key, err := Read(path)
	if !errors.Is(err, fs.ErrNotExist) {
		return key, err
	}
	if err := create(path, New()); err != nil && !errors.Is(err, fs.ErrExist) {
		return "", err
	}
	return Read(path)
}

// Read reads the key at path. It returns an error wrapping fs.ErrNotExist
// when there is none.
func Read(path string) (string, error) {
	f, err := os.Open(path)
	if err != nil {
		return "", fmt.Errorf("temporal key %s: %w", path, err)
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return "", fmt.Errorf("temporal key %s: %w", path, err)
	}
	if !st.Mode().IsRegular() {
		return "", fmt.Errorf("temporal key %s: not a regular file", path)
	}
	if perm := st.Mode().Perm(); perm&0o077 != 0 {
		return "", fmt.Errorf("temporal key %s: mode %#o, want 0600", path, perm)
	}
	b := make([]byte, 2*size+2)
	n, _ := f.Read(b)
	key := strings.TrimSuffix(string(b[:n]), "\n")
	if len(key) != 2*size {
		return "", fmt.Errorf("temporal key %s: not a key", path)
	}
	if _, err := hex.DecodeString(key); err != nil {
		return "", fmt.Errorf("temporal key %s: not a key", path)
	}
	return key, nil
}

// create writes key to a temporary file and links it into place, so the
// key file is never seen half written; it fails with fs.ErrExist when
// another process got there first.
func create(path, key string) error {
	dir := filepath.Dir(path)
	if err := os.MkdirAll(dir, 0o750); err != nil {
		return fmt.Errorf("temporal key %s: %w", path, err)
	}
	tmp, err := os.CreateTemp(dir, ".temporal.key.*")
	if err != nil {
		return fmt.Errorf("temporal key %s: %w", path, err)
	}
	defer os.Remove(tmp.Name())
	_, werr := tmp.WriteString(key + "\n")
	serr := tmp.Sync()
	cerr := tmp.Close()
	if err := errors.Join(werr, serr, cerr); err != nil {
		return fmt.Errorf("temporal key %s: %w", path, err)
	}
	if err := os.Link(tmp.Name(), path); err != nil {
		if errors.Is(err, fs.ErrExist) {
			return err
		}
		return fmt.Errorf("temporal key %s: %w", path, err)
	}
	return nil
}
