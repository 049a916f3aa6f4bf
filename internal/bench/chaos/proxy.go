package chaos

import (
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"sync"
	"sync/atomic"
	"time"
)

// Proxy forwards a unix socket to the Docker daemon's socket, byte for
// byte, and can cut the daemon off: while cut, it closes every forwarded
// connection and every new one at once, as a daemon that went away would.
// It can also hold the daemon's answers for a while, as Lag does, so that
// a trial learns of an action from the daemon's events before the client
// that asked for it hears back.
type Proxy struct {
	// Path is the proxy's socket; point DOCKER_HOST at unix://<Path>.
	Path string

	target string
	l      net.Listener
	wg     sync.WaitGroup
	delay  atomic.Int64

	mu    sync.Mutex
	cut   bool
	conns map[net.Conn]struct{}
}

// StartProxy listens on path and forwards to the socket at target.
func StartProxy(path, target string) (*Proxy, error) {
	_ = os.Remove(path)
	l, err := net.Listen("unix", path)
	if err != nil {
		return nil, fmt.Errorf("docker proxy: %w", err)
	}
	p := &Proxy{Path: path, target: target, l: l, conns: map[net.Conn]struct{}{}}
	p.wg.Add(1)
	go p.serve()
	return p, nil
}

func (p *Proxy) serve() {
	defer p.wg.Done()
	for {
		c, err := p.l.Accept()
		if err != nil {
			return
		}
		if !p.track(c) {
			c.Close()
			continue
		}
		p.wg.Add(1)
		go func() {
			defer p.wg.Done()
			p.forward(c)
		}()
	}
}

// track registers a client connection, refusing it while cut.
func (p *Proxy) track(c net.Conn) bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.cut {
		return false
	}
	p.conns[c] = struct{}{}
	return true
}

func (p *Proxy) untrack(cs ...net.Conn) {
	p.mu.Lock()
	defer p.mu.Unlock()
	for _, c := range cs {
		delete(p.conns, c)
		c.Close()
	}
}

// forward copies both ways between the client and the daemon until either
// side closes.
func (p *Proxy) forward(client net.Conn) {
	daemon, err := net.Dial("unix", p.target)
	if err != nil {
		p.untrack(client)
		return
	}
	if !p.track(daemon) {
		p.untrack(client, daemon)
		return
	}
	done := make(chan struct{}, 2)
	closeWrite := func(c net.Conn) {
		if cw, ok := c.(interface{ CloseWrite() error }); ok {
			_ = cw.CloseWrite()
		}
		done <- struct{}{}
	}
	go func() {
		_, _ = io.Copy(daemon, client)
		closeWrite(daemon)
	}()
	go func() {
		_ = lateCopy(client, daemon, p.delay.Load)
		closeWrite(client)
	}()
	<-done
	<-done
	p.untrack(client, daemon)
}

// Hold delays the daemon's answers from now on by d; 0 passes them on at
// once. What is already held keeps its time.
func (p *Proxy) Hold(d time.Duration) { p.delay.Store(int64(d)) }

// Cut closes every connection through the proxy and refuses new ones
// until Restore.
func (p *Proxy) Cut() {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.cut = true
	for c := range p.conns {
		c.Close()
		delete(p.conns, c)
	}
}

// Restore forwards connections again.
func (p *Proxy) Restore() {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.cut = false
}

// Close stops the proxy and closes every connection.
func (p *Proxy) Close() error {
	err := p.l.Close()
	p.Cut()
	p.wg.Wait()
	if rerr := os.Remove(p.Path); rerr != nil && !errors.Is(rerr, os.ErrNotExist) {
		err = errors.Join(err, rerr)
	}
	return err
}
