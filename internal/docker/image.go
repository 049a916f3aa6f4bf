package docker

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	cerrdefs "github.com/containerd/errdefs"
	"github.com/moby/moby/api/types/container"
	"github.com/moby/moby/client"
)

// ErrInUse is wrapped by RemoveImage when a container, running or not,
// still uses the image.
var ErrInUse = errors.New("image is in use")

// Image is what quell needs to know about an image.
type Image struct {
	// ID is the image ID ("sha256:...").
	ID string `json:"id"`
	// RepoTags are the tags that name the image.
	RepoTags []string `json:"repo_tags,omitempty"`
	// RepoDigests are the registry digests of the image, if it was pushed
	// or pulled.
	RepoDigests []string `json:"repo_digests,omitempty"`
	// Labels are the image's labels.
	Labels map[string]string `json:"labels,omitempty"`
	// Created is when the image was built or committed.
	Created time.Time `json:"created"`
}

// ImageInspect looks an image up by ID, ID prefix or reference; the error
// wraps ErrNotFound when there is none.
func (c *Client) ImageInspect(ctx context.Context, ref string) (Image, error) {
	res, err := c.api.ImageInspect(ctx, ref)
	if err != nil {
		return Image{}, fmt.Errorf("inspect image %s: %w", ref, classify(err))
	}
	img := Image{ID: res.ID, RepoTags: res.RepoTags, RepoDigests: res.RepoDigests}
	if res.Config != nil {
		img.Labels = res.Config.Labels
	}
	if res.Created != "" {
		if img.Created, err = time.Parse(time.RFC3339Nano, res.Created); err != nil {
			return Image{}, fmt.Errorf("inspect image %s: created time %q: %w", ref, res.Created, err)
		}
	}
	return img, nil
}

// ImagesByLabel lists the tagged and dangling images (not the builder's
// intermediate ones) whose label key has the given value, newest first.
func (c *Client) ImagesByLabel(ctx context.Context, key, value string) ([]Image, error) {
	res, err := c.api.ImageList(ctx, client.ImageListOptions{Filters: client.Filters{}.Add("label", key+"="+value)})
	if err != nil {
		return nil, fmt.Errorf("images labelled %s=%s: %w", key, value, classify(err))
	}
	out := make([]Image, 0, len(res.Items))
	for _, s := range res.Items {
		img := Image{ID: s.ID, Labels: s.Labels, Created: time.Unix(s.Created, 0).UTC()}
		img.RepoTags = slices.DeleteFunc(slices.Clone(s.RepoTags), func(t string) bool { return t == "<none>:<none>" })
		img.RepoDigests = slices.DeleteFunc(slices.Clone(s.RepoDigests), func(d string) bool { return d == "<none>@<none>" })
		out = append(out, img)
	}
	slices.SortStableFunc(out, func(a, b Image) int { return b.Created.Compare(a.Created) })
	return out, nil
}

// ContainersByImage lists every container, running or stopped, created
// from exactly the image imageID: a full ID with or without "sha256:", or
// anything else ImageInspect resolves. Containers of images built on top of
// it are not included. An image that does not exist has no containers.
func (c *Client) ContainersByImage(ctx context.Context, imageID string) ([]Container, error) {
	id, err := c.fullImageID(ctx, imageID)
	if errors.Is(err, ErrNotFound) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("containers of image %s: %w", imageID, err)
	}
	// "ancestor" narrows the list on the daemon's side but also matches
	// descendants, so compare the image ID exactly.
	all, err := c.list(ctx, client.Filters{}.Add("ancestor", id))
	if err != nil {
		return nil, fmt.Errorf("containers of image %s: %w", imageID, err)
	}
	var out []Container
	for _, ctr := range all {
		if ctr.ImageID == id {
			out = append(out, ctr)
		}
	}
	return out, nil
}

// FindByLabel lists every container, running or stopped, whose label key
// has the given value, such as quell.replaces=<old container ID>.
func (c *Client) FindByLabel(ctx context.Context, key, value string) ([]Container, error) {
	out, err := c.list(ctx, client.Filters{}.Add("label", key+"="+value))
	if err != nil {
		return nil, fmt.Errorf("containers labelled %s=%s: %w", key, value, err)
	}
	return out, nil
}

// RemoveImage deletes the image imageID without force, letting the daemon
// prune the untagged parents it leaves, and returns what the daemon
// reported, as the docker CLI prints it ("Untagged: ref", "Deleted: id").
// Each tag and digest reference is removed first, after checking it still
// names this image, because the daemon refuses to delete by ID an image
// referenced in several repositories. An image already gone returns nil,
// nil. When a container, running or not, uses the image the error wraps
// ErrInUse and names the containers; nothing is untagged then.
func (c *Client) RemoveImage(ctx context.Context, imageID string) ([]string, error) {
	img, err := c.ImageInspect(ctx, imageID)
	if errors.Is(err, ErrNotFound) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("remove image %s: %w", imageID, err)
	}
	if err := c.checkUnused(ctx, img.ID); err != nil {
		return nil, fmt.Errorf("remove image %s: %w", imageID, err)
	}
	var report []string
	for _, ref := range append(append([]string(nil), img.RepoTags...), img.RepoDigests...) {
		if ref == "<none>:<none>" || ref == "<none>@<none>" {
			continue
		}
		if now, err := c.ImageID(ctx, ref); err != nil || now != img.ID {
			continue // gone, or moved to another image meanwhile
		}
		got, err := c.deleteImage(ctx, ref)
		report = append(report, got...)
		if err != nil {
			return report, fmt.Errorf("remove image %s: %w", imageID, err)
		}
	}
	got, err := c.deleteImage(ctx, img.ID)
	report = append(report, got...)
	if err != nil {
		return report, fmt.Errorf("remove image %s: %w", imageID, err)
	}
	return report, nil
}

// deleteImage removes ref, treating an image already gone as done and a
// conflict with a container as ErrInUse.
func (c *Client) deleteImage(ctx context.Context, ref string) ([]string, error) {
	res, err := c.api.ImageRemove(ctx, ref, client.ImageRemoveOptions{PruneChildren: true})
	if err != nil {
		err = classify(err)
		if errors.Is(err, ErrNotFound) {
			return nil, nil
		}
		if cerrdefs.IsConflict(err) && strings.Contains(err.Error(), "container") {
			return nil, fmt.Errorf("%w: %w", ErrInUse, err)
		}
		return nil, err
	}
	var out []string
	for _, item := range res.Items {
		if item.Untagged != "" {
			out = append(out, "Untagged: "+item.Untagged)
		}
		if item.Deleted != "" {
			out = append(out, "Deleted: "+item.Deleted)
		}
	}
	return out, nil
}

// checkUnused returns an error wrapping ErrInUse that names the containers
// using the image, if any do.
func (c *Client) checkUnused(ctx context.Context, id string) error {
	users, err := c.ContainersByImage(ctx, id)
	if err != nil {
		return err
	}
	if len(users) == 0 {
		return nil
	}
	names := make([]string, len(users))
	for i, u := range users {
		state := "stopped"
		if u.Running {
			state = "running"
		}
		names[i] = fmt.Sprintf("%s (%s, %s)", u.Name, shortID(u.ID), state)
	}
	return fmt.Errorf("%w by %s", ErrInUse, strings.Join(names, ", "))
}

// fullImageID returns "sha256:<hex>" for a full ID given with or without
// the algorithm, and resolves anything else through the daemon.
func (c *Client) fullImageID(ctx context.Context, ref string) (string, error) {
	hex := strings.TrimPrefix(ref, "sha256:")
	if len(hex) == 64 && strings.Trim(hex, "0123456789abcdef") == "" {
		return "sha256:" + hex, nil
	}
	return c.ImageID(ctx, ref)
}

// list returns every container, running or not, matching the filters.
func (c *Client) list(ctx context.Context, f client.Filters) ([]Container, error) {
	res, err := c.api.ContainerList(ctx, client.ContainerListOptions{All: true, Filters: f})
	if err != nil {
		return nil, classify(err)
	}
	out := make([]Container, 0, len(res.Items))
	for _, s := range res.Items {
		out = append(out, containerFromSummary(s))
	}
	return out, nil
}

func containerFromSummary(s container.Summary) Container {
	out := Container{
		ID:      s.ID,
		Image:   s.Image,
		ImageID: s.ImageID,
		Running: s.State == container.StateRunning || s.State == container.StatePaused || s.State == container.StateRestarting,
		Paused:  s.State == container.StatePaused,
		Labels:  s.Labels,
	}
	// Names holds the container's own name and, on the default bridge,
	// the names links give it ("/other/alias"), which have a second "/".
	for _, n := range s.Names {
		if n = strings.TrimPrefix(n, "/"); !strings.Contains(n, "/") {
			out.Name = n
			break
		}
	}
	return out
}

func shortID(id string) string {
	id = strings.TrimPrefix(id, "sha256:")
	if len(id) > 12 {
		return id[:12]
	}
	return id
}
