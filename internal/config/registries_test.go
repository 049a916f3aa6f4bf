package config

import (
	"os"
	"strings"
	"testing"
)

func TestLoadRegistries(t *testing.T) {
	t.Setenv("QUELL_TEST_REG_PW", "pw-from-env")
	t.Setenv("QUELL_TEST_REG_TOKEN", "token-from-env")
	cfg, err := Load(write(t, `registries:
  - {host: "registry.example:5000", username: quell, password_env: QUELL_TEST_REG_PW}
  - {host: ghcr.example, token_env: QUELL_TEST_REG_TOKEN}
  - {host: "127.0.0.1:5000", insecure: true}
`))
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, r := range cfg.Registries {
		u, p, tok := r.Credentials(os.Getenv)
		got = append(got, strings.Join([]string{r.Host, u, p, tok}, "|"))
	}
	want := "registry.example:5000|quell|pw-from-env| ghcr.example|||token-from-env 127.0.0.1:5000|||"
	if strings.Join(got, " ") != want || !cfg.Registries[2].Insecure {
		t.Errorf("registries = %q, want %q", strings.Join(got, " "), want)
	}
}

func TestLoadRegistriesRefusesUnknownKeys(t *testing.T) {
	_, err := Load(write(t, "registries:\n  - host: r.example\n    password: hunter2\n"))
	if err == nil || !strings.Contains(err.Error(), "line 3: field password not found") {
		t.Fatalf("err = %v, want unknown field on line 3", err)
	}
}

func TestValidateRegistries(t *testing.T) {
	cfg := Default()
	cfg.Registries = []Registry{
		{},
		{Host: "https://r.example/v2"},
		{Host: "r.example", Username: "u"},
		{Host: "r.example", PasswordEnv: "PW"},
		{Host: "t.example", TokenEnv: "QUELL_TEST_UNSET_TOKEN", Username: "u", PasswordEnv: "bad-name"},
	}
	set := func(k string) (string, bool) { return "", false }
	var msgs []string
	for _, err := range cfg.validateRegistries(set) {
		msgs = append(msgs, err.Error())
	}
	want := []string{
		"registries[0]: host required",
		"registries[1] (https://r.example/v2): host must be host[:port], without scheme or path",
		"registries[2] (r.example): username needs password_env",
		"registries[3] (r.example): listed twice",
		"registries[3] (r.example): password_env needs username",
		"registries[3] (r.example): password_env: PW is not set",
		"registries[4] (t.example): token_env and username/password_env are exclusive",
		"registries[4] (t.example): password_env must name an environment variable",
		"registries[4] (t.example): token_env: QUELL_TEST_UNSET_TOKEN is not set",
	}
	if got := strings.Join(msgs, "\n"); got != strings.Join(want, "\n") {
		t.Errorf("validate =\n%s\nwant\n%s", got, strings.Join(want, "\n"))
	}
}
