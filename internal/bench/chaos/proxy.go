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

// Proxy forwards connections to a target byte for byte, over a unix socket
// (to the Docker daemon) or TCP (to Temporal). It can cut the target off:
// while cut, it closes every forwarded connection and every new one at
// once, as a daemon that went away would. It can also hold what the target
// sends back for a while, while what clients send goes through at once:
//   - between the worker and the daemon, a trial learns of an action from
//     the daemon's events before the worker that asked for it hears back;
//   - between the worker and Temporal, a step boundary becomes a moment
//     the trials can reach first: Temporal records a step's activity
//     completed as soon as the worker reports it, and the rig, which reads
//     the history directly, learns it at once, while the workflow task that
//     schedules the next step, and the activity task itself, reach the
//     worker only after the delay. Killed then, the worker has not started
//     the next step, whose retry would otherwise wait out its timeout.
type Proxy struct {
	// Addr is the proxy's address: a socket path for a unix proxy (point
	// DOCKER_HOST at unix://<Addr>), host:port for a TCP one.
	Addr string

	network string
	target  string
	l       net.Listener
	wg      sync.WaitGroup
	delay   atomic.Int64

	mu    sync.Mutex
	cut   bool
	conns map[net.Conn]struct{}
}

// StartProxy listens on the unix socket path and forwards to the socket at
// target.
func StartProxy(path, target string) (*Proxy, error) {
	_ = os.Remove(path)
	return start("unix", path, target)
}

// StartTCPProxy listens on a free loopback port and forwards to the TCP
// address target.
func StartTCPProxy(target string) (*Proxy, error) {
	return start("tcp", "127.0.0.1:0", target)
}

func start(network, addr, target string) (*Proxy, error) {
	l, err := net.Listen(network, addr)
	if err != nil {
		return nil, fmt.Errorf("proxy to %s: %w", target, err)
	}
	p := &Proxy{Addr: l.Addr().String(), network: network, target: target, l: l, conns: map[net.Conn]struct{}{}}
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

// forward copies both ways between the client and the target until both
// sides close, the target's bytes after the hold.
func (p *Proxy) forward(client net.Conn) {
	daemon, err := net.Dial(p.network, p.target)
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

// Hold delays what the target sends from now on by d; 0 passes it on at
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
	if p.network != "unix" {
		return err
	}
	if rerr := os.Remove(p.Addr); rerr != nil && !errors.Is(rerr, os.ErrNotExist) {
		err = errors.Join(err, rerr)
	}
	return err
}

// chunk is what was read, and when to pass it on.
type chunk struct {
	data []byte
	due  time.Time
}

// lateCopy copies src to dst, passing on each read delay() nanoseconds
// after it came, in order, until src ends (then once everything held is
// written) or a write fails.
func lateCopy(dst io.Writer, src io.Reader, delay func() int64) error {
	held := make(chan chunk, 1024)
	go func() {
		defer close(held)
		for {
			buf := make([]byte, 32<<10)
			n, err := src.Read(buf)
			if n > 0 {
				held <- chunk{data: buf[:n], due: time.Now().Add(time.Duration(delay()))}
			}
			if err != nil {
				return
			}
		}
	}()
	for c := range held {
		time.Sleep(time.Until(c.due))
		if _, err := dst.Write(c.data); err != nil {
			go func() {
				for range held { // let the reader end with src
				}
			}()
			return err
		}
	}
	return nil
}
