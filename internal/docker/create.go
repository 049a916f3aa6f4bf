package docker

import (
	"context"
	"errors"
	"fmt"
	"maps"

	cerrdefs "github.com/containerd/errdefs"
	"github.com/moby/moby/api/types/container"
	"github.com/moby/moby/api/types/network"
	"github.com/moby/moby/client"
)

// CreateFrom creates, without starting it, a container configured as s but
// running image, named name, with labels added to the spec's labels, and
// returns its ID.
//
// It joins every network of s.Networks with its aliases and links: the one
// the spec's network mode names (else the first) at creation, the others
// after. Each recorded address is asked for again unless another container
// holds it; when the daemon refuses it (no user-configured subnet) the
// container joins without it and gets a new one. With no networks the
// container gets network mode "none"; a spec in mode "host", "none" or
// "container:" must have no networks.
//
// If a container of that name already exists carrying all of labels (which
// must not be empty) and created from image, CreateFrom returns it after
// joining any network it lacks, so a retry creates nothing twice. When a
// step fails after the container was made, CreateFrom removes it.
func (c *Client) CreateFrom(ctx context.Context, s Spec, image, name string, labels map[string]string) (string, error) {
	if s.Config == nil || s.HostConfig == nil {
		return "", fmt.Errorf("create container %s from %s: the spec has no configuration", name, image)
	}
	cfg := *s.Config
	cfg.Image = image
	cfg.Labels = maps.Clone(s.Config.Labels)
	if cfg.Labels == nil {
		cfg.Labels = map[string]string{}
	}
	maps.Copy(cfg.Labels, labels)
	hc := *s.HostConfig
	primary, rest, err := planNetworks(&hc, s.Networks)
	if err != nil {
		return "", fmt.Errorf("create container %s from %s: %w", name, image, err)
	}
	opts := client.ContainerCreateOptions{Name: name, Config: &cfg, HostConfig: &hc}
	if primary != nil {
		ep := endpointFor(netName(*primary), *primary)
		if ep != nil {
			ep.IPAMConfig = nil // asked for below, where the daemon checks it
			opts.NetworkingConfig = &network.NetworkingConfig{
				EndpointsConfig: map[string]*network.EndpointSettings{netName(*primary): ep},
			}
		}
	}
	res, err := c.api.ContainerCreate(ctx, opts)
	if err != nil {
		err = classify(err)
		if cerrdefs.IsConflict(err) {
			if id, ok := c.adoptable(ctx, name, image, labels); ok {
				return id, c.joinAll(ctx, id, s.Networks, name, image)
			}
		}
		return "", fmt.Errorf("create container %s from %s: %w", name, image, err)
	}
	if err := c.joinNew(ctx, res.ID, primary, rest); err != nil {
		if _, rerr := c.api.ContainerRemove(ctx, res.ID, client.ContainerRemoveOptions{Force: true}); rerr != nil {
			err = errors.Join(err, fmt.Errorf("remove it again: %w", rerr))
		}
		return "", fmt.Errorf("create container %s from %s: %w", name, image, err)
	}
	return res.ID, nil
}

// planNetworks sets hc's network mode for the attachments and returns the
// one to create the container with and the ones to connect afterwards.
func planNetworks(hc *container.HostConfig, atts []Attachment) (*Attachment, []Attachment, error) {
	mode := hc.NetworkMode
	if mode.IsHost() || mode.IsContainer() || mode.IsNone() {
		if len(atts) > 0 {
			return nil, nil, fmt.Errorf("network mode %q takes no networks, the spec has %d", mode, len(atts))
		}
		return nil, nil, nil
	}
	if len(atts) == 0 {
		hc.NetworkMode = network.NetworkNone
		return nil, nil, nil
	}
	first := 0
	for i, a := range atts {
		nw := netName(a)
		if nw == string(mode) || nw == network.NetworkBridge && (mode.IsDefault() || mode == "") {
			first = i
			break
		}
	}
	primary := atts[first]
	hc.NetworkMode = container.NetworkMode(netName(primary))
	rest := append(append([]Attachment(nil), atts[:first]...), atts[first+1:]...)
	return &primary, rest, nil
}

// joinNew asks for the primary network's address again, by reconnecting
// it, and connects the other networks.
func (c *Client) joinNew(ctx context.Context, id string, primary *Attachment, rest []Attachment) error {
	if primary != nil && hasAddress(*primary) && userDefined(netName(*primary)) {
		a, err := c.freeAddresses(ctx, id, *primary)
		if err != nil {
			return err
		}
		if hasAddress(a) {
			if err := c.Disconnect(ctx, id, netName(a)); err != nil {
				return err
			}
			if err := c.Connect(ctx, id, a); err != nil {
				return err
			}
		}
	}
	for _, a := range rest {
		a, err := c.freeAddresses(ctx, id, a)
		if err != nil {
			return err
		}
		if err := c.Connect(ctx, id, a); err != nil {
			return err
		}
	}
	return nil
}

// joinAll connects an adopted container to any network it lacks.
func (c *Client) joinAll(ctx context.Context, id string, atts []Attachment, name, image string) error {
	if err := c.JoinNetworks(ctx, id, atts); err != nil {
		return fmt.Errorf("create container %s from %s: existing %s: %w", name, image, shortID(id), err)
	}
	return nil
}

// JoinNetworks attaches the container to each network of atts it is not on
// yet, with its aliases and addresses: it completes a container whose
// creation was interrupted between create and connect.
func (c *Client) JoinNetworks(ctx context.Context, id string, atts []Attachment) error {
	for _, a := range atts {
		a, err := c.freeAddresses(ctx, id, a)
		if err == nil {
			err = c.Connect(ctx, id, a)
		}
		if err != nil {
			return err
		}
	}
	return nil
}

// adoptable returns the ID of the container called name if it was made by
// an earlier CreateFrom with the same image and labels.
func (c *Client) adoptable(ctx context.Context, name, image string, labels map[string]string) (string, bool) {
	if len(labels) == 0 {
		return "", false
	}
	res, err := c.inspect(ctx, name)
	if err != nil || res.Container.Config == nil || res.Container.Config.Image != image {
		return "", false
	}
	for k, v := range labels {
		if got, ok := res.Container.Config.Labels[k]; !ok || got != v {
			return "", false
		}
	}
	return res.Container.ID, true
}

// freeAddresses drops the addresses of a that another container on the
// network holds: the daemon would only notice when the container starts.
func (c *Client) freeAddresses(ctx context.Context, id string, a Attachment) (Attachment, error) {
	if !hasAddress(a) || !userDefined(netName(a)) {
		return a, nil
	}
	res, err := c.api.NetworkInspect(ctx, netName(a), client.NetworkInspectOptions{})
	if err != nil {
		return a, fmt.Errorf("inspect network %s: %w", netName(a), classify(err))
	}
	for holder, ep := range res.Network.Containers {
		if holder == id {
			continue
		}
		if ep.IPv4Address.IsValid() && ep.IPv4Address.Addr().String() == a.IPv4 {
			a.IPv4 = ""
		}
		if ep.IPv6Address.IsValid() && ep.IPv6Address.Addr().String() == a.IPv6 {
			a.IPv6 = ""
		}
	}
	return a, nil
}

func hasAddress(a Attachment) bool {
	return a.IPv4 != "" || a.IPv6 != ""
}

// netName names the attachment's network by name, else by ID.
func netName(a Attachment) string {
	if a.Network != "" {
		return a.Network
	}
	return a.NetworkID
}
