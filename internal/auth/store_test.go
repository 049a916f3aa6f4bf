package auth

import (
	"errors"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"
)

func TestStoreCreateListRevoke(t *testing.T) {
	dir := t.TempDir()
	s := NewStore(dir)
	s.now = func() time.Time { return time.Date(2026, 11, 23, 1, 2, 3, 456, time.UTC) }
	if s.InUse() {
		t.Fatal("an empty data dir's store is in use")
	}
	tok, err := s.Create("alice", Responder)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.Create("alice", Admin); err == nil || err.Error() != "token alice: exists (revoke it first)" {
		t.Errorf("second alice: %v", err)
	}
	if _, err := s.Create("ci", "root"); err == nil || err.Error() != `token ci: role "root": want one of detector, viewer, responder, admin` {
		t.Errorf("bad role: %v", err)
	}
	if _, err := s.Create("../x", Admin); err == nil {
		t.Error("a path as a name was accepted")
	}
	if _, err := s.Create("ci", Detector); err != nil {
		t.Fatal(err)
	}
	list, err := s.List()
	if err != nil {
		t.Fatal(err)
	}
	want := []TokenInfo{{"alice", Responder, time.Date(2026, 11, 23, 1, 2, 3, 0, time.UTC)}, {"ci", Detector, time.Date(2026, 11, 23, 1, 2, 3, 0, time.UTC)}}
	if len(list) != 2 || list[0] != want[0] || list[1] != want[1] {
		t.Errorf("List() = %+v, want %+v", list, want)
	}

	p, ok, err := s.Lookup(HashToken(tok))
	if err != nil || !ok || p != (Principal{Name: "alice", Role: Responder, Source: SourceStore}) {
		t.Errorf("Lookup(alice's token) = %+v, %v, %v", p, ok, err)
	}
	if _, ok, _ := s.Lookup(HashToken(tok + "x")); ok {
		t.Error("Lookup matched a wrong token")
	}

	// A second process (another Store on the same file) revokes: the
	// first sees it at its next lookup.
	if err := NewStore(dir).Revoke("alice"); err != nil {
		t.Fatal(err)
	}
	if _, ok, _ := s.Lookup(HashToken(tok)); ok {
		t.Error("a revoked token still matches")
	}
	if err := s.Revoke("alice"); !errors.Is(err, ErrNoToken) || err.Error() != "token alice: no such token" {
		t.Errorf("revoke twice: %v", err)
	}
	if !s.InUse() {
		t.Error("the store is not in use after tokens were made")
	}
}

func TestStoreFileKeepsOnlyHashes(t *testing.T) {
	dir := t.TempDir()
	s := NewStore(dir)
	var tokens []string
	for _, n := range []string{"a", "b", "c"} {
		tok, err := s.Create(n, Viewer)
		if err != nil {
			t.Fatal(err)
		}
		tokens = append(tokens, tok)
	}
	fi, err := os.Stat(s.Path())
	if err != nil {
		t.Fatal(err)
	}
	if got := fi.Mode().Perm(); got != 0o600 {
		t.Errorf("store mode %o, want 600", got)
	}
	if got, want := s.Path(), filepath.Join(dir, "auth", "tokens.json"); got != want {
		t.Errorf("path %s, want %s", got, want)
	}
	assertNoSecretsUnder(t, dir, tokens...)
	for _, tok := range tokens {
		if !strings.Contains(readAll(t, dir), HashToken(tok).String()) {
			t.Errorf("the store lacks a token's hash")
		}
	}
}

func TestStoreConcurrentCreates(t *testing.T) {
	dir := t.TempDir()
	var wg sync.WaitGroup
	for i := range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			// One Store each: separate processes, as far as the lock knows.
			if _, err := NewStore(dir).Create(string(rune('a'+i)), Viewer); err != nil {
				t.Error(err)
			}
		}()
	}
	wg.Wait()
	list, err := NewStore(dir).List()
	if err != nil || len(list) != 8 {
		t.Errorf("after 8 concurrent creates: %d tokens, %v", len(list), err)
	}
}

func TestStoreCorruptRefusesEveryone(t *testing.T) {
	dir := t.TempDir()
	s := NewStore(dir)
	tok, err := s.Create("alice", Admin)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(s.Path(), []byte(`{"version":1,"tokens":[{"name":"x","role":"admin","sha256":"zz","created_at":"2026-01-01T00:00:00Z"}]}`), 0o600); err != nil {
		t.Fatal(err)
	}
	_, ok, err := s.Lookup(HashToken(tok))
	if ok || err == nil || !strings.Contains(err.Error(), "tokens[0] (x): sha256: want the token's SHA-256 as 64 hexadecimal digits") {
		t.Errorf("corrupt store: %v, %v", ok, err)
	}
}

func TestAuthenticate(t *testing.T) {
	dir := t.TempDir()
	store := NewStore(dir)
	stored, err := store.Create("carol", Viewer)
	if err != nil {
		t.Fatal(err)
	}
	legacy := strings.Repeat("L", 40)
	bobTok := "quell_bob-token-of-enough-length-for-the-rule"
	a, err := New(Options{
		Credentials: []Credential{{Principal: Principal{Name: "bob", Role: Responder}, Hash: HashToken(bobTok)}},
		Store:       store, LegacyToken: legacy,
	})
	if err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		name, header string
		want         Principal
		err          string
	}{
		{"legacy", "Bearer " + legacy, Principal{"admin", Admin, SourceLegacy}, ""},
		{"configured, scheme in lower case", "bearer " + bobTok, Principal{"bob", Responder, SourceConfig}, ""},
		{"stored", "BEARER " + stored, Principal{"carol", Viewer, SourceStore}, ""},
		{"wrong", "Bearer " + bobTok + "x", Principal{}, "bearer token: bad credential"},
		{"none", "", Principal{}, "authorization: no credential"},
		{"basic", "Basic Ym9iOng=", Principal{}, "authorization: bad credential: want the Bearer scheme"},
	}
	for _, tc := range cases {
		r := httptest.NewRequest("GET", "/v1/incidents", nil)
		if tc.header != "" {
			r.Header.Set("Authorization", tc.header)
		}
		got, err := a.Authenticate(r)
		gotErr := ""
		if err != nil {
			gotErr = err.Error()
		}
		if got != tc.want || gotErr != tc.err {
			t.Errorf("%s: %+v, %q; want %+v, %q", tc.name, got, gotErr, tc.want, tc.err)
		}
		for _, secret := range []string{legacy, bobTok, stored} {
			if strings.Contains(gotErr, secret) {
				t.Errorf("%s: the error repeats a token", tc.name)
			}
		}
	}
	if a.Open() {
		t.Error("an authenticator with credentials is open")
	}
}

func TestAuthenticateOpen(t *testing.T) {
	dir := t.TempDir()
	store := NewStore(dir)
	a, err := New(Options{Store: store})
	if err != nil {
		t.Fatal(err)
	}
	r := httptest.NewRequest("GET", "/v1/incidents", nil)
	if p, err := a.Authenticate(r); err != nil || p != Anonymous || !a.Open() {
		t.Errorf("nothing configured: %+v, %v, open %v; want Anonymous", p, err, a.Open())
	}
	// The first token made closes the API at once, and revoking it
	// leaves it closed.
	if _, err := store.Create("x", Admin); err != nil {
		t.Fatal(err)
	}
	if err := store.Revoke("x"); err != nil {
		t.Fatal(err)
	}
	if _, err := a.Authenticate(r); !errors.Is(err, ErrNoCredential) || a.Open() {
		t.Errorf("after a token was made and revoked: %v, open %v", err, a.Open())
	}
}

func TestNewRefusesShortLegacyToken(t *testing.T) {
	_, err := New(Options{LegacyToken: "t0ken"})
	if got, want := err.Error(), "legacy api token: 5 bytes, shorter than 32"; got != want {
		t.Errorf("err = %q, want %q", got, want)
	}
}

// assertNoSecretsUnder fails when any file under dir holds any secret.
func assertNoSecretsUnder(t *testing.T, dir string, secrets ...string) {
	t.Helper()
	all := readAll(t, dir)
	for _, s := range secrets {
		if strings.Contains(all, s) {
			t.Errorf("a secret (%d bytes) is written under %s", len(s), dir)
		}
	}
}

// readAll is every file under dir, concatenated.
func readAll(t *testing.T, dir string) string {
	t.Helper()
	var b strings.Builder
	err := filepath.WalkDir(dir, func(p string, d os.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		data, err := os.ReadFile(p)
		b.Write(data)
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	return b.String()
}
