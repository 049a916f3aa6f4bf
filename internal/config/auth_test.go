package config

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// exampleAuth is the README's example.
const exampleAuth = `
auth:
  principals:
    - name: alice
      role: responder
      token_sha256: 2f0a3ae1d2c34c0ea4a7ffc7c4c1a1c6b7f38e1e9f0b7a8ab7f6c1c2b3d4e5f6
    - name: falco-host-1
      role: detector
      token_sha256: 9c56cc51b374c3ba189210d5b6d4bf57790d351c96c47c02190ecf1e430635ab
  oidc:
    issuer: https://login.example.com
    audience: quell
    username_claim: email
    roles: {secops: responder, secops-leads: admin, sre: viewer}
  intake:
    falco:
      header: X-Quell-Token
      token_sha256: 0f1e2d3c4b5a69788796a5b4c3d2e1f00f1e2d3c4b5a69788796a5b4c3d2e1f0
    alertmanager:
      token_sha256: 1a2b3c4d5e6f708192a3b4c5d6e7f8091a2b3c4d5e6f708192a3b4c5d6e7f809
    generic:
      hmac_secret_file: %s
  metrics:
    token_sha256: 5d41402abc4b2a76b9719d911017c592ae2f2b2b11b4f5e6a7b8c9d0e1f2a3b4
`

func TestLoadAuth(t *testing.T) {
	secretFile := filepath.Join(t.TempDir(), "hmac")
	secret := "generic-detector-signing-secret-of-32-bytes"
	if err := os.WriteFile(secretFile, []byte(secret+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	t.Setenv("QUELL_API_TOKEN", "")
	cfg, err := Load(write(t, strings.Replace(exampleAuth, "%s", secretFile, 1)))
	if err != nil {
		t.Fatal(err)
	}
	a := cfg.Auth
	if len(a.Principals) != 2 || a.Principals[0] != (Principal{"alice", "responder", "2f0a3ae1d2c34c0ea4a7ffc7c4c1a1c6b7f38e1e9f0b7a8ab7f6c1c2b3d4e5f6"}) {
		t.Errorf("principals = %+v", a.Principals)
	}
	if a.OIDC == nil || a.OIDC.Issuer != "https://login.example.com" || a.OIDC.Roles["secops-leads"] != "admin" || a.OIDC.UsernameClaim != "email" {
		t.Errorf("oidc = %+v", a.OIDC)
	}
	if got := a.Intake["generic"].HMACSecret; got != secret {
		t.Errorf("generic hmac secret from its file: %d bytes, want %d", len(got), len(secret))
	}
	if got := a.Intake["falco"].Header; got != "X-Quell-Token" {
		t.Errorf("falco header = %q", got)
	}
}

func TestIntakeSecretFromEnv(t *testing.T) {
	secret := "alertmanager-signing-secret-of-32-bytes"
	t.Setenv("QUELL_INTAKE_ALERTMANAGER_HMAC_SECRET", secret)
	cfg, err := Load(write(t, "auth: {intake: {alertmanager: {header: X-Sig}}}\n"))
	if err != nil {
		t.Fatal(err)
	}
	if got := cfg.Auth.Intake["alertmanager"]; got.HMACSecret != secret || got.Header != "X-Sig" {
		t.Errorf("alertmanager = header %q, %d-byte secret", got.Header, len(got.HMACSecret))
	}
	t.Setenv("QUELL_INTAKE_ALERTMANAGER_HMAC_SECRET", "")
	t.Setenv("QUELL_INTAKE_TRIVY_HMAC_SECRET_FILE", "/nonexistent/secret")
	if _, err := Load(""); err == nil || !strings.Contains(err.Error(), "config: auth.intake.trivy.hmac_secret_file: open /nonexistent/secret: no such file or directory") {
		t.Errorf("missing secret file: %v", err)
	}
}

func TestValidateAuth(t *testing.T) {
	short := "short-secret"
	cfg := Default()
	cfg.API.Token = short
	cfg.Auth = Auth{
		Principals: []Principal{
			{Name: "alice", Role: "responder", TokenSHA256: strings.Repeat("a", 64)},
			{Name: "alice", Role: "admin", TokenSHA256: strings.Repeat("b", 64)},
			{Name: "../bob", Role: "root", TokenSHA256: "abc"},
		},
		OIDC: &OIDC{Roles: map[string]string{"sre": "watcher"}},
		Intake: map[string]IntakeCredential{
			"falco":   {TokenSHA256: strings.Repeat("c", 64), HMACSecret: strings.Repeat("s", 32)},
			"generic": {HMACSecret: short, Header: "X Sig"},
			"syslog":  {TokenSHA256: strings.Repeat("d", 64)},
			"trivy":   {},
		},
		Metrics: Metrics{TokenSHA256: "zz"},
	}
	want := strings.Join([]string{
		"api.token: 12 bytes, shorter than 32",
		"auth.principals[1] (alice): role admin, but an earlier entry gives it responder",
		`auth.principals[2] (../bob): name "../bob": want 1 to 64 letters, digits and ._@+-, starting with a letter or digit`,
		`auth.principals[2] (../bob): role "root": want one of detector, viewer, responder, admin`,
		"auth.principals[2] (../bob): token_sha256: want the token's SHA-256 as 64 hexadecimal digits",
		"auth.oidc.issuer: empty",
		"auth.oidc.audience: empty (the client ID tokens are issued to)",
		`auth.oidc.roles.sre: role "watcher": want one of detector, viewer, responder, admin`,
		"auth.intake.falco: want token_sha256 or an HMAC secret, not both or neither",
		"auth.intake.generic: hmac secret: 12 bytes, shorter than 32",
		`auth.intake.generic.header "X Sig": not an HTTP header name`,
		"auth.intake.syslog: unknown source (want one of falco, trivy, alertmanager, generic)",
		"auth.intake.trivy: want token_sha256 or an HMAC secret, not both or neither",
		"auth.metrics.token_sha256: want the token's SHA-256 as 64 hexadecimal digits",
	}, "\n")
	got := cfg.Validate().Error()
	if got != want {
		t.Errorf("Validate() =\n%s\nwant\n%s", got, want)
	}
	if strings.Contains(got, short) || strings.Contains(got, strings.Repeat("s", 32)) {
		t.Error("a validation error repeats a secret")
	}
}

func TestLoadRefusesUnknownAuthKeys(t *testing.T) {
	_, err := Load(write(t, "auth:\n  principals:\n    - name: alice\n      token: plain-text-token\n"))
	if err == nil || !strings.Contains(err.Error(), "line 4: field token not found") {
		t.Errorf("err = %v, want an unknown field on line 4", err)
	}
}
