package docker_test

import (
	"context"
	"errors"
	"io"
	"strings"
	"testing"

	"github.com/quell-ir/quell/internal/docker"
	"github.com/quell-ir/quell/internal/docker/dockertest"
)

func TestContainerLookup(t *testing.T) {
	t.Parallel()
	c := dockertest.Client(t)
	img := dockertest.Image(t, c)
	name := "quell-test-lookup-" + img[strings.LastIndex(img, ":")+1:]
	ctr := dockertest.Run(t, c, img, dockertest.RunOptions{Name: name, Labels: map[string]string{"role": "victim"}})

	for _, ref := range []string{ctr.ID, ctr.ID[:12], name, "/" + name} {
		t.Run(ref, func(t *testing.T) {
			got, err := c.Container(t.Context(), ref)
			if err != nil {
				t.Fatalf("Container(%q) = %v", ref, err)
			}
			if got.ID != ctr.ID || got.Name != name || got.Image != img || !got.Running || got.Paused {
				t.Errorf("Container(%q) = %+v, want ID %s, name %s, image %s, running", ref, got, ctr.ID, name, img)
			}
			if !strings.HasPrefix(got.ImageID, "sha256:") || got.Labels["role"] != "victim" {
				t.Errorf("Container(%q) = %+v, want an image ID and label role=victim", ref, got)
			}
		})
	}
}

func TestErrNotFound(t *testing.T) {
	t.Parallel()
	c := dockertest.Client(t)
	const missing = "quell-test-no-such-container"
	tests := []struct {
		name string
		call func(ctx context.Context) error
	}{
		{"Container", func(ctx context.Context) error { _, err := c.Container(ctx, missing); return err }},
		{"NetworkMode", func(ctx context.Context) error { _, err := c.NetworkMode(ctx, missing); return err }},
		{"Attachments", func(ctx context.Context) error { _, err := c.Attachments(ctx, missing); return err }},
		{"Disconnect", func(ctx context.Context) error { return c.Disconnect(ctx, missing, "bridge") }},
		{"Connect", func(ctx context.Context) error {
			return c.Connect(ctx, missing, docker.Attachment{Network: "bridge"})
		}},
		{"Pause", func(ctx context.Context) error { return c.Pause(ctx, missing) }},
		{"Unpause", func(ctx context.Context) error { return c.Unpause(ctx, missing) }},
		{"InspectRaw", func(ctx context.Context) error { _, err := c.InspectRaw(ctx, missing); return err }},
		{"Logs", func(ctx context.Context) error { return c.Logs(ctx, missing, io.Discard, io.Discard) }},
		{"Diff", func(ctx context.Context) error { _, err := c.Diff(ctx, missing); return err }},
		{"Top", func(ctx context.Context) error { _, err := c.Top(ctx, missing); return err }},
		{"Export", func(ctx context.Context) error { _, err := c.Export(ctx, missing); return err }},
		{"Commit", func(ctx context.Context) error {
			_, err := c.Commit(ctx, missing, "quell-test/never:1", nil)
			return err
		}},
		{"ImageID", func(ctx context.Context) error { _, err := c.ImageID(ctx, "quell-test/no-such-image:1"); return err }},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			err := tc.call(t.Context())
			if !errors.Is(err, docker.ErrNotFound) {
				t.Errorf("%s() = %v, want ErrNotFound", tc.name, err)
			}
		})
	}
}

func TestMissingNetwork(t *testing.T) {
	t.Parallel()
	c := dockertest.Client(t)
	ctx := t.Context()
	ctr := dockertest.Run(t, c, dockertest.Image(t, c), dockertest.RunOptions{})
	const missing = "quell-test-no-such-network"
	if err := c.Disconnect(ctx, ctr.ID, missing); err != nil {
		t.Errorf("Disconnect(%s) = %v, want nil: not connected", missing, err)
	}
	err := c.Connect(ctx, ctr.ID, docker.Attachment{Network: missing, Aliases: []string{"x"}})
	if !errors.Is(err, docker.ErrNotFound) {
		t.Errorf("Connect(%s) = %v, want ErrNotFound", missing, err)
	}
}
