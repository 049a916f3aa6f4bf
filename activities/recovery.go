package activities

import (
	"context"
	"fmt"
	"io"
	"time"

	"github.com/quell-ir/quell/internal/docker"
	"github.com/quell-ir/quell/internal/evidence"
)

// ImageStore is what the recovery activities need of a host's images.
// Methods wrap docker.ErrNotFound when the image does not exist.
type ImageStore interface {
	// ImageInspect describes an image.
	ImageInspect(ctx context.Context, ref string) (docker.Image, error)
	// ImagesByLabel lists the images with the label key=value.
	ImagesByLabel(ctx context.Context, key, value string) ([]docker.Image, error)
	// BuildImage builds without cache from a build context, streaming the log.
	BuildImage(ctx context.Context, o docker.BuildOptions, log io.Writer) (string, error)
	// RemoveImage deletes an image by ID; wraps docker.ErrInUse while used.
	RemoveImage(ctx context.Context, imageID string) ([]string, error)
}

// Fleet is what the recovery activities need of a host's containers: find
// them, and recreate, rename, stop and remove them. Methods wrap
// docker.ErrNotFound when the container does not exist.
type Fleet interface {
	// Container resolves a full ID, an ID prefix or a name.
	Container(ctx context.Context, ref string) (docker.Container, error)
	// ContainersByImage lists every container, running or not, of the image.
	ContainersByImage(ctx context.Context, imageID string) ([]docker.Container, error)
	// FindByLabel lists the containers with the label key=value.
	FindByLabel(ctx context.Context, key, value string) ([]docker.Container, error)
	// Spec captures what recreating the container needs.
	Spec(ctx context.Context, id string) (docker.Spec, error)
	// CreateFrom creates (not starts) a container from a spec and an image.
	CreateFrom(ctx context.Context, s docker.Spec, image, name string, labels map[string]string) (string, error)
	// JoinNetworks attaches a container to the networks it is not on yet.
	JoinNetworks(ctx context.Context, id string, atts []docker.Attachment) error
	// Start starts a container; running is no error.
	Start(ctx context.Context, id string) error
	// WaitReady waits until the container runs, and is healthy if it has a check.
	WaitReady(ctx context.Context, id string) error
	// Rename renames a container; already so named is no error.
	Rename(ctx context.Context, id, name string) error
	// Stop stops a container, paused or not; stopped is no error.
	Stop(ctx context.Context, id string, grace time.Duration) error
	// Remove removes a container; gone is no error.
	Remove(ctx context.Context, id string) error
}

// TrustedSource says where the clean build of an image repository comes
// from. It is quell's configuration, never the image's own labels: an
// attacker who poisoned the image wrote those.
type TrustedSource struct {
	// Repository matches <repository>:<any tag> and its digests.
	Repository string `json:"repository"`
	// ContextDir is the build context directory.
	ContextDir string `json:"context_dir,omitempty"`
	// Dockerfile is relative to the context; default Dockerfile.
	Dockerfile string `json:"dockerfile,omitempty"`
	// GitURL and GitRef check the context out of git at a pinned ref.
	GitURL string `json:"git_url,omitempty"`
	GitRef string `json:"git_ref,omitempty"`
	// GitDir is the context's directory inside the checkout.
	GitDir string `json:"git_dir,omitempty"`
}

// Recovery holds the activities that eradicate and recover: rebuild the
// image from trusted source, replace units, remove quarantined containers
// and delete the bad image.
type Recovery struct {
	// Images builds and deletes images.
	Images ImageStore
	// Containers finds and replaces the units.
	Containers Fleet
	// Store keeps build logs as evidence and answers whether a unit's
	// snapshot verified.
	Store   *evidence.Store
	Actor   evidence.Actor
	Sources []TrustedSource
	// StopGrace is how long a replaced container may take to stop.
	StopGrace time.Duration
}

// Labels quell puts on what it builds and creates.
const (
	LabelIncident      = "quell.incident"
	LabelReplaces      = "quell.replaces"
	LabelReplacesImage = "quell.replaces-image"
	LabelOCISource     = "org.opencontainers.image.source"
	LabelOCIRevision   = "org.opencontainers.image.revision"
	LabelOCICreated    = "org.opencontainers.image.created"
)

// DiscoverInput is the input of DiscoverContainers.
type DiscoverInput struct {
	IncidentID string `json:"incident_id"`
	ImageID    string `json:"image_id"`
}

// DiscoverResult lists the containers that use the image.
type DiscoverResult struct {
	Containers []docker.Container `json:"containers"`
}

// DiscoverContainers finds every container, running or stopped, that uses
// the image.
func (r *Recovery) DiscoverContainers(ctx context.Context, in DiscoverInput) (DiscoverResult, error) {
	if in.ImageID == "" {
		return DiscoverResult{}, permanentf(ErrTypeBadInput, "discover containers: no image id")
	}
	cs, err := r.Containers.ContainersByImage(ctx, in.ImageID)
	if err != nil {
		return DiscoverResult{}, classify(fmt.Errorf("containers of image %s: %w", in.ImageID, err), docker.ErrNotFound)
	}
	return DiscoverResult{Containers: cs}, nil
}
