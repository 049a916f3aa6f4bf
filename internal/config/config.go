// Package config reads quell's one configuration file, strictly, and the
// environment variables that override it. It is read once in main and
// passed into constructors.
package config

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"time"

	"go.yaml.in/yaml/v3"
)

// Config is quell's configuration.
type Config struct {
	// Listen is the HTTP API's address.
	Listen string `yaml:"listen"`
	// DataDir holds the embedded Temporal database, evidence and reports.
	DataDir string `yaml:"data_dir"`
	// Temporal says where the Temporal cluster is (quell serve and worker).
	Temporal Temporal `yaml:"temporal"`
	// Docker says which Docker daemon to act on.
	Docker Docker `yaml:"docker"`
	// Approvals says who may decide approval steps.
	Approvals Approvals `yaml:"approvals"`
	// API configures the HTTP API.
	API API `yaml:"api"`
	// Auth says who may use the API: principals, OIDC, the alert sources'
	// own credentials, and /metrics.
	Auth Auth `yaml:"auth"`
	// Playbooks is a directory of playbooks; empty means the built-in library.
	Playbooks string `yaml:"playbooks"`
	// Incidents configures incident handling.
	Incidents Incidents `yaml:"incidents"`
	// Worker bounds a worker's concurrent work.
	Worker Worker `yaml:"worker"`
	// Images maps image repositories to the trusted sources of their clean
	// builds. An image's own labels are never trusted as its source.
	Images []ImageSource `yaml:"images"`
	// Registries are the container registries quell publishes clean images
	// to, deletes bad ones from and scans for what was built on them.
	Registries []Registry `yaml:"registries"`
	// Evidence configures the evidence store: its trusted timestamps and
	// retention.
	Evidence Evidence `yaml:"evidence"`
	// Kubernetes lists the clusters whose pods quell acts on.
	Kubernetes Kubernetes `yaml:"kubernetes"`
	// Slack tells responders and takes their approvals.
	Slack Slack `yaml:"slack"`
	// PublicURL is where responders reach quell's API (links in messages);
	// default http://<listen>.
	PublicURL string `yaml:"public_url"`
	// UIURL is the Temporal Web UI's address, for links; quell dev sets it.
	UIURL string `yaml:"ui_url"`
}

// Slack configures the Slack app. Tokens and the signing secret are
// secrets: prefer the QUELL_SLACK_* environment variables.
type Slack struct {
	BotToken      string `yaml:"bot_token"`
	AppToken      string `yaml:"app_token"`
	SigningSecret string `yaml:"signing_secret"`
	Channel       string `yaml:"channel"`
	APIURL        string `yaml:"api_url"`
}

// ImageSource is where the clean build of an image repository comes from:
// a build context directory, or a git repository at a pinned ref.
type ImageSource struct {
	// Repository matches <repository>:<any tag> and its digests.
	Repository string `yaml:"repository"`
	// Context is the build context directory.
	Context string `yaml:"context"`
	// Dockerfile is relative to the context; default Dockerfile.
	Dockerfile string `yaml:"dockerfile"`
	// Git checks the context out of a repository instead.
	Git *GitSource `yaml:"git"`
}

// GitSource is a git repository at a pinned ref (a commit or a tag).
type GitSource struct {
	URL string `yaml:"url"`
	Ref string `yaml:"ref"`
	// Dir is the build context's directory inside the repository.
	Dir string `yaml:"dir"`
}

// Incidents configures incident handling.
type Incidents struct {
	// DedupWindow is how long a finished incident goes on taking the alerts
	// about its unit before a new alert opens a new incident.
	DedupWindow time.Duration `yaml:"dedup_window"`
	// AlertHistory is how many events of history an incident grows
	// before a storm's alerts go to its alert tally, which continues as
	// new as it grows; 0 is the default (2,000).
	AlertHistory int `yaml:"alert_history"`
}

// Worker configures what a worker runs at once.
type Worker struct {
	// HeavyActivities bounds the snapshots, verifications and image builds
	// a worker runs at once: they load the Docker daemon and the disk, and
	// containment must not wait behind them.
	HeavyActivities int `yaml:"heavy_activities"`
}

// Temporal locates a Temporal cluster.
type Temporal struct {
	Address   string `yaml:"address"`
	Namespace string `yaml:"namespace"`
	TLS       TLS    `yaml:"tls"`
	// APIKeyFile holds the API key quell's clients present to Temporal as
	// a bearer token (an embedded server's temporal.key, or Temporal
	// Cloud's); QUELL_TEMPORAL_API_KEY_FILE sets it too. APIKey is read
	// from it and never written anywhere.
	APIKeyFile string `yaml:"api_key_file"`
	APIKey     string `yaml:"-"`
}

// TLS configures the Temporal client's TLS; all empty means plain text.
type TLS struct {
	CAFile     string `yaml:"ca_file"`
	CertFile   string `yaml:"cert_file"`
	KeyFile    string `yaml:"key_file"`
	ServerName string `yaml:"server_name"`
	// Enabled turns TLS on with the system roots when no file is given.
	Enabled bool `yaml:"enabled"`
}

// Docker locates the Docker daemon.
type Docker struct {
	// Host is a Docker endpoint such as unix:///var/run/docker.sock; empty
	// means DOCKER_HOST or the local socket.
	Host string `yaml:"host"`
}

// Approvals lists who may decide approval steps that name no approvers.
type Approvals struct {
	Approvers []string `yaml:"approvers"`
}

// API configures the HTTP API.
type API struct {
	// Token is the single API token of earlier versions: it stands for an
	// admin named "admin", and must be at least 32 bytes. Prefer
	// QUELL_API_TOKEN or token_file: it is a secret.
	Token string `yaml:"token"`
	// TokenFile holds the token.
	TokenFile string `yaml:"token_file"`
}

// Default returns the configuration quell runs with when told nothing.
func Default() Config {
	return Config{
		Listen:    "127.0.0.1:8080",
		DataDir:   ".quell",
		Temporal:  Temporal{Address: "127.0.0.1:7233", Namespace: "default"},
		Incidents: Incidents{DedupWindow: 10 * time.Minute},
		Worker:    Worker{HeavyActivities: 4},
		Evidence:  Evidence{TimestampAuthority: TimestampAuthority{Timeout: 10 * time.Second}},
	}
}

// Load reads the file at path (when path is not empty) over the defaults,
// refusing unknown keys, then applies the environment.
func Load(path string) (Config, error) {
	cfg := Default()
	if path != "" {
		data, err := os.ReadFile(path)
		if err != nil {
			return Config{}, fmt.Errorf("config: %w", err)
		}
		dec := yaml.NewDecoder(bytes.NewReader(data))
		dec.KnownFields(true)
		if err := dec.Decode(&cfg); err != nil && !errors.Is(err, io.EOF) {
			return Config{}, fmt.Errorf("config %s: %w", path, err)
		}
	}
	if err := cfg.applyEnv(os.Getenv); err != nil {
		return Config{}, err
	}
	return cfg, cfg.Validate()
}

// applyEnv reads the secrets: QUELL_API_TOKEN and the token file, Slack's,
// and the alert sources' signing secrets.
func (c *Config) applyEnv(getenv func(string) string) error {
	if err := c.applyAuthEnv(getenv); err != nil {
		return err
	}
	for env, dst := range map[string]*string{
		"QUELL_SLACK_BOT_TOKEN": &c.Slack.BotToken, "QUELL_SLACK_APP_TOKEN": &c.Slack.AppToken,
		"QUELL_SLACK_SIGNING_SECRET": &c.Slack.SigningSecret, "QUELL_SLACK_CHANNEL": &c.Slack.Channel,
		"QUELL_SLACK_API_URL": &c.Slack.APIURL,
	} {
		if v := getenv(env); v != "" {
			*dst = v
		}
	}
	if t := getenv("QUELL_API_TOKEN"); t != "" {
		c.API.Token = t
	}
	if f := getenv("QUELL_API_TOKEN_FILE"); f != "" {
		c.API.TokenFile = f
	}
	if f := getenv("QUELL_TEMPORAL_API_KEY_FILE"); f != "" {
		c.Temporal.APIKeyFile = f
	}
	if c.Temporal.APIKeyFile != "" {
		b, err := os.ReadFile(c.Temporal.APIKeyFile)
		if err != nil {
			return fmt.Errorf("config: temporal api key file: %w", err)
		}
		c.Temporal.APIKey = strings.TrimSpace(string(b))
	}
	if c.API.Token == "" && c.API.TokenFile != "" {
		b, err := os.ReadFile(c.API.TokenFile)
		if err != nil {
			return fmt.Errorf("config: api token file: %w", err)
		}
		c.API.Token = strings.TrimSpace(string(b))
	}
	return nil
}

// Resolve makes DataDir absolute, so reports and evidence name paths an
// auditor can follow from anywhere.
func (c *Config) Resolve() error {
	abs, err := filepath.Abs(c.DataDir)
	if err != nil {
		return fmt.Errorf("data_dir: %w", err)
	}
	c.DataDir = abs
	return nil
}

// Validate checks the cross-field rules and returns every problem.
func (c Config) Validate() error {
	var errs []error
	if c.DataDir == "" {
		errs = append(errs, errors.New("data_dir: empty"))
	}
	if c.Temporal.Namespace == "" {
		errs = append(errs, errors.New("temporal.namespace: empty"))
	}
	t := c.Temporal.TLS
	if (t.CertFile == "") != (t.KeyFile == "") {
		errs = append(errs, errors.New("temporal.tls: cert_file and key_file go together"))
	}
	if c.Incidents.DedupWindow < 0 {
		errs = append(errs, errors.New("incidents.dedup_window: negative"))
	}
	if h := c.Incidents.AlertHistory; h != 0 && (h < 100 || h > 40000) {
		errs = append(errs, fmt.Errorf("incidents.alert_history: %d; between 100 and 40000 events (Temporal ends a workflow at 51,200)", h))
	}
	if c.Worker.HeavyActivities < 1 {
		errs = append(errs, errors.New("worker.heavy_activities: at least 1"))
	}
	errs = append(errs, c.validateImages()...)
	errs = append(errs, c.validateRegistries(lookupEnv)...)
	errs = append(errs, c.validateAuth()...)
	errs = append(errs, c.validateKubernetes()...)
	errs = append(errs, c.Evidence.validate()...)
	if sl := c.Slack; sl.BotToken != "" && sl.Channel == "" {
		errs = append(errs, errors.New("slack: bot_token set but no channel"))
	}
	if sl := c.Slack; sl.AppToken != "" && sl.BotToken == "" {
		errs = append(errs, errors.New("slack: app_token (Socket Mode) needs bot_token too"))
	}
	for i, a := range c.Approvals.Approvers {
		if strings.TrimSpace(a) == "" {
			errs = append(errs, fmt.Errorf("approvals.approvers[%d]: empty", i))
		}
	}
	return errors.Join(errs...)
}

func (c Config) validateImages() []error {
	var errs []error
	seen := map[string]bool{}
	for i, img := range c.Images {
		at := fmt.Sprintf("images[%d]", i)
		switch {
		case img.Repository == "":
			errs = append(errs, fmt.Errorf("%s: repository required", at))
		case seen[img.Repository]:
			errs = append(errs, fmt.Errorf("%s: repository %s listed twice", at, img.Repository))
		}
		seen[img.Repository] = true
		switch {
		case img.Git == nil && img.Context == "":
			errs = append(errs, fmt.Errorf("%s (%s): context or git required", at, img.Repository))
		case img.Git != nil && img.Context != "":
			errs = append(errs, fmt.Errorf("%s (%s): context and git are exclusive", at, img.Repository))
		case img.Git != nil && (img.Git.URL == "" || img.Git.Ref == ""):
			errs = append(errs, fmt.Errorf("%s (%s): git needs url and a pinned ref", at, img.Repository))
		}
		if strings.HasPrefix(img.Dockerfile, "/") || strings.Contains(img.Dockerfile, "..") {
			errs = append(errs, fmt.Errorf("%s (%s): dockerfile must be relative to the context", at, img.Repository))
		}
	}
	return errs
}
