package rig

import (
	"context"
	"fmt"
	"net/netip"
	"strconv"
	"strings"
	"sync/atomic"
	"time"

	"github.com/moby/moby/api/types/container"
	"github.com/moby/moby/api/types/network"
	"github.com/moby/moby/client"
)

// Container is a running container the Lab made.
type Container struct {
	// ID is the full container ID.
	ID string
	// Name is the container's name.
	Name string
	// Networks are the internal networks it is attached to.
	Networks []string
}

// Network creates an internal bridge network, labelled as the run's
// objects, and returns its name. Its containers can reach nothing beyond it.
// Its subnet is a /23 of 10.213.0.0/16, not one of the daemon's default
// address pools, which every user of the daemon shares: Docker 20.10 can
// leave a network it refuses to delete (see Close), and such a network
// keeps its subnet until the daemon restarts.
func (l *Lab) Network(ctx context.Context) (string, error) {
	suffix, err := RandomHex(3)
	if err != nil {
		return "", err
	}
	name := "quell-bench-" + l.Run + "-" + suffix
	for range 32 {
		opts := client.NetworkCreateOptions{Driver: "bridge", Internal: true, Labels: l.Labels(),
			IPAM: &network.IPAM{Config: []network.IPAMConfig{{Subnet: l.nextSubnet()}}}}
		_, err = l.Docker.API().NetworkCreate(ctx, name, opts)
		if err == nil {
			return name, nil
		}
		if !strings.Contains(err.Error(), "overlaps") {
			break
		}
	}
	return "", fmt.Errorf("create network %s: %w", name, err)
}

// nextSubnet returns the next /23 of 10.213.0.0/16, from an offset that
// differs between runs.
func (l *Lab) nextSubnet() netip.Prefix {
	base := int(l.Run[0]) + int(l.Run[1])
	third := byte((base + 2*int(l.subnets.Add(1))) % 256 &^ 1)
	return netip.PrefixFrom(netip.AddrFrom4([4]byte{10, 213, third, 0}), 23)
}

// seq numbers the run's containers.
var seq atomic.Int64

// Containers creates and starts n containers from the run's image, each
// attached to every network in nets (none: network mode "none"), running a
// long busybox sleep. Their events are recorded from creation.
func (l *Lab) Containers(ctx context.Context, n int, nets []string) ([]Container, error) {
	img, err := l.Image(ctx)
	if err != nil {
		return nil, err
	}
	return l.ContainersOf(ctx, img, []string{"/bin/busybox", "sleep", "86400"}, n, nets)
}

// ContainersOf creates and starts n containers from the image, running cmd
// (nil: the image's command), each attached to every network in nets, as
// Containers does.
func (l *Lab) ContainersOf(ctx context.Context, img string, cmd []string, n int, nets []string) ([]Container, error) {
	out := make([]Container, n)
	err := parallel(ctx, n, 8, func(i int) error {
		c, err := l.start(ctx, img, cmd, nets)
		out[i] = c
		return err
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

func (l *Lab) start(ctx context.Context, img string, cmd []string, nets []string) (Container, error) {
	name := "quell-bench-" + l.Run + "-" + strconv.FormatInt(seq.Add(1), 10)
	opts := client.ContainerCreateOptions{
		Name:       name,
		Config:     &container.Config{Image: img, Cmd: cmd, Labels: l.Labels()},
		HostConfig: &container.HostConfig{NetworkMode: "none"},
	}
	if len(nets) > 0 {
		opts.HostConfig.NetworkMode = container.NetworkMode(nets[0])
		opts.NetworkingConfig = &network.NetworkingConfig{
			EndpointsConfig: map[string]*network.EndpointSettings{nets[0]: {}},
		}
	}
	created, err := l.Docker.API().ContainerCreate(ctx, opts)
	if err != nil {
		return Container{}, fmt.Errorf("create container %s: %w", name, err)
	}
	c := Container{ID: created.ID, Name: name, Networks: nets}
	l.Events.Track(c.ID)
	for _, nw := range nets[min(1, len(nets)):] {
		if _, err := l.Docker.API().NetworkConnect(ctx, nw, client.NetworkConnectOptions{Container: c.ID}); err != nil {
			return c, fmt.Errorf("connect container %s to %s: %w", name, nw, err)
		}
	}
	if _, err := l.Docker.API().ContainerStart(ctx, c.ID, client.ContainerStartOptions{}); err != nil {
		return c, fmt.Errorf("start container %s: %w", name, err)
	}
	return c, nil
}

// Remove removes the containers (thawing them first); see RemoveContainers.
func (l *Lab) Remove(ctx context.Context, cs []Container) error {
	ids := make([]string, len(cs))
	for i, c := range cs {
		ids[i] = c.ID
	}
	return l.RemoveContainers(ctx, ids)
}

// Fill writes mb MiB of random data to path inside the container with
// busybox dd, so that its filesystem export is that much larger.
func (l *Lab) Fill(ctx context.Context, id, path string, mb int) error {
	cmd := []string{"/bin/busybox", "dd", "if=/dev/urandom", "of=" + path, "bs=1M", "count=" + strconv.Itoa(mb)}
	return l.Exec(ctx, id, cmd...)
}

// Exec runs cmd in the container and waits for it to exit 0.
func (l *Lab) Exec(ctx context.Context, id string, cmd ...string) error {
	created, err := l.Docker.API().ExecCreate(ctx, id, client.ExecCreateOptions{Cmd: cmd})
	if err != nil {
		return fmt.Errorf("exec %q in container %s: %w", cmd, id, err)
	}
	if _, err := l.Docker.API().ExecStart(ctx, created.ID, client.ExecStartOptions{Detach: true}); err != nil {
		return fmt.Errorf("exec %q in container %s: %w", cmd, id, err)
	}
	for {
		res, err := l.Docker.API().ExecInspect(ctx, created.ID, client.ExecInspectOptions{})
		if err != nil {
			return fmt.Errorf("exec %q in container %s: %w", cmd, id, err)
		}
		if !res.Running {
			if res.ExitCode != 0 {
				return fmt.Errorf("exec %q in container %s: exit code %d", cmd, id, res.ExitCode)
			}
			return nil
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(50 * time.Millisecond):
		}
	}
}

// DisconnectEvents returns how many disconnect events the daemon logs for
// one disconnect call, measured once on a probe container: Docker 20.10
// logs two. Counting actions from events divides by it.
func (l *Lab) DisconnectEvents(ctx context.Context) (int, error) {
	l.calibrate.Do(func() { l.perDisconnect, l.calibrateErr = l.calibrateDisconnect(ctx) })
	return l.perDisconnect, l.calibrateErr
}

func (l *Lab) calibrateDisconnect(ctx context.Context) (int, error) {
	nw, err := l.Network(ctx)
	if err != nil {
		return 0, err
	}
	cs, err := l.Containers(ctx, 1, []string{nw})
	if err != nil {
		return 0, err
	}
	defer func() {
		ctx := context.WithoutCancel(ctx)
		_ = l.Remove(ctx, cs)
		_, _ = l.Docker.API().NetworkRemove(ctx, nw, client.NetworkRemoveOptions{})
	}()
	since := time.Now()
	if _, err := l.Docker.API().NetworkDisconnect(ctx, nw, client.NetworkDisconnectOptions{Container: cs[0].ID, Force: true}); err != nil {
		return 0, fmt.Errorf("calibrate disconnect events: %w", err)
	}
	wctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	if _, err := l.Events.Wait(wctx, cs[0].ID, func(evs []Event) bool { return len(Disconnects(evs, nw, since)) > 0 }); err != nil {
		return 0, fmt.Errorf("calibrate disconnect events: %w", err)
	}
	time.Sleep(time.Second) // let the rest of the burst arrive
	return len(Disconnects(l.Events.Events(cs[0].ID), nw, since)), nil
}
