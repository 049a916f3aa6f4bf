package docker_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/moby/moby/api/types/container"
	"github.com/moby/moby/api/types/mount"
	"github.com/moby/moby/api/types/network"
	"github.com/moby/moby/client"

	"github.com/quell-ir/quell/internal/docker"
	"github.com/quell-ir/quell/internal/docker/dockertest"
)

// appDockerfile is the trusted source of the test application: version is
// baked into a file and a label, and the health check needs the file.
func appDockerfile(version string) string {
	return `FROM scratch
COPY busybox /bin/busybox
COPY version /version
ENV PATH=/bin APP_MODE=prod
LABEL app.version=` + version + `
HEALTHCHECK --interval=1s --timeout=3s --retries=3 CMD ["/bin/busybox", "test", "-f", "/version"]
CMD ["/bin/busybox", "sleep", "86400"]
`
}

// beating writes a heartbeat line to /data/beat every 5ms from a child
// process, and records in /data/trap if the init process ever handles
// SIGTERM: either shows the container ran.
const beating = `trap 'echo TERM >> /data/trap; exit 0' TERM
(while true; do echo beat >> /data/beat; busybox usleep 5000; done) &
while true; do busybox usleep 50000; done`

// TestReplaceContainer walks quell's replacement of a compromised
// container: record its spec, isolate it, rename and stop it, create and
// start a replacement from a rebuilt image, then remove the old container
// and its image.
func TestReplaceContainer(t *testing.T) {
	t.Parallel()
	c := dockertest.Client(t)
	ctx := t.Context()
	suffix := randomSuffix()
	repo := "quell-test/app-" + suffix
	v1 := dockertest.BuildFrom(t, c, repo+":v1", appDockerfile("1"), map[string][]byte{"version": []byte("1\n")})
	if _, err := c.API().ImageTag(ctx, client.ImageTagOptions{Source: v1, Target: repo + ":stable"}); err != nil {
		t.Fatalf("tag v1: %v", err)
	}
	nw := dockertest.Network(t, c)
	app := runApp(t, c, "app-"+suffix, repo+":v1", nw)

	before, err := c.Attachments(ctx, app.ID)
	if err != nil {
		t.Fatalf("Attachments() = %v", err)
	}
	spec := specRoundTrip(t, c, app.ID)

	// Isolate, rename and stop the compromised container.
	if err := c.Pause(ctx, app.ID); err != nil {
		t.Fatalf("Pause() = %v", err)
	}
	for _, a := range before {
		if err := c.Disconnect(ctx, app.ID, a.Network); err != nil {
			t.Fatalf("Disconnect(%s) = %v", a.Network, err)
		}
	}
	quarantined := app.Name + "-quarantined-x"
	for range 2 {
		if err := c.Rename(ctx, app.ID, quarantined); err != nil {
			t.Fatalf("Rename() = %v", err)
		}
	}
	stopPausedAndCheck(t, c, app.ID, app.Data)

	// Replace it from the rebuilt image.
	v2 := dockertest.BuildFrom(t, c, repo+":v2", appDockerfile("2"), map[string][]byte{"version": []byte("2\n")})
	labels := map[string]string{"quell.replaces": app.ID}
	start := time.Now()
	id, err := c.CreateFrom(ctx, spec.WithNetworks(before), repo+":v2", app.Name, labels)
	if err != nil {
		t.Fatalf("CreateFrom() = %v", err)
	}
	t.Cleanup(func() { remove(t, c, id) })
	if again, err := c.CreateFrom(ctx, spec.WithNetworks(before), repo+":v2", app.Name, labels); err != nil || again != id {
		t.Errorf("second CreateFrom() = %s, %v, want the same container %s", again, err, id)
	}
	created := time.Since(start)
	// A creation cut short between create and connect: JoinNetworks
	// completes it, twice harmlessly.
	if err := c.Disconnect(ctx, id, before[0].Network); err != nil {
		t.Fatalf("Disconnect(replacement) = %v", err)
	}
	for range 2 {
		if err := c.JoinNetworks(ctx, id, spec.WithNetworks(before).Networks); err != nil {
			t.Fatalf("JoinNetworks() = %v", err)
		}
	}
	for range 2 {
		if err := c.Start(ctx, id); err != nil {
			t.Fatalf("Start() = %v", err)
		}
	}
	readyCtx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	if err := c.WaitReady(readyCtx, id); err != nil {
		t.Fatalf("WaitReady() = %v", err)
	}
	t.Logf("create %v, create+start+ready %v", created, time.Since(start))
	checkReplacement(t, c, id, app, v2)

	found, err := c.FindByLabel(ctx, "quell.replaces", app.ID)
	if err != nil || len(found) != 1 || found[0].ID != id || found[0].Name != app.Name || !found[0].Running {
		t.Errorf("FindByLabel(quell.replaces, old) = %+v, %v, want only the running %s", found, err, id)
	}
	checkImageUsers(t, c, v1, v2, app.ID, id)
	removeOldImage(t, c, v1, app.ID, repo)
}

// app is the container under replacement.
type app struct {
	docker.Container
	Data   string // host directory bind-mounted at /data
	Volume string // named volume mounted at /vol
	Port   string // loopback host port bound to 80/tcp
	Env    []string
}

// runApp creates the application container the way an operator would, with
// a bind mount, a named volume, a restart policy, a port binding on the
// loopback address and the alias "web" on the internal network nw, and
// waits until it is healthy.
func runApp(t *testing.T, c *docker.Client, name, image, nw string) app {
	t.Helper()
	ctx := t.Context()
	a := app{Data: t.TempDir(), Volume: "quell-test-" + name, Port: freePort(t), Env: []string{"APP_ROLE=web", "APP_MODE=debug"}}
	if _, err := c.API().VolumeCreate(ctx, client.VolumeCreateOptions{Name: a.Volume, Labels: map[string]string{dockertest.Label: "1"}}); err != nil {
		t.Fatalf("create volume: %v", err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		if _, err := c.API().VolumeRemove(ctx, a.Volume, client.VolumeRemoveOptions{}); err != nil {
			t.Errorf("remove volume %s: %v", a.Volume, err)
		}
	})
	port := network.MustParsePort("80/tcp")
	res, err := c.API().ContainerCreate(ctx, client.ContainerCreateOptions{
		Name: name,
		Config: &container.Config{
			Image:        image,
			Cmd:          []string{"/bin/busybox", "sh", "-c", beating},
			Env:          a.Env,
			Labels:       map[string]string{dockertest.Label: "1", "role": "web"},
			ExposedPorts: network.PortSet{port: {}},
		},
		HostConfig: &container.HostConfig{
			Binds:         []string{a.Data + ":/data"},
			Mounts:        []mount.Mount{{Type: mount.TypeVolume, Source: a.Volume, Target: "/vol"}},
			RestartPolicy: container.RestartPolicy{Name: container.RestartPolicyOnFailure, MaximumRetryCount: 3},
			NetworkMode:   container.NetworkMode(nw),
			PortBindings:  network.PortMap{port: {{HostIP: netip.MustParseAddr("127.0.0.1"), HostPort: a.Port}}},
		},
		NetworkingConfig: &network.NetworkingConfig{
			EndpointsConfig: map[string]*network.EndpointSettings{nw: {Aliases: []string{"web"}}},
		},
	})
	if err != nil {
		t.Fatalf("create %s: %v", name, err)
	}
	t.Cleanup(func() { remove(t, c, res.ID) })
	if err := c.Start(ctx, res.ID); err != nil {
		t.Fatalf("Start() = %v", err)
	}
	if err := c.WaitReady(ctx, res.ID); err != nil {
		t.Fatalf("WaitReady() = %v", err)
	}
	ctr, err := c.Container(ctx, res.ID)
	if err != nil {
		t.Fatal(err)
	}
	a.Container = ctr
	waitForFile(t, filepath.Join(a.Data, "beat"))
	return a
}

// specRoundTrip takes the container's spec through JSON, as Temporal
// carries it between activities.
func specRoundTrip(t *testing.T, c *docker.Client, id string) docker.Spec {
	t.Helper()
	spec, err := c.Spec(t.Context(), id)
	if err != nil {
		t.Fatalf("Spec() = %v", err)
	}
	b, err := json.Marshal(spec)
	if err != nil {
		t.Fatalf("marshal spec: %v", err)
	}
	var out docker.Spec
	if err := json.Unmarshal(b, &out); err != nil {
		t.Fatalf("unmarshal spec: %v\n%s", err, b)
	}
	t.Logf("spec: %s", b)
	return out
}

// stopPausedAndCheck stops the paused container and checks that it exited
// by SIGKILL without running again: no SIGTERM handler ran and the
// heartbeat stopped at the pause.
func stopPausedAndCheck(t *testing.T, c *docker.Client, id, data string) {
	t.Helper()
	ctx := t.Context()
	beats := fileLines(t, filepath.Join(data, "beat"))
	start := time.Now()
	if err := c.Stop(ctx, id, 10*time.Second); err != nil {
		t.Fatalf("Stop() on the paused container = %v", err)
	}
	t.Logf("Stop() on a paused container took %v", time.Since(start))
	if err := c.Stop(ctx, id, 10*time.Second); err != nil {
		t.Errorf("second Stop() = %v, want nil", err)
	}
	res, err := c.API().ContainerInspect(ctx, id, client.ContainerInspectOptions{})
	if err != nil {
		t.Fatal(err)
	}
	st := res.Container.State
	if st.Running || st.Paused || st.Status != container.StateExited || st.ExitCode != 137 {
		t.Errorf("after Stop(): state %+v, want exited with code 137", st)
	}
	if got := res.Container.HostConfig.RestartPolicy.Name; got != container.RestartPolicyDisabled {
		t.Errorf("after Stop(): restart policy %q, want %q", got, container.RestartPolicyDisabled)
	}
	if _, err := os.Stat(filepath.Join(data, "trap")); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("the SIGTERM handler ran (stat /data/trap: %v): the container was let run", err)
	}
	// On cgroup v1 the daemon thaws the container to let the SIGKILL land;
	// init dies first and the kernel kills the rest a moment later, time in
	// which a child may write once more (seen under heavy load). More than
	// that means the container was let run.
	if after := fileLines(t, filepath.Join(data, "beat")); after > beats+1 {
		t.Errorf("heartbeats went from %d to %d while stopping: the container was let run", beats, after)
	}
}

// checkReplacement compares the replacement with the original.
func checkReplacement(t *testing.T, c *docker.Client, id string, old app, image string) {
	t.Helper()
	res, err := c.API().ContainerInspect(t.Context(), id, client.ContainerInspectOptions{})
	if err != nil {
		t.Fatal(err)
	}
	got := res.Container
	if got.Name != "/"+old.Name || got.Image != image {
		t.Errorf("replacement is %s from %s, want %s from %s", got.Name, got.Image, old.Name, image)
	}
	for _, e := range append(slices.Clone(old.Env), "PATH=/bin") {
		if !slices.Contains(got.Config.Env, e) {
			t.Errorf("replacement env %q lacks %q", got.Config.Env, e)
		}
	}
	wantLabels := map[string]string{dockertest.Label: "1", "role": "web", "quell.replaces": old.ID, "app.version": "2"}
	for k, v := range wantLabels {
		if got.Config.Labels[k] != v {
			t.Errorf("replacement label %s = %q, want %q", k, got.Config.Labels[k], v)
		}
	}
	if got.Config.Healthcheck == nil || got.State.Health == nil || got.State.Health.Status != container.Healthy {
		t.Errorf("replacement health check %+v, state %+v, want healthy", got.Config.Healthcheck, got.State.Health)
	}
	var mounts []string
	for _, m := range got.Mounts {
		src := m.Source
		if m.Type == mount.TypeVolume {
			src = m.Name
		}
		mounts = append(mounts, fmt.Sprintf("%s %s:%s", m.Type, src, m.Destination))
	}
	slices.Sort(mounts)
	if want := []string{"bind " + old.Data + ":/data", "volume " + old.Volume + ":/vol"}; !slices.Equal(mounts, want) {
		t.Errorf("replacement mounts = %q, want %q", mounts, want)
	}
	if rp := got.HostConfig.RestartPolicy; rp.Name != container.RestartPolicyOnFailure || rp.MaximumRetryCount != 3 {
		t.Errorf("replacement restart policy = %+v, want on-failure:3", rp)
	}
	pb := got.HostConfig.PortBindings[network.MustParsePort("80/tcp")]
	if len(pb) != 1 || pb[0].HostIP.String() != "127.0.0.1" || pb[0].HostPort != old.Port {
		t.Errorf("replacement port bindings = %+v, want 127.0.0.1:%s", got.HostConfig.PortBindings, old.Port)
	}
	atts, err := c.Attachments(t.Context(), id)
	if err != nil || len(atts) != 1 || !slices.Equal(atts[0].Aliases, []string{"web"}) {
		t.Errorf("replacement attachments = %+v, %v, want one network with alias web", atts, err)
	}
	if got.Config.Hostname == old.ID[:12] {
		t.Errorf("replacement took the old container's hostname %s", got.Config.Hostname)
	}
}

// checkImageUsers checks ContainersByImage finds stopped and running users
// by either form of the ID.
func checkImageUsers(t *testing.T, c *docker.Client, v1, v2, oldID, newID string) {
	t.Helper()
	for _, tc := range []struct{ image, want string }{
		{v1, oldID},
		{strings.TrimPrefix(v2, "sha256:"), newID},
	} {
		got, err := c.ContainersByImage(t.Context(), tc.image)
		if err != nil || len(got) != 1 || got[0].ID != tc.want {
			t.Errorf("ContainersByImage(%s) = %+v, %v, want only %s", tc.image, got, err, tc.want)
		}
	}
}

// removeOldImage removes the quarantined container and the image it ran,
// which has two tags, and checks RemoveImage refuses while the container
// exists.
func removeOldImage(t *testing.T, c *docker.Client, v1, oldID, repo string) {
	t.Helper()
	ctx := t.Context()
	_, err := c.RemoveImage(ctx, v1)
	if !errors.Is(err, docker.ErrInUse) || !strings.Contains(err.Error(), "-quarantined-x") {
		t.Errorf("RemoveImage(v1) while the old container exists = %v, want ErrInUse naming it", err)
	}
	if img, err := c.ImageInspect(ctx, v1); err != nil || len(img.RepoTags) != 2 {
		t.Errorf("after a refused RemoveImage: %+v, %v, want the image with both tags", img, err)
	}
	for range 2 {
		if err := c.Remove(ctx, oldID); err != nil {
			t.Fatalf("Remove(old) = %v", err)
		}
	}
	report, err := c.RemoveImage(ctx, v1)
	if err != nil {
		t.Fatalf("RemoveImage(v1) = %v", err)
	}
	t.Logf("RemoveImage(v1) = %q", report)
	for _, want := range []string{"Untagged: " + repo + ":v1", "Untagged: " + repo + ":stable", "Deleted: " + v1} {
		if !slices.Contains(report, want) {
			t.Errorf("RemoveImage(v1) = %q, want it to contain %q", report, want)
		}
	}
	if _, err := c.ImageInspect(ctx, v1); !errors.Is(err, docker.ErrNotFound) {
		t.Errorf("ImageInspect(v1) after removal = %v, want ErrNotFound", err)
	}
	if report, err := c.RemoveImage(ctx, v1); err != nil || report != nil {
		t.Errorf("second RemoveImage(v1) = %q, %v, want nil, nil", report, err)
	}
}

func remove(t *testing.T, c *docker.Client, id string) {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := c.Remove(ctx, id); err != nil {
		t.Errorf("remove container %s: %v", id, err)
	}
}

// freePort returns a loopback TCP port nothing listens on.
func freePort(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	_, port, _ := net.SplitHostPort(l.Addr().String())
	return port
}

func waitForFile(t *testing.T, name string) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for fileLines(t, name) == 0 {
		if time.Now().After(deadline) {
			t.Fatalf("%s stayed empty for 10s", name)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func fileLines(t *testing.T, name string) int {
	t.Helper()
	b, err := os.ReadFile(name)
	if errors.Is(err, os.ErrNotExist) {
		return 0
	}
	if err != nil {
		t.Fatal(err)
	}
	return strings.Count(string(b), "\n")
}
