package rig

import (
	"context"
	"fmt"
	"os"
	"path/filepath"

	"github.com/quell-ir/quell/internal/docker"
)

// Busybox is where Debian's busybox-static package installs the static
// busybox the rig's image is built from.
const Busybox = "/bin/busybox"

const dockerfile = "FROM scratch\nCOPY busybox /bin/busybox\n"

// Image returns the run's image, building it on first use: FROM scratch
// with only /bin/busybox, tagged quell-bench/busybox:<run> and labelled as
// every object of the run. No registry is involved.
func (l *Lab) Image(ctx context.Context) (string, error) {
	l.imageOnce.Do(func() {
		ref := "quell-bench/busybox:" + l.Run
		l.imageErr = l.buildImage(ctx, ref)
		l.image = ref
	})
	return l.image, l.imageErr
}

func (l *Lab) buildImage(ctx context.Context, ref string) error {
	bin, err := os.ReadFile(Busybox)
	if err != nil {
		return fmt.Errorf("static busybox (apt-get install busybox-static): %w", err)
	}
	_, err = l.Build(ctx, ref, []File{{"Dockerfile", 0o644, []byte(dockerfile)}, {"busybox", 0o755, bin}})
	return err
}

// File is a file of a build context.
type File struct {
	// Name is its slash-separated path in the context.
	Name string
	Mode int64
	Data []byte
}

// Build builds the image ref from a context holding files (a Dockerfile
// among them) with quell's own builder (docker.Client.BuildImage: classic
// builder, no cache), no network and the run's labels, and returns its ID.
// No registry is involved: the Dockerfile must start FROM scratch or from
// an image on the daemon.
func (l *Lab) Build(ctx context.Context, ref string, files []File) (string, error) {
	dir, err := os.MkdirTemp("", "quell-bench-build-")
	if err != nil {
		return "", fmt.Errorf("build context: %w", err)
	}
	defer os.RemoveAll(dir)
	for _, f := range files {
		p := filepath.Join(dir, filepath.FromSlash(f.Name))
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			return "", fmt.Errorf("build context: %w", err)
		}
		if err := os.WriteFile(p, f.Data, os.FileMode(f.Mode)); err != nil {
			return "", fmt.Errorf("build context: %w", err)
		}
	}
	id, err := l.Docker.BuildImage(ctx, docker.BuildOptions{
		ContextDir: dir, Tags: []string{ref}, Labels: l.Labels(), NetworkMode: "none",
	}, nil)
	if err != nil {
		return "", fmt.Errorf("build image %s: %w", ref, err)
	}
	return id, nil
}
