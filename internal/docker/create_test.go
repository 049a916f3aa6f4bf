package docker_test

import (
	"slices"
	"strings"
	"testing"

	"github.com/moby/moby/client"

	"github.com/quell-ir/quell/internal/docker"
	"github.com/quell-ir/quell/internal/docker/dockertest"
)

// TestCreateFromAddresses replaces a container attached to two networks:
// one without a user-configured subnet, where the daemon refuses the old
// address, and one with a subnet, where the address is kept while free.
func TestCreateFromAddresses(t *testing.T) {
	t.Parallel()
	c := dockertest.Client(t)
	ctx := t.Context()
	img := dockertest.Image(t, c)
	plain := dockertest.Network(t, c)
	sub, subnet := subnetNetwork(t, c)
	ip := subnet.Addr().Next().Next().Next().Next().Next().String()
	src := dockertest.Run(t, c, img, dockertest.RunOptions{Networks: []string{plain}, Aliases: []string{"api"}})
	if err := c.Connect(ctx, src.ID, docker.Attachment{Network: sub, Aliases: []string{"db"}, IPv4: ip}); err != nil {
		t.Fatalf("Connect() = %v", err)
	}
	before, err := c.Attachments(ctx, src.ID)
	if err != nil {
		t.Fatal(err)
	}
	spec, err := c.Spec(ctx, src.ID)
	if err != nil {
		t.Fatalf("Spec() = %v", err)
	}
	for _, a := range before {
		if err := c.Disconnect(ctx, src.ID, a.Network); err != nil {
			t.Fatal(err)
		}
	}
	spec = spec.WithNetworks(before)

	first := createAndStart(t, c, spec, img, "quell-test-r1-"+randomSuffix())
	got := byNetwork(t, c, first)
	if got[sub].IPv4 != ip || !slices.Equal(got[sub].Aliases, []string{"db"}) || !slices.Equal(got[plain].Aliases, []string{"api"}) {
		t.Errorf("first replacement attachments = %+v, want %s with alias db on %s and alias api on %s", got, ip, sub, plain)
	}
	res, err := c.API().ContainerInspect(ctx, first, client.ContainerInspectOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if ep := res.Container.NetworkSettings.Networks[plain]; ep.IPAMConfig != nil && ep.IPAMConfig.IPv4Address.IsValid() {
		t.Errorf("endpoint on %s asks for %s, want no static address: the network has no user subnet", plain, ep.IPAMConfig.IPv4Address)
	}

	// The address is taken now: a second replacement gets another one.
	second := createAndStart(t, c, spec, img, "quell-test-r2-"+randomSuffix())
	if got := byNetwork(t, c, second); got[sub].IPv4 == "" || got[sub].IPv4 == ip {
		t.Errorf("second replacement on %s has %q, want an address other than %s", sub, got[sub].IPv4, ip)
	}

	// A name held by a container CreateFrom did not make is an error.
	_, err = c.CreateFrom(ctx, spec, img, src.Name, map[string]string{dockertest.Label: "1", "quell.replaces": src.ID})
	if err == nil || !strings.Contains(err.Error(), "already in use") {
		t.Errorf("CreateFrom() with a taken name = %v, want the daemon's conflict", err)
	}
}

func TestCreateFromWithoutNetworks(t *testing.T) {
	t.Parallel()
	c := dockertest.Client(t)
	img := dockertest.Image(t, c)
	src := dockertest.Run(t, c, img, dockertest.RunOptions{Networks: []string{dockertest.Network(t, c)}})
	spec, err := c.Spec(t.Context(), src.ID)
	if err != nil {
		t.Fatal(err)
	}
	id := createAndStart(t, c, spec.WithNetworks(nil), img, "")
	if mode, err := c.NetworkMode(t.Context(), id); err != nil || mode != "none" {
		t.Errorf("NetworkMode() = %q, %v, want none", mode, err)
	}
}

func createAndStart(t *testing.T, c *docker.Client, spec docker.Spec, image, name string) string {
	t.Helper()
	id, err := c.CreateFrom(t.Context(), spec, image, name, map[string]string{dockertest.Label: "1", "quell.replaces": spec.ID})
	if err != nil {
		t.Fatalf("CreateFrom(%s) = %v", name, err)
	}
	t.Cleanup(func() { remove(t, c, id) })
	if err := c.Start(t.Context(), id); err != nil {
		t.Fatalf("Start(%s) = %v", name, err)
	}
	return id
}

func byNetwork(t *testing.T, c *docker.Client, id string) map[string]docker.Attachment {
	t.Helper()
	atts, err := c.Attachments(t.Context(), id)
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]docker.Attachment{}
	for _, a := range atts {
		out[a.Network] = a
	}
	return out
}
