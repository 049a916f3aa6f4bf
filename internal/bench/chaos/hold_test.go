package chaos

import (
	"net"
	"testing"
	"time"
)

func TestTCPProxyHoldsWhatTheTargetSends(t *testing.T) {
	g, err := StartTCPProxy(echo(t, "tcp", "127.0.0.1:0"))
	if err != nil {
		t.Fatal(err)
	}
	defer g.Close()
	c, err := net.Dial("tcp", g.Addr)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	trip := func(line string) time.Duration {
		t.Helper()
		start := time.Now()
		_ = c.SetDeadline(start.Add(5 * time.Second))
		got, err := roundTrip(c, line)
		if err != nil || got != line+"\n" {
			t.Fatalf("through the proxy: %q, %v", got, err)
		}
		return time.Since(start)
	}
	if d := trip("at once"); d > 150*time.Millisecond {
		t.Errorf("no delay set, round trip took %s", d)
	}
	g.Hold(300 * time.Millisecond)
	if d := trip("late"); d < 300*time.Millisecond {
		t.Errorf("delay 300ms, round trip took %s", d)
	}
	g.Hold(0)
	if d := trip("at once again"); d > 150*time.Millisecond {
		t.Errorf("delay back to 0, round trip took %s", d)
	}
}
