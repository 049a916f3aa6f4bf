package webui

import (
	"errors"
	"fmt"
	"net"
	"strconv"
	"time"
)

// reservePort checks that port can be bound on ip, picking a free port when
// it is 0, and returns the port. The UI server opens its own listener and
// exits the process when that fails, so a busy port is caught here first.
func reservePort(ip string, port int) (int, error) {
	if port < 0 || port > 65535 {
		return 0, fmt.Errorf("web ui port %d: out of range", port)
	}
	l, err := net.Listen("tcp", net.JoinHostPort(ip, strconv.Itoa(port)))
	if err != nil {
		return 0, fmt.Errorf("web ui port %d: %w", port, err)
	}
	port = l.Addr().(*net.TCPAddr).Port
	if err := l.Close(); err != nil {
		return 0, fmt.Errorf("web ui port %d: %w", port, err)
	}
	return port, nil
}

// waitListening dials addr until it answers, the server returns early
// (done is closed), or timeout passes.
func waitListening(addr string, done <-chan struct{}, timeout time.Duration) error {
	deadline := time.Now().Add(timeout)
	for {
		c, err := net.DialTimeout("tcp", addr, time.Second)
		if err == nil {
			return c.Close()
		}
		select {
		case <-done:
			return errors.New("server returned before listening")
		case <-time.After(20 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("not listening after %s: %w", timeout, err)
		}
	}
}
