package chaos

import (
	"errors"
	"fmt"
	"io"
	"net"
	"sync"
	"sync/atomic"
	"time"
)

// Lag forwards TCP connections to a target and holds what the target sends
// back for a delay that can be changed at any time; what the clients send
// goes through at once. Between the worker and Temporal it makes a step
// boundary a moment the trials can reach first: Temporal records a step's
// activity completed as soon as the worker reports it, and the rig, which
// reads the history directly, learns it at once, while the workflow task
// that schedules the next step, and the activity task itself, reach the
// worker only after the delay. Killed then, the worker has not started the
// next step, whose retry would otherwise wait out its timeout.
type Lag struct {
	// Addr is the address to dial instead of the target's.
	Addr string

	target string
	l      net.Listener
	delay  atomic.Int64
	wg     sync.WaitGroup

	mu    sync.Mutex
	conns map[net.Conn]struct{}
}

// StartLag listens on a free loopback port and forwards to target, with no
// delay until Set.
func StartLag(target string) (*Lag, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, fmt.Errorf("lag proxy: %w", err)
	}
	g := &Lag{Addr: l.Addr().String(), target: target, l: l, conns: map[net.Conn]struct{}{}}
	g.wg.Add(1)
	go g.serve()
	return g, nil
}

// Set delays what the target sends from now on by d; 0 forwards at once.
// What is already held keeps its time.
func (g *Lag) Set(d time.Duration) { g.delay.Store(int64(d)) }

func (g *Lag) serve() {
	defer g.wg.Done()
	for {
		c, err := g.l.Accept()
		if err != nil {
			return
		}
		g.wg.Add(1)
		go func() {
			defer g.wg.Done()
			g.forward(c)
		}()
	}
}

func (g *Lag) track(cs ...net.Conn) {
	g.mu.Lock()
	defer g.mu.Unlock()
	for _, c := range cs {
		g.conns[c] = struct{}{}
	}
}

func (g *Lag) untrack(cs ...net.Conn) {
	g.mu.Lock()
	defer g.mu.Unlock()
	for _, c := range cs {
		delete(g.conns, c)
		c.Close()
	}
}

// forward copies the client's bytes to the target at once and the
// target's back to the client after the delay, in order, until either
// side closes.
func (g *Lag) forward(client net.Conn) {
	server, err := net.Dial("tcp", g.target)
	if err != nil {
		client.Close()
		return
	}
	g.track(client, server)
	defer g.untrack(client, server)
	done := make(chan struct{}, 2)
	go func() {
		_, _ = io.Copy(server, client)
		done <- struct{}{}
	}()
	go func() {
		_ = lateCopy(client, server, g.delay.Load)
		done <- struct{}{}
	}()
	<-done // either side closing ends both
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

// Close stops listening and closes every connection.
func (g *Lag) Close() error {
	err := g.l.Close()
	g.mu.Lock()
	for c := range g.conns {
		c.Close()
	}
	g.mu.Unlock()
	g.wg.Wait()
	if errors.Is(err, net.ErrClosed) {
		err = nil
	}
	return err
}
