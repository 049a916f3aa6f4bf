// Package docker is quell's adapter to the Docker Engine API: it finds
// containers, cuts and restores their network attachments, freezes them,
// collects evidence (inspect, logs, filesystem diff and export, process list,
// committed image) from them, and replaces them: it builds a clean image from
// a trusted context, recreates a container's configuration on it, stops and
// removes the old container and deletes the bad image.
//
// Every call that names a missing container, image or network returns an
// error wrapping ErrNotFound. Calls that change state are idempotent, so an
// activity retried by Temporal finds the work already done and succeeds.
package docker

import (
	"context"
	"errors"
	"fmt"

	cerrdefs "github.com/containerd/errdefs"
	"github.com/moby/moby/client"
)

// ErrNotFound is wrapped by every call when the container, image or network
// it names does not exist.
var ErrNotFound = errors.New("not found")

// ErrNotRunning is wrapped by Pause when the container is neither running nor
// already paused.
var ErrNotRunning = errors.New("container is not running")

// ErrUnavailable is wrapped by Top when the daemon answers but cannot list
// the container's processes; the caller records the process list as
// unavailable instead of retrying.
var ErrUnavailable = errors.New("unavailable")

// Client talks to one Docker daemon. It is safe for concurrent use.
type Client struct {
	api *client.Client
}

// New returns a client for the daemon at host, a Docker host URL such as
// "unix:///var/run/docker.sock" or "tcp://10.0.0.5:2376". An empty host uses
// the environment (DOCKER_HOST, DOCKER_TLS_VERIFY, DOCKER_CERT_PATH) and
// falls back to the local socket. The API version is negotiated with the
// daemon on first use.
func New(host string) (*Client, error) {
	opts := []client.Opt{client.FromEnv}
	if host != "" {
		opts = append(opts, client.WithHost(host))
	}
	api, err := client.New(opts...)
	if err != nil {
		return nil, fmt.Errorf("docker client: %w", err)
	}
	return &Client{api: api}, nil
}

// Close releases the client's idle connections.
func (c *Client) Close() error {
	return c.api.Close()
}

// Ping checks that the daemon answers and negotiates the API version.
func (c *Client) Ping(ctx context.Context) error {
	if _, err := c.api.Ping(ctx, client.PingOptions{NegotiateAPIVersion: true}); err != nil {
		return fmt.Errorf("ping docker daemon: %w", classify(err))
	}
	return nil
}

// API returns the underlying Engine API client. It is meant for tests and
// adapters that need calls this package does not wrap; quell's activities use
// the methods of Client.
func (c *Client) API() *client.Client {
	return c.api
}

// APIVersion returns the API version in use, negotiated after the first call
// that reached the daemon.
func (c *Client) APIVersion() string {
	return c.api.ClientVersion()
}

// notFoundError keeps the daemon's message while matching ErrNotFound.
type notFoundError struct {
	err error
}

func (e notFoundError) Error() string        { return e.err.Error() }
func (e notFoundError) Unwrap() error        { return e.err }
func (e notFoundError) Is(target error) bool { return target == ErrNotFound }

// classify makes a daemon's not-found answer match ErrNotFound and leaves
// every other error as it is.
func classify(err error) error {
	if err == nil || errors.Is(err, ErrNotFound) || !cerrdefs.IsNotFound(err) {
		return err
	}
	return notFoundError{err: err}
}
