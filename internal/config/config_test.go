package config

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func write(t *testing.T, body string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), "quell.yaml")
	if err := os.WriteFile(p, []byte(body), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

func TestLoad(t *testing.T) {
	t.Setenv("QUELL_API_TOKEN", "")
	cfg, err := Load(write(t, "data_dir: /srv/quell\napprovals:\n  approvers: [alice, bob]\n"))
	if err != nil {
		t.Fatal(err)
	}
	if got, want := cfg.DataDir, "/srv/quell"; got != want {
		t.Errorf("data_dir = %q, want %q", got, want)
	}
	if got, want := cfg.Listen, "127.0.0.1:8080"; got != want {
		t.Errorf("listen = %q, want default %q", got, want)
	}
	if got := cfg.Approvals.Approvers; len(got) != 2 || got[1] != "bob" {
		t.Errorf("approvers = %v", got)
	}
}

func TestLoadEmptyFileKeepsDefaults(t *testing.T) {
	cfg, err := Load(write(t, ""))
	if err != nil {
		t.Fatal(err)
	}
	if got, want := cfg.Temporal.Namespace, "default"; got != want {
		t.Errorf("namespace = %q, want %q", got, want)
	}
}

func TestLoadRefusesUnknownKeysWithLine(t *testing.T) {
	_, err := Load(write(t, "listen: :8080\napprovals:\n  approver: [alice]\n"))
	if err == nil || !strings.Contains(err.Error(), "line 3: field approver not found") {
		t.Fatalf("err = %v, want unknown field on line 3", err)
	}
}

func TestTokenFromEnvAndFile(t *testing.T) {
	tokenFile := filepath.Join(t.TempDir(), "token")
	if err := os.WriteFile(tokenFile, []byte("s3cret-from-a-file-of-32-bytes-or-more\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	t.Setenv("QUELL_API_TOKEN", "")
	t.Setenv("QUELL_API_TOKEN_FILE", tokenFile)
	cfg, err := Load("")
	if err != nil {
		t.Fatal(err)
	}
	if got, want := cfg.API.Token, "s3cret-from-a-file-of-32-bytes-or-more"; got != want {
		t.Errorf("token = %q, want %q", got, want)
	}
	t.Setenv("QUELL_API_TOKEN", "from-env-and-32-bytes-long-or-more")
	cfg, _ = Load("")
	if got, want := cfg.API.Token, "from-env-and-32-bytes-long-or-more"; got != want {
		t.Errorf("token = %q, want %q", got, want)
	}
}

func TestTemporalAPIKeyFile(t *testing.T) {
	keyFile := filepath.Join(t.TempDir(), "temporal.key")
	if err := os.WriteFile(keyFile, []byte("an-api-key\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	t.Setenv("QUELL_TEMPORAL_API_KEY_FILE", keyFile)
	cfg, err := Load("")
	if err != nil {
		t.Fatal(err)
	}
	if cfg.Temporal.APIKey != "an-api-key" {
		t.Errorf("api key = %q", cfg.Temporal.APIKey)
	}
	t.Setenv("QUELL_TEMPORAL_API_KEY_FILE", keyFile+".missing")
	if _, err := Load(""); err == nil || strings.Contains(err.Error(), "an-api-key") {
		t.Errorf("missing key file: %v", err)
	}
}

func TestValidate(t *testing.T) {
	cfg := Default()
	cfg.DataDir = ""
	cfg.Temporal.TLS.CertFile = "c.pem"
	cfg.Approvals.Approvers = []string{"alice", " "}
	got := cfg.Validate().Error()
	want := "data_dir: empty\ntemporal.tls: cert_file and key_file go together\napprovals.approvers[1]: empty"
	if got != want {
		t.Errorf("Validate() =\n%s\nwant\n%s", got, want)
	}
}

func TestValidateImages(t *testing.T) {
	cfg := Default()
	cfg.Images = []ImageSource{
		{Repository: "example/app", Context: "/srv/app"},
		{Repository: "example/app", Context: "/srv/app2"},
		{Repository: "example/api"},
		{Repository: "example/git", Context: "/x", Git: &GitSource{URL: "file:///r", Ref: "v1"}},
		{Repository: "example/nogit", Git: &GitSource{URL: "file:///r"}},
		{Context: "/srv/x", Dockerfile: "../Dockerfile"},
	}
	want := strings.Join([]string{
		"images[1]: repository example/app listed twice",
		"images[2] (example/api): context or git required",
		"images[3] (example/git): context and git are exclusive",
		"images[4] (example/nogit): git needs url and a pinned ref",
		"images[5]: repository required",
		"images[5] (): dockerfile must be relative to the context",
	}, "\n")
	if got := cfg.Validate().Error(); got != want {
		t.Errorf("Validate() =\n%s\nwant\n%s", got, want)
	}
}

func TestSlackFromEnv(t *testing.T) {
	t.Setenv("QUELL_SLACK_BOT_TOKEN", "xoxb-secret")
	t.Setenv("QUELL_SLACK_CHANNEL", "C123")
	t.Setenv("QUELL_SLACK_SIGNING_SECRET", "shh")
	cfg, err := Load(write(t, "slack: {channel: C999, api_url: http://127.0.0.1:1/api/}\n"))
	if err != nil {
		t.Fatal(err)
	}
	if cfg.Slack.BotToken != "xoxb-secret" || cfg.Slack.Channel != "C123" || cfg.Slack.SigningSecret != "shh" || cfg.Slack.APIURL != "http://127.0.0.1:1/api/" {
		t.Errorf("slack = %+v", cfg.Slack)
	}
	t.Setenv("QUELL_SLACK_CHANNEL", "")
	if _, err := Load(write(t, "slack: {bot_token: x}\n")); err == nil || !strings.Contains(err.Error(), "slack: bot_token set but no channel") {
		t.Errorf("err = %v", err)
	}
}
