// Package dockertest gives tests in other packages a real Docker daemon to
// work against: a client, a locally built busybox image, internal networks
// and containers, each labelled quell.test=1 and removed when the test ends.
//
// Nothing here pulls an image or reaches a network beyond the host: images
// are built FROM scratch with the host's static busybox, and containers get
// no network or only internal ones.
//
// When the daemon is unreachable the test is skipped, unless the environment
// has CI=true, where it fails.
package dockertest

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"os"
	"testing"
	"time"

	cerrdefs "github.com/containerd/errdefs"
	"github.com/moby/moby/client"

	"github.com/quell-ir/quell/internal/docker"
)

// Label marks everything this package creates, so a leak is easy to find:
// docker ps -a --filter label=quell.test=1.
const Label = "quell.test"

// cleanupTimeout bounds each removal at the end of a test.
const cleanupTimeout = 2 * time.Minute

// Client returns a client for the environment's Docker daemon, closed when
// the test ends. It skips the test when the daemon does not answer, or fails
// it when CI=true.
func Client(t testing.TB) *docker.Client {
	t.Helper()
	c, err := docker.New("")
	if err != nil {
		Unavailable(t, "docker client: %v", err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := c.Ping(ctx); err != nil {
		c.Close()
		Unavailable(t, "docker daemon unreachable: %v", err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

// Network creates an internal bridge network with a unique name, labelled
// quell.test=1, and removes it when the test ends. It returns the name.
func Network(t testing.TB, c *docker.Client) string {
	t.Helper()
	name := "quell-test-" + randomHex(t)
	_, err := c.API().NetworkCreate(t.Context(), name, client.NetworkCreateOptions{
		Driver:   "bridge",
		Internal: true,
		Labels:   map[string]string{Label: "1"},
	})
	if err != nil {
		t.Fatalf("create network %s: %v", name, err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), cleanupTimeout)
		defer cancel()
		_, err := c.API().NetworkRemove(ctx, name, client.NetworkRemoveOptions{})
		if err != nil && !notFound(err) {
			t.Errorf("remove network %s: %v", name, err)
		}
	})
	return name
}

// Unavailable skips the test because something it needs of the daemon is
// missing, or fails it when CI=true, where a missing component is a
// failure.
func Unavailable(t testing.TB, format string, args ...any) {
	t.Helper()
	if os.Getenv("CI") == "true" {
		t.Fatalf(format, args...)
	}
	t.Skipf(format, args...)
}

// randomHex returns 12 random hex digits for unique names and tags.
func randomHex(t testing.TB) string {
	t.Helper()
	b := make([]byte, 6)
	if _, err := rand.Read(b); err != nil {
		t.Fatalf("random name: %v", err)
	}
	return hex.EncodeToString(b)
}

// notFound reports whether err says the object is already gone.
func notFound(err error) bool {
	return errors.Is(err, docker.ErrNotFound) || cerrdefs.IsNotFound(err)
}
