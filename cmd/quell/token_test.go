package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/quell-ir/quell/internal/audit"
	"github.com/quell-ir/quell/internal/auth"
	"github.com/quell-ir/quell/internal/config"
)

func TestTokenCreateListRevoke(t *testing.T) {
	dir := t.TempDir()
	out, err := runCmd(t, "token", "create", "alice", "--role", "responder", "--data-dir", dir)
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSuffix(out, "\n"), "\n")
	token := lines[len(lines)-1]
	if !strings.HasPrefix(token, auth.TokenPrefix) || len(token) != len(auth.TokenPrefix)+43 {
		t.Fatalf("last line %q, want the token alone:\n%s", token, out)
	}
	// The flags may come first too.
	if _, err := runCmd(t, "token", "create", "--data-dir", dir, "--role=detector", "falco-1"); err != nil {
		t.Fatal(err)
	}
	p, ok, err := auth.NewStore(dir).Lookup(auth.HashToken(token))
	if err != nil || !ok || p.Name != "alice" || p.Role != auth.Responder {
		t.Errorf("the printed token is not alice's: %+v %v %v", p, ok, err)
	}

	out, err = runCmd(t, "token", "list", "--data-dir", dir)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(out, "NAME     ROLE       CREATED\nalice    responder  20") || !strings.Contains(out, "\nfalco-1  detector   20") {
		t.Errorf("list:\n%s", out)
	}
	assertNoToken(t, dir, out, token)

	if out, err := runCmd(t, "token", "revoke", "alice", "--data-dir", dir); err != nil || out != "token alice revoked\n" {
		t.Errorf("revoke: %q %v", out, err)
	}
	if _, ok, _ := auth.NewStore(dir).Lookup(auth.HashToken(token)); ok {
		t.Error("a revoked token still works")
	}
	if _, err := runCmd(t, "token", "revoke", "alice", "--data-dir", dir); err == nil || err.Error() != "token alice: no such token" || exitCode(err) != 1 {
		t.Errorf("revoke twice: %v", err)
	}

	// Every change is audited, by the local user, and the chain holds.
	head, err := audit.VerifyFile(audit.Path(dir))
	if err != nil || head.Seq != 3 {
		t.Errorf("audit log: %+v, %v; want 3 lines", head, err)
	}
	log, _ := os.ReadFile(audit.Path(dir))
	for _, want := range []string{`"action":"token.create","outcome":"accepted","reason":"alice (responder)"`, `"action":"token.revoke","outcome":"accepted","reason":"alice"`, `"via":"cli"`} {
		if !strings.Contains(string(log), want) {
			t.Errorf("audit log lacks %s:\n%s", want, log)
		}
	}
	assertNoToken(t, dir, "", token)
}

func assertNoToken(t *testing.T, dir, out, token string) {
	t.Helper()
	if strings.Contains(out, token) {
		t.Error("the output repeats the token")
	}
	err := filepath.WalkDir(dir, func(p string, d os.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		b, err := os.ReadFile(p)
		if strings.Contains(string(b), token) {
			t.Errorf("%s holds the token", p)
		}
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
}

func TestTokenUsageErrors(t *testing.T) {
	dir := t.TempDir()
	cases := [][]string{
		{"token"},
		{"token", "create", "alice", "--data-dir", dir},
		{"token", "create", "alice", "--role", "root", "--data-dir", dir},
		{"token", "create", "--role", "admin", "--data-dir", dir},
		{"token", "create", "a", "b", "--role", "admin", "--data-dir", dir},
		{"token", "list", "extra"},
		{"token", "frob"},
		{"token", "list", "--no-such-flag"},
	}
	for _, args := range cases {
		_, err := runCmd(t, args...)
		if err == nil || exitCode(err) != 2 {
			t.Errorf("%v: err %v, exit %d, want a usage error", args, err, exitCode(err))
		}
	}
	if _, err := os.Stat(filepath.Join(dir, auth.StoreFile)); err == nil {
		t.Error("a refused create made the store")
	}
}

func TestTokenHash(t *testing.T) {
	token := "quell_a-token-someone-else-generated-of-32b"
	stdin = strings.NewReader(token + "\n")
	t.Cleanup(func() { stdin = os.Stdin })
	out, err := runCmd(t, "token", "hash")
	if err != nil || out != auth.HashToken(token).String()+"\n" {
		t.Errorf("hash: %q %v", out, err)
	}
	stdin = strings.NewReader("short\n")
	if _, err := runCmd(t, "token", "hash"); err == nil || err.Error() != "token on stdin: 5 bytes, shorter than 32" {
		t.Errorf("short token: %v", err)
	}
}

func TestAuditVerify(t *testing.T) {
	dir := t.TempDir()
	for _, n := range []string{"a", "b", "c"} {
		if _, err := runCmd(t, "token", "create", n, "--role", "viewer", "--data-dir", dir); err != nil {
			t.Fatal(err)
		}
	}
	out, err := runCmd(t, "audit", "verify", "--data-dir", dir)
	if err != nil || !strings.Contains(out, "audit.log: ok, 3 lines; last line's SHA-256 ") {
		t.Fatalf("verify: %q %v", out, err)
	}
	// Edit one byte of line 2: verify fails there, with exit status 1.
	path := audit.Path(dir)
	data, _ := os.ReadFile(path)
	i := strings.Index(string(data), `"reason":"b (viewer)"`)
	data[i+len(`"reason":"`)] = 'x'
	if err := os.WriteFile(path, data, 0o600); err != nil {
		t.Fatal(err)
	}
	_, err = runCmd(t, "audit", "verify", "--data-dir", dir)
	if err == nil || exitCode(err) != 1 || !strings.HasPrefix(err.Error(), path+": audit log line 2: hash ") {
		t.Errorf("edited: %v (exit %d)", err, exitCode(err))
	}
	if _, err := runCmd(t, "audit", "check"); err == nil || exitCode(err) != 2 {
		t.Errorf("audit check: %v", err)
	}
}

func TestServeAuth(t *testing.T) {
	dir := t.TempDir()
	cfg := config.Default()
	cfg.DataDir = dir
	if _, err := serveAuth(cfg, false); err == nil || exitCode(err) != 2 || !strings.Contains(err.Error(), "every /v1/ route would be open") {
		t.Errorf("nothing configured: %v", err)
	}
	// Intake credentials alone leave the other routes open.
	cfg.Auth.Intake = map[string]config.IntakeCredential{"falco": {TokenSHA256: strings.Repeat("a", 64)}}
	if _, err := serveAuth(cfg, false); err == nil {
		t.Error("intake credentials alone were enough")
	}
	w, err := serveAuth(cfg, true)
	if err != nil || !strings.HasPrefix(w, "insecure: serving the API on 127.0.0.1:8080") {
		t.Errorf("insecure on loopback: %q %v", w, err)
	}
	cfg.Listen = ":8080"
	if w, _ := serveAuth(cfg, true); !strings.HasPrefix(w, "INSECURE: serving the API on :8080, beyond this machine, with NO credential") {
		t.Errorf("insecure off loopback: %q", w)
	}
	for name, set := range map[string]func(*config.Config){
		"legacy token": func(c *config.Config) { c.API.Token = strings.Repeat("t", 32) },
		"principals":   func(c *config.Config) { c.Auth.Principals = []config.Principal{{Name: "a"}} },
		"oidc":         func(c *config.Config) { c.Auth.OIDC = &config.OIDC{} },
		"token store": func(c *config.Config) {
			if _, err := auth.NewStore(c.DataDir).Create("admin", auth.Admin); err != nil {
				t.Fatal(err)
			}
		},
	} {
		c := config.Default()
		c.DataDir = t.TempDir()
		set(&c)
		if w, err := serveAuth(c, false); err != nil || w != "" {
			t.Errorf("%s: %q %v", name, w, err)
		}
	}
}
