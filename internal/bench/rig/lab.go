// Package rig is the test rig shared by quell's benchmark and chaos
// programs: throwaway Docker objects (an image built FROM scratch with a
// static busybox, internal networks, containers), a recorder of the daemon's
// events, quell processes and a client for quell's HTTP API.
//
// Everything a Lab creates carries the labels quell.test=1, quell.bench=1
// and quell.bench.run=<run>, and Close removes everything carrying the run
// label, including the images quell commits as evidence (a commit keeps the
// container's labels). Nothing else on the daemon is touched.
package rig

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"strings"
	"sync"
	"sync/atomic"

	cerrdefs "github.com/containerd/errdefs"
	"github.com/moby/moby/client"

	"github.com/quell-ir/quell/internal/docker"
)

// Labels every object a Lab creates carries.
const (
	LabelTest  = "quell.test"
	LabelBench = "quell.bench"
	LabelRun   = "quell.bench.run"
)

// Lab creates Docker objects for one run and removes them all on Close.
type Lab struct {
	// Docker is quell's adapter on the daemon; Docker.API() is the raw client.
	Docker *docker.Client
	// Run names this run in names and labels.
	Run string
	// Events records the daemon's events for the containers the Lab made.
	Events *Recorder

	imageOnce sync.Once
	image     string
	imageErr  error

	calibrate     sync.Once
	perDisconnect int
	calibrateErr  error

	subnets atomic.Int64

	// Leaked names the run's networks Close could not remove because the
	// daemon leaked their endpoint count (see removeNetworks): they hold
	// nothing and go once the daemon has restarted.
	Leaked []string
}

// NewLab connects to the daemon at host ("" for DOCKER_HOST or the local
// socket) and starts recording its events.
func NewLab(ctx context.Context, host string) (*Lab, error) {
	d, err := docker.New(host)
	if err != nil {
		return nil, err
	}
	if err := d.Ping(ctx); err != nil {
		d.Close()
		return nil, err
	}
	run, err := RandomHex(4)
	if err != nil {
		d.Close()
		return nil, err
	}
	return &Lab{Docker: d, Run: run, Events: StartRecorder(ctx, d.API())}, nil
}

// Labels returns the labels of this run's objects.
func (l *Lab) Labels() map[string]string {
	return map[string]string{LabelTest: "1", LabelBench: "1", LabelRun: l.Run}
}

// runFilter selects this run's objects.
func (l *Lab) runFilter() client.Filters {
	return make(client.Filters).Add("label", LabelRun+"="+l.Run)
}

// Close removes every container, image and network of this run, however it
// was made, stops the event recorder and closes the client. It works after
// the run's context was cancelled, and it never cancels a removal: the
// daemon (20.10) can leak a network's endpoint count when a container
// removal is cut off halfway, leaving a network it refuses to delete.
//
// Networks the daemon leaked that way are no error: Close lists them in
// Leaked for the caller to report.
func (l *Lab) Close() error {
	ctx := context.Background()
	err := errors.Join(l.removeContainers(ctx), l.removeImages(ctx))
	var nerr error
	l.Leaked, nerr = l.removeNetworks(ctx)
	err = errors.Join(err, nerr)
	if n, lerr := l.Leftovers(ctx); lerr != nil || n > len(l.Leaked) {
		err = errors.Join(err, fmt.Errorf("run %s: %d objects left on the daemon (label %s=%s) %v", l.Run, n, LabelRun, l.Run, lerr))
	}
	l.Events.Stop()
	return errors.Join(err, l.Docker.Close())
}

func (l *Lab) removeContainers(ctx context.Context) error {
	res, err := l.Docker.API().ContainerList(ctx, client.ContainerListOptions{All: true, Filters: l.runFilter()})
	if err != nil {
		return fmt.Errorf("list run %s containers: %w", l.Run, err)
	}
	ids := make([]string, 0, len(res.Items))
	for _, c := range res.Items {
		ids = append(ids, c.ID)
	}
	return l.RemoveContainers(ctx, ids)
}

// RemoveContainers thaws and removes the containers, with their volumes,
// four at a time, and waits for every removal to finish: ctx only carries
// values. Containers already gone are no error.
func (l *Lab) RemoveContainers(ctx context.Context, ids []string) error {
	ctx = context.WithoutCancel(ctx)
	return parallel(ctx, len(ids), 4, func(i int) error {
		id := ids[i]
		if err := l.Docker.Unpause(ctx, id); err != nil && !gone(err) {
			return fmt.Errorf("unpause container %s for removal: %w", id, err)
		}
		_, err := l.Docker.API().ContainerRemove(ctx, id, client.ContainerRemoveOptions{Force: true, RemoveVolumes: true})
		if err != nil && !gone(err) {
			return fmt.Errorf("remove container %s: %w", id, err)
		}
		return nil
	})
}

// removeImages removes the run's images, children before the parents they
// derive from (evidence commits before their base, each build step's image
// before the step's it builds on): an image with children cannot be
// removed, so each pass removes what it can and the next retries the rest.
func (l *Lab) removeImages(ctx context.Context) error {
	res, err := l.Docker.API().ImageList(ctx, client.ImageListOptions{All: true, Filters: l.runFilter()})
	if err != nil {
		return fmt.Errorf("list run %s images: %w", l.Run, err)
	}
	left := make([]string, len(res.Items))
	for i, img := range res.Items {
		left[i] = img.ID
	}
	for {
		var errs []error
		var still []string
		for _, id := range left {
			_, err := l.Docker.API().ImageRemove(ctx, id, client.ImageRemoveOptions{Force: true, PruneChildren: true})
			if err != nil && !gone(err) {
				errs = append(errs, fmt.Errorf("remove image %s: %w", id, err))
				still = append(still, id)
			}
		}
		if len(still) == 0 || len(still) == len(left) {
			return errors.Join(errs...)
		}
		left = still
	}
}

// LeakNote says which networks Close left because the daemon leaked them,
// or "" when it left none.
func (l *Lab) LeakNote() string {
	if len(l.Leaked) == 0 {
		return ""
	}
	return fmt.Sprintf("the daemon leaked the endpoint count of network(s) %s (Docker 20.10 libnetwork, moby/moby#42119): "+
		"they hold no container and carry %s=%s; remove them once the daemon has restarted", strings.Join(l.Leaked, ", "), LabelRun, l.Run)
}

// removeNetworks removes the run's networks. Docker 20.10's libnetwork can
// leak a network's endpoint count (moby/moby#42119): the daemon then
// refuses to remove a network no container is attached to until it
// restarts. Those are returned as leaked, not as errors.
func (l *Lab) removeNetworks(ctx context.Context) (leaked []string, err error) {
	res, err := l.Docker.API().NetworkList(ctx, client.NetworkListOptions{Filters: l.runFilter()})
	if err != nil {
		return nil, fmt.Errorf("list run %s networks: %w", l.Run, err)
	}
	var errs []error
	for _, n := range res.Items {
		_, err := l.Docker.API().NetworkRemove(ctx, n.ID, client.NetworkRemoveOptions{})
		switch {
		case err == nil || gone(err):
		case strings.Contains(err.Error(), "active endpoints") && l.empty(ctx, n.ID):
			leaked = append(leaked, n.Name)
		default:
			errs = append(errs, fmt.Errorf("remove network %s: %w", n.Name, err))
		}
	}
	return leaked, errors.Join(errs...)
}

// empty reports whether the daemon lists no container on the network.
func (l *Lab) empty(ctx context.Context, id string) bool {
	res, err := l.Docker.API().NetworkInspect(ctx, id, client.NetworkInspectOptions{})
	return err == nil && len(res.Network.Containers) == 0
}

// Leftovers counts the objects still carrying this run's label.
func (l *Lab) Leftovers(ctx context.Context) (int, error) {
	cs, err := l.Docker.API().ContainerList(ctx, client.ContainerListOptions{All: true, Filters: l.runFilter()})
	if err != nil {
		return 0, err
	}
	is, err := l.Docker.API().ImageList(ctx, client.ImageListOptions{All: true, Filters: l.runFilter()})
	if err != nil {
		return 0, err
	}
	ns, err := l.Docker.API().NetworkList(ctx, client.NetworkListOptions{Filters: l.runFilter()})
	if err != nil {
		return 0, err
	}
	return len(cs.Items) + len(is.Items) + len(ns.Items), nil
}

// gone reports whether err says the object no longer exists.
func gone(err error) bool {
	return errors.Is(err, docker.ErrNotFound) || cerrdefs.IsNotFound(err)
}

// RandomHex returns 2n random hex digits.
func RandomHex(n int) (string, error) {
	b := make([]byte, n)
	if _, err := rand.Read(b); err != nil {
		return "", fmt.Errorf("random: %w", err)
	}
	return hex.EncodeToString(b), nil
}

// parallel runs do(0..n-1) with at most width at a time and returns every
// error joined. It stops starting new work once ctx ends.
func parallel(ctx context.Context, n, width int, do func(i int) error) error {
	sem := make(chan struct{}, width)
	errs := make([]error, n)
	var wg sync.WaitGroup
	for i := range n {
		if ctx.Err() != nil {
			errs[i] = ctx.Err()
			break
		}
		sem <- struct{}{}
		wg.Add(1)
		go func() {
			defer func() { <-sem; wg.Done() }()
			errs[i] = do(i)
		}()
	}
	wg.Wait()
	return errors.Join(errs...)
}
