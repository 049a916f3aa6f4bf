package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"net"
	"os"
	"path/filepath"
	"time"

	"github.com/quell-ir/quell/internal/app"
	"github.com/quell-ir/quell/internal/config"
	"github.com/quell-ir/quell/internal/devserver"
	"github.com/quell-ir/quell/internal/docker"
	"github.com/quell-ir/quell/internal/webui"
)

// runDev runs an embedded Temporal server, the worker and the HTTP API in
// one process, on the local Docker daemon.
func runDev(ctx context.Context, args []string, stdout io.Writer) error {
	fs := flag.NewFlagSet("quell dev", flag.ContinueOnError)
	listen := fs.String("listen", "127.0.0.1:8080", "HTTP API address")
	dataDir := fs.String("data-dir", "./.quell", "where the Temporal database, evidence and reports live")
	temporalPort := fs.Int("temporal-port", 7233, "embedded Temporal frontend port on 127.0.0.1 (0 picks a free one)")
	uiPort := fs.Int("ui-port", 8233, "Temporal Web UI port on 127.0.0.1 (0 picks a free one, -1 disables the UI)")
	uiWritable := fs.Bool("ui-writable", false, "let the Temporal Web UI terminate, signal and update workflows, around quell's API (default read-only)")
	configFile := fs.String("config", "", "configuration file (YAML)")
	playbookDir := fs.String("playbooks", "", "directory of playbooks (default: the built-in library)")
	if err := fs.Parse(args); err != nil {
		return usageError(err.Error())
	}
	cfg, err := config.Load(*configFile)
	if err != nil {
		return err
	}
	setIf(fs, "listen", &cfg.Listen, *listen)
	setIf(fs, "data-dir", &cfg.DataDir, *dataDir)
	setIf(fs, "playbooks", &cfg.Playbooks, *playbookDir)
	if err := cfg.Resolve(); err != nil {
		return err
	}
	log := newLogger(os.Stderr)
	start := time.Now()

	kinds, err := app.Kinds()
	if err != nil {
		return err
	}
	pbs, err := app.LoadPlaybooks(cfg.Playbooks, kinds)
	if err != nil {
		return err
	}
	rt, err := docker.New(cfg.Docker.Host)
	if err != nil {
		return err
	}
	defer rt.Close()
	if err := rt.Ping(ctx); err != nil {
		return fmt.Errorf("docker daemon: %w", err)
	}
	l, err := net.Listen("tcp", cfg.Listen)
	if err != nil {
		return fmt.Errorf("http api: %w", err)
	}
	srv, err := devserver.Start(devserver.Options{
		DBPath: filepath.Join(cfg.DataDir, "temporal.db"), Port: *temporalPort, Namespace: cfg.Temporal.Namespace,
	})
	if err != nil {
		l.Close()
		return err
	}
	defer srv.Stop()
	uiURL := "off"
	if *uiPort >= 0 {
		uiKey := srv.ReadOnlyKey()
		if *uiWritable {
			uiKey = srv.APIKey()
			log.Warn("the Temporal Web UI is writable (--ui-writable): whoever logs in to it can terminate, signal or update an incident around quell's API, its approvals and its record")
		}
		ui, err := webui.Start(webui.Options{
			TemporalAddress: srv.HostPort(), APIKey: uiKey, Writable: *uiWritable, Port: *uiPort, Namespace: cfg.Temporal.Namespace,
		})
		if err != nil {
			l.Close()
			return err
		}
		defer ui.Stop()
		uiURL = ui.LoginURL()
		if cfg.UIURL == "" {
			cfg.UIURL = ui.URL() // for links: never the login token
		}
	}
	cfg.Temporal.Address = srv.HostPort()
	c, err := app.Dial(cfg, log, app.WithAPIKey(srv.APIKey()))
	if err != nil {
		return err
	}
	defer c.Close()
	w := app.NewWorker(c, cfg, rt, kinds)
	if err := w.Start(); err != nil {
		return fmt.Errorf("worker: %w", err)
	}
	defer w.Stop()

	fmt.Fprintf(stdout, "quell dev %s ready in %s\n  api:      http://%s\n  temporal: %s (namespace %s)\n  ui:       %s\n  data:     %s\n  playbooks: %d loaded\n",
		app.VersionString(), time.Since(start).Round(time.Millisecond), l.Addr(), srv.HostPort(), cfg.Temporal.Namespace, uiURL, cfg.DataDir, len(pbs))
	for _, w := range app.Warnings(cfg, pbs) {
		log.Warn(w)
	}
	err = app.ServeAPI(ctx, l, c, cfg, pbs, log)
	log.Info("quell dev stopping")
	return err
}
