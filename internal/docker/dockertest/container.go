package dockertest

import (
	"bytes"
	"context"
	"maps"
	"testing"
	"time"

	"github.com/moby/moby/api/pkg/stdcopy"
	"github.com/moby/moby/api/types/container"
	"github.com/moby/moby/api/types/network"
	"github.com/moby/moby/client"

	"github.com/quell-ir/quell/internal/docker"
)

// sleepCmd keeps a test container running for longer than any test.
var sleepCmd = []string{"/bin/busybox", "sleep", "86400"}

// RunOptions describes a test container. Every field is optional.
type RunOptions struct {
	// Name is the container name; empty lets the daemon pick one.
	Name string
	// Cmd is the command; empty runs a long busybox sleep.
	Cmd []string
	// Networks are the networks to attach, in order; empty means network
	// mode "none". Use only internal networks, such as those from Network.
	Networks []string
	// Aliases are the container's DNS aliases on every network in Networks.
	Aliases []string
	// Env holds "KEY=value" entries.
	Env []string
	// Labels are added to the quell.test=1 label.
	Labels map[string]string
	// TTY gives the container a terminal, which merges its output streams.
	TTY bool
}

// Run creates and starts a container from image, labelled quell.test=1, and
// waits until it runs. When the test ends the container is unpaused and
// removed with its volumes.
func Run(t testing.TB, c *docker.Client, image string, o RunOptions) docker.Container {
	t.Helper()
	ctx := t.Context()
	created, err := c.API().ContainerCreate(ctx, createOptions(image, o))
	if err != nil {
		t.Fatalf("create container from %s: %v", image, err)
	}
	id := created.ID
	t.Cleanup(func() { removeContainer(t, c, id) })
	for _, nw := range o.Networks[min(1, len(o.Networks)):] {
		_, err := c.API().NetworkConnect(ctx, nw, client.NetworkConnectOptions{
			Container:      id,
			EndpointConfig: &network.EndpointSettings{Aliases: o.Aliases},
		})
		if err != nil {
			t.Fatalf("connect container %s to %s: %v", id, nw, err)
		}
	}
	if _, err := c.API().ContainerStart(ctx, id, client.ContainerStartOptions{}); err != nil {
		t.Fatalf("start container %s: %v", id, err)
	}
	return waitRunning(t, c, id)
}

func createOptions(image string, o RunOptions) client.ContainerCreateOptions {
	cmd := o.Cmd
	if len(cmd) == 0 {
		cmd = sleepCmd
	}
	labels := maps.Clone(o.Labels)
	if labels == nil {
		labels = map[string]string{}
	}
	labels[Label] = "1"
	opts := client.ContainerCreateOptions{
		Name:       o.Name,
		Config:     &container.Config{Image: image, Cmd: cmd, Env: o.Env, Labels: labels, Tty: o.TTY},
		HostConfig: &container.HostConfig{NetworkMode: "none"},
	}
	if len(o.Networks) > 0 {
		first := o.Networks[0]
		opts.HostConfig.NetworkMode = container.NetworkMode(first)
		opts.NetworkingConfig = &network.NetworkingConfig{
			EndpointsConfig: map[string]*network.EndpointSettings{first: {Aliases: o.Aliases}},
		}
	}
	return opts
}

// waitRunning polls until the container runs, failing the test if it exits
// or takes more than ten seconds.
func waitRunning(t testing.TB, c *docker.Client, id string) docker.Container {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		ctr, err := c.Container(t.Context(), id)
		if err != nil {
			t.Fatalf("wait for container %s: %v", id, err)
		}
		if ctr.Running {
			return ctr
		}
		if time.Now().After(deadline) {
			t.Fatalf("container %s did not start within 10s", id)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func removeContainer(t testing.TB, c *docker.Client, id string) {
	ctx, cancel := context.WithTimeout(context.Background(), cleanupTimeout)
	defer cancel()
	if err := c.Unpause(ctx, id); err != nil && !notFound(err) {
		t.Errorf("unpause container %s for removal: %v", id, err)
	}
	_, err := c.API().ContainerRemove(ctx, id, client.ContainerRemoveOptions{Force: true, RemoveVolumes: true})
	if err != nil && !notFound(err) {
		t.Errorf("remove container %s: %v", id, err)
	}
}

// Exec runs cmd in the running container and returns its combined stdout
// and stderr. The test fails if cmd cannot run or exits non-zero.
func Exec(t testing.TB, c *docker.Client, id string, cmd ...string) string {
	t.Helper()
	ctx := t.Context()
	created, err := c.API().ExecCreate(ctx, id, client.ExecCreateOptions{
		Cmd: cmd, AttachStdout: true, AttachStderr: true,
	})
	if err != nil {
		t.Fatalf("exec %q in container %s: %v", cmd, id, err)
	}
	att, err := c.API().ExecAttach(ctx, created.ID, client.ExecAttachOptions{})
	if err != nil {
		t.Fatalf("exec %q in container %s: %v", cmd, id, err)
	}
	defer att.Close()
	var out bytes.Buffer
	if _, err := stdcopy.StdCopy(&out, &out, att.Reader); err != nil {
		t.Fatalf("exec %q in container %s: read output: %v", cmd, id, err)
	}
	code := exitCode(t, c, created.ID)
	if code != 0 {
		t.Fatalf("exec %q in container %s: exit code %d, output:\n%s", cmd, id, code, out.String())
	}
	return out.String()
}

// exitCode waits for the exec to finish and returns its exit code.
func exitCode(t testing.TB, c *docker.Client, execID string) int {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		res, err := c.API().ExecInspect(t.Context(), execID, client.ExecInspectOptions{})
		if err != nil {
			t.Fatalf("inspect exec %s: %v", execID, err)
		}
		if !res.Running {
			return res.ExitCode
		}
		if time.Now().After(deadline) {
			t.Fatalf("exec %s still running after its output ended", execID)
		}
		time.Sleep(20 * time.Millisecond)
	}
}
