package rig

import (
	"context"
	"fmt"
	"path/filepath"
	"regexp"
	"time"
)

// Quell is a running quell process with an HTTP API.
type Quell struct {
	*Proc
	// API reaches its HTTP API.
	API *API
	// DataDir is its data directory.
	DataDir string
}

// DevOptions configure a quell dev process.
type DevOptions struct {
	// Bin is the quell binary.
	Bin string
	// Name names it in logs; default "quell-dev".
	Name string
	// DataDir is its data directory, kept across restarts.
	DataDir string
	// Playbooks is a playbook directory; empty: the built-in library.
	Playbooks string
	// Config is a configuration file; empty: none.
	Config string
	// LogDir receives its log.
	LogDir string
	// Env is added to its environment.
	Env []string
}

// StartDev starts `quell dev` on a free loopback port, with the embedded
// Temporal and its Web UI on others, and waits for its "ready in" line.
func StartDev(ctx context.Context, o DevOptions) (*Quell, error) {
	addr, err := FreeAddr()
	if err != nil {
		return nil, err
	}
	if o.Name == "" {
		o.Name = "quell-dev"
	}
	args := []string{"dev", "--listen", addr, "--temporal-port", "0", "--ui-port", "0", "--data-dir", o.DataDir}
	if o.Playbooks != "" {
		args = append(args, "--playbooks", o.Playbooks)
	}
	if o.Config != "" {
		args = append(args, "--config", o.Config)
	}
	p, err := Start(ctx, Spec{Name: o.Name, Bin: o.Bin, Args: args, Env: o.Env, Ready: "ready in", LogDir: o.LogDir})
	if err != nil {
		return nil, err
	}
	return &Quell{Proc: p, API: NewAPI("http://"+addr, 0), DataDir: o.DataDir}, nil
}

// readyIn matches the duration quell dev reports in its ready line.
var readyIn = regexp.MustCompile(`ready in (\S+)`)

// SelfReported is the start-up time quell dev prints in its ready line.
func (q *Quell) SelfReported() (time.Duration, error) {
	m := readyIn.FindStringSubmatch(q.ReadyLine)
	if m == nil {
		return 0, fmt.Errorf("no duration in %q", q.ReadyLine)
	}
	return time.ParseDuration(m[1])
}

// ClusterOptions configure a quell serve or quell worker process.
type ClusterOptions struct {
	// Bin is the quell binary.
	Bin string
	// Temporal is the Temporal frontend's host:port.
	Temporal string
	// Config is a configuration file; empty: none.
	Config string
	// Playbooks is quell serve's playbook directory; empty: the built-in
	// library.
	Playbooks string
	// DataDir is quell worker's data directory.
	DataDir string
	// LogDir receives the process's log.
	LogDir string
	// Env is added to its environment (DOCKER_HOST, QUELL_SLACK_*).
	Env []string
}

func (o ClusterOptions) args(cmd string) []string {
	args := []string{cmd, "--temporal-address", o.Temporal}
	if o.Config != "" {
		args = append(args, "--config", o.Config)
	}
	return args
}

// StartServe starts `quell serve --insecure` on a free loopback port, with
// o.Playbooks, and waits until it listens.
func StartServe(ctx context.Context, o ClusterOptions) (*Quell, error) {
	addr, err := FreeAddr()
	if err != nil {
		return nil, err
	}
	args := append(o.args("serve"), "--insecure", "--listen", addr)
	if o.Playbooks != "" {
		args = append(args, "--playbooks", o.Playbooks)
	}
	p, err := Start(ctx, Spec{Name: "quell-serve", Bin: o.Bin, Args: args, Env: o.Env, Ready: "quell serve", LogDir: o.LogDir})
	if err != nil {
		return nil, err
	}
	return &Quell{Proc: p, API: NewAPI("http://"+addr, 0)}, nil
}

// StartWorker starts `quell worker`, writing evidence under o.DataDir, and
// waits until it runs.
func StartWorker(ctx context.Context, o ClusterOptions) (*Proc, error) {
	args := append(o.args("worker"), "--data-dir", o.DataDir)
	return Start(ctx, Spec{Name: "quell-worker", Bin: o.Bin, Args: args, Env: o.Env, Ready: "quell worker", LogDir: o.LogDir})
}

// EvidenceDir is where quell keeps an incident's evidence under dataDir.
func EvidenceDir(dataDir, incidentID string) string {
	return filepath.Join(dataDir, "evidence", incidentID)
}
