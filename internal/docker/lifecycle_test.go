package docker_test

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/moby/moby/api/types/container"
	"github.com/moby/moby/client"

	"github.com/quell-ir/quell/internal/docker"
	"github.com/quell-ir/quell/internal/docker/dockertest"
)

// TestStopRunning stops a running container gracefully: its SIGTERM
// handler runs and it exits on its own.
func TestStopRunning(t *testing.T) {
	t.Parallel()
	c := dockertest.Client(t)
	ctx := t.Context()
	data := t.TempDir()
	id := runWithData(t, c, dockertest.Image(t, c), data)
	start := time.Now()
	if err := c.Stop(ctx, id, 10*time.Second); err != nil {
		t.Fatalf("Stop() = %v", err)
	}
	t.Logf("Stop() on a running container took %v", time.Since(start))
	st := state(t, c, id)
	if st.Running || st.ExitCode != 0 || fileLines(t, filepath.Join(data, "trap")) != 1 {
		t.Errorf("after Stop(): %+v, trap lines %d; want exited 0 by its SIGTERM handler", st, fileLines(t, filepath.Join(data, "trap")))
	}
	if err := c.Stop(ctx, id, time.Second); err != nil {
		t.Errorf("Stop() on a stopped container = %v, want nil", err)
	}
}

// TestDaemonStopThawsPaused records what the daemon's own stop and kill do
// to a paused container, the reason Stop kills a paused container instead:
// it logs and does not fail, since a daemon that changes is no bug here.
func TestDaemonStopThawsPaused(t *testing.T) {
	t.Parallel()
	c := dockertest.Client(t)
	img := dockertest.Image(t, c)
	for _, tc := range []struct {
		name string
		stop func(ctx context.Context, api *client.Client, id string) error
	}{
		{"ContainerStop", func(ctx context.Context, api *client.Client, id string) error {
			secs := 10
			_, err := api.ContainerStop(ctx, id, client.ContainerStopOptions{Timeout: &secs})
			return err
		}},
		{"ContainerKill SIGTERM", func(ctx context.Context, api *client.Client, id string) error {
			_, err := api.ContainerKill(ctx, id, client.ContainerKillOptions{Signal: "SIGTERM"})
			return err
		}},
		{"ContainerKill SIGKILL", func(ctx context.Context, api *client.Client, id string) error {
			_, err := api.ContainerKill(ctx, id, client.ContainerKillOptions{Signal: "SIGKILL"})
			return err
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ctx := t.Context()
			data := t.TempDir()
			id := runWithData(t, c, img, data)
			if err := c.Pause(ctx, id); err != nil {
				t.Fatal(err)
			}
			start := time.Now()
			if err := tc.stop(ctx, c.API(), id); err != nil {
				t.Fatalf("%s: %v", tc.name, err)
			}
			wait := c.API().ContainerWait(ctx, id, client.ContainerWaitOptions{Condition: container.WaitConditionNotRunning})
			select {
			case <-wait.Result:
			case err := <-wait.Error:
				t.Fatal(err)
			}
			st := state(t, c, id)
			t.Logf("%s on a paused container: %s with code %d after %v; SIGTERM handler ran: %v",
				tc.name, st.Status, st.ExitCode, time.Since(start).Round(time.Millisecond), fileLines(t, filepath.Join(data, "trap")) > 0)
		})
	}
}

func TestWaitReadyFailures(t *testing.T) {
	t.Parallel()
	c := dockertest.Client(t)
	img := dockertest.Image(t, c)
	sick := dockertest.BuildFrom(t, c, "quell-test/sick:"+randomSuffix(), `FROM scratch
COPY busybox /bin/busybox
HEALTHCHECK --interval=1s --timeout=2s --retries=1 CMD ["/bin/busybox", "sh", "-c", "echo db unreachable; exit 1"]
CMD ["/bin/busybox", "sleep", "86400"]
`, nil)
	slow := dockertest.BuildFrom(t, c, "quell-test/slow:"+randomSuffix(), `FROM scratch
COPY busybox /bin/busybox
HEALTHCHECK --interval=1h CMD ["/bin/busybox", "true"]
CMD ["/bin/busybox", "sleep", "86400"]
`, nil)
	tests := []struct {
		name    string
		image   string
		cmd     []string
		timeout time.Duration
		wantErr string
		wantIs  error
	}{
		{"unhealthy", sick, nil, 20 * time.Second, `health unhealthy, last check exited 1: "db unreachable"`, nil},
		{"exited", img, []string{"/bin/busybox", "sh", "-c", "exit 3"}, 20 * time.Second, "exited with code 3", nil},
		{"deadline while starting", slow, nil, time.Second, "health starting", context.DeadlineExceeded},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			ctx := t.Context()
			res, err := c.API().ContainerCreate(ctx, client.ContainerCreateOptions{
				Config:     &container.Config{Image: tc.image, Cmd: tc.cmd, Labels: map[string]string{dockertest.Label: "1"}},
				HostConfig: &container.HostConfig{NetworkMode: "none"},
			})
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { remove(t, c, res.ID) })
			if err := c.WaitReady(ctx, res.ID); err == nil || !strings.Contains(err.Error(), "not started") {
				t.Errorf("WaitReady() before Start = %v, want \"not started\"", err)
			}
			if err := c.Start(ctx, res.ID); err != nil {
				t.Fatal(err)
			}
			if tc.cmd != nil {
				// Without a health check, running is ready: let it exit.
				wait := c.API().ContainerWait(ctx, res.ID, client.ContainerWaitOptions{Condition: container.WaitConditionNotRunning})
				select {
				case <-wait.Result:
				case err := <-wait.Error:
					t.Fatal(err)
				}
			}
			waitCtx, cancel := context.WithTimeout(ctx, tc.timeout)
			defer cancel()
			start := time.Now()
			err = c.WaitReady(waitCtx, res.ID)
			if err == nil || !strings.Contains(err.Error(), tc.wantErr) || tc.wantIs != nil && !errors.Is(err, tc.wantIs) {
				t.Errorf("WaitReady() = %v, want an error containing %q", err, tc.wantErr)
			}
			t.Logf("WaitReady() = %v after %v", err, time.Since(start).Round(time.Millisecond))
		})
	}
}

func TestRename(t *testing.T) {
	t.Parallel()
	c := dockertest.Client(t)
	ctx := t.Context()
	img := dockertest.Image(t, c)
	suffix := randomSuffix()
	a := dockertest.Run(t, c, img, dockertest.RunOptions{Name: "quell-test-a-" + suffix})
	b := dockertest.Run(t, c, img, dockertest.RunOptions{Name: "quell-test-b-" + suffix})
	for range 2 {
		if err := c.Rename(ctx, a.ID, "quell-test-renamed-"+suffix); err != nil {
			t.Fatalf("Rename() = %v", err)
		}
	}
	if got, err := c.Container(ctx, a.ID); err != nil || got.Name != "quell-test-renamed-"+suffix {
		t.Errorf("after Rename(): %+v, %v", got, err)
	}
	if err := c.Rename(ctx, a.ID, b.Name); err == nil || !strings.Contains(err.Error(), "already in use") {
		t.Errorf("Rename() to a taken name = %v, want the daemon's conflict", err)
	}
}

func TestLifecycleNotFound(t *testing.T) {
	t.Parallel()
	c := dockertest.Client(t)
	const missing = "quell-test-no-such-container"
	const missingImage = "quell-test/no-such-image:1"
	tests := []struct {
		name string
		call func(ctx context.Context) error
	}{
		{"Spec", func(ctx context.Context) error { _, err := c.Spec(ctx, missing); return err }},
		{"Start", func(ctx context.Context) error { return c.Start(ctx, missing) }},
		{"WaitReady", func(ctx context.Context) error { return c.WaitReady(ctx, missing) }},
		{"Rename", func(ctx context.Context) error { return c.Rename(ctx, missing, "x") }},
		{"Stop", func(ctx context.Context) error { return c.Stop(ctx, missing, time.Second) }},
		{"ImageInspect", func(ctx context.Context) error { _, err := c.ImageInspect(ctx, missingImage); return err }},
		{"CreateFrom", func(ctx context.Context) error {
			s := docker.Spec{Config: &container.Config{}, HostConfig: &container.HostConfig{NetworkMode: "none"}}
			_, err := c.CreateFrom(ctx, s, missingImage, "", nil)
			return err
		}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if err := tc.call(t.Context()); !errors.Is(err, docker.ErrNotFound) {
				t.Errorf("%s() = %v, want ErrNotFound", tc.name, err)
			}
		})
	}
	t.Run("gone is done", func(t *testing.T) {
		ctx := t.Context()
		if err := c.Remove(ctx, missing); err != nil {
			t.Errorf("Remove() = %v, want nil", err)
		}
		if report, err := c.RemoveImage(ctx, missingImage); report != nil || err != nil {
			t.Errorf("RemoveImage() = %q, %v, want nil, nil", report, err)
		}
		for _, ref := range []string{missingImage, "sha256:" + strings.Repeat("0", 64), strings.Repeat("0", 64)} {
			if got, err := c.ContainersByImage(ctx, ref); len(got) != 0 || err != nil {
				t.Errorf("ContainersByImage(%s) = %+v, %v, want none", ref, got, err)
			}
		}
		if got, err := c.FindByLabel(ctx, "quell.replaces", "nothing-"+randomSuffix()); len(got) != 0 || err != nil {
			t.Errorf("FindByLabel() = %+v, %v, want none", got, err)
		}
	})
}

// runWithData runs the heartbeat script in a container with data mounted at
// /data and no network.
func runWithData(t *testing.T, c *docker.Client, image, data string) string {
	t.Helper()
	ctx := t.Context()
	res, err := c.API().ContainerCreate(ctx, client.ContainerCreateOptions{
		Config: &container.Config{
			Image:  image,
			Env:    []string{"PATH=/bin"},
			Cmd:    []string{"/bin/busybox", "sh", "-c", beating},
			Labels: map[string]string{dockertest.Label: "1"},
		},
		HostConfig: &container.HostConfig{NetworkMode: "none", Binds: []string{data + ":/data"}},
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { remove(t, c, res.ID) })
	if err := c.Start(ctx, res.ID); err != nil {
		t.Fatal(err)
	}
	waitForFile(t, filepath.Join(data, "beat"))
	return res.ID
}

func state(t *testing.T, c *docker.Client, id string) container.State {
	t.Helper()
	res, err := c.API().ContainerInspect(t.Context(), id, client.ContainerInspectOptions{})
	if err != nil {
		t.Fatal(err)
	}
	return *res.Container.State
}

// randomSuffix returns eight random hex digits for unique names.
func randomSuffix() string {
	return fmt.Sprintf("%08x", rand.Uint32())
}
