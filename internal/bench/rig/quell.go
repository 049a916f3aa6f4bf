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

// StartServe starts `quell serve --insecure` against the Temporal frontend
// at temporal, with the playbooks in playbooks ("" for the built-in
// library), and waits until it listens.
func StartServe(ctx context.Context, bin, temporal, playbooks, logDir string) (*Quell, error) {
	addr, err := FreeAddr()
	if err != nil {
		return nil, err
	}
	args := []string{"serve", "--insecure", "--listen", addr, "--temporal-address", temporal}
	if playbooks != "" {
		args = append(args, "--playbooks", playbooks)
	}
	p, err := Start(ctx, Spec{Name: "quell-serve", Bin: bin, Args: args, Ready: "quell serve", LogDir: logDir})
	if err != nil {
		return nil, err
	}
	return &Quell{Proc: p, API: NewAPI("http://"+addr, 0)}, nil
}

// StartWorker starts `quell worker` against the Temporal frontend at
// temporal, writing evidence under dataDir, with env added (DOCKER_HOST).
func StartWorker(ctx context.Context, bin, temporal, dataDir, logDir string, env []string) (*Proc, error) {
	args := []string{"worker", "--temporal-address", temporal, "--data-dir", dataDir}
	return Start(ctx, Spec{Name: "quell-worker", Bin: bin, Args: args, Env: env, Ready: "quell worker", LogDir: logDir})
}

// EvidenceDir is where quell keeps an incident's evidence under dataDir.
func EvidenceDir(dataDir, incidentID string) string {
	return filepath.Join(dataDir, "evidence", incidentID)
}
