package dockertest

import (
	"bytes"
	"context"
	"errors"
	"os"
	"path/filepath"
	"testing"

	"github.com/quell-ir/quell/internal/docker"
)

// BuildFrom builds dockerfile with docker.Client.BuildImage from a context
// holding the host's static busybox as "busybox" and files (relative
// slash-separated paths; content beginning with "#!" is made executable).
// The image is tagged ref, labelled quell.test=1, built without network, and
// removed by ID when the test ends unless a container still uses it. It
// returns the image ID. The Dockerfile must start FROM scratch or a local
// image: nothing is pulled.
func BuildFrom(t testing.TB, c *docker.Client, ref string, dockerfile string, files map[string][]byte) string {
	t.Helper()
	id := buildBusybox(t, c, ref, dockerfile, files)
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), cleanupTimeout)
		defer cancel()
		if _, err := c.RemoveImage(ctx, id); err != nil && !errors.Is(err, docker.ErrNotFound) {
			t.Errorf("remove image %s (%s): %v", ref, id, err)
		}
	})
	return id
}

// buildBusybox builds dockerfile from a context of busybox and files, tagged ref
// and labelled quell.test=1, and returns the image ID.
func buildBusybox(t testing.TB, c *docker.Client, ref string, dockerfile string, files map[string][]byte) string {
	t.Helper()
	bin := Busybox(t)
	dir := t.TempDir()
	write := func(name string, data []byte, mode os.FileMode) {
		p := filepath.Join(dir, filepath.FromSlash(name))
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatalf("build context: %v", err)
		}
		if err := os.WriteFile(p, data, mode); err != nil {
			t.Fatalf("build context: %v", err)
		}
	}
	write("busybox", bin, 0o755)
	for name, data := range files {
		mode := os.FileMode(0o644)
		if bytes.HasPrefix(data, []byte("#!")) {
			mode = 0o755
		}
		write(name, data, mode)
	}
	write("Dockerfile", []byte(dockerfile), 0o644)

	var log bytes.Buffer
	id, err := c.BuildImage(t.Context(), docker.BuildOptions{
		ContextDir:  dir,
		Tags:        []string{ref},
		Labels:      map[string]string{Label: "1"},
		NetworkMode: "none",
	}, &log)
	if err != nil {
		t.Fatalf("build image %s: %v\n%s", ref, err, log.String())
	}
	return id
}

// Busybox returns the host's static busybox binary, skipping the test (or
// failing it when CI=true) when there is none.
func Busybox(t testing.TB) []byte {
	t.Helper()
	bin, err := os.ReadFile(busyboxPath())
	if err != nil {
		Unavailable(t, "static busybox for the test image (apt-get install busybox-static, or set %s): %v", BusyboxEnv, err)
	}
	return bin
}
