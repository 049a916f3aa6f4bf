// Package webui serves the Temporal Web UI inside the quell process, next to
// the embedded Temporal server of quell dev, so an operator can watch
// incident workflows without installing anything else.
package webui

import (
	"errors"
	"fmt"
	"net"
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
	url      string
	done     chan struct{} // closed when the UI server returns
	serveErr error         // what it returned; read after done
	stopOnce sync.Once
	stopErr  error
}

// Start serves the Web UI in the background and returns once it accepts
// connections. The UI's own request logs are switched off.
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
	port, err := reservePort(opts.IP, opts.Port)
	if err != nil {
		return nil, err
	}
	ui, err := newUI(uiConfig(opts, port))
	if err != nil {
		return nil, err
	}
	addr := net.JoinHostPort(opts.IP, strconv.Itoa(port))
	s := &Server{ui: ui, url: "http://" + addr, done: make(chan struct{})}
	go s.serve()
	if err := waitListening(addr, s.done, startTimeout); err != nil {
		return nil, errors.Join(fmt.Errorf("web ui %s: %w", addr, err), s.Stop())
	}
	return s, nil
}

// URL is the address to open in a browser, such as http://127.0.0.1:8233.
func (s *Server) URL() string { return s.url }

// Stop closes the listener and every open connection, and waits for the
// server to return. It is safe to call more than once.
func (s *Server) Stop() error {
	s.stopOnce.Do(func() {
		s.ui.Stop()
		select {
		case <-s.done:
			if s.serveErr != nil {
				s.stopErr = fmt.Errorf("web ui: %w", s.serveErr)
			}
		case <-time.After(startTimeout):
			s.stopErr = errors.New("web ui: stop timed out")
		}
	})
	return s.stopErr
}

// serve runs the UI server until Stop closes it.
func (s *Server) serve() {
	defer close(s.done)
	s.serveErr = s.ui.Start()
}

// uiConfig is the UI server's configuration for a local, unauthenticated
// UI over plain HTTP that never calls out to the internet.
func uiConfig(opts Options, port int) *uiconfig.Config {
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
