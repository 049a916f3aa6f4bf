package config

import (
	"fmt"
	"os"
	"regexp"
	"strings"
)

// Registry is a container registry quell pushes clean images to, deletes
// bad images from and scans for what else was built on them. Secrets are
// named by environment variable, never written in the file; a registry with
// neither username nor token_env takes its credentials from the Docker
// config file.
type Registry struct {
	// Host is host[:port], as image references name the registry.
	Host string `yaml:"host"`
	// Username authenticates with the password in PasswordEnv.
	Username string `yaml:"username"`
	// PasswordEnv names the environment variable that holds the password.
	PasswordEnv string `yaml:"password_env"`
	// TokenEnv names the environment variable that holds a registry bearer
	// token, instead of a username and password.
	TokenEnv string `yaml:"token_env"`
	// Insecure allows plain HTTP; loopback and private addresses always may.
	Insecure bool `yaml:"insecure"`
}

// Credentials reads the registry's secrets from the environment.
func (r Registry) Credentials(getenv func(string) string) (username, password, token string) {
	if r.TokenEnv != "" {
		return "", "", getenv(r.TokenEnv)
	}
	if r.Username != "" {
		return r.Username, getenv(r.PasswordEnv), ""
	}
	return "", "", ""
}

var (
	registryHostPattern = regexp.MustCompile(`^[a-zA-Z0-9]([a-zA-Z0-9.-]*[a-zA-Z0-9])?(:[0-9]{1,5})?$`)
	envNamePattern      = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]*$`)
)

// validateRegistries checks each registry; a named variable must be set
// (its value is never shown).
func (c Config) validateRegistries(lookup func(string) (string, bool)) []error {
	var errs []error
	seen := map[string]bool{}
	for i, r := range c.Registries {
		at := fmt.Sprintf("registries[%d]", i)
		if r.Host != "" {
			at += " (" + r.Host + ")"
		}
		fail := func(format string, args ...any) { errs = append(errs, fmt.Errorf(at+": "+format, args...)) }
		switch {
		case r.Host == "":
			fail("host required")
		case !registryHostPattern.MatchString(r.Host):
			fail("host must be host[:port], without scheme or path")
		case seen[strings.ToLower(r.Host)]:
			fail("listed twice")
		}
		seen[strings.ToLower(r.Host)] = true
		switch {
		case r.TokenEnv != "" && (r.Username != "" || r.PasswordEnv != ""):
			fail("token_env and username/password_env are exclusive")
		case r.Username != "" && r.PasswordEnv == "":
			fail("username needs password_env")
		case r.Username == "" && r.PasswordEnv != "":
			fail("password_env needs username")
		}
		for _, kv := range [][2]string{{"password_env", r.PasswordEnv}, {"token_env", r.TokenEnv}} {
			key, env := kv[0], kv[1]
			if env == "" {
				continue
			}
			if !envNamePattern.MatchString(env) {
				fail("%s must name an environment variable", key)
			} else if v, ok := lookup(env); !ok || v == "" {
				fail("%s: %s is not set", key, env)
			}
		}
	}
	return errs
}

// lookupEnv is os.LookupEnv, for Validate.
var lookupEnv = os.LookupEnv
