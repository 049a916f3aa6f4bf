package rig

import (
	"archive/tar"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path"
	"slices"
	"time"

	"github.com/moby/moby/api/types/build"
	"github.com/moby/moby/client"
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
// among them) with the classic builder, no network and the run's labels,
// and returns its ID. No registry is involved: the Dockerfile must start
// FROM scratch or from an image on the daemon.
func (l *Lab) Build(ctx context.Context, ref string, files []File) (string, error) {
	buildCtx, err := contextTar(files)
	if err != nil {
		return "", fmt.Errorf("build context: %w", err)
	}
	res, err := l.Docker.API().ImageBuild(ctx, buildCtx, client.ImageBuildOptions{
		Tags:        []string{ref},
		Labels:      l.Labels(),
		Remove:      true,
		ForceRemove: true,
		NetworkMode: "none",
		Version:     build.BuilderV1,
	})
	if err != nil {
		return "", fmt.Errorf("build image %s: %w", ref, err)
	}
	defer res.Body.Close()
	if err := buildErrors(res.Body); err != nil {
		return "", fmt.Errorf("build image %s: %w", ref, err)
	}
	return l.Docker.ImageID(ctx, ref)
}

// contextTar returns a build context holding the files, with their
// parent directories.
func contextTar(files []File) (*bytes.Buffer, error) {
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	dirs := map[string]bool{".": true}
	for _, f := range files {
		var parents []string
		for d := path.Dir(f.Name); !dirs[d] && d != "/"; d = path.Dir(d) {
			dirs[d] = true
			parents = append(parents, d)
		}
		for _, d := range slices.Backward(parents) {
			hdr := &tar.Header{Name: d + "/", Mode: 0o755, ModTime: time.Now(), Typeflag: tar.TypeDir}
			if err := tw.WriteHeader(hdr); err != nil {
				return nil, err
			}
		}
		hdr := &tar.Header{Name: f.Name, Mode: f.Mode, Size: int64(len(f.Data)), ModTime: time.Now(), Typeflag: tar.TypeReg}
		if err := tw.WriteHeader(hdr); err != nil {
			return nil, err
		}
		if _, err := tw.Write(f.Data); err != nil {
			return nil, err
		}
	}
	return &buf, tw.Close()
}

// buildErrors reads the daemon's build progress stream to its end and
// returns the first error it reports.
func buildErrors(r io.Reader) error {
	dec := json.NewDecoder(r)
	for {
		var msg struct {
			Error       string `json:"error"`
			ErrorDetail *struct {
				Message string `json:"message"`
			} `json:"errorDetail"`
		}
		err := dec.Decode(&msg)
		if errors.Is(err, io.EOF) {
			return nil
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
}
