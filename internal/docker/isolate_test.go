package docker_test

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"net/netip"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/moby/moby/api/types/network"
	"github.com/moby/moby/client"

	"github.com/quell-ir/quell/internal/docker"
	"github.com/quell-ir/quell/internal/docker/dockertest"
)

func TestIsolateAndRestore(t *testing.T) {
	t.Parallel()
	c := dockertest.Client(t)
	ctx := t.Context()
	img := dockertest.Image(t, c)
	front, back := dockertest.Network(t, c), dockertest.Network(t, c)
	ctr := dockertest.Run(t, c, img, dockertest.RunOptions{Networks: []string{front}, Aliases: []string{"web"}})
	if err := c.Connect(ctx, ctr.ID, docker.Attachment{Network: back}); err != nil {
		t.Fatalf("Connect(%s) = %v", back, err)
	}

	before, err := c.Attachments(ctx, ctr.ID)
	if err != nil {
		t.Fatalf("Attachments() = %v", err)
	}
	got := summarize(before)
	want := sortedSummary(map[string][]string{front: {"web"}, back: nil})
	if !slices.Equal(got, want) {
		t.Fatalf("Attachments() = %q, want %q", got, want)
	}

	isolate(t, c, ctr.ID, before)
	assertState(t, c, ctr.ID, true, nil)
	restore(t, c, ctr.ID, before)
	assertState(t, c, ctr.ID, false, want)
	after, _ := c.Attachments(ctx, ctr.ID)
	t.Logf("attachments before %+v, after %+v", before, after)
}

func TestConnectRestoresStaticAddress(t *testing.T) {
	t.Parallel()
	c := dockertest.Client(t)
	ctx := t.Context()
	img := dockertest.Image(t, c)
	nw, subnet := subnetNetwork(t, c)
	ip := subnet.Addr().Next().Next().Next().Next().Next()
	// A container in network mode "none" cannot join other networks.
	ctr := dockertest.Run(t, c, img, dockertest.RunOptions{Networks: []string{dockertest.Network(t, c)}})
	a := docker.Attachment{Network: nw, Aliases: []string{"db"}, IPv4: ip.String()}
	if err := c.Connect(ctx, ctr.ID, a); err != nil {
		t.Fatalf("Connect(%+v) = %v", a, err)
	}
	if err := c.Disconnect(ctx, ctr.ID, nw); err != nil {
		t.Fatalf("Disconnect() = %v", err)
	}
	if err := c.Connect(ctx, ctr.ID, a); err != nil {
		t.Fatalf("Connect(%+v) = %v", a, err)
	}
	got, err := c.Attachments(ctx, ctr.ID)
	if err != nil {
		t.Fatalf("Attachments() = %v", err)
	}
	i := slices.IndexFunc(got, func(g docker.Attachment) bool { return g.Network == nw })
	if i < 0 || got[i].IPv4 != a.IPv4 || !slices.Equal(got[i].Aliases, a.Aliases) {
		t.Errorf("Attachments() = %+v, want one on %s with %s and alias db", got, nw, a.IPv4)
	}
}

func TestNetworkModeNone(t *testing.T) {
	t.Parallel()
	c := dockertest.Client(t)
	ctr := dockertest.Run(t, c, dockertest.Image(t, c), dockertest.RunOptions{})
	mode, err := c.NetworkMode(t.Context(), ctr.ID)
	if err != nil || mode != "none" {
		t.Errorf("NetworkMode() = %q, %v, want \"none\", nil", mode, err)
	}
	got, err := c.Attachments(t.Context(), ctr.ID)
	if err != nil || len(got) != 0 {
		t.Errorf("Attachments() = %+v, %v, want none", got, err)
	}
}

func TestPauseStoppedContainer(t *testing.T) {
	t.Parallel()
	c := dockertest.Client(t)
	ctx := t.Context()
	ctr := dockertest.Run(t, c, dockertest.Image(t, c), dockertest.RunOptions{})
	if _, err := c.API().ContainerKill(ctx, ctr.ID, client.ContainerKillOptions{}); err != nil {
		t.Fatalf("kill: %v", err)
	}
	wait := c.API().ContainerWait(ctx, ctr.ID, client.ContainerWaitOptions{})
	select {
	case <-wait.Result:
	case err := <-wait.Error:
		t.Fatalf("wait: %v", err)
	}
	if err := c.Pause(ctx, ctr.ID); !errors.Is(err, docker.ErrNotRunning) {
		t.Errorf("Pause() = %v, want ErrNotRunning", err)
	}
}

// isolate cuts every attachment and freezes the container, twice: the
// second round must find the work done and succeed.
func isolate(t *testing.T, c *docker.Client, id string, as []docker.Attachment) {
	t.Helper()
	for round := 1; round <= 2; round++ {
		start := time.Now()
		for _, a := range as {
			if err := c.Disconnect(t.Context(), id, a.Network); err != nil {
				t.Fatalf("round %d: Disconnect(%s) = %v", round, a.Network, err)
			}
		}
		if err := c.Pause(t.Context(), id); err != nil {
			t.Fatalf("round %d: Pause() = %v", round, err)
		}
		t.Logf("isolate round %d (disconnect %d networks, pause) took %v", round, len(as), time.Since(start))
	}
}

// restore reconnects every attachment while the container is still frozen,
// then thaws it, twice: the second round must succeed as a no-op.
func restore(t *testing.T, c *docker.Client, id string, as []docker.Attachment) {
	t.Helper()
	for round := 1; round <= 2; round++ {
		start := time.Now()
		for _, a := range as {
			if err := c.Connect(t.Context(), id, a); err != nil {
				t.Fatalf("round %d: Connect(%s) = %v", round, a.Network, err)
			}
		}
		if err := c.Unpause(t.Context(), id); err != nil {
			t.Fatalf("round %d: Unpause() = %v", round, err)
		}
		t.Logf("restore round %d (connect %d networks, unpause) took %v", round, len(as), time.Since(start))
	}
}

// assertState checks the container's paused flag and network attachments
// (as summarize gives them).
func assertState(t *testing.T, c *docker.Client, id string, paused bool, attachments []string) {
	t.Helper()
	ctr, err := c.Container(t.Context(), id)
	if err != nil {
		t.Fatalf("Container() = %v", err)
	}
	if ctr.Paused != paused {
		t.Errorf("Paused = %v, want %v", ctr.Paused, paused)
	}
	got, err := c.Attachments(t.Context(), id)
	if err != nil {
		t.Fatalf("Attachments() = %v", err)
	}
	if !slices.Equal(summarize(got), attachments) {
		t.Errorf("Attachments() = %q, want %q", summarize(got), attachments)
	}
}

// summarize renders attachments as "network [aliases]" for comparison; the
// addresses are dynamic.
func summarize(as []docker.Attachment) []string {
	var out []string
	for _, a := range as {
		out = append(out, fmt.Sprintf("%s %v", a.Network, a.Aliases))
	}
	return out
}

func sortedSummary(aliases map[string][]string) []string {
	var out []docker.Attachment
	for nw, al := range aliases {
		out = append(out, docker.Attachment{Network: nw, Aliases: al})
	}
	slices.SortFunc(out, func(a, b docker.Attachment) int { return strings.Compare(a.Network, b.Network) })
	return summarize(out)
}

// subnetNetwork creates an internal network with a user-configured subnet,
// which the daemon requires before it honours a requested address. It picks
// a random 10.x.y.0/24 and tries again if that overlaps an existing network.
func subnetNetwork(t *testing.T, c *docker.Client) (string, netip.Prefix) {
	t.Helper()
	for range 10 {
		subnet := netip.PrefixFrom(netip.AddrFrom4([4]byte{10, byte(200 + rand.IntN(50)), byte(rand.IntN(256)), 0}), 24)
		name := fmt.Sprintf("quell-test-subnet-%d", rand.Uint32())
		_, err := c.API().NetworkCreate(t.Context(), name, client.NetworkCreateOptions{
			Driver:   "bridge",
			Internal: true,
			IPAM:     &network.IPAM{Config: []network.IPAMConfig{{Subnet: subnet}}},
			Labels:   map[string]string{dockertest.Label: "1"},
		})
		if err != nil {
			t.Logf("create network %s on %s: %v", name, subnet, err)
			continue
		}
		t.Cleanup(func() {
			ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
			defer cancel()
			if _, err := c.API().NetworkRemove(ctx, name, client.NetworkRemoveOptions{}); err != nil {
				t.Errorf("remove network %s: %v", name, err)
			}
		})
		return name, subnet
	}
	t.Fatal("no free subnet for a test network")
	return "", netip.Prefix{}
}
