package docker_test

import (
	"archive/tar"
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/quell-ir/quell/internal/docker"
	"github.com/quell-ir/quell/internal/docker/dockertest"
)

const chatty = "echo to-stdout; echo to-stderr >&2; exec /bin/busybox sleep 86400"

// TestEvidenceFromPausedContainer collects every kind of evidence from a
// frozen container, as quell does after isolating it.
func TestEvidenceFromPausedContainer(t *testing.T) {
	t.Parallel()
	c := dockertest.Client(t)
	ctx := t.Context()
	ctr := dockertest.Run(t, c, dockertest.Image(t, c), dockertest.RunOptions{
		Cmd: []string{"/bin/busybox", "sh", "-c", chatty},
	})
	dockertest.Exec(t, c, ctr.ID, "/bin/busybox", "sh", "-c", "mkdir -p /tmp && echo owned > /tmp/pwned.txt")
	waitForLogs(t, c, ctr.ID, false)
	if err := c.Pause(ctx, ctr.ID); err != nil {
		t.Fatalf("Pause() = %v", err)
	}

	checks := []struct {
		name  string
		check func(t *testing.T, c *docker.Client, id string)
	}{
		{"InspectRaw", checkInspectRaw},
		{"Logs", checkLogs},
		{"Diff", checkDiff},
		{"Export", checkExport},
		{"Top", checkTop},
		{"Commit", checkCommit},
	}
	for _, tc := range checks {
		t.Run(tc.name, func(t *testing.T) {
			start := time.Now()
			tc.check(t, c, ctr.ID)
			t.Logf("%s on the paused container took %v", tc.name, time.Since(start))
		})
	}
	if got, err := c.Container(ctx, ctr.ID); err != nil || !got.Paused {
		t.Errorf("after collecting evidence: Container() = %+v, %v, want still paused", got, err)
	}
}

func TestLogsWithTTY(t *testing.T) {
	t.Parallel()
	c := dockertest.Client(t)
	ctr := dockertest.Run(t, c, dockertest.Image(t, c), dockertest.RunOptions{
		Cmd: []string{"/bin/busybox", "sh", "-c", chatty},
		TTY: true,
	})
	waitForLogs(t, c, ctr.ID, true)
	var stdout, stderr bytes.Buffer
	if err := c.Logs(t.Context(), ctr.ID, &stdout, &stderr); err != nil {
		t.Fatalf("Logs() = %v", err)
	}
	for _, want := range []string{"to-stdout", "to-stderr"} {
		if !strings.Contains(stdout.String(), want) {
			t.Errorf("stdout = %q, want it to contain %q", stdout.String(), want)
		}
	}
	if stderr.Len() != 0 {
		t.Errorf("stderr = %q, want empty: a TTY has one stream", stderr.String())
	}
}

func checkInspectRaw(t *testing.T, c *docker.Client, id string) {
	raw, err := c.InspectRaw(t.Context(), id)
	if err != nil {
		t.Fatalf("InspectRaw() = %v", err)
	}
	var doc struct {
		ID    string `json:"Id"`
		State struct{ Paused bool }
	}
	if err := json.Unmarshal(raw, &doc); err != nil {
		t.Fatalf("InspectRaw() is not JSON: %v", err)
	}
	if doc.ID != id || !doc.State.Paused {
		t.Errorf("InspectRaw() names %q paused=%v, want %q paused", doc.ID, doc.State.Paused, id)
	}
}

func checkLogs(t *testing.T, c *docker.Client, id string) {
	var stdout, stderr bytes.Buffer
	if err := c.Logs(t.Context(), id, &stdout, &stderr); err != nil {
		t.Fatalf("Logs() = %v", err)
	}
	stamped := regexp.MustCompile(`^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d+Z `)
	for _, tc := range []struct{ stream, got, want string }{
		{"stdout", stdout.String(), "to-stdout\n"},
		{"stderr", stderr.String(), "to-stderr\n"},
	} {
		if !stamped.MatchString(tc.got) || !strings.HasSuffix(tc.got, " "+tc.want) {
			t.Errorf("%s = %q, want a timestamp then %q", tc.stream, tc.got, tc.want)
		}
	}
}

func checkDiff(t *testing.T, c *docker.Client, id string) {
	got, err := c.Diff(t.Context(), id)
	if err != nil {
		t.Fatalf("Diff() = %v", err)
	}
	want := docker.Change{Kind: "A", Path: "/tmp/pwned.txt"}
	if !slices.Contains(got, want) {
		t.Errorf("Diff() = %+v, want it to contain %+v", got, want)
	}
}

func checkExport(t *testing.T, c *docker.Client, id string) {
	got := exportedFile(t, c, id, "tmp/pwned.txt")
	if want := "owned\n"; got != want {
		t.Errorf("exported tmp/pwned.txt = %q, want %q", got, want)
	}
}

func checkTop(t *testing.T, c *docker.Client, id string) {
	got, err := c.Top(t.Context(), id)
	if errors.Is(err, docker.ErrUnavailable) {
		dockertest.Unavailable(t, "Top() on a paused container: %v", err)
		return
	}
	if err != nil {
		t.Fatalf("Top() = %v", err)
	}
	if !slices.Contains(got.Titles, "CMD") || !strings.Contains(flatten(got.Processes), "sleep 86400") {
		t.Errorf("Top() = %+v, want a CMD column and the sleep", got)
	}
}

// checkCommit commits twice under one ref and expects one image, carrying
// the labels, which is removed when the test ends.
func checkCommit(t *testing.T, c *docker.Client, id string) {
	ctx := t.Context()
	ref := "quell-test/evidence:" + id[:12]
	dockertest.RemoveImage(t, c, ref)
	labels := map[string]string{dockertest.Label: "1", "quell.incident": "inc-1"}
	first, err := c.Commit(ctx, id, ref, labels)
	if err != nil {
		t.Fatalf("Commit() = %v", err)
	}
	second, err := c.Commit(ctx, id, ref, labels)
	if err != nil || second != first {
		t.Errorf("second Commit() = %q, %v, want %q, nil", second, err, first)
	}
	img, err := c.API().ImageInspect(ctx, ref)
	if err != nil {
		t.Fatalf("inspect %s: %v", ref, err)
	}
	for k, want := range labels {
		if got := img.Config.Labels[k]; got != want {
			t.Errorf("image label %s = %q, want %q", k, got, want)
		}
	}
}

// waitForLogs waits until the daemon has logged both of chatty's lines,
// since it copies container output asynchronously; with a TTY both arrive
// on stdout.
func waitForLogs(t *testing.T, c *docker.Client, id string, tty bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for time.Now().Before(deadline) {
		var stdout, stderr bytes.Buffer
		if err := c.Logs(t.Context(), id, &stdout, &stderr); err != nil {
			t.Fatalf("Logs() = %v", err)
		}
		if tty && strings.Count(stdout.String(), "\n") >= 2 || stdout.Len() > 0 && stderr.Len() > 0 {
			return
		}
		time.Sleep(50 * time.Millisecond)
	}
	t.Fatal("container logs stayed empty for 10s")
}

// exportedFile returns the contents of name in the container's export.
func exportedFile(t *testing.T, c *docker.Client, id, name string) string {
	t.Helper()
	rc, err := c.Export(t.Context(), id)
	if err != nil {
		t.Fatalf("Export() = %v", err)
	}
	defer rc.Close()
	tr := tar.NewReader(rc)
	for {
		hdr, err := tr.Next()
		if errors.Is(err, io.EOF) {
			t.Fatalf("Export() has no %s", name)
		}
		if err != nil {
			t.Fatalf("read export: %v", err)
		}
		if hdr.Name == name {
			b, err := io.ReadAll(tr)
			if err != nil {
				t.Fatalf("read %s from export: %v", name, err)
			}
			return string(b)
		}
	}
}

func flatten(rows [][]string) string {
	var b strings.Builder
	for _, r := range rows {
		b.WriteString(strings.Join(r, " "))
		b.WriteByte('\n')
	}
	return b.String()
}
