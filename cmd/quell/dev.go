package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"time"

	"github.com/quell-ir/quell/internal/app"
	"github.com/quell-ir/quell/internal/config"
	"github.com/quell-ir/quell/internal/devserver"
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
	l, err := net.Listen("tcp", cfg.Listen)
	if err != nil {
		return fmt.Errorf("http api: %w", err)
	}
	defer l.Close()
	srv, err := devserver.Start(devserver.Options{
		DBPath: filepath.Join(cfg.DataDir, "temporal.db"), Port: *temporalPort, Namespace: cfg.Temporal.Namespace,
	})
	if err != nil {
		return err
	}
	defer srv.Stop()
	wctx, cancel := context.WithTimeout(ctx, time.Minute)
	err = srv.WaitReady(wctx)
	cancel()
	if err != nil {
		return err
	}
	uiURL := "off"
	if *uiPort >= 0 {
		ui, err := startUI(srv, *uiPort, *uiWritable, cfg.Temporal.Namespace, log)
		if err != nil {
			return err
		}
		defer ui.Stop()
		uiURL = ui.LoginURL()
		if cfg.UIURL == "" {
			cfg.UIURL = ui.URL() // for links: never the login token
		}
	}
	cfg.Temporal.Address = srv.HostPort()
	p, err := app.Start(ctx, cfg, app.Parts{API: true, Worker: true}, log, app.WithAPIKey(srv.APIKey()))
	if err != nil {
		return err
	}
	defer p.Close()
	fmt.Fprintf(stdout, "quell dev %s ready in %s\n  api:      http://%s\n  temporal: %s (namespace %s)\n  ui:       %s\n  data:     %s\n  playbooks: %d loaded\n",
		app.VersionString(), time.Since(start).Round(time.Millisecond), l.Addr(), srv.HostPort(), cfg.Temporal.Namespace, uiURL, cfg.DataDir, len(p.Playbooks))
	err = p.Serve(ctx, l)
	log.Info("quell dev stopping")
	return err
}

// startUI starts the Temporal Web UI in front of the embedded server:
// read-only unless writable, which is warned about.
func startUI(srv *devserver.Server, port int, writable bool, namespace string, log *slog.Logger) (*webui.Server, error) {
	key := srv.ReadOnlyKey()
	if writable {
		key = srv.APIKey()
		log.Warn("the Temporal Web UI is writable (--ui-writable): whoever logs in to it can terminate, signal or update an incident around quell's API, its approvals and its record")
	}
	return webui.Start(webui.Options{
		TemporalAddress: srv.HostPort(), APIKey: key, Writable: writable, Port: port, Namespace: namespace,
	})
}
