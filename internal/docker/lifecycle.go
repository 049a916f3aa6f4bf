package docker

import (
	"context"
	"errors"
	"fmt"
	"math"
	"strings"
	"time"

	cerrdefs "github.com/containerd/errdefs"
	"github.com/moby/moby/api/types/container"
	"github.com/moby/moby/client"
)

// Start starts the container. Starting one that already runs, or is
// paused, succeeds.
func (c *Client) Start(ctx context.Context, id string) error {
	state, err := c.state(ctx, id)
	if err != nil {
		return fmt.Errorf("start container %s: %w", id, err)
	}
	if state.Running {
		return nil
	}
	if _, err := c.api.ContainerStart(ctx, id, client.ContainerStartOptions{}); err != nil {
		if now, serr := c.state(ctx, id); serr == nil && now.Running {
			return nil // started by someone else meanwhile
		}
		return fmt.Errorf("start container %s: %w", id, classify(err))
	}
	return nil
}

// Rename gives the container a new name. Renaming it to the name it has
// succeeds.
func (c *Client) Rename(ctx context.Context, id, name string) error {
	res, err := c.inspect(ctx, id)
	if err != nil {
		return fmt.Errorf("rename container %s to %s: %w", id, name, err)
	}
	if strings.TrimPrefix(res.Container.Name, "/") == name {
		return nil
	}
	if _, err := c.api.ContainerRename(ctx, id, client.ContainerRenameOptions{NewName: name}); err != nil {
		if cerrdefs.IsConflict(err) {
			if now, ierr := c.inspect(ctx, id); ierr == nil && strings.TrimPrefix(now.Container.Name, "/") == name {
				return nil
			}
		}
		return fmt.Errorf("rename container %s to %s: %w", id, name, classify(err))
	}
	return nil
}

// Stop stops the container and waits until it has exited. Stopping one
// that is not running succeeds. It first sets the restart policy to "no",
// even on a stopped container, so neither the policy nor a daemon restart
// (which restarts "always" containers even after a stop) brings it back.
//
// A running container gets its stop signal and, after grace (rounded up to
// whole seconds), SIGKILL. A paused container is never let run: the
// daemon's stop sends SIGTERM and then unpauses it, so the container's
// handlers run for the whole grace period. Stop instead kills it with
// SIGKILL while it is frozen; the daemon then thaws it and the kill lands
// before the init process runs again. It unpauses the container itself
// only if the daemon did not. On a cgroup v1 host the other processes of
// the container are thawed too and die a moment later, when the kernel
// tears the PID namespace down.
func (c *Client) Stop(ctx context.Context, id string, grace time.Duration) error {
	res, err := c.inspect(ctx, id)
	if err != nil {
		return fmt.Errorf("stop container %s: %w", id, err)
	}
	if hc := res.Container.HostConfig; hc != nil && !hc.RestartPolicy.IsNone() {
		if err := c.disableRestart(ctx, id); err != nil {
			return fmt.Errorf("stop container %s: %w", id, err)
		}
	}
	state := res.Container.State
	if state == nil || !state.Running && !state.Restarting {
		return nil
	}
	if state.Paused {
		err = c.killFrozen(ctx, id)
	} else {
		secs := int(math.Ceil(max(grace, 0).Seconds()))
		_, err = c.api.ContainerStop(ctx, id, client.ContainerStopOptions{Timeout: &secs})
	}
	if err != nil && !c.stopped(ctx, id) {
		return fmt.Errorf("stop container %s: %w", id, classify(err))
	}
	if err := c.waitStopped(ctx, id); err != nil {
		return fmt.Errorf("stop container %s: %w", id, err)
	}
	return nil
}

// disableRestart sets the restart policy to "no".
func (c *Client) disableRestart(ctx context.Context, id string) error {
	_, err := c.api.ContainerUpdate(ctx, id, client.ContainerUpdateOptions{
		RestartPolicy: &container.RestartPolicy{Name: container.RestartPolicyDisabled},
	})
	if err != nil {
		return fmt.Errorf("disable restart policy: %w", classify(err))
	}
	return nil
}

// killFrozen sends SIGKILL to a paused container and makes sure it is
// thawed so the signal is delivered.
func (c *Client) killFrozen(ctx context.Context, id string) error {
	if _, err := c.api.ContainerKill(ctx, id, client.ContainerKillOptions{Signal: "SIGKILL"}); err != nil {
		return err
	}
	state, err := c.state(ctx, id)
	if err != nil || !state.Paused {
		return err
	}
	if _, err := c.api.ContainerUnpause(ctx, id, client.ContainerUnpauseOptions{}); err != nil && !c.stopped(ctx, id) {
		return err
	}
	return nil
}

// stopped reports whether the container is known to have stopped.
func (c *Client) stopped(ctx context.Context, id string) bool {
	state, err := c.state(ctx, id)
	return err == nil && !state.Running && !state.Restarting
}

// waitStopped blocks until the container no longer runs.
func (c *Client) waitStopped(ctx context.Context, id string) error {
	wait := c.api.ContainerWait(ctx, id, client.ContainerWaitOptions{Condition: container.WaitConditionNotRunning})
	select {
	case <-wait.Result:
		return nil
	case err := <-wait.Error:
		if c.stopped(ctx, id) {
			return nil
		}
		return fmt.Errorf("wait for exit: %w", classify(err))
	}
}

// Remove deletes the container, killing it first if it runs. Its volumes
// are kept: named volumes may hold data. Removing a container that is
// already gone succeeds.
func (c *Client) Remove(ctx context.Context, id string) error {
	_, err := c.api.ContainerRemove(ctx, id, client.ContainerRemoveOptions{Force: true})
	if err = classify(err); err != nil && !errors.Is(err, ErrNotFound) {
		return fmt.Errorf("remove container %s: %w", id, err)
	}
	return nil
}

// WaitReady waits until the container runs and, if it has a health check,
// is healthy. It polls with backoff until ctx ends; a restarting container
// is waited for. A container that has exited, is paused, was never started
// or turns unhealthy is an error naming its state and the last health
// check's output. Without a health check, running is ready: a container
// that crashes a moment after starting may be reported ready.
func (c *Client) WaitReady(ctx context.Context, id string) error {
	delay := 50 * time.Millisecond
	for {
		state, err := c.state(ctx, id)
		if err != nil {
			return fmt.Errorf("wait for container %s: %w", id, err)
		}
		ready, err := readiness(state)
		if err != nil {
			return fmt.Errorf("wait for container %s: %w", id, err)
		}
		if ready {
			return nil
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("wait for container %s (%s): %w", id, describe(state), context.Cause(ctx))
		case <-time.After(delay):
		}
		delay = min(delay*2, 500*time.Millisecond)
	}
}

// readiness says whether the state is ready, not yet, or never will be.
func readiness(s container.State) (bool, error) {
	switch {
	case s.Paused:
		return false, fmt.Errorf("container is paused")
	case s.Restarting:
		return false, nil
	case !s.Running && s.Status == container.StateCreated:
		return false, fmt.Errorf("container was not started")
	case !s.Running:
		return false, fmt.Errorf("container is %s", describe(s))
	case s.Health == nil:
		return true, nil
	}
	switch s.Health.Status {
	case container.Healthy:
		return true, nil
	case container.Unhealthy:
		return false, fmt.Errorf("container is %s", describe(s))
	}
	return false, nil
}

// describe renders a state for an error: status, exit code, health and
// the last health check's output.
func describe(s container.State) string {
	out := string(s.Status)
	if out == "" {
		out = "unknown"
	}
	if s.Status == container.StateExited || s.Status == container.StateDead {
		out += fmt.Sprintf(" with code %d", s.ExitCode)
		if s.Error != "" {
			out += ": " + s.Error
		}
	}
	if s.Health == nil {
		return out
	}
	out += ", health " + string(s.Health.Status)
	if n := len(s.Health.Log); n > 0 && s.Health.Log[n-1] != nil {
		last := s.Health.Log[n-1]
		out += fmt.Sprintf(", last check exited %d: %q", last.ExitCode, strings.TrimSpace(last.Output))
	}
	return out
}
