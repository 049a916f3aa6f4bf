package docker

import (
	"context"
	"errors"
	"fmt"
	"io"
	"maps"

	cerrdefs "github.com/containerd/errdefs"
	"github.com/moby/moby/api/pkg/stdcopy"
	"github.com/moby/moby/client"
)

// Change is one entry of a container's filesystem diff against its image.
type Change struct {
	// Kind is "A" (added), "C" (changed) or "D" (deleted).
	Kind string `json:"kind"`
	// Path is the absolute path inside the container.
	Path string `json:"path"`
}

// Processes is a container's process table as the daemon's ps reports it.
type Processes struct {
	// Titles are the column headings (UID, PID, PPID, C, STIME, TTY, TIME, CMD).
	Titles []string `json:"titles"`
	// Processes holds one row per process, in the order of Titles.
	Processes [][]string `json:"processes"`
}

// Logs copies the container's whole log, with timestamps, to stdout and
// stderr. A container with a TTY has a single stream, all copied to stdout.
// A nil writer discards its stream.
func (c *Client) Logs(ctx context.Context, id string, stdout, stderr io.Writer) error {
	res, err := c.inspect(ctx, id)
	if err != nil {
		return fmt.Errorf("logs of container %s: %w", id, err)
	}
	if stdout == nil {
		stdout = io.Discard
	}
	if stderr == nil {
		stderr = io.Discard
	}
	rc, err := c.api.ContainerLogs(ctx, id, client.ContainerLogsOptions{
		ShowStdout: true,
		ShowStderr: true,
		Timestamps: true,
	})
	if err != nil {
		return fmt.Errorf("logs of container %s: %w", id, classify(err))
	}
	defer rc.Close()
	if res.Container.Config != nil && res.Container.Config.Tty {
		_, err = io.Copy(stdout, rc)
	} else {
		_, err = stdcopy.StdCopy(stdout, stderr, rc)
	}
	if err != nil {
		return fmt.Errorf("logs of container %s: %w", id, err)
	}
	return nil
}

// Diff lists the files added, changed and deleted in the container since it
// was created from its image.
func (c *Client) Diff(ctx context.Context, id string) ([]Change, error) {
	res, err := c.api.ContainerDiff(ctx, id, client.ContainerDiffOptions{})
	if err != nil {
		return nil, fmt.Errorf("diff container %s: %w", id, classify(err))
	}
	out := make([]Change, 0, len(res.Changes))
	for _, ch := range res.Changes {
		out = append(out, Change{Kind: ch.Kind.String(), Path: ch.Path})
	}
	return out, nil
}

// Top lists the container's processes. It works on paused containers. When
// the daemon answers but cannot list them (the container stopped, or ps
// failed on the host) the error wraps ErrUnavailable.
func (c *Client) Top(ctx context.Context, id string) (Processes, error) {
	res, err := c.api.ContainerTop(ctx, id, client.ContainerTopOptions{})
	if err != nil {
		err = classify(err)
		if !errors.Is(err, ErrNotFound) && daemonRefused(err) {
			return Processes{}, fmt.Errorf("list processes of container %s: %w: %w", id, ErrUnavailable, err)
		}
		return Processes{}, fmt.Errorf("list processes of container %s: %w", id, err)
	}
	return Processes{Titles: res.Titles, Processes: res.Processes}, nil
}

// daemonRefused reports whether err is the daemon's answer that it cannot do
// the request, as opposed to a transport failure worth retrying.
func daemonRefused(err error) bool {
	return cerrdefs.IsConflict(err) || cerrdefs.IsInternal(err) ||
		cerrdefs.IsNotImplemented(err) || cerrdefs.IsFailedPrecondition(err)
}

// Export streams the container's whole filesystem as a tar archive. The
// caller closes the stream; cancelling ctx closes it too.
func (c *Client) Export(ctx context.Context, id string) (io.ReadCloser, error) {
	rc, err := c.api.ContainerExport(ctx, id, client.ContainerExportOptions{})
	if err != nil {
		return nil, fmt.Errorf("export container %s: %w", id, classify(err))
	}
	return rc, nil
}

// Commit saves the container's filesystem and configuration as an image
// tagged ref, with labels added to the image config, and returns the image
// ID. It does not pause the container: quell freezes it beforehand. If ref
// already exists, Commit returns its ID without committing again, so a
// retried commit makes no second image.
func (c *Client) Commit(ctx context.Context, id, ref string, labels map[string]string) (string, error) {
	existing, err := c.ImageID(ctx, ref)
	switch {
	case err == nil:
		return existing, nil
	case !errors.Is(err, ErrNotFound):
		return "", fmt.Errorf("commit container %s as %s: %w", id, ref, err)
	}
	res, err := c.inspect(ctx, id)
	if err != nil {
		return "", fmt.Errorf("commit container %s as %s: %w", id, ref, err)
	}
	opts := client.ContainerCommitOptions{Reference: ref, NoPause: true}
	if cfg := res.Container.Config; cfg != nil {
		withLabels := *cfg
		withLabels.Labels = maps.Clone(cfg.Labels)
		if withLabels.Labels == nil {
			withLabels.Labels = map[string]string{}
		}
		maps.Copy(withLabels.Labels, labels)
		opts.Config = &withLabels
	}
	out, err := c.api.ContainerCommit(ctx, id, opts)
	if err != nil {
		return "", fmt.Errorf("commit container %s as %s: %w", id, ref, classify(err))
	}
	return out.ID, nil
}

// ImageID returns the ID of the image ref names; the error wraps ErrNotFound
// when there is none.
func (c *Client) ImageID(ctx context.Context, ref string) (string, error) {
	res, err := c.api.ImageInspect(ctx, ref)
	if err != nil {
		return "", fmt.Errorf("inspect image %s: %w", ref, classify(err))
	}
	return res.ID, nil
}
