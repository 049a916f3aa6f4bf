package dockertest

import (
	"archive/tar"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"testing"
	"time"

	"github.com/moby/moby/api/types/build"
	"github.com/moby/moby/client"

	"github.com/quell-ir/quell/internal/docker"
)

// BusyboxEnv names the environment variable that overrides the path of the
// static busybox binary the test image is built from.
const BusyboxEnv = "QUELL_TEST_BUSYBOX"

// defaultBusybox is where Debian's busybox-static package installs it.
const defaultBusybox = "/bin/busybox"

const dockerfile = "FROM scratch\nCOPY busybox /bin/busybox\n"

// Image builds an image FROM scratch holding only /bin/busybox, tagged
// quell-test/busybox:<random> and labelled quell.test=1, and returns the tag.
// When the test ends the tag is removed, and the image with it unless
// something else still references it. Run commands in it as
// []string{"/bin/busybox", "sh", "-c", "..."}.
func Image(t testing.TB, c *docker.Client) string {
	t.Helper()
	bin, err := os.ReadFile(busyboxPath())
	if err != nil {
		unavailable(t, "static busybox for the test image (apt-get install busybox-static, or set %s): %v", BusyboxEnv, err)
	}
	buildCtx, err := contextTar(bin)
	if err != nil {
		t.Fatalf("build context: %v", err)
	}
	ref := "quell-test/busybox:" + randomHex(t)
	if err := buildImage(t.Context(), c, ref, buildCtx); err != nil {
		t.Fatalf("build image %s: %v", ref, err)
	}
	t.Cleanup(func() { removeImage(t, c, ref) })
	return ref
}

// RemoveImage removes ref when the test ends: for images a test makes
// itself, such as a commit.
func RemoveImage(t testing.TB, c *docker.Client, ref string) {
	t.Helper()
	t.Cleanup(func() { removeImage(t, c, ref) })
}

func removeImage(t testing.TB, c *docker.Client, ref string) {
	ctx, cancel := context.WithTimeout(context.Background(), cleanupTimeout)
	defer cancel()
	_, err := c.API().ImageRemove(ctx, ref, client.ImageRemoveOptions{PruneChildren: true})
	if err != nil && !notFound(err) {
		t.Errorf("remove image %s: %v", ref, err)
	}
}

func busyboxPath() string {
	if p := os.Getenv(BusyboxEnv); p != "" {
		return p
	}
	return defaultBusybox
}

// contextTar returns a build context holding the Dockerfile and busybox.
func contextTar(bin []byte) (*bytes.Buffer, error) {
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	now := time.Now()
	files := []struct {
		name string
		mode int64
		data []byte
	}{
		{"Dockerfile", 0o644, []byte(dockerfile)},
		{"busybox", 0o755, bin},
	}
	for _, f := range files {
		hdr := &tar.Header{Name: f.name, Mode: f.mode, Size: int64(len(f.data)), ModTime: now, Typeflag: tar.TypeReg}
		if err := tw.WriteHeader(hdr); err != nil {
			return nil, err
		}
		if _, err := tw.Write(f.data); err != nil {
			return nil, err
		}
	}
	return &buf, tw.Close()
}

// buildImage runs a classic build without cache, so every test image is its
// own and removing one never races another test's build, and reads the
// daemon's progress stream to its end for errors.
func buildImage(ctx context.Context, c *docker.Client, ref string, buildCtx io.Reader) error {
	res, err := c.API().ImageBuild(ctx, buildCtx, client.ImageBuildOptions{
		Tags:        []string{ref},
		Labels:      map[string]string{Label: "1"},
		NoCache:     true,
		Remove:      true,
		ForceRemove: true,
		NetworkMode: "none",
		Version:     build.BuilderV1,
	})
	if err != nil {
		return err
	}
	defer res.Body.Close()
	dec := json.NewDecoder(res.Body)
	for {
		var msg struct {
			Error       string `json:"error"`
			ErrorDetail *struct {
				Message string `json:"message"`
			} `json:"errorDetail"`
		}
		err := dec.Decode(&msg)
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return fmt.Errorf("read build output: %w", err)
		}
		if msg.ErrorDetail != nil && msg.ErrorDetail.Message != "" {
			return errors.New(msg.ErrorDetail.Message)
		}
		if msg.Error != "" {
			return errors.New(msg.Error)
		}
	}
	_, err = c.ImageID(ctx, ref)
	return err
}
