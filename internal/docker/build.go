package docker

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"maps"
	"strings"

	cerrdefs "github.com/containerd/errdefs"
	"github.com/moby/moby/api/types/build"
	"github.com/moby/moby/client"
)

// ErrBuildFailed is wrapped by BuildImage when the build cannot succeed as
// asked: the context directory or Dockerfile is unusable, or the daemon
// refused the build or failed one of its steps. Retrying does not help.
var ErrBuildFailed = errors.New("build failed")

// BuildOptions describe an image build from a trusted source.
type BuildOptions struct {
	// ContextDir is the directory sent to the daemon as the build context.
	// A .dockerignore at its root is honoured (see BuildImage).
	ContextDir string
	// Dockerfile is the Dockerfile's path relative to ContextDir; empty
	// means "Dockerfile". It must lie inside ContextDir.
	Dockerfile string
	// Tags are the references to apply to the built image.
	Tags []string
	// Labels are added to the image's labels.
	Labels map[string]string
	// BuildArgs are the values of the Dockerfile's ARG instructions.
	BuildArgs map[string]string
	// NetworkMode is the network for RUN instructions, such as "none" for
	// a hermetic build; empty means the daemon's default bridge.
	NetworkMode string
}

// BuildImage builds an image from o.ContextDir with the classic builder,
// without the build cache and without pulling a newer base image, removing
// the intermediate containers even when a step fails. It copies the
// daemon's progress text to log (nil discards it) and returns the built
// image's ID.
//
// The context is sent as a tar of the directory in lexical order, with
// owners cleared and times truncated to the second. Entries matching the
// .dockerignore patterns (comments, "*", "?", "**", "[...]", "\" escapes
// and "!" exceptions, as the docker CLI reads them) are left out; the
// Dockerfile and .dockerignore are always sent. Symbolic links are sent as
// links; sockets, pipes and devices are skipped.
//
// The error wraps ErrBuildFailed, with the daemon's message, when the
// build fails; transport errors are returned as they are.
func (c *Client) BuildImage(ctx context.Context, o BuildOptions, log io.Writer) (string, error) {
	if log == nil {
		log = io.Discard
	}
	bc, err := newBuildContext(o.ContextDir, o.Dockerfile)
	if err != nil {
		return "", fmt.Errorf("build image from %s: %w: %w", o.ContextDir, ErrBuildFailed, err)
	}
	pr, pw := io.Pipe()
	written := make(chan error, 1)
	go func() {
		err := bc.write(pw)
		written <- err
		pw.CloseWithError(err)
	}()
	defer pr.Close()

	res, err := c.api.ImageBuild(ctx, pr, buildOptions(o, bc.dockerfile))
	if err != nil {
		pr.Close()
		if werr := <-written; werr != nil && !errors.Is(werr, io.ErrClosedPipe) {
			// The context could not be read; the request failed because of it.
			return "", fmt.Errorf("build image from %s: %w: %w", o.ContextDir, ErrBuildFailed, werr)
		}
		err = classify(err)
		if cerrdefs.IsInvalidArgument(err) {
			err = fmt.Errorf("%w: %w", ErrBuildFailed, err)
		}
		return "", fmt.Errorf("build image from %s: %w", o.ContextDir, err)
	}
	defer res.Body.Close()
	id, err := readBuildOutput(res.Body, log)
	if err != nil {
		return "", fmt.Errorf("build image from %s: %w", o.ContextDir, err)
	}
	if id == "" && len(o.Tags) > 0 {
		// The daemon sends the ID as an aux message; older ones only
		// print a short one, so ask for the first tag instead.
		if id, err = c.ImageID(ctx, o.Tags[0]); err != nil {
			return "", fmt.Errorf("build image from %s: %w", o.ContextDir, err)
		}
	}
	if id == "" {
		return "", fmt.Errorf("build image from %s: the daemon reported no image ID and there is no tag to look up", o.ContextDir)
	}
	return id, nil
}

func buildOptions(o BuildOptions, dockerfile string) client.ImageBuildOptions {
	var args map[string]*string
	if len(o.BuildArgs) > 0 {
		args = make(map[string]*string, len(o.BuildArgs))
		for k, v := range o.BuildArgs {
			args[k] = &v
		}
	}
	return client.ImageBuildOptions{
		Tags:        o.Tags,
		Labels:      maps.Clone(o.Labels),
		BuildArgs:   args,
		Dockerfile:  dockerfile,
		NetworkMode: o.NetworkMode,
		NoCache:     true,
		PullParent:  false,
		Remove:      true,
		ForceRemove: true,
		Version:     build.BuilderV1,
	}
}

// buildMessage is one JSON message of the classic builder's output.
type buildMessage struct {
	Stream      string `json:"stream"`
	Status      string `json:"status"`
	Error       string `json:"error"`
	ErrorDetail *struct {
		Message string `json:"message"`
	} `json:"errorDetail"`
	Aux json.RawMessage `json:"aux"`
}

// readBuildOutput copies the build's progress text to log until the stream
// ends and returns the image ID from the aux message, if one came. An error
// message from the daemon ends the build with that error.
func readBuildOutput(r io.Reader, log io.Writer) (string, error) {
	dec := json.NewDecoder(bufio.NewReader(r))
	var id string
	for {
		var msg buildMessage
		err := dec.Decode(&msg)
		if errors.Is(err, io.EOF) {
			return id, nil
		}
		if err != nil {
			return "", fmt.Errorf("read build output: %w", err)
		}
		if text := buildErrorText(msg); text != "" {
			fmt.Fprintln(log, text)
			return "", buildError{msg: text}
		}
		if msg.Stream != "" {
			io.WriteString(log, msg.Stream)
		}
		if msg.Status != "" {
			fmt.Fprintln(log, msg.Status)
		}
		if len(msg.Aux) > 0 {
			var res build.Result
			if json.Unmarshal(msg.Aux, &res) == nil && res.ID != "" {
				id = res.ID
			}
		}
	}
}

func buildErrorText(msg buildMessage) string {
	if msg.ErrorDetail != nil && msg.ErrorDetail.Message != "" {
		return strings.TrimSpace(msg.ErrorDetail.Message)
	}
	return strings.TrimSpace(msg.Error)
}

// buildError carries the daemon's message for a failed build step and
// matches ErrBuildFailed.
type buildError struct {
	msg string
}

func (e buildError) Error() string        { return e.msg }
func (e buildError) Is(target error) bool { return target == ErrBuildFailed }
