package auth

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"sync"
	"syscall"
	"time"
)

// StoreFile is where, under the data directory, the token store lives.
const StoreFile = "auth/tokens.json"

// ErrNoToken: no token of that name.
var ErrNoToken = errors.New("no such token")

// TokenInfo describes a stored token; the token itself is never kept.
type TokenInfo struct {
	Name      string    `json:"name"`
	Role      Role      `json:"role"`
	CreatedAt time.Time `json:"created_at"`
}

// storedToken is one entry of the store's file.
type storedToken struct {
	TokenInfo
	SHA256 string `json:"sha256"`
}

// storeFile is the store's file.
type storeFile struct {
	Version int           `json:"version"`
	Tokens  []storedToken `json:"tokens"`
}

// Store keeps API tokens as SHA-256 hashes in one file (0600, replaced
// atomically). Any number of processes may read it; writers take a lock.
// A reader notices another process's change at its next lookup.
type Store struct {
	path string
	now  func() time.Time

	mu     sync.Mutex
	seen   os.FileInfo // the file the cache was read from
	creds  []Credential
	loadEr error
}

// NewStore returns the store under dataDir.
func NewStore(dataDir string) *Store {
	return &Store{path: filepath.Join(dataDir, StoreFile), now: time.Now}
}

// Path is the store's file.
func (s *Store) Path() string { return s.path }

// InUse reports whether the store's file exists: once a token has been
// made, the API requires credentials even after every token is revoked.
func (s *Store) InUse() bool {
	_, err := os.Stat(s.path)
	return err == nil || !errors.Is(err, os.ErrNotExist)
}

// Create makes a token for name with role, stores its hash and returns the
// token: the only time it is ever seen.
func (s *Store) Create(name string, role Role) (string, error) {
	if err := CheckName(name); err != nil {
		return "", fmt.Errorf("token: %w", err)
	}
	if _, err := ParseRole(string(role)); err != nil {
		return "", fmt.Errorf("token %s: %w", name, err)
	}
	token, err := NewToken()
	if err != nil {
		return "", err
	}
	err = s.update(func(f *storeFile) error {
		for _, t := range f.Tokens {
			if t.Name == name {
				return fmt.Errorf("token %s: exists (revoke it first)", name)
			}
		}
		f.Tokens = append(f.Tokens, storedToken{
			TokenInfo: TokenInfo{Name: name, Role: role, CreatedAt: s.now().UTC().Truncate(time.Second)},
			SHA256:    HashToken(token).String(),
		})
		return nil
	})
	if err != nil {
		return "", err
	}
	return token, nil
}

// Revoke removes the token named name; wraps ErrNoToken.
func (s *Store) Revoke(name string) error {
	return s.update(func(f *storeFile) error {
		i := slices.IndexFunc(f.Tokens, func(t storedToken) bool { return t.Name == name })
		if i < 0 {
			return fmt.Errorf("token %s: %w", truncate(name, 80), ErrNoToken)
		}
		f.Tokens = slices.Delete(f.Tokens, i, i+1)
		return nil
	})
}

// List returns the stored tokens' names, roles and creation times, in the
// order they were made.
func (s *Store) List() ([]TokenInfo, error) {
	f, err := s.read()
	if err != nil {
		return nil, err
	}
	out := make([]TokenInfo, 0, len(f.Tokens))
	for _, t := range f.Tokens {
		out = append(out, t.TokenInfo)
	}
	return out, nil
}

// Lookup returns the principal whose token hashes to h, comparing with
// every stored hash in constant time. It re-reads the file when another
// process changed it; an unreadable store is an error, never a match.
func (s *Store) Lookup(h Hash) (Principal, bool, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	fi, err := os.Stat(s.path)
	switch {
	case errors.Is(err, os.ErrNotExist):
		s.seen, s.creds, s.loadEr = nil, nil, nil
		return Principal{}, false, nil
	case err != nil:
		return Principal{}, false, fmt.Errorf("token store: %w", err)
	}
	if s.seen == nil || !os.SameFile(s.seen, fi) || !s.seen.ModTime().Equal(fi.ModTime()) || s.seen.Size() != fi.Size() {
		s.seen, s.creds, s.loadEr = fi, nil, nil
		f, err := s.read()
		if err != nil {
			s.loadEr = err
		}
		for _, t := range f.Tokens {
			hh, _ := ParseHash(t.SHA256) // read checked it
			s.creds = append(s.creds, Credential{Principal: Principal{Name: t.Name, Role: t.Role, Source: SourceStore}, Hash: hh})
		}
	}
	if s.loadEr != nil {
		return Principal{}, false, s.loadEr
	}
	p, ok := matchAll(s.creds, h)
	return p, ok, nil
}

// read reads and checks the store's file; a missing file is an empty store.
func (s *Store) read() (storeFile, error) {
	f := storeFile{Version: 1}
	data, err := os.ReadFile(s.path)
	if errors.Is(err, os.ErrNotExist) {
		return f, nil
	}
	if err != nil {
		return f, fmt.Errorf("token store: %w", err)
	}
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&f); err != nil {
		return storeFile{}, fmt.Errorf("token store %s: %w", s.path, err)
	}
	if f.Version != 1 {
		return storeFile{}, fmt.Errorf("token store %s: version %d, want 1", s.path, f.Version)
	}
	var errs []error
	for i, t := range f.Tokens {
		if _, err := ParseHash(t.SHA256); err != nil {
			errs = append(errs, fmt.Errorf("token store %s: tokens[%d] (%s): sha256: %w", s.path, i, t.Name, err))
		}
		if _, err := ParseRole(string(t.Role)); err != nil {
			errs = append(errs, fmt.Errorf("token store %s: tokens[%d] (%s): %w", s.path, i, t.Name, err))
		}
	}
	if err := errors.Join(errs...); err != nil {
		return storeFile{}, err
	}
	return f, nil
}

// update changes the store's file under an exclusive lock, writing the
// result to a temporary file that replaces the old one.
func (s *Store) update(change func(*storeFile) error) error {
	dir := filepath.Dir(s.path)
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return fmt.Errorf("token store: %w", err)
	}
	lock, err := os.OpenFile(filepath.Join(dir, "tokens.lock"), os.O_CREATE|os.O_RDWR, 0o600)
	if err != nil {
		return fmt.Errorf("token store: %w", err)
	}
	defer lock.Close()
	if err := syscall.Flock(int(lock.Fd()), syscall.LOCK_EX); err != nil {
		return fmt.Errorf("token store lock: %w", err)
	}
	f, err := s.read()
	if err != nil {
		return err
	}
	if err := change(&f); err != nil {
		return err
	}
	data, err := json.MarshalIndent(f, "", "  ")
	if err != nil {
		return fmt.Errorf("token store: %w", err)
	}
	return writeAtomic(s.path, append(data, '\n'))
}

// writeAtomic replaces path with data: a 0600 temporary file in the same
// directory, synced, renamed over path, and the directory synced.
func writeAtomic(path string, data []byte) error {
	dir := filepath.Dir(path)
	tmp, err := os.CreateTemp(dir, ".tokens-*")
	if err != nil {
		return fmt.Errorf("token store: %w", err)
	}
	defer os.Remove(tmp.Name()) // after the rename, a no-op
	if err := tmp.Chmod(0o600); err != nil {
		tmp.Close()
		return fmt.Errorf("token store: %w", err)
	}
	if _, err := tmp.Write(data); err != nil {
		tmp.Close()
		return fmt.Errorf("token store: %w", err)
	}
	if err := tmp.Sync(); err != nil {
		tmp.Close()
		return fmt.Errorf("token store: %w", err)
	}
	if err := tmp.Close(); err != nil {
		return fmt.Errorf("token store: %w", err)
	}
	if err := os.Rename(tmp.Name(), path); err != nil {
		return fmt.Errorf("token store: %w", err)
	}
	d, err := os.Open(dir)
	if err != nil {
		return fmt.Errorf("token store: %w", err)
	}
	defer d.Close()
	if err := d.Sync(); err != nil {
		return fmt.Errorf("token store: %w", err)
	}
	return nil
}
