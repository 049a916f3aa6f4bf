package dockertest_test

import (
	"strings"
	"testing"

	"github.com/quell-ir/quell/internal/docker/dockertest"
)

func TestBuildFrom(t *testing.T) {
	t.Parallel()
	c := dockertest.Client(t)
	ref := "quell-test/buildfrom:" + strings.ToLower(t.Name())
	id := dockertest.BuildFrom(t, c, ref, "FROM scratch\nCOPY busybox /bin/busybox\nCOPY etc/motd /etc/motd\n",
		map[string][]byte{"etc/motd": []byte("trusted\n")})
	img, err := c.ImageInspect(t.Context(), ref)
	if err != nil || img.ID != id || img.Labels[dockertest.Label] != "1" {
		t.Fatalf("ImageInspect(%s) = %+v, %v, want %s labelled %s=1", ref, img, err, id, dockertest.Label)
	}
	ctr := dockertest.Run(t, c, ref, dockertest.RunOptions{})
	if got := dockertest.Exec(t, c, ctr.ID, "/bin/busybox", "cat", "/etc/motd"); got != "trusted\n" {
		t.Errorf("/etc/motd = %q, want \"trusted\\n\"", got)
	}
}
