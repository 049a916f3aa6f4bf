package dockertest_test

import (
	"slices"
	"strings"
	"testing"

	"github.com/quell-ir/quell/internal/docker/dockertest"
)

func TestRun(t *testing.T) {
	t.Parallel()
	c := dockertest.Client(t)
	img := dockertest.Image(t, c)
	nets := []string{dockertest.Network(t, c), dockertest.Network(t, c)}
	ctr := dockertest.Run(t, c, img, dockertest.RunOptions{
		Networks: nets,
		Aliases:  []string{"victim"},
		Env:      []string{"QUELL_ROLE=victim"},
		Labels:   map[string]string{"role": "victim"},
	})
	if !ctr.Running || ctr.Labels[dockertest.Label] != "1" || ctr.Labels["role"] != "victim" {
		t.Errorf("Run() = %+v, want running with labels quell.test=1 and role=victim", ctr)
	}
	got, err := c.Attachments(t.Context(), ctr.ID)
	if err != nil {
		t.Fatalf("Attachments() = %v", err)
	}
	slices.Sort(nets)
	var gotNets []string
	for _, a := range got {
		gotNets = append(gotNets, a.Network)
		if !slices.Equal(a.Aliases, []string{"victim"}) {
			t.Errorf("aliases on %s = %q, want [victim]", a.Network, a.Aliases)
		}
	}
	if !slices.Equal(gotNets, nets) {
		t.Errorf("networks = %q, want %q", gotNets, nets)
	}
	// The daemon copies stdout and stderr from separate pipes, so their
	// order in the combined output is not fixed.
	out := dockertest.Exec(t, c, ctr.ID, "/bin/busybox", "sh", "-c", "echo $QUELL_ROLE; echo oops >&2")
	lines := strings.Split(strings.TrimSuffix(out, "\n"), "\n")
	slices.Sort(lines)
	if want := []string{"oops", "victim"}; !slices.Equal(lines, want) {
		t.Errorf("Exec() = %q, want the lines %q", out, want)
	}
}

func TestRunWithoutNetwork(t *testing.T) {
	t.Parallel()
	c := dockertest.Client(t)
	ctr := dockertest.Run(t, c, dockertest.Image(t, c), dockertest.RunOptions{})
	mode, err := c.NetworkMode(t.Context(), ctr.ID)
	if err != nil || mode != "none" {
		t.Errorf("NetworkMode() = %q, %v, want \"none\"", mode, err)
	}
	if out := dockertest.Exec(t, c, ctr.ID, "/bin/busybox", "ip", "-o", "link"); strings.Contains(out, "eth0") {
		t.Errorf("links = %q, want loopback only", out)
	}
}
