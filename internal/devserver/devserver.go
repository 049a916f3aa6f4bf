// Package devserver runs a real Temporal server inside the quell process,
// persisted to a SQLite file, for the one-machine default (quell dev) and for
// end-to-end tests. Production points quell at an existing Temporal cluster.
//
// The server answers only quell's own clients. Its public frontend takes a
// request only with a key as bearer token (APIKey: everything; ReadOnlyKey:
// the read-only APIs, for the Web UI) and refuses every other request with
// PermissionDenied; its own services (history, matching, worker and the
// internal frontend the system workflows go through) talk over mutual TLS on
// a certificate made at start, so no other local process can reach them.
// The frontend's HTTP API is off.
package devserver

import (
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"time"

	"go.temporal.io/sdk/client"
	"go.temporal.io/server/common/authorization"
	"go.temporal.io/server/common/cluster"
	"go.temporal.io/server/common/config"
	"go.temporal.io/server/common/dynamicconfig"
	"go.temporal.io/server/common/log"
	"go.temporal.io/server/common/metrics"
	sqliteplugin "go.temporal.io/server/common/persistence/sql/sqlplugin/sqlite"
	"go.temporal.io/server/schema/sqlite"
	"go.temporal.io/server/temporal"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"

	"github.com/quell-ir/quell/internal/devserver/apikey"
)

// Options configure an embedded server.
type Options struct {
	// DBPath is the SQLite file; empty keeps everything in memory. The API
	// key is kept beside it (apikey.Path of its directory, mode 0600) and
	// used again on the next start; with no file it lives in memory.
	DBPath string
	// IP is the address every service binds to; default 127.0.0.1.
	IP string
	// Port is the frontend's gRPC port; 0 picks a free one.
	Port int
	// Namespace is registered on start; default "default".
	Namespace string
	// LogLevel is the level of the server's own logs on stderr (debug,
	// info, warn, error); empty discards them.
	LogLevel string
}

// Server is an embedded Temporal server.
type Server struct {
	srv       temporal.Server
	hostPort  string
	ns        string
	apiKey    string
	readerKey string
	authz     *roleAuthorizer
	// internode are the gRPC addresses of history, matching, worker and
	// the internal frontend.
	internode []string
}

// Start creates the schema when the database is new, registers the
// namespace, and starts every Temporal service in this process.
func Start(opts Options) (*Server, error) {
	if opts.IP == "" {
		opts.IP = "127.0.0.1"
	}
	if opts.Namespace == "" {
		opts.Namespace = "default"
	}
	ports, err := freePorts(opts.IP, 11)
	if err != nil {
		return nil, err
	}
	if opts.Port == 0 {
		opts.Port = ports[8]
	}
	cfg := serverConfig(opts, ports)
	if err := prepareDB(opts, cfg); err != nil {
		return nil, err
	}
	key := apikey.New()
	if opts.DBPath != "" {
		if key, err = apikey.Load(apikey.Path(filepath.Dir(opts.DBPath))); err != nil {
			return nil, err
		}
	}
	s := &Server{
		hostPort: net.JoinHostPort(opts.IP, strconv.Itoa(opts.Port)), ns: opts.Namespace,
		apiKey: key, readerKey: apikey.New(),
		authz: &roleAuthorizer{next: authorization.NewDefaultAuthorizer()},
	}
	for _, p := range []int{ports[2], ports[4], ports[6], ports[9]} {
		s.internode = append(s.internode, net.JoinHostPort(opts.IP, strconv.Itoa(p)))
	}
	if s.srv, err = s.newTemporal(opts, cfg); err != nil {
		return nil, err
	}
	if err := s.srv.Start(); err != nil {
		return nil, fmt.Errorf("start temporal server: %w", err)
	}
	return s, nil
}

// prepareDB creates the schema when the database is new and registers the
// namespace.
func prepareDB(opts Options, cfg *config.Config) error {
	sqlCfg := cfg.Persistence.DataStores[sqliteplugin.PluginName].SQL
	if opts.DBPath != "" {
		if err := os.MkdirAll(filepath.Dir(opts.DBPath), 0o750); err != nil {
			return fmt.Errorf("temporal database dir: %w", err)
		}
		if _, err := os.Stat(opts.DBPath); errors.Is(err, os.ErrNotExist) {
			if err := sqlite.SetupSchema(sqlCfg); err != nil {
				os.Remove(opts.DBPath)
				return fmt.Errorf("temporal schema %s: %w", opts.DBPath, err)
			}
		}
	}
	nsCfg, err := sqlite.NewNamespaceConfig(cfg.ClusterMetadata.CurrentClusterName, opts.Namespace, false, nil)
	if err != nil {
		return fmt.Errorf("temporal namespace %s: %w", opts.Namespace, err)
	}
	if err := sqlite.CreateNamespaces(sqlCfg, nsCfg); err != nil {
		return fmt.Errorf("temporal namespace %s: %w", opts.Namespace, err)
	}
	return nil
}

// newTemporal builds the server: every service, the key authorizer on the
// public frontend, mutual TLS between the services.
func (s *Server) newTemporal(opts Options, cfg *config.Config) (temporal.Server, error) {
	internode, err := newInternodeTLS()
	if err != nil {
		return nil, err
	}
	claims := newKeyClaims(s.apiKey, s.readerKey)
	var logger log.Logger = log.NewNoopLogger()
	if opts.LogLevel != "" {
		logger = log.NewZapLogger(log.BuildZapLogger(log.Config{Level: opts.LogLevel, Format: "json"}))
	}
	srv, err := temporal.NewServer(
		temporal.WithConfig(cfg),
		temporal.ForServices(temporal.Services), // the four default ones and the internal frontend
		temporal.WithLogger(logger),
		temporal.WithAuthorizer(s.authz),
		temporal.WithClaimMapper(func(*config.Config) authorization.ClaimMapper { return claims }),
		temporal.WithTLSConfigFactory(internode),
		temporal.WithDynamicConfigClient(dynamicconfig.StaticClient{
			dynamicconfig.ForceSearchAttributesCacheRefreshOnRead.Key(): []dynamicconfig.ConstrainedValue{{Value: true}},
		}),
	)
	if err != nil {
		return nil, fmt.Errorf("temporal server: %w", err)
	}
	return srv, nil
}

// HostPort is the frontend's address for SDK clients.
func (s *Server) HostPort() string { return s.hostPort }

// APIKey is the credential of quell's own clients, good for every API.
// It is a secret: never log it or put it in a workflow's input.
func (s *Server) APIKey() string { return s.apiKey }

// ReadOnlyKey is a credential for the read-only APIs only (list,
// describe, history, query), made at start and kept in memory, for the
// Web UI. It is a secret too.
func (s *Server) ReadOnlyKey() string { return s.readerKey }

// ClientOptions are the options an SDK client dials this server with,
// presenting APIKey over plain gRPC on loopback.
func (s *Server) ClientOptions() client.Options {
	return client.Options{
		HostPort:          s.hostPort,
		Namespace:         s.ns,
		Credentials:       client.NewAPIKeyStaticCredentials(s.apiKey),
		ConnectionOptions: client.ConnectionOptions{TLSDisabled: true},
	}
}

// Namespace is the namespace registered on start.
func (s *Server) Namespace() string { return s.ns }

// Stop shuts every service down.
func (s *Server) Stop() error { return s.srv.Stop() }

// WaitReady asks the frontend's gRPC health service, as the SDK's Dial does,
// until it reports the workflow service serving or ctx ends. A listening
// socket is not enough: after a restart on an existing database the frontend
// accepts connections a while before it is healthy.
func (s *Server) WaitReady(ctx context.Context) error {
	conn, err := grpc.NewClient(s.hostPort, grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		return fmt.Errorf("temporal frontend %s: %w", s.hostPort, err)
	}
	defer conn.Close()
	health := healthpb.NewHealthClient(conn)
	var last error
	for {
		cctx, cancel := context.WithTimeout(ctx, time.Second)
		resp, err := health.Check(cctx, &healthpb.HealthCheckRequest{Service: workflowService})
		cancel()
		switch {
		case err != nil:
			last = err
		case resp.GetStatus() == healthpb.HealthCheckResponse_SERVING:
			return nil
		default:
			last = fmt.Errorf("health %v", resp.GetStatus())
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("temporal frontend %s not healthy: %w (last: %v)", s.hostPort, ctx.Err(), last)
		case <-time.After(50 * time.Millisecond):
		}
	}
}

// workflowService is the name the frontend's health service answers for.
const workflowService = "temporal.api.workflowservice.v1.WorkflowService"

func serverConfig(opts Options, ports []int) *config.Config {
	sqlCfg := &config.SQL{
		PluginName:        sqliteplugin.PluginName,
		ConnectAttributes: map[string]string{"mode": "rwc", "journal_mode": "wal", "synchronous": "2"},
		DatabaseName:      opts.DBPath,
	}
	if opts.DBPath == "" {
		sqlCfg.ConnectAttributes = map[string]string{"mode": "memory", "cache": "shared"}
		sqlCfg.DatabaseName = fmt.Sprintf("quell-%d", time.Now().UnixNano())
	}
	frontend := net.JoinHostPort(opts.IP, strconv.Itoa(opts.Port))
	service := func(grpc, membership int) config.Service {
		return config.Service{RPC: config.RPC{GRPCPort: grpc, MembershipPort: membership, BindOnIP: opts.IP}}
	}
	return &config.Config{
		Global: config.Global{
			Membership: config.Membership{MaxJoinDuration: 30 * time.Second, BroadcastAddress: opts.IP},
			Metrics: &metrics.Config{Prometheus: &metrics.PrometheusConfig{
				ListenAddress: net.JoinHostPort(opts.IP, strconv.Itoa(ports[0])), HandlerPath: "/metrics",
			}},
		},
		Persistence: config.Persistence{
			DefaultStore:     sqliteplugin.PluginName,
			VisibilityStore:  sqliteplugin.PluginName,
			NumHistoryShards: 1,
			DataStores:       map[string]config.DataStore{sqliteplugin.PluginName: {SQL: sqlCfg}},
		},
		ClusterMetadata: &cluster.Config{
			FailoverVersionIncrement: 10,
			MasterClusterName:        "active",
			CurrentClusterName:       "active",
			ClusterInformation: map[string]cluster.ClusterInformation{
				"active": {Enabled: true, InitialFailoverVersion: 1, RPCAddress: frontend},
			},
		},
		// The services reach the frontend through the internal one, over
		// internode TLS: PublicClient names no address, so they find it
		// by membership. No service has an HTTPPort: the HTTP API is off.
		DCRedirectionPolicy: config.DCRedirectionPolicy{Policy: "noop"},
		Services: map[string]config.Service{
			"frontend":          service(opts.Port, ports[1]),
			"history":           service(ports[2], ports[3]),
			"matching":          service(ports[4], ports[5]),
			"worker":            service(ports[6], ports[7]),
			"internal-frontend": service(ports[9], ports[10]),
		},
		Archival: config.Archival{
			History:    config.HistoryArchival{State: "disabled"},
			Visibility: config.VisibilityArchival{State: "disabled"},
		},
		NamespaceDefaults: config.NamespaceDefaults{Archival: config.ArchivalNamespaceDefaults{
			History:    config.HistoryArchivalNamespaceDefaults{State: "disabled"},
			Visibility: config.VisibilityArchivalNamespaceDefaults{State: "disabled"},
		}},
	}
}

// freePorts asks the kernel for n distinct free TCP ports on ip.
func freePorts(ip string, n int) ([]int, error) {
	var ports []int
	var ls []net.Listener
	defer func() {
		for _, l := range ls {
			l.Close()
		}
	}()
	for range n {
		l, err := net.Listen("tcp", net.JoinHostPort(ip, "0"))
		if err != nil {
			return nil, fmt.Errorf("free port: %w", err)
		}
		ls = append(ls, l)
		ports = append(ports, l.Addr().(*net.TCPAddr).Port)
	}
	return ports, nil
}
