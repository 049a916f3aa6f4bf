package app

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"

	"go.temporal.io/sdk/client"

	"github.com/quell-ir/quell/internal/config"
	"github.com/quell-ir/quell/internal/docker"
	"github.com/quell-ir/quell/playbooks"
	"github.com/quell-ir/quell/workflows"
)

// Parts says what one quell process runs.
type Parts struct {
	// API serves the HTTP API (and Slack's interactions).
	API bool
	// Worker runs incident workflows and their activities on the Docker
	// daemon of the configuration.
	Worker bool
}

// Process is one quell process assembled from its configuration: the one
// place where quell dev, serve and worker (and the end-to-end tests) wire
// the registry of step kinds, the playbooks, the Temporal client, the
// Docker daemon, the worker and the API together.
type Process struct {
	// Config is the configuration the process runs with.
	Config config.Config
	// Kinds is the registry of step kinds, built once.
	Kinds *workflows.Registry
	// Playbooks are the validated playbooks alerts are matched against.
	Playbooks []playbooks.Playbook
	// Client reaches Temporal.
	Client client.Client

	log    *slog.Logger
	docker *docker.Client
	worker *Worker
}

// Start builds the registry, loads the playbooks, connects to the Docker
// daemon (for a worker) and to Temporal, and starts the worker when parts
// says so. Close the process when done, also after an error in Serve.
func Start(ctx context.Context, cfg config.Config, parts Parts, log *slog.Logger, dial ...DialOption) (*Process, error) {
	p := &Process{Config: cfg, log: log}
	var err error
	if p.Kinds, err = Kinds(); err != nil {
		return nil, err
	}
	if p.Playbooks, err = LoadPlaybooks(cfg.Playbooks, p.Kinds); err != nil {
		return nil, err
	}
	if parts.Worker {
		if p.docker, err = docker.New(cfg.Docker.Host); err != nil {
			return nil, err
		}
		if err := p.docker.Ping(ctx); err != nil {
			p.Close()
			return nil, fmt.Errorf("docker daemon: %w", err)
		}
	}
	if p.Client, err = Dial(cfg, log, dial...); err != nil {
		p.Close()
		return nil, err
	}
	if parts.Worker {
		if p.worker, err = NewWorker(p.Client, cfg, p.docker, p.Kinds, p.Playbooks); err != nil {
			p.Close()
			return nil, err
		}
		if err := p.worker.Start(); err != nil {
			p.worker = nil
			p.Close()
			return nil, fmt.Errorf("worker: %w", err)
		}
	}
	if parts.API {
		for _, w := range Warnings(cfg, p.Playbooks) {
			log.Warn(w)
		}
	}
	return p, nil
}

// Handler is the HTTP API over the process's incidents.
func (p *Process) Handler() http.Handler {
	return NewAPI(p.Client, p.Config, p.Playbooks, p.log)
}

// Serve serves the HTTP API on l, and Slack's Socket Mode when configured,
// until ctx ends.
func (p *Process) Serve(ctx context.Context, l net.Listener) error {
	return ServeAPI(ctx, l, p.Client, p.Config, p.Playbooks, p.log)
}

// Wait runs until ctx ends, for a process that serves no API; a plain
// cancellation is no error.
func (p *Process) Wait(ctx context.Context) error {
	<-ctx.Done()
	if err := context.Cause(ctx); !errors.Is(err, context.Canceled) {
		return err
	}
	return nil
}

// Close stops the worker and closes the clients.
func (p *Process) Close() {
	if p.worker != nil {
		p.worker.Stop()
	}
	if p.Client != nil {
		p.Client.Close()
	}
	if p.docker != nil {
		p.docker.Close()
	}
}
