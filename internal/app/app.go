// Package app assembles quell's parts, the worker and the HTTP API, from
// one configuration, for cmd/quell and for end-to-end tests.
package app

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"runtime/debug"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/interceptor"
	sdklog "go.temporal.io/sdk/log"
	"go.temporal.io/sdk/worker"
	"go.temporal.io/sdk/workflow"

	"github.com/quell-ir/quell/activities"
	"github.com/quell-ir/quell/internal/api"
	"github.com/quell-ir/quell/internal/audit"
	"github.com/quell-ir/quell/internal/auth"
	"github.com/quell-ir/quell/internal/config"
	"github.com/quell-ir/quell/internal/devserver/apikey"
	"github.com/quell-ir/quell/internal/docker"
	"github.com/quell-ir/quell/internal/evidence"
	"github.com/quell-ir/quell/internal/incident"
	"github.com/quell-ir/quell/internal/registry"
	"github.com/quell-ir/quell/internal/tsa"
	"github.com/quell-ir/quell/internal/workflowclient"
	"github.com/quell-ir/quell/playbooks"
	"github.com/quell-ir/quell/workflows"
)

// Version is quell's version, set at build time with
// -ldflags "-X github.com/quell-ir/quell/internal/app.Version=v1.2.3".
var Version = ""

// VersionString is Version, or the module version and VCS revision.
func VersionString() string {
	if Version != "" {
		return Version
	}
	info, ok := debug.ReadBuildInfo()
	if !ok {
		return "devel"
	}
	v := info.Main.Version
	for _, s := range info.Settings {
		if s.Key == "vcs.revision" && len(s.Value) >= 12 {
			v += "+" + s.Value[:12]
		}
	}
	return v
}

// Kinds builds the registry of every step kind quell runs, from the one
// list in workflows.Kinds. Build it once, in main, and pass it down.
func Kinds() (*workflows.Registry, error) {
	reg, err := workflows.NewRegistry(workflows.Kinds()...)
	if err != nil {
		return nil, fmt.Errorf("step kinds: %w", err)
	}
	return reg, nil
}

// LoadPlaybooks loads the playbooks in dir, or the built-in library when
// dir is empty, against the kinds; an invalid playbook fails the whole load.
func LoadPlaybooks(dir string, kinds *workflows.Registry) ([]playbooks.Playbook, error) {
	if dir != "" {
		return playbooks.LoadDir(dir, kinds.Playbooks())
	}
	return playbooks.LoadLibrary(kinds.Playbooks())
}

// DialOption changes how Dial connects.
type DialOption func(*dialOptions)

type dialOptions struct {
	apiKey string
}

// WithAPIKey presents key as a bearer token on every call, as the embedded
// Temporal of quell dev requires (devserver.Server.APIKey).
func WithAPIKey(key string) DialOption {
	return func(o *dialOptions) { o.apiKey = key }
}

// Dial connects a Temporal client as the config says. It presents the
// API key of WithAPIKey, else temporal.api_key_file's; with neither, a
// client of a Temporal on loopback presents the key an embedded server
// keeps in cfg.DataDir, if there is one, so that a quell worker started on
// quell dev's data dir is let in; the key never leaves the machine.
func Dial(cfg config.Config, log *slog.Logger, options ...DialOption) (client.Client, error) {
	var do dialOptions
	for _, o := range options {
		o(&do)
	}
	opts := client.Options{
		HostPort:  cfg.Temporal.Address,
		Namespace: cfg.Temporal.Namespace,
		Logger:    sdklog.NewStructuredLogger(log.With("component", "temporal-sdk")),
		Identity:  identity(),
	}
	tlsCfg, err := clientTLS(cfg.Temporal.TLS)
	if err != nil {
		return nil, err
	}
	opts.ConnectionOptions.TLS = tlsCfg
	if do.apiKey == "" {
		do.apiKey = cfg.Temporal.APIKey
	}
	if do.apiKey == "" && IsLoopback(cfg.Temporal.Address) {
		if do.apiKey, err = apikey.Read(apikey.Path(cfg.DataDir)); errors.Is(err, os.ErrNotExist) {
			err = nil
		}
		if err != nil {
			return nil, err
		}
	}
	if do.apiKey != "" {
		opts.Credentials = client.NewAPIKeyStaticCredentials(do.apiKey)
		// The SDK turns TLS on for an API key; the embedded server speaks
		// plain gRPC on loopback.
		opts.ConnectionOptions.TLSDisabled = tlsCfg == nil && IsLoopback(cfg.Temporal.Address)
	}
	c, err := client.Dial(opts)
	if err != nil {
		return nil, fmt.Errorf("temporal %s: %w", cfg.Temporal.Address, err)
	}
	return c, nil
}

func clientTLS(t config.TLS) (*tls.Config, error) {
	if !t.Enabled && t.CAFile == "" && t.CertFile == "" {
		return nil, nil
	}
	out := &tls.Config{ServerName: t.ServerName, MinVersion: tls.VersionTLS12}
	if t.CAFile != "" {
		pem, err := os.ReadFile(t.CAFile)
		if err != nil {
			return nil, fmt.Errorf("temporal tls ca: %w", err)
		}
		out.RootCAs = x509.NewCertPool()
		if !out.RootCAs.AppendCertsFromPEM(pem) {
			return nil, fmt.Errorf("temporal tls ca %s: no certificate found", t.CAFile)
		}
	}
	if t.CertFile != "" {
		cert, err := tls.LoadX509KeyPair(t.CertFile, t.KeyFile)
		if err != nil {
			return nil, fmt.Errorf("temporal tls client certificate: %w", err)
		}
		out.Certificates = []tls.Certificate{cert}
	}
	return out, nil
}

// IsLoopback reports whether hostPort (or a listen address) names this
// machine only: localhost or a loopback IP.
func IsLoopback(hostPort string) bool {
	host, _, err := net.SplitHostPort(hostPort)
	if err != nil {
		return false
	}
	if host == "localhost" {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

func identity() string {
	host, _ := os.Hostname()
	return fmt.Sprintf("quell@%s/%d", host, os.Getpid())
}

// Worker runs incident workflows and their activities: one Temporal
// worker for each task queue the kinds use (see workflows.Registry.QueueOf),
// so containment never waits behind heavy work and heavy work is bounded.
type Worker struct {
	workers []worker.Worker
	upkeep  *upkeep // nil when the evidence store needs no looking after
}

// Start starts every queue's worker.
func (w *Worker) Start() error {
	for i, qw := range w.workers {
		if err := qw.Start(); err != nil {
			for _, started := range w.workers[:i] {
				started.Stop()
			}
			return err
		}
	}
	if w.upkeep != nil {
		w.upkeep.start()
	}
	return nil
}

// Stop stops them.
func (w *Worker) Stop() {
	if w.upkeep != nil {
		w.upkeep.halt()
	}
	for _, qw := range w.workers {
		qw.Stop()
	}
}

// NewWorker builds the worker that runs incident workflows over the kinds,
// and their activities against the Docker daemon in cfg; Close the runtime
// after the worker stops.
func NewWorker(c client.Client, cfg config.Config, rt *docker.Client, kinds *workflows.Registry, pbs []playbooks.Playbook) (*Worker, error) {
	// Pollers scale with the backlog: a burst of incidents finds enough of
	// them waiting that its first workflow tasks and isolations are matched
	// at once instead of queued.
	burst := worker.NewPollerBehaviorAutoscaling(worker.PollerBehaviorAutoscalingOptions{
		InitialNumberOfPollers: 4, MaximumNumberOfPollers: 32,
	})
	first := []interceptor.WorkerInterceptor{&keepAlive{}, &containFirst{gate: &containGate{}}}
	var all []worker.Worker
	for _, q := range append(kinds.Queues(), workflows.ContainQueue) {
		opts := worker.Options{DisableWorkflowWorker: true, Interceptors: first}
		switch q {
		case workflows.TaskQueue:
			opts = worker.Options{WorkflowTaskPollerBehavior: burst, ActivityTaskPollerBehavior: burst, Interceptors: first}
		case workflows.HeavyQueue:
			opts.MaxConcurrentActivityExecutionSize = cfg.Worker.HeavyActivities
		}
		w := worker.New(c, q, opts)
		if q == workflows.TaskQueue {
			w.RegisterWorkflowWithOptions(workflows.NewIncidents(kinds).IncidentResponse,
				workflow.RegisterOptions{Name: workflows.IncidentWorkflow})
			w.RegisterWorkflowWithOptions(workflows.LookupUnit, workflow.RegisterOptions{Name: workflows.LookupWorkflow})
			w.RegisterWorkflowWithOptions(workflows.InspectLive, workflow.RegisterOptions{Name: workflows.InspectWorkflow})
			w.RegisterWorkflowWithOptions(workflows.AlertTally, workflow.RegisterOptions{Name: workflows.TallyWorkflow})
			w.RegisterWorkflowWithOptions(workflows.AlertInbox, workflow.RegisterOptions{Name: workflows.InboxWorkflow})
		}
		all = append(all, w)
	}
	// Every queue's worker can run every activity: the queue decides only
	// what waits for what.
	host, _ := os.Hostname()
	store := evidence.NewStore(filepath.Join(cfg.DataDir, "evidence"))
	key, err := SigningKey(cfg)
	if err != nil {
		return nil, err
	}
	store.SetSigner(key)
	if ta := cfg.Evidence.TimestampAuthority; ta.Enabled() {
		chain, err := ta.ReadChain()
		if err != nil {
			return nil, err
		}
		client, err := tsa.New(ta.URL, chain, ta.Timeout)
		if err != nil {
			return nil, err
		}
		store.SetTimestamper(client, chain)
	}
	actor := evidence.Actor{Who: "quell-worker", Host: host, Version: VersionString()}
	up := &upkeep{store: store, actor: actor, retention: cfg.Evidence.Retention, log: slog.Default(), now: time.Now}
	if up.needed() {
		if up.audit, err = audit.Open(audit.Path(cfg.DataDir)); err != nil {
			return nil, err
		}
	} else {
		up = nil
	}
	kubeActs, err := kubeActivities(cfg, store, actor)
	if err != nil {
		return nil, err
	}
	acts := []any{
		&activities.Docker{Runtime: rt},
		kubeActs,
		&activities.Evidence{Runtime: rt, Store: store, Actor: actor},
		&activities.Reports{Dir: filepath.Join(cfg.DataDir, "reports"), Tallied: func(ctx context.Context, inc incident.Incident) incident.Incident {
			return workflowclient.WithTally(ctx, c, inc)
		}},
		&activities.Recovery{
			Images:     rt,
			Containers: rt,
			Store:      store,
			Actor:      actor,
			Sources:    trustedSources(cfg.Images),
			StopGrace:  10 * time.Second,
		},
		registryActivities(cfg, rt),
		// The inboxes' alerts go to their incidents as intake sends them.
		&activities.Intake{Forwarder: Incidents(c, cfg, pbs)},
	}
	if slackConfig(cfg).Enabled() {
		acts = append(acts, &activities.Notify{Chat: notifier(cfg)})
	}
	for _, w := range all {
		for _, a := range acts {
			w.RegisterActivity(a)
		}
	}
	return &Worker{workers: all, upkeep: up}, nil
}

// registryActivities gives the registry activities a client of the
// configured registries, credentials read from the environment, pushing
// through rt; with none configured they have nothing to do. config.Validate
// has refused the hosts registry.New would.
func registryActivities(cfg config.Config, rt *docker.Client) *activities.Registries {
	hosts := make([]registry.Host, 0, len(cfg.Registries))
	for _, r := range cfg.Registries {
		user, password, token := r.Credentials(os.Getenv)
		hosts = append(hosts, registry.Host{Name: r.Host, Username: user, Password: password, Token: token, Insecure: r.Insecure})
	}
	c, _ := registry.New(hosts, registry.WithEngine(rt.API()))
	return &activities.Registries{Client: c, Images: rt}
}

// trustedSources turns the config's image sources into the activities'.
func trustedSources(images []config.ImageSource) []activities.TrustedSource {
	out := make([]activities.TrustedSource, 0, len(images))
	for _, img := range images {
		s := activities.TrustedSource{Repository: img.Repository, ContextDir: img.Context, Dockerfile: img.Dockerfile}
		if img.Git != nil {
			s.GitURL, s.GitRef, s.GitDir = img.Git.URL, img.Git.Ref, img.Git.Dir
		}
		out = append(out, s)
	}
	return out
}

// Incidents reaches the incident workflows as the config says.
func Incidents(c client.Client, cfg config.Config, pbs []playbooks.Playbook) *workflowclient.Service {
	return &workflowclient.Service{Client: c, Namespace: cfg.Temporal.Namespace, Approvers: cfg.Approvals.Approvers,
		DedupWindow: cfg.Incidents.DedupWindow, AlertHistory: cfg.Incidents.AlertHistory, Notify: slackConfig(cfg).Enabled(), Playbooks: pbs,
		Clusters: clusterPicker(cfg), Inbox: true}
}

// NewAPI builds the HTTP API over the incident workflows.
func NewAPI(c client.Client, cfg config.Config, pbs []playbooks.Playbook, log *slog.Logger) http.Handler {
	reg := prometheus.NewRegistry()
	reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	svc := Incidents(c, cfg, pbs)
	opts := api.Options{Incidents: svc, Logger: log, Registry: reg}
	// Plans read the unit through the Docker host's worker: the API
	// holds no Docker socket.
	if kinds, err := Kinds(); err != nil {
		log.Warn("http api: POST /v1/plan answers 501", "err", err)
	} else {
		opts.Planner = &Planner{Kinds: kinds, Playbooks: pbs, Inspect: svc.InspectUnit}
	}
	if err := apiGuards(&opts, cfg, log); err != nil {
		// The config was validated before; a caller that built it in code
		// gets an API that refuses everything, saying why, rather than an
		// open one.
		log.Error("http api: refusing every request", "err", err)
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			http.Error(w, "quell's API refuses every request: "+err.Error(), http.StatusServiceUnavailable)
		})
	}
	if h := slackHandler(cfg, svc, log); h != nil {
		opts.Slack = h
	}
	return api.New(opts).Handler()
}

// apiGuards sets the API's authentication, intake credentials, /metrics
// credential and audit log from cfg. Errors never hold a secret.
func apiGuards(opts *api.Options, cfg config.Config, log *slog.Logger) error {
	var errs []error
	var creds []auth.Credential
	for _, p := range cfg.Auth.Principals {
		h, err := auth.ParseHash(p.TokenSHA256)
		if err != nil {
			errs = append(errs, fmt.Errorf("principal %s: %w", p.Name, err))
		}
		creds = append(creds, auth.Credential{Principal: auth.Principal{Name: p.Name, Role: auth.Role(p.Role)}, Hash: h})
	}
	aopts := auth.Options{Credentials: creds, Store: auth.NewStore(cfg.DataDir), LegacyToken: cfg.API.Token}
	if o := cfg.Auth.OIDC; o != nil {
		roles := map[string]auth.Role{}
		for g, r := range o.Roles {
			roles[g] = auth.Role(r)
		}
		v, err := auth.NewOIDC(auth.OIDCConfig{Issuer: o.Issuer, Audience: o.Audience, UsernameClaim: o.UsernameClaim, GroupsClaim: o.GroupsClaim, Roles: roles})
		errs = append(errs, err)
		aopts.OIDC = v
	}
	a, err := auth.New(aopts)
	errs = append(errs, err)
	opts.Auth = a
	var ins []auth.IntakeCredential
	for src, ic := range cfg.Auth.Intake {
		c := auth.IntakeCredential{Source: src, Header: ic.Header, Scheme: ic.Scheme}
		if ic.TokenSHA256 != "" {
			h, err := auth.ParseHash(ic.TokenSHA256)
			errs = append(errs, err)
			c.Token = &h
		} else {
			c.HMACSecret = []byte(ic.HMACSecret)
		}
		ins = append(ins, c)
	}
	opts.Intake, err = auth.NewIntake(ins...)
	errs = append(errs, err)
	if h := cfg.Auth.Metrics.TokenSHA256; h != "" {
		mh, err := auth.ParseHash(h)
		errs = append(errs, err)
		opts.MetricsToken = &mh
	}
	al, err := audit.Open(audit.Path(cfg.DataDir))
	errs = append(errs, err)
	opts.Audit = al
	if err := errors.Join(errs...); err != nil {
		return err
	}
	if cfg.API.Token != "" {
		log.Warn("the legacy API token (QUELL_API_TOKEN) stands for one admin: decisions made with it are attributed to \"admin\"; " +
			"give each person a token of their own (quell token create NAME --role responder)")
	}
	if a.Open() {
		log.Warn("no API credential is configured: every /v1/ route is open to anyone who reaches " + cfg.Listen +
			", and decisions name whoever their body says; make a token (quell token create NAME --role admin) to close it")
	}
	return nil
}

// Serve serves h on l until ctx ends, then shuts down gracefully.
func Serve(ctx context.Context, l net.Listener, h http.Handler) error {
	srv := &http.Server{Handler: h, ReadHeaderTimeout: 10 * time.Second}
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(l) }()
	select {
	case err := <-errc:
		return fmt.Errorf("http api: %w", err)
	case <-ctx.Done():
	}
	shutdown, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := srv.Shutdown(shutdown); err != nil && !errors.Is(err, http.ErrServerClosed) {
		return fmt.Errorf("http api shutdown: %w", err)
	}
	return nil
}
