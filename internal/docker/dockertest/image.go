package dockertest

import (
	"context"
	"os"
	"testing"

	"github.com/moby/moby/client"

	"github.com/quell-ir/quell/internal/docker"
)

// BusyboxEnv names the environment variable that overrides the path of the
// static busybox binary the test image is built from.
const BusyboxEnv = "QUELL_TEST_BUSYBOX"

// defaultBusybox is where Debian's busybox-static package installs it.
const defaultBusybox = "/bin/busybox"

const dockerfile = "FROM scratch\nCOPY busybox /bin/busybox\n"

// Image builds an image FROM scratch holding only /bin/busybox, tagged
// quell-test/busybox:<random> and labelled quell.test=1, and returns the tag.
// When the test ends the tag is removed, and the image with it unless
// something else still references it. Run commands in it as
// []string{"/bin/busybox", "sh", "-c", "..."}.
func Image(t testing.TB, c *docker.Client) string {
	t.Helper()
	ref := "quell-test/busybox:" + randomHex(t)
	buildBusybox(t, c, ref, dockerfile, nil)
	t.Cleanup(func() { removeImage(t, c, ref) })
	return ref
}

// RemoveImage removes ref when the test ends: for images a test makes
// itself, such as a commit.
func RemoveImage(t testing.TB, c *docker.Client, ref string) {
	t.Helper()
	t.Cleanup(func() { removeImage(t, c, ref) })
}

func removeImage(t testing.TB, c *docker.Client, ref string) {
	ctx, cancel := context.WithTimeout(context.Background(), cleanupTimeout)
	defer cancel()
	_, err := c.API().ImageRemove(ctx, ref, client.ImageRemoveOptions{PruneChildren: true})
	if err != nil && !notFound(err) {
		t.Errorf("remove image %s: %v", ref, err)
	}
}

func busyboxPath() string {
	if p := os.Getenv(BusyboxEnv); p != "" {
		return p
	}
	return defaultBusybox
}
