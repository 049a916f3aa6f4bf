// Package chaos runs durability trials on quell: it breaks a process or the
// Docker daemon at a chosen moment of an incident and checks that the
// incident still completes, that every destructive Docker action happened
// exactly once, and that the evidence verifies.
//
// The pieces run apart so that each can be broken alone: an embedded
// Temporal server in this process, `quell serve --insecure` and `quell
// worker` as child processes, the worker reaching Docker through a socket
// proxy the trials can cut, and a fake Slack the trials can take down. One
// trial kills a whole `quell dev` instead.
//
// Most trials run the contain, preserve, verify and report steps of the
// built-in compromised-container playbook on a busybox container; the
// recovery trials run the whole playbook, through its approval, rebuild,
// replacement and image deletion, on an image of their own (recovery.go).
// cmd/quell-chaos is the command line.
package chaos

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"go.temporal.io/sdk/client"
	sdklog "go.temporal.io/sdk/log"

	"github.com/quell-ir/quell/internal/bench/rig"
	"github.com/quell-ir/quell/internal/devserver"
	"github.com/quell-ir/quell/internal/devserver/apikey"
)

// Config configures a run.
type Config struct {
	// Quick runs every trial in its small form: less data, a 5 s outage.
	Quick bool
	// Repo is the module root cmd/quell is built from.
	Repo string
	// Quell is a quell binary to use instead of building one.
	Quell string
	// Sample is the Falco sample alert the alerts are made from.
	Sample string
	// Only runs the trials whose names contain one of these; empty: all.
	Only []string
	// Keep keeps the run's directory (the processes' logs, evidence and
	// reports) instead of removing it, and logs where it is.
	Keep bool
	// Out receives one line per trial and the closing count.
	Out io.Writer
	// Log receives progress lines.
	Log io.Writer
}

// playbook is the built-in compromised-container playbook's containment and
// evidence steps, with their settings, and its report step: the steps most
// trials break. The recovery trials run the library's version whole, on
// images of their own (recovery.go).
const playbook = `name: compromised-container-evidence
description: Contain, preserve and verify, then report, as compromised-container does before its approval.
match:
  source: falco
  target: docker
  min_priority: warning
  rules: ["*"]
  required_fields: [target.container_id]
steps:
  - id: contain
    kind: docker:isolate
    timeout: 30s
    retry: {max_attempts: 5, initial_interval: 200ms}
  - id: preserve
    kind: evidence:snapshot
    timeout: 30m
    with: {export: true, commit: true, logs: true, processes: true}
  - id: verify
    kind: evidence:verify
    timeout: 10m
  - id: report
    kind: report:write
    on_failure: continue
`

// run is one chaos run and the stack its trials share.
type run struct {
	cfg     Config
	lab     *rig.Lab
	dir     string
	bin     string
	alert   rig.Alert
	nets    []string
	dataMB  int           // random data written into each victim
	outage  time.Duration // how long the daemon stays cut off
	tempo   *devserver.Server
	serve   *rig.Quell
	worker  *rig.Proc
	proxy   *Proxy
	lag     *Proxy // between the worker and Temporal, holding Temporal's answers at step boundaries
	slack   *fakeSlack
	dataDir string // the worker's data dir
	// playbooks holds playbook and the recovery playbook.
	playbooks string
	// config is the configuration file of serve and worker: the approver
	// and the recovery images' trusted source.
	config string
	// recovery describes the recovery trials' images.
	recovery recoverySetup
	// perDisconnect is how many events the daemon logs per disconnect.
	perDisconnect int
	// history reads incident workflows' histories from tempo.
	history client.Client
	// toContain are the alert-to-pause times of the trials so far.
	toContain []time.Duration
}

// Run runs every trial, writes a line for each and the closing count to
// cfg.Out, and returns how many failed. The error reports a run that could
// not be set up. Everything it created is removed before it returns.
func Run(ctx context.Context, cfg Config) (failed int, err error) {
	r := &run{cfg: cfg, dataMB: 256, outage: 30 * time.Second}
	if cfg.Quick {
		r.dataMB, r.outage = 32, 5*time.Second
	}
	if r.alert, err = rig.LoadAlert(cfg.Sample); err != nil {
		return 0, err
	}
	if r.dir, err = os.MkdirTemp("", "quell-chaos-"); err != nil {
		return 0, err
	}
	if cfg.Keep {
		defer r.logf("kept %s", r.dir)
	} else {
		defer os.RemoveAll(r.dir)
	}
	if r.lab, err = rig.NewLab(ctx, ""); err != nil {
		return 0, err
	}
	defer func() {
		err = errors.Join(err, r.lab.Close())
		if note := r.lab.LeakNote(); note != "" {
			r.logf("cleanup: %s", note)
		}
	}()
	defer r.stop()
	if err := r.setup(ctx); err != nil {
		return 0, err
	}
	passed := 0
	for _, t := range trials() {
		if !r.selected(t.name) {
			continue
		}
		if ctx.Err() != nil {
			return failed, context.Cause(ctx)
		}
		r.logf("— %s", t.name)
		if err := r.trial(ctx, t); err != nil {
			failed++
			fmt.Fprintf(cfg.Out, "FAIL %s: %s\n", t.name, oneLine(err))
			continue
		}
		passed++
		fmt.Fprintf(cfg.Out, "PASS %s\n", t.name)
	}
	fmt.Fprintf(cfg.Out, "%d passed, %d failed\n", passed, failed)
	return failed, nil
}

func (r *run) selected(name string) bool {
	if len(r.cfg.Only) == 0 {
		return true
	}
	for _, s := range r.cfg.Only {
		if strings.Contains(name, s) {
			return true
		}
	}
	return false
}

// setup builds quell, makes two internal networks and starts the stack.
func (r *run) setup(ctx context.Context) error {
	var err error
	if r.bin = r.cfg.Quell; r.bin == "" {
		r.logf("building quell")
		if r.bin, err = rig.BuildQuell(ctx, r.cfg.Repo, r.dir); err != nil {
			return err
		}
	}
	if r.perDisconnect, err = r.lab.DisconnectEvents(ctx); err != nil {
		return err
	}
	for range 2 {
		nw, err := r.lab.Network(ctx)
		if err != nil {
			return err
		}
		r.nets = append(r.nets, nw)
	}
	if _, err := r.lab.Image(ctx); err != nil {
		return err
	}
	r.playbooks = filepath.Join(r.dir, "playbooks")
	if err := os.MkdirAll(r.playbooks, 0o755); err != nil {
		return err
	}
	if err := os.WriteFile(filepath.Join(r.playbooks, "evidence.yaml"), []byte(playbook), 0o644); err != nil {
		return err
	}
	if err := r.setupRecovery(); err != nil {
		return err
	}
	if r.slack, err = startSlack(); err != nil {
		return err
	}
	return r.startStack(ctx)
}

// startStack starts Temporal in this process, quell serve, the Docker
// proxy and quell worker behind it, reaching Temporal through a TCP Proxy.
func (r *run) startStack(ctx context.Context) error {
	var err error
	r.tempo, err = devserver.Start(devserver.Options{DBPath: filepath.Join(r.dir, "temporal.db")})
	if err != nil {
		return err
	}
	wctx, cancel := context.WithTimeout(ctx, time.Minute)
	defer cancel()
	if err := r.tempo.WaitReady(wctx); err != nil {
		return err
	}
	opts := r.tempo.ClientOptions()
	opts.Logger = sdklog.NewStructuredLogger(slog.New(slog.DiscardHandler))
	r.history, err = client.Dial(opts)
	if err != nil {
		return fmt.Errorf("temporal client: %w", err)
	}
	r.serve, err = rig.StartServe(ctx, rig.ClusterOptions{
		Bin: r.bin, Temporal: r.tempo.HostPort(), Config: r.config, Playbooks: r.playbooks, LogDir: r.dir,
		Env: append(r.temporalKeyEnv(), r.slack.Env()...),
	})
	if err != nil {
		return err
	}
	if r.proxy, err = StartProxy(filepath.Join(r.dir, "docker.sock"), dockerSocket()); err != nil {
		return err
	}
	if r.lag, err = StartTCPProxy(r.tempo.HostPort()); err != nil {
		return err
	}
	r.dataDir = filepath.Join(r.dir, "worker-data")
	return r.startWorker(ctx)
}

// temporalKeyEnv points quell serve and worker at the embedded Temporal's
// API key, which it keeps beside its database.
func (r *run) temporalKeyEnv() []string {
	return []string{"QUELL_TEMPORAL_API_KEY_FILE=" + apikey.Path(r.dir)}
}

// startWorker starts quell worker with Docker through the proxy.
func (r *run) startWorker(ctx context.Context) error {
	w, err := rig.StartWorker(ctx, rig.ClusterOptions{
		Bin: r.bin, Temporal: r.lag.Addr, Config: r.config, DataDir: r.dataDir, LogDir: r.dir,
		Env: slices.Concat([]string{"DOCKER_HOST=unix://" + r.proxy.Addr}, r.temporalKeyEnv(), r.slack.Env()),
	})
	if err != nil {
		return err
	}
	r.worker = w
	return nil
}

// stop ends the stack: processes first, then the proxy and Temporal.
func (r *run) stop() {
	if r.worker != nil {
		r.worker.Stop()
	}
	if r.serve != nil {
		r.serve.Stop()
	}
	if r.proxy != nil {
		_ = r.proxy.Close()
	}
	if r.lag != nil {
		_ = r.lag.Close()
	}
	if r.slack != nil {
		r.slack.Close()
	}
	if r.history != nil {
		r.history.Close()
	}
	if r.tempo != nil {
		_ = r.tempo.Stop()
	}
}

// dockerSocket is the daemon's unix socket, from DOCKER_HOST or the default.
func dockerSocket() string {
	if h, ok := strings.CutPrefix(os.Getenv("DOCKER_HOST"), "unix://"); ok {
		return h
	}
	return "/var/run/docker.sock"
}

func (r *run) logf(format string, args ...any) {
	if r.cfg.Log != nil {
		fmt.Fprintf(r.cfg.Log, "%s %s\n", time.Now().Format("15:04:05.000"), fmt.Sprintf(format, args...))
	}
}

// oneLine joins an error's lines, for the one-line verdict.
func oneLine(err error) string {
	return strings.Join(strings.Fields(strings.ReplaceAll(err.Error(), "\n", "; ")), " ")
}
