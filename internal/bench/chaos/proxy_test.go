package chaos

import (
	"bufio"
	"io"
	"net"
	"path/filepath"
	"testing"
	"time"
)

// echo serves a unix socket that echoes each line back.
// echo serves an echo server on the network address and returns where it
// listens.
func echo(t *testing.T, network, addr string) string {
	t.Helper()
	l, err := net.Listen(network, addr)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { l.Close() })
	go func() {
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			go func() {
				defer c.Close()
				_, _ = io.Copy(c, c)
			}()
		}
	}()
	return l.Addr().String()
}

func roundTrip(c net.Conn, line string) (string, error) {
	_ = c.SetDeadline(time.Now().Add(2 * time.Second))
	if _, err := io.WriteString(c, line+"\n"); err != nil {
		return "", err
	}
	return bufio.NewReader(c).ReadString('\n')
}

func TestProxyCutAndRestore(t *testing.T) {
	dir := t.TempDir()
	target := filepath.Join(dir, "daemon.sock")
	echo(t, "unix", target)
	p, err := StartProxy(filepath.Join(dir, "proxy.sock"), target)
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()

	before, err := net.Dial("unix", p.Addr)
	if err != nil {
		t.Fatal(err)
	}
	defer before.Close()
	if got, err := roundTrip(before, "ping"); err != nil || got != "ping\n" {
		t.Fatalf("through the proxy: %q, %v", got, err)
	}

	p.Cut()
	if _, err := roundTrip(before, "again"); err == nil {
		t.Error("a connection open before the cut still works")
	}
	during, err := net.Dial("unix", p.Addr)
	if err == nil {
		if _, err := roundTrip(during, "hello"); err == nil {
			t.Error("a connection made during the cut works")
		}
		during.Close()
	}

	p.Restore()
	after, err := net.Dial("unix", p.Addr)
	if err != nil {
		t.Fatal(err)
	}
	defer after.Close()
	if got, err := roundTrip(after, "back"); err != nil || got != "back\n" {
		t.Errorf("after restore: %q, %v", got, err)
	}
}
