package docker

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"reflect"
	"slices"
	"strings"

	dockerspec "github.com/moby/docker-image-spec/specs-go/v1"
	"github.com/moby/moby/api/types/container"
	"github.com/moby/moby/api/types/network"
)

// Spec is everything needed to create a container again, as it was
// configured, from another image. It survives a JSON round trip, so it can
// travel through Temporal.
//
// Config holds what the container itself set, not what it inherited from
// its image: values equal to the image's defaults (Cmd when the Entrypoint
// is inherited too, Entrypoint, Env entries, Labels, ExposedPorts, Volumes,
// Healthcheck, WorkingDir, User, StopSignal, Shell) are removed, so a
// rebuilt image's own defaults apply to the replacement. A value the
// operator set explicitly but equal to the old image's default is removed
// too and follows the new image.
//
// Deliberately dropped: Config.Image (CreateFrom names the image),
// Config.Hostname when it is the daemon's default (the short container ID),
// HostConfig.ContainerIDFile, MAC addresses, the short-ID aliases the daemon
// adds to every endpoint, endpoint driver options, link-local addresses and
// gateway priorities, and anonymous volumes: the replacement gets fresh
// ones from its image while named volumes and bind mounts are mounted
// again as configured.
type Spec struct {
	// ID is the container the spec was taken from.
	ID string `json:"id"`
	// Name is that container's name, without the leading "/".
	Name string `json:"name"`
	// ImageID is the image that container was created from.
	ImageID string `json:"image_id"`
	// Config is the container's own configuration, without Image.
	Config *container.Config `json:"config"`
	// HostConfig is the container's host configuration: mounts, port
	// bindings, restart policy, network mode, resources and the rest.
	HostConfig *container.HostConfig `json:"host_config"`
	// Networks are the networks to attach, with aliases, links and the
	// addresses to ask for again.
	Networks []Attachment `json:"networks,omitempty"`
}

// Spec records the configuration of container id. An isolated container
// has no networks left: replace them with those recorded before isolation
// using WithNetworks.
func (c *Client) Spec(ctx context.Context, id string) (Spec, error) {
	res, err := c.inspect(ctx, id)
	if err != nil {
		return Spec{}, fmt.Errorf("spec of container %s: %w", id, err)
	}
	in := res.Container
	if in.Config == nil || in.HostConfig == nil {
		return Spec{}, fmt.Errorf("spec of container %s: the daemon sent no configuration", id)
	}
	var imageCfg *dockerspec.DockerOCIImageConfig
	img, err := c.api.ImageInspect(ctx, in.Image)
	switch err := classify(err); {
	case err == nil:
		imageCfg = img.Config
	case !errors.Is(err, ErrNotFound):
		return Spec{}, fmt.Errorf("spec of container %s: image %s: %w", id, in.Image, err)
	}
	cfg := ownConfig(in.ID, in.Config, imageCfg)
	if mode := in.HostConfig.NetworkMode; mode.IsHost() || mode.IsContainer() {
		// The hostname is the host's or the other container's.
		cfg.Hostname = ""
	}
	return Spec{
		ID:         in.ID,
		Name:       strings.TrimPrefix(in.Name, "/"),
		ImageID:    in.Image,
		Config:     cfg,
		HostConfig: hostConfigFrom(in.HostConfig),
		Networks:   attachmentsFrom(in),
	}, nil
}

// WithNetworks returns a copy of s whose networks are atts, such as the
// attachments recorded before the container was isolated.
func (s Spec) WithNetworks(atts []Attachment) Spec {
	s.Networks = make([]Attachment, len(atts))
	for i, a := range atts {
		a.Aliases = slices.Clone(a.Aliases)
		a.Links = slices.Clone(a.Links)
		s.Networks[i] = a
	}
	return s
}

// ownConfig copies the container's config without what it inherited from
// its image (img may be nil when the image is gone: everything is kept).
func ownConfig(id string, in *container.Config, img *dockerspec.DockerOCIImageConfig) *container.Config {
	out := *in
	out.Image = ""
	if len(id) >= 12 && out.Hostname == id[:12] {
		out.Hostname = ""
	}
	out.Env = slices.Clone(in.Env)
	out.Labels = maps.Clone(in.Labels)
	out.ExposedPorts = maps.Clone(in.ExposedPorts)
	out.Volumes = maps.Clone(in.Volumes)
	if img == nil {
		return &out
	}
	// The daemon inherits Cmd only with the Entrypoint, so an inherited
	// Entrypoint is the condition for dropping an equal Cmd.
	if slices.Equal(out.Entrypoint, img.Entrypoint) {
		out.Entrypoint = nil
		if slices.Equal(out.Cmd, img.Cmd) {
			out.Cmd = nil
			out.ArgsEscaped = false
		}
	}
	out.Env = slices.DeleteFunc(out.Env, func(e string) bool { return slices.Contains(img.Env, e) })
	maps.DeleteFunc(out.Labels, func(k, v string) bool { iv, ok := img.Labels[k]; return ok && iv == v })
	maps.DeleteFunc(out.ExposedPorts, func(p network.Port, _ struct{}) bool { _, ok := img.ExposedPorts[p.String()]; return ok })
	maps.DeleteFunc(out.Volumes, func(v string, _ struct{}) bool { _, ok := img.Volumes[v]; return ok })
	if out.Healthcheck != nil && img.Healthcheck != nil && reflect.DeepEqual(*out.Healthcheck, *img.Healthcheck) {
		out.Healthcheck = nil
	}
	if out.WorkingDir == img.WorkingDir {
		out.WorkingDir = ""
	}
	if out.User == img.User {
		out.User = ""
	}
	if out.StopSignal == img.StopSignal {
		out.StopSignal = ""
	}
	if slices.Equal(out.Shell, img.Shell) {
		out.Shell = nil
	}
	out.OnBuild = nil
	return &out
}

// hostConfigFrom copies the host configuration without what a new
// container must not take over.
func hostConfigFrom(in *container.HostConfig) *container.HostConfig {
	out := *in
	out.ContainerIDFile = ""
	return &out
}
