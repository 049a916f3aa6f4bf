package docker

import (
	"context"
	"fmt"
	"strings"

	cerrdefs "github.com/containerd/errdefs"
	"github.com/moby/moby/api/types/container"
	"github.com/moby/moby/client"
)

// Container is what quell needs to know about a container to act on it.
type Container struct {
	// ID is the full container ID.
	ID string `json:"id"`
	// Name is the container name without the leading "/".
	Name string `json:"name"`
	// Image is the image reference the container was created from, as given.
	Image string `json:"image"`
	// ImageID is the ID of that image ("sha256:...").
	ImageID string `json:"image_id"`
	// Running is true while the container's process runs, paused or not.
	Running bool `json:"running"`
	// Paused is true while the container is frozen.
	Paused bool `json:"paused"`
	// Networks are its network attachments, as Attachments lists them; set
	// by Container only.
	Networks []Attachment `json:"networks,omitempty"`
	// Labels are the container's labels.
	Labels map[string]string `json:"labels,omitempty"`
}

// Container looks a container up by full ID, unique ID prefix (Falco reports
// 12 hex characters) or name.
func (c *Client) Container(ctx context.Context, ref string) (Container, error) {
	res, err := c.inspect(ctx, ref)
	if err != nil {
		return Container{}, fmt.Errorf("inspect container %s: %w", ref, err)
	}
	c2 := containerFrom(res.Container)
	c2.Networks = attachmentsFrom(res.Container)
	return c2, nil
}

// NetworkMode returns the container's network mode: "bridge", "host",
// "none", "container:<id>" or a user-defined network name. A container in
// host mode shares the host's network stack and cannot be isolated by
// disconnecting it; one in "container:" mode shares another container's.
func (c *Client) NetworkMode(ctx context.Context, id string) (string, error) {
	res, err := c.inspect(ctx, id)
	if err != nil {
		return "", fmt.Errorf("network mode of container %s: %w", id, err)
	}
	if res.Container.HostConfig == nil {
		return "", nil
	}
	return string(res.Container.HostConfig.NetworkMode), nil
}

// InspectRaw returns the daemon's inspect document for the container as the
// daemon sent it, for the evidence record.
func (c *Client) InspectRaw(ctx context.Context, id string) ([]byte, error) {
	res, err := c.inspect(ctx, id)
	if err != nil {
		return nil, fmt.Errorf("inspect container %s: %w", id, err)
	}
	return res.Raw, nil
}

// Pause freezes every process in the container. Pausing a paused container
// succeeds; pausing one that is not running returns an error wrapping
// ErrNotRunning.
func (c *Client) Pause(ctx context.Context, id string) error {
	// Pause first and ask questions after: containment is on the clock,
	// and the daemon refuses a container already paused or not running.
	_, err := c.api.ContainerPause(ctx, id, client.ContainerPauseOptions{})
	if err == nil {
		return nil
	}
	if cerrdefs.IsConflict(err) {
		if now, serr := c.state(ctx, id); serr == nil {
			switch {
			case now.Paused:
				return nil
			case !now.Running:
				return fmt.Errorf("pause container %s: %w", id, ErrNotRunning)
			}
		}
	}
	return fmt.Errorf("pause container %s: %w", id, classify(err))
}

// Unpause thaws a paused container. Unpausing a container that is not
// paused succeeds.
func (c *Client) Unpause(ctx context.Context, id string) error {
	state, err := c.state(ctx, id)
	if err != nil {
		return fmt.Errorf("unpause container %s: %w", id, err)
	}
	if !state.Paused {
		return nil
	}
	if _, err := c.api.ContainerUnpause(ctx, id, client.ContainerUnpauseOptions{}); err != nil {
		if cerrdefs.IsConflict(err) {
			if now, serr := c.state(ctx, id); serr == nil && !now.Paused {
				return nil
			}
		}
		return fmt.Errorf("unpause container %s: %w", id, classify(err))
	}
	return nil
}

// inspect returns the daemon's inspect answer with not-found classified.
func (c *Client) inspect(ctx context.Context, ref string) (client.ContainerInspectResult, error) {
	res, err := c.api.ContainerInspect(ctx, ref, client.ContainerInspectOptions{})
	if err != nil {
		return client.ContainerInspectResult{}, classify(err)
	}
	return res, nil
}

// state returns the container's run state, never nil.
func (c *Client) state(ctx context.Context, id string) (container.State, error) {
	res, err := c.inspect(ctx, id)
	if err != nil {
		return container.State{}, err
	}
	if res.Container.State == nil {
		return container.State{}, nil
	}
	return *res.Container.State, nil
}

func containerFrom(in container.InspectResponse) Container {
	out := Container{
		ID:      in.ID,
		Name:    strings.TrimPrefix(in.Name, "/"),
		ImageID: in.Image,
	}
	if in.Config != nil {
		out.Image = in.Config.Image
		out.Labels = in.Config.Labels
	}
	if in.State != nil {
		out.Running = in.State.Running
		out.Paused = in.State.Paused
	}
	return out
}
