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
	buildCtx, err := contextTar(bin)
	if err != nil {
		return fmt.Errorf("build context: %w", err)
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
		return fmt.Errorf("build image %s: %w", ref, err)
	}
	defer res.Body.Close()
	if err := buildErrors(res.Body); err != nil {
		return fmt.Errorf("build image %s: %w", ref, err)
	}
	_, err = l.Docker.ImageID(ctx, ref)
	return err
}

// contextTar returns a build context holding the Dockerfile and busybox.
func contextTar(bin []byte) (*bytes.Buffer, error) {
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	files := []struct {
		name string
		mode int64
		data []byte
	}{
		{"Dockerfile", 0o644, []byte(dockerfile)},
		{"busybox", 0o755, bin},
	}
	for _, f := range files {
		hdr := &tar.Header{Name: f.name, Mode: f.mode, Size: int64(len(f.data)), ModTime: time.Now(), Typeflag: tar.TypeReg}
		if err := tw.WriteHeader(hdr); err != nil {
			return nil, err
		}
		if _, err := tw.Write(f.data); err != nil {
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
