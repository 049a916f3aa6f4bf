package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"net"
	"os"

	"github.com/quell-ir/quell/internal/app"
	"github.com/quell-ir/quell/internal/config"
)

// clusterFlags are the flags serve and worker share: where Temporal is.
type clusterFlags struct {
	fs         *flag.FlagSet
	configFile *string
	address    *string
	namespace  *string
	tlsCA      *string
	tlsCert    *string
	tlsKey     *string
	tlsServer  *string
}

func newClusterFlags(name string) *clusterFlags {
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	return &clusterFlags{
		fs:         fs,
		configFile: fs.String("config", "", "configuration file (YAML)"),
		address:    fs.String("temporal-address", "127.0.0.1:7233", "Temporal frontend host:port"),
		namespace:  fs.String("namespace", "default", "Temporal namespace"),
		tlsCA:      fs.String("tls-ca", "", "CA certificate (PEM) that signs the Temporal frontend's certificate"),
		tlsCert:    fs.String("tls-cert", "", "client certificate (PEM) for mutual TLS"),
		tlsKey:     fs.String("tls-key", "", "client key (PEM) for mutual TLS"),
		tlsServer:  fs.String("tls-server-name", "", "server name to verify on the Temporal frontend's certificate"),
	}
}

// config loads the file and lays the flags given on the command line over it.
func (f *clusterFlags) config() (config.Config, error) {
	cfg, err := config.Load(*f.configFile)
	if err != nil {
		return cfg, err
	}
	setIf(f.fs, "temporal-address", &cfg.Temporal.Address, *f.address)
	setIf(f.fs, "namespace", &cfg.Temporal.Namespace, *f.namespace)
	setIf(f.fs, "tls-ca", &cfg.Temporal.TLS.CAFile, *f.tlsCA)
	setIf(f.fs, "tls-cert", &cfg.Temporal.TLS.CertFile, *f.tlsCert)
	setIf(f.fs, "tls-key", &cfg.Temporal.TLS.KeyFile, *f.tlsKey)
	setIf(f.fs, "tls-server-name", &cfg.Temporal.TLS.ServerName, *f.tlsServer)
	return cfg, cfg.Validate()
}

// setIf sets *dst to v when the flag was given on the command line, so a
// flag's default never overrides the config file.
func setIf(fs *flag.FlagSet, name string, dst *string, v string) {
	fs.Visit(func(f *flag.Flag) {
		if f.Name == name {
			*dst = v
		}
	})
}

// runServe runs the HTTP API against a Temporal cluster.
func runServe(ctx context.Context, args []string, stdout io.Writer) error {
	f := newClusterFlags("quell serve")
	listen := f.fs.String("listen", "127.0.0.1:8080", "HTTP API address")
	playbookDir := f.fs.String("playbooks", "", "directory of playbooks (default: the built-in library)")
	insecure := f.fs.Bool("insecure", false, "serve with no credential configured: every /v1/ route open (warns loudly off loopback)")
	if err := f.fs.Parse(args); err != nil {
		return usageError(err.Error())
	}
	cfg, err := f.config()
	if err != nil {
		return err
	}
	setIf(f.fs, "listen", &cfg.Listen, *listen)
	setIf(f.fs, "playbooks", &cfg.Playbooks, *playbookDir)
	insecureWarning, err := serveAuth(cfg, *insecure)
	if err != nil {
		return err
	}
	log := newLogger(os.Stderr)
	if insecureWarning != "" {
		log.Warn(insecureWarning)
	}
	p, err := app.Start(ctx, cfg, app.Parts{API: true}, log)
	if err != nil {
		return err
	}
	defer p.Close()
	l, err := net.Listen("tcp", cfg.Listen)
	if err != nil {
		return fmt.Errorf("http api: %w", err)
	}
	fmt.Fprintf(stdout, "quell serve %s: api http://%s, temporal %s (namespace %s), %d playbooks\n",
		app.VersionString(), l.Addr(), cfg.Temporal.Address, cfg.Temporal.Namespace, len(p.Playbooks))
	return p.Serve(ctx, l)
}

// runWorker runs the worker against a Temporal cluster and the Docker daemon.
func runWorker(ctx context.Context, args []string, stdout io.Writer) error {
	f := newClusterFlags("quell worker")
	dataDir := f.fs.String("data-dir", "./.quell", "where evidence and reports are written")
	if err := f.fs.Parse(args); err != nil {
		return usageError(err.Error())
	}
	cfg, err := f.config()
	if err != nil {
		return err
	}
	setIf(f.fs, "data-dir", &cfg.DataDir, *dataDir)
	if err := cfg.Resolve(); err != nil {
		return err
	}
	p, err := app.Start(ctx, cfg, app.Parts{Worker: true}, newLogger(os.Stderr))
	if err != nil {
		return err
	}
	defer p.Close()
	fmt.Fprintf(stdout, "quell worker %s: temporal %s (namespace %s), data %s\n",
		app.VersionString(), cfg.Temporal.Address, cfg.Temporal.Namespace, cfg.DataDir)
	return p.Wait(ctx)
}
