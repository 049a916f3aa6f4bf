// Package webui serves the Temporal Web UI inside the quell process, next to
// the embedded Temporal server of quell dev, so an operator can watch
// incident workflows without installing anything else.
//
// The UI sits behind a gate: a browser gets in with the login URL printed
// at start (LoginURL), which sets an HttpOnly, SameSite=Strict session
// cookie, and any other request is answered 401 before it reaches the UI
// server. The UI is read-only unless Options.Writable says otherwise: quell's
// API is the way to act on an incident, with its checks and its record.
package webui

import (
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"sync"
	"time"

	uiserver "github.com/temporalio/ui-server/v2/server"
	uiconfig "github.com/temporalio/ui-server/v2/server/config"
	uioptions "github.com/temporalio/ui-server/v2/server/server_options"
)

// startTimeout bounds how long Start waits for the UI to accept connections.
const startTimeout = 10 * time.Second

// Options configure the Web UI.
type Options struct {
	// TemporalAddress is the host:port of the Temporal frontend's gRPC API.
	TemporalAddress string
	// APIKey is the credential the UI presents to the frontend as a bearer
	// token: devserver.Server.ReadOnlyKey, or its APIKey when Writable.
	// Only the gate holds it. Empty presents none.
	APIKey string
	// Writable lets the UI terminate, cancel, signal, update, reset and
	// start workflows, bypassing quell's API, its approvals and its
	// record. Off by default; say so loudly when it is on.
	Writable bool
	// IP is the address the UI binds to; default 127.0.0.1.
	IP string
	// Port is the UI's HTTP port; 0 picks a free one.
	Port int
	// Namespace is the namespace the UI opens first; default "default".
	Namespace string
}

// Server is a running Web UI.
type Server struct {
	ui       *uiserver.Server
	inner    string // the UI server's own address
	http     *http.Server
	url      string
	login    string
	done     chan struct{} // closed when the UI server returns
	serveErr error         // what it returned; read after done
	stopOnce sync.Once
	stopErr  error
}

// Start serves the Web UI in the background and returns once it accepts
// connections. The UI server listens on a port of its own on opts.IP,
// where it holds no credential; the gate listens on opts.Port.
func Start(opts Options) (*Server, error) {
	if opts.TemporalAddress == "" {
		return nil, errors.New("web ui: temporal address is empty")
	}
	if opts.IP == "" {
		opts.IP = "127.0.0.1"
	}
	if opts.Namespace == "" {
		opts.Namespace = "default"
	}
	if opts.Port < 0 || opts.Port > 65535 {
		return nil, fmt.Errorf("web ui port %d: out of range", opts.Port)
	}
	l, err := net.Listen("tcp", net.JoinHostPort(opts.IP, strconv.Itoa(opts.Port)))
	if err != nil {
		return nil, fmt.Errorf("web ui port %d: %w", opts.Port, err)
	}
	s, err := startUI(opts)
	if err != nil {
		l.Close()
		return nil, err
	}
	port := l.Addr().(*net.TCPAddr).Port
	g := newGate(&url.URL{Scheme: "http", Host: s.inner}, "quell-ui-"+strconv.Itoa(port), opts.APIKey, opts.Writable)
	s.url = "http://" + l.Addr().String()
	s.login = s.url + "/?" + tokenParam + "=" + string(g.token)
	s.http = &http.Server{Handler: g, ReadHeaderTimeout: 10 * time.Second}
	go func() { _ = s.http.Serve(l) }()
	return s, nil
}

// startUI starts the UI server on a free port and waits until it listens.
func startUI(opts Options) (*Server, error) {
	port, err := reservePort(opts.IP, 0)
	if err != nil {
		return nil, err
	}
	ui, err := newUI(uiConfig(opts, port))
	if err != nil {
		return nil, err
	}
	s := &Server{ui: ui, inner: net.JoinHostPort(opts.IP, strconv.Itoa(port)), done: make(chan struct{})}
	go s.serve()
	if err := waitListening(s.inner, s.done, startTimeout); err != nil {
		return nil, errors.Join(fmt.Errorf("web ui %s: %w", s.inner, err), s.Stop())
	}
	return s, nil
}

// URL is the UI's address, such as http://127.0.0.1:8233, for links: a
// browser that has not logged in is asked for the login URL.
func (s *Server) URL() string { return s.url }

// LoginURL is the URL that logs a browser in, with the login token in
// it; it is good until the process ends. Print it for the operator, never
// in a link, a log or a notification.
func (s *Server) LoginURL() string { return s.login }

// Stop closes the listeners and every open connection, and waits for the
// UI server to return. It is safe to call more than once.
func (s *Server) Stop() error {
	s.stopOnce.Do(func() {
		var herr error
		if s.http != nil {
			herr = s.http.Close()
		}
		s.ui.Stop()
		select {
		case <-s.done:
			if s.serveErr != nil {
				s.stopErr = fmt.Errorf("web ui: %w", s.serveErr)
			}
		case <-time.After(startTimeout):
			s.stopErr = errors.New("web ui: stop timed out")
		}
		if herr != nil {
			s.stopErr = errors.Join(s.stopErr, fmt.Errorf("web ui: %w", herr))
		}
	})
	return s.stopErr
}

// serve runs the UI server until Stop closes it.
func (s *Server) serve() {
	defer close(s.done)
	s.serveErr = s.ui.Start()
}

// uiConfig is the UI server's configuration for a local UI over plain
// HTTP, behind the gate, that never calls out to the internet, with its
// write actions off unless opts.Writable.
func uiConfig(opts Options, port int) *uiconfig.Config {
	readOnly := !opts.Writable
	return &uiconfig.Config{
		TemporalGRPCAddress: opts.TemporalAddress,
		Host:                opts.IP,
		Port:                port,
		EnableUI:            true,
		DefaultNamespace:    opts.Namespace,
		// Plain HTTP: the CSRF cookie must not be marked Secure.
		CORS:               uiconfig.CORS{CookieInsecure: true},
		DisableNewsFetch:   true,
		NotifyOnNewVersion: false,
		HideLogs:           true,
		// The UI hides what it cannot do and the UI server refuses it.
		DisableWriteActions:       readOnly,
		WorkflowTerminateDisabled: readOnly,
		WorkflowCancelDisabled:    readOnly,
		WorkflowSignalDisabled:    readOnly,
		WorkflowUpdateDisabled:    readOnly,
		WorkflowResetDisabled:     readOnly,
		WorkflowPauseDisabled:     readOnly,
		BatchActionsDisabled:      readOnly,
		StartWorkflowDisabled:     readOnly,
		ActivityCommandsDisabled:  readOnly,
	}
}

// newUI builds the UI server, turning the panics its constructor uses for
// configuration errors into an error.
func newUI(cfg *uiconfig.Config) (ui *uiserver.Server, err error) {
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("web ui: %v", r)
		}
	}()
	return uiserver.NewServer(uioptions.WithConfigProvider(cfg)), nil
}
