package docker

import (
	"context"
	"fmt"
	"net/netip"
	"slices"
	"sort"

	cerrdefs "github.com/containerd/errdefs"
	"github.com/moby/moby/api/types/container"
	"github.com/moby/moby/api/types/network"
	"github.com/moby/moby/client"
)

// Attachment records one network a container is connected to, with enough
// detail to connect it again as it was.
type Attachment struct {
	// Network is the network's name.
	Network string `json:"network"`
	// NetworkID is the network's ID when the attachment was recorded.
	NetworkID string `json:"network_id"`
	// Aliases are the container's DNS aliases on the network, without the
	// short container ID the daemon adds by itself.
	Aliases []string `json:"aliases,omitempty"`
	// IPv4 is the container's IPv4 address on the network, if any.
	IPv4 string `json:"ipv4,omitempty"`
	// IPv6 is the container's global IPv6 address on the network, if any.
	IPv6 string `json:"ipv6,omitempty"`
	// Links are the legacy links configured on the endpoint.
	Links []string `json:"links,omitempty"`
}

// Attachments returns the networks the container is connected to, sorted by
// network name. A container in network mode "none", "host" or "container:"
// has no attachment of its own: the list is empty, and NetworkMode tells why.
func (c *Client) Attachments(ctx context.Context, id string) ([]Attachment, error) {
	res, err := c.inspect(ctx, id)
	if err != nil {
		return nil, fmt.Errorf("network attachments of container %s: %w", id, err)
	}
	return attachmentsFrom(res.Container), nil
}

// Disconnect cuts the container from the network, forcing it even while the
// container is paused. A container that is not connected is left alone.
func (c *Client) Disconnect(ctx context.Context, id, nw string) error {
	// Disconnect first: containment is on the clock. Only a refusal asks
	// whether the container was connected at all.
	_, err := c.api.NetworkDisconnect(ctx, nw, client.NetworkDisconnectOptions{Container: id, Force: true})
	if err != nil {
		if still, cerr := c.connected(ctx, id, nw); cerr == nil && !still {
			return nil
		}
		return fmt.Errorf("disconnect container %s from %s: %w", id, nw, classify(err))
	}
	return nil
}

// Connect attaches the container to a.Network again. On a user-defined
// network it restores the aliases and links and asks for the recorded
// addresses; when the daemon refuses the addresses (the network has no
// user-configured subnet, or the address was taken meanwhile) it connects
// without them and the daemon assigns new ones. On the default bridge it
// simply connects. A container already connected is left alone. The daemon
// refuses to connect a container whose network mode is "none" or "host".
func (c *Client) Connect(ctx context.Context, id string, a Attachment) error {
	nw := a.Network
	if nw == "" {
		nw = a.NetworkID
	}
	connected, err := c.connected(ctx, id, nw)
	if err != nil {
		return fmt.Errorf("connect container %s to %s: %w", id, nw, err)
	}
	if connected {
		return nil
	}
	ep := endpointFor(nw, a)
	err = c.connect(ctx, id, nw, ep)
	if err != nil && ep != nil && ep.IPAMConfig != nil && refusedAddress(err) {
		ep.IPAMConfig = nil
		err = c.connect(ctx, id, nw, ep)
	}
	if err != nil {
		if now, cerr := c.connected(ctx, id, nw); cerr == nil && now {
			return nil
		}
		return fmt.Errorf("connect container %s to %s: %w", id, nw, classify(err))
	}
	return nil
}

func (c *Client) connect(ctx context.Context, id, nw string, ep *network.EndpointSettings) error {
	_, err := c.api.NetworkConnect(ctx, nw, client.NetworkConnectOptions{Container: id, EndpointConfig: ep})
	return err
}

// connected reports whether the container has an endpoint on the network,
// named by name or ID.
func (c *Client) connected(ctx context.Context, id, nw string) (bool, error) {
	res, err := c.inspect(ctx, id)
	if err != nil {
		return false, err
	}
	if res.Container.NetworkSettings == nil {
		return false, nil
	}
	for name, ep := range res.Container.NetworkSettings.Networks {
		if name == nw || (ep != nil && ep.NetworkID != "" && ep.NetworkID == nw) {
			return true, nil
		}
	}
	return false, nil
}

func attachmentsFrom(in container.InspectResponse) []Attachment {
	if in.NetworkSettings == nil {
		return nil
	}
	var out []Attachment
	for name, ep := range in.NetworkSettings.Networks {
		if ep == nil || name == "host" || name == "none" {
			continue
		}
		out = append(out, Attachment{
			Network:   name,
			NetworkID: ep.NetworkID,
			Aliases:   userAliases(ep.Aliases, in.ID),
			IPv4:      addr(ep.IPAddress),
			IPv6:      addr(ep.GlobalIPv6Address),
			Links:     slices.Clone(ep.Links),
		})
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Network < out[j].Network })
	return out
}

// userAliases drops the short container ID that daemons before API 1.45
// list among the aliases of every user-defined network endpoint.
func userAliases(aliases []string, id string) []string {
	var out []string
	for _, a := range aliases {
		if len(id) >= 12 && a == id[:12] {
			continue
		}
		if !slices.Contains(out, a) {
			out = append(out, a)
		}
	}
	return out
}

func addr(a netip.Addr) string {
	if !a.IsValid() {
		return ""
	}
	return a.String()
}

// endpointFor builds the endpoint settings that restore a; the default
// bridge takes none.
func endpointFor(nw string, a Attachment) *network.EndpointSettings {
	if !userDefined(nw) {
		return nil
	}
	ep := &network.EndpointSettings{
		Aliases: slices.Clone(a.Aliases),
		Links:   slices.Clone(a.Links),
	}
	v4, err4 := netip.ParseAddr(a.IPv4)
	v6, err6 := netip.ParseAddr(a.IPv6)
	if err4 == nil || err6 == nil {
		ep.IPAMConfig = &network.EndpointIPAMConfig{}
		if err4 == nil {
			ep.IPAMConfig.IPv4Address = v4
		}
		if err6 == nil {
			ep.IPAMConfig.IPv6Address = v6
		}
	}
	return ep
}

// refusedAddress reports whether the daemon refused a requested address:
// 400 when the network has no user-configured subnet, 403 when the address
// is in use.
func refusedAddress(err error) bool {
	return cerrdefs.IsInvalidArgument(err) || cerrdefs.IsPermissionDenied(err)
}

// userDefined reports whether the network name is one a user created, as
// opposed to the daemon's built-in bridge, host and none networks.
func userDefined(name string) bool {
	switch name {
	case "", "bridge", "default", "host", "none":
		return false
	}
	return true
}
