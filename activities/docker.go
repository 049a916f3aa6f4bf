package activities

import (
	"context"
	"fmt"
	"io"
	"strings"

	"go.temporal.io/sdk/activity"

	"github.com/quell-ir/quell/internal/alert"
	"github.com/quell-ir/quell/internal/docker"
	"github.com/quell-ir/quell/internal/incident"
)

// ContainerRuntime is what the Docker activities need of a Docker host. Every
// method wraps docker.ErrNotFound when the container does not exist.
type ContainerRuntime interface {
	// Container resolves a full ID, an ID prefix or a name, with its
	// network attachments.
	Container(ctx context.Context, ref string) (docker.Container, error)
	// Disconnect cuts the container off a network; not connected is no error.
	Disconnect(ctx context.Context, id, network string) error
	// Connect reattaches the container as recorded; connected is no error.
	Connect(ctx context.Context, id string, a docker.Attachment) error
	// Pause freezes the container; paused is no error.
	Pause(ctx context.Context, id string) error
	// Unpause thaws the container; not paused is no error.
	Unpause(ctx context.Context, id string) error
	// InspectRaw returns the daemon's inspect document.
	InspectRaw(ctx context.Context, id string) ([]byte, error)
	// Logs writes the container's stdout and stderr with timestamps.
	Logs(ctx context.Context, id string, stdout, stderr io.Writer) error
	// Diff lists the container's filesystem changes.
	Diff(ctx context.Context, id string) ([]docker.Change, error)
	// Top lists its processes; wraps docker.ErrUnavailable when they cannot be read.
	Top(ctx context.Context, id string) (docker.Processes, error)
	// Export streams the container's filesystem as a tar.
	Export(ctx context.Context, id string) (io.ReadCloser, error)
	// Commit saves the container as an image tagged ref and returns its ID.
	Commit(ctx context.Context, id, ref string, labels map[string]string) (string, error)
	// SaveImage streams an image as a tar.
	SaveImage(ctx context.Context, ref string) (io.ReadCloser, error)
}

// Docker holds the activities that act on containers.
type Docker struct {
	Runtime ContainerRuntime
}

// IsolateInput is the input of IsolateContainer.
type IsolateInput struct {
	IncidentID string       `json:"incident_id"`
	Target     alert.Target `json:"target"`
}

// IsolateResult is what IsolateContainer did, enough to undo it.
type IsolateResult struct {
	// Target is the alert's target completed from Docker (full ID, name, image).
	Target    alert.Target       `json:"target"`
	Isolation incident.Isolation `json:"isolation"`
}

// IsolateContainer cuts the target container off every network and freezes
// it, keeping it alive for forensics. The attachments it cut are recorded
// (and carried across retries in heartbeat details) so the isolation can be
// undone. Running it again is harmless.
func (d *Docker) IsolateContainer(ctx context.Context, in IsolateInput) (IsolateResult, error) {
	c, err := resolve(ctx, d.Runtime, in.Target)
	if err != nil {
		return IsolateResult{}, err
	}
	res := IsolateResult{Target: completeTarget(in.Target, c)}
	if activity.HasHeartbeatDetails(ctx) {
		_ = activity.GetHeartbeatDetails(ctx, &res)
	} else {
		res.Isolation = incident.Isolation{Kind: alert.KindDocker, ContainerID: c.ID, WasPaused: c.Paused}
	}
	current := c.Networks
	res.Isolation.Networks = mergeAttachments(res.Isolation.Networks, current)
	activity.RecordHeartbeat(ctx, res)
	for _, a := range current {
		if err := d.Runtime.Disconnect(ctx, c.ID, a.Network); err != nil {
			return IsolateResult{}, classify(err, docker.ErrNotFound)
		}
	}
	if !c.Running {
		res.Isolation.Note = "container is not running: disconnected, nothing to freeze"
		return res, nil
	}
	if err := d.Runtime.Pause(ctx, c.ID); err != nil {
		return IsolateResult{}, classify(err, docker.ErrNotFound)
	}
	res.Isolation.Paused = true
	return res, nil
}

// UndoIsolationInput is the input of UndoIsolation.
type UndoIsolationInput struct {
	IncidentID string             `json:"incident_id"`
	Isolation  incident.Isolation `json:"isolation"`
}

// UndoIsolationResult is the result of UndoIsolation.
type UndoIsolationResult struct {
	Reconnected []string `json:"reconnected"`
	Unpaused    bool     `json:"unpaused"`
}

// UndoIsolation reattaches the container to the networks it was cut off and
// unpauses it unless it was already paused before quell froze it.
func (d *Docker) UndoIsolation(ctx context.Context, in UndoIsolationInput) (UndoIsolationResult, error) {
	var res UndoIsolationResult
	id := in.Isolation.ContainerID
	for _, a := range in.Isolation.Networks {
		if err := d.Runtime.Connect(ctx, id, toDocker(a)); err != nil {
			return res, classify(fmt.Errorf("reconnect %s: %w", a.Network, err), docker.ErrNotFound)
		}
		res.Reconnected = append(res.Reconnected, a.Network)
	}
	if in.Isolation.Paused && !in.Isolation.WasPaused {
		if err := d.Runtime.Unpause(ctx, id); err != nil {
			return res, classify(err, docker.ErrNotFound)
		}
		res.Unpaused = true
	}
	return res, nil
}

// resolve finds the target container and checks it is the one the alert
// named: a name that disagrees means quell would act on the wrong container.
func resolve(ctx context.Context, rt ContainerRuntime, t alert.Target) (docker.Container, error) {
	if t.ContainerID == "" {
		return docker.Container{}, permanentf(ErrTypeBadInput, "target names no container id")
	}
	c, err := rt.Container(ctx, t.ContainerID)
	if err != nil {
		return docker.Container{}, classify(err, docker.ErrNotFound)
	}
	if !strings.HasPrefix(c.ID, strings.ToLower(t.ContainerID)) {
		return docker.Container{}, permanentf(ErrTypeTargetMismatch,
			"container %s: alert names id %s", c.ID, t.ContainerID)
	}
	if name := strings.TrimPrefix(t.ContainerName, "/"); name != "" && name != c.Name {
		return docker.Container{}, permanentf(ErrTypeTargetMismatch,
			"container %s is named %q, alert names %q", c.ID, c.Name, name)
	}
	return c, nil
}

func completeTarget(t alert.Target, c docker.Container) alert.Target {
	t.ContainerID = c.ID
	t.ContainerName = c.Name
	t.Image, t.ImageID = c.Image, c.ImageID
	return t
}

func mergeAttachments(known []incident.Attachment, current []docker.Attachment) []incident.Attachment {
	seen := map[string]bool{}
	for _, a := range known {
		seen[a.Network] = true
	}
	for _, a := range current {
		if !seen[a.Network] {
			known = append(known, fromDocker(a))
		}
	}
	return known
}

func fromDocker(a docker.Attachment) incident.Attachment {
	return incident.Attachment{Network: a.Network, NetworkID: a.NetworkID, Aliases: a.Aliases, IPv4: a.IPv4, IPv6: a.IPv6, Links: a.Links}
}

func toDocker(a incident.Attachment) docker.Attachment {
	return docker.Attachment{Network: a.Network, NetworkID: a.NetworkID, Aliases: a.Aliases, IPv4: a.IPv4, IPv6: a.IPv6, Links: a.Links}
}
