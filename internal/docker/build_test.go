package docker_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/quell-ir/quell/internal/docker"
	"github.com/quell-ir/quell/internal/docker/dockertest"
)

const buildDockerfile = `FROM scratch
COPY busybox /bin/busybox
COPY hello.txt /hello.txt
ARG GREETING
LABEL greeting=$GREETING
`

func TestBuildImage(t *testing.T) {
	t.Parallel()
	c := dockertest.Client(t)
	ctx := t.Context()
	dir := contextDir(t, map[string]string{
		"docker/app.Dockerfile": buildDockerfile,
		"hello.txt":             "hello\n",
		"notes.secret":          "never sent",
		".dockerignore":         "*.secret\n",
	})
	repo := fmt.Sprintf("quell-test/build-%d", rand.Uint32())
	tags := []string{repo + ":1", repo + ":latest"}
	opts := docker.BuildOptions{
		ContextDir: dir,
		Dockerfile: "docker/app.Dockerfile",
		Tags:       tags,
		Labels:     map[string]string{dockertest.Label: "1", "quell.source": "trusted", "quell.build": repo},
		BuildArgs:  map[string]string{"GREETING": "hi"},
	}

	var log strings.Builder
	start := time.Now()
	first := build(t, c, opts, &log)
	t.Logf("build took %v; log:\n%s", time.Since(start), log.String())
	if !strings.Contains(log.String(), "Step 1/") {
		t.Errorf("build log = %q, want it to contain \"Step 1/\"", log.String())
	}
	img, err := c.ImageInspect(ctx, first)
	if err != nil {
		t.Fatalf("ImageInspect(%s) = %v", first, err)
	}
	for k, want := range map[string]string{dockertest.Label: "1", "quell.source": "trusted", "greeting": "hi"} {
		if got := img.Labels[k]; got != want {
			t.Errorf("image label %s = %q, want %q", k, got, want)
		}
	}
	if got := slices.Sorted(slices.Values(img.RepoTags)); !slices.Equal(got, tags) {
		t.Errorf("image tags = %q, want %q", got, tags)
	}
	if img.ID != first || time.Since(img.Created) > time.Minute {
		t.Errorf("ImageInspect() = %+v, want ID %s created just now", img, first)
	}

	second := build(t, c, opts, nil)
	if second == first {
		t.Errorf("second build without cache gave the same image %s", first)
	}
	for _, tag := range tags {
		if got, err := c.ImageID(ctx, tag); err != nil || got != second {
			t.Errorf("ImageID(%s) = %s, %v, want the newest image %s", tag, got, err, second)
		}
	}
	old, err := c.ImageInspect(ctx, first)
	if err != nil || len(old.RepoTags) != 0 {
		t.Errorf("first image after the rebuild = %+v, %v, want it untagged", old, err)
	}
	imgs, err := c.ImagesByLabel(ctx, "quell.build", repo)
	var ids []string
	for _, img := range imgs {
		ids = append(ids, img.ID)
	}
	slices.Sort(ids)
	if want := slices.Sorted(slices.Values([]string{first, second})); err != nil || !slices.Equal(ids, want) {
		t.Errorf("ImagesByLabel(quell.build, %s) = %+v, %v, want both builds", repo, imgs, err)
	}
}

func TestBuildImageFailure(t *testing.T) {
	t.Parallel()
	c := dockertest.Client(t)
	tag := fmt.Sprintf("quell-test/broken:%d", rand.Uint32())
	tests := []struct {
		name       string
		dockerfile string
		files      map[string]string
		wantErr    string
	}{
		{
			name:    "missing file",
			files:   map[string]string{"Dockerfile": "FROM scratch\nCOPY missing.txt /missing.txt\n"},
			wantErr: "missing.txt",
		},
		{
			name:    "unknown instruction",
			files:   map[string]string{"Dockerfile": "FROM scratch\nFROBNICATE now\n"},
			wantErr: "frobnicate",
		},
		{
			name:       "dockerfile outside the context",
			dockerfile: "../Dockerfile",
			files:      map[string]string{"Dockerfile": "FROM scratch\n"},
			wantErr:    "outside the context directory",
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var log strings.Builder
			id, err := c.BuildImage(t.Context(), docker.BuildOptions{
				ContextDir: contextDir(t, tc.files),
				Dockerfile: tc.dockerfile,
				Tags:       []string{tag},
				Labels:     map[string]string{dockertest.Label: "1"},
			}, &log)
			if id != "" {
				dockertest.RemoveImage(t, c, id)
			}
			if !errors.Is(err, docker.ErrBuildFailed) || !strings.Contains(strings.ToLower(err.Error()), tc.wantErr) {
				t.Errorf("BuildImage() = %q, %v, want an error matching ErrBuildFailed containing %q", id, err, tc.wantErr)
			}
			t.Logf("error: %v; log:\n%s", err, log.String())
		})
	}
	if _, err := c.ImageID(t.Context(), tag); !errors.Is(err, docker.ErrNotFound) {
		t.Errorf("ImageID(%s) = %v after failed builds, want ErrNotFound", tag, err)
	}
}

// build runs BuildImage and removes the image when the test ends.
func build(t *testing.T, c *docker.Client, o docker.BuildOptions, log io.Writer) string {
	t.Helper()
	id, err := c.BuildImage(t.Context(), o, log)
	if err != nil {
		t.Fatalf("BuildImage() = %v", err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		if _, err := c.RemoveImage(ctx, id); err != nil {
			t.Errorf("RemoveImage(%s) = %v", id, err)
		}
	})
	return id
}

// contextDir writes files, and the host's busybox, into a new directory.
func contextDir(t *testing.T, files map[string]string) string {
	t.Helper()
	dir := filepath.Join(t.TempDir(), "ctx")
	all := map[string][]byte{"busybox": dockertest.Busybox(t)}
	for name, data := range files {
		all[name] = []byte(data)
	}
	for name, data := range all {
		p := filepath.Join(dir, filepath.FromSlash(name))
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, data, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}
