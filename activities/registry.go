package activities

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"go.temporal.io/sdk/activity"
	"go.temporal.io/sdk/temporal"

	"github.com/quell-ir/quell/internal/docker"
	"github.com/quell-ir/quell/internal/incident"
	"github.com/quell-ir/quell/internal/registry"
)

// RegistryClient is what the registry activities need of the configured
// container registries (internal/registry). Methods wrap
// registry.ErrNotFound when the manifest or repository does not exist,
// registry.ErrNotConfigured for a registry quell is not configured with,
// registry.ErrDenied when the credentials are refused, and Delete wraps
// registry.ErrDeleteRefused when the registry does not allow deletes.
type RegistryClient interface {
	// Hosts lists the configured registries.
	Hosts() []string
	// HostOf says which configured registry a reference is in.
	HostOf(ref string) (string, bool)
	// Resolve returns the manifest a reference names.
	Resolve(ctx context.Context, ref string) (registry.Manifest, error)
	// Image returns the image a reference names, with its layers.
	Image(ctx context.Context, ref string) ([]registry.Image, error)
	// Push has the Docker daemon push its image tagged ref; it returns the
	// manifest digest.
	Push(ctx context.Context, ref string, progress func(string)) (string, error)
	// Delete deletes a manifest by digest or tag; gone is no error.
	Delete(ctx context.Context, ref string) error
	// Scan lists every image of every repository of the registries.
	Scan(ctx context.Context, o registry.ScanOptions) (registry.Scan, error)
}

// ImageLookup is what the registry activities need of the Docker host:
// which image a tag names and which registry digests an image has.
// ImageInspect wraps docker.ErrNotFound when there is none.
type ImageLookup interface {
	ImageInspect(ctx context.Context, ref string) (docker.Image, error)
}

// Registries holds the activities that publish the clean image to the
// configured registries, delete the bad image from them, and find what
// else in them was built on it.
type Registries struct {
	// Client reaches the configured registries; nil, or one with no
	// hosts, when none is configured: every activity has nothing to do.
	Client RegistryClient
	// Images looks images up on the Docker host.
	Images ImageLookup
}

// NoRegistry is the note of a registry activity that had nothing to do
// because quell is configured with no registry.
const NoRegistry = "nothing to do: no registry configured"

func (r *Registries) configured() bool {
	return r != nil && r.Client != nil && len(r.Client.Hosts()) > 0
}

// PushInput is the input of PushImage.
type PushInput struct {
	IncidentID string `json:"incident_id"`
	// ImageID is the clean image.
	ImageID string `json:"image_id"`
	// Tags are the tags it took over, as image:rebuild recorded them.
	Tags []string `json:"tags"`
	// OldImageID is the bad image; its manifests in the registries are
	// recorded for registry:delete.
	OldImageID string `json:"old_image_id"`
}

// PushResult says where the clean image was published.
type PushResult struct {
	Pushed []incident.PushedImage `json:"pushed,omitempty"`
	// Superseded are the bad image's manifests, repo@sha256:..., that the
	// pushed tags pointed at or that the daemon knows it by.
	Superseded []string `json:"superseded,omitempty"`
	// Skipped lists the tags in no configured registry.
	Skipped []string `json:"skipped,omitempty"`
	// Note says why nothing was pushed, when nothing was.
	Note string `json:"note,omitempty"`
}

// pushProgress is PushImage's heartbeat: what a retry must not redo or forget.
type pushProgress struct {
	// Previous maps each tag to the bad manifest it pointed at before its
	// push, repo@sha256:... (a pushed tag no longer tells).
	Previous map[string]string      `json:"previous"`
	Done     []incident.PushedImage `json:"done"`
}

// PushImage has the Docker daemon push the clean image, every tag it took
// over that is in a configured registry, and records each manifest digest.
// It is idempotent by digest: a tag whose manifest in the registry already
// has the clean image's config is not pushed again, and a retry resumes
// from the heartbeat. A tag that names another image on the daemon than the
// clean one is refused.
func (r *Registries) PushImage(ctx context.Context, in PushInput) (PushResult, error) {
	if !r.configured() {
		return PushResult{Note: NoRegistry}, nil
	}
	if in.ImageID == "" || len(in.Tags) == 0 {
		return PushResult{}, permanentf(ErrTypeBadInput, "push image: no clean image or no tags")
	}
	p := pushProgress{Previous: map[string]string{}}
	if activity.HasHeartbeatDetails(ctx) {
		_ = activity.GetHeartbeatDetails(ctx, &p)
		if p.Previous == nil {
			p.Previous = map[string]string{}
		}
	}
	var res PushResult
	for _, tag := range in.Tags {
		if _, ok := r.Client.HostOf(tag); !ok {
			res.Skipped = append(res.Skipped, tag)
			continue
		}
		if i := slices.IndexFunc(p.Done, func(d incident.PushedImage) bool { return d.Tag == tag }); i >= 0 {
			res.Pushed = append(res.Pushed, p.Done[i])
			continue
		}
		pushed, err := r.pushTag(ctx, in, tag, &p)
		if err != nil {
			return res, err
		}
		p.Done = append(p.Done, pushed)
		activity.RecordHeartbeat(ctx, p)
		res.Pushed = append(res.Pushed, pushed)
	}
	if len(res.Pushed) == 0 {
		res.Note = "nothing to do: no configured registry holds " + strings.Join(in.Tags, ", ")
	}
	res.Superseded = r.superseded(ctx, in.OldImageID, p.Previous)
	return res, nil
}

// pushTag pushes one tag unless the registry already has the clean image
// under it.
func (r *Registries) pushTag(ctx context.Context, in PushInput, tag string, p *pushProgress) (incident.PushedImage, error) {
	local, err := r.Images.ImageInspect(ctx, tag)
	if err != nil {
		return incident.PushedImage{}, classify(fmt.Errorf("clean image tag %s: %w", tag, err), docker.ErrNotFound)
	}
	if local.ID != in.ImageID {
		return incident.PushedImage{}, permanentf(ErrTypeRefused,
			"tag %s names image %s on the daemon, not the clean image %s: not pushing it", tag, local.ID, in.ImageID)
	}
	out := incident.PushedImage{Tag: tag}
	m, err := r.Client.Resolve(ctx, tag)
	switch {
	case err == nil && m.Config == in.ImageID:
		out.Ref, out.Digest, out.AlreadyThere = m.Ref(), m.Digest, true
		out.Previous = digestOf(p.Previous[tag])
		return out, nil
	case err == nil:
		if m.Config == in.OldImageID {
			p.Previous[tag] = m.Ref()
		}
		out.Previous = m.Digest
		// Known before the push moves the tag, or a retry could not tell.
		activity.RecordHeartbeat(ctx, *p)
	case !errors.Is(err, registry.ErrNotFound):
		return out, registryError(err)
	}
	digest, err := r.Client.Push(ctx, tag, func(string) { activity.RecordHeartbeat(ctx, *p) })
	if err != nil {
		return out, registryError(err)
	}
	now := time.Now().UTC()
	repo, _, _ := strings.Cut(m.Ref(), "@")
	if repo == "" {
		repo = repositoryOf(tag)
	}
	out.Ref, out.Digest, out.PushedAt = repo+"@"+digest, digest, &now
	return out, nil
}

// superseded lists the bad image's manifests in the configured registries:
// those the pushed tags pointed at, and the daemon's digests of it.
func (r *Registries) superseded(ctx context.Context, oldImageID string, previous map[string]string) []string {
	var out []string
	for _, ref := range previous {
		out = append(out, ref)
	}
	if oldImageID != "" {
		if img, err := r.Images.ImageInspect(ctx, oldImageID); err == nil && img.ID == oldImageID {
			for _, d := range img.RepoDigests {
				if _, ok := r.Client.HostOf(d); ok {
					out = append(out, d)
				}
			}
		}
	}
	slices.Sort(out)
	return slices.Compact(out)
}

// registryError classifies a registry failure: refused credentials, an
// unconfigured registry and a refused delete are not retried.
func registryError(err error) error {
	switch {
	case errors.Is(err, registry.ErrDenied), errors.Is(err, registry.ErrNotConfigured):
		return permanent(ErrTypeRefused, err)
	case errors.Is(err, registry.ErrDeleteRefused):
		return permanent(ErrTypeDeleteRefused, err)
	case errors.Is(err, registry.ErrNotFound):
		return permanent(ErrTypeNotFound, err)
	}
	return err
}

// repositoryOf strips the tag or digest from host/path:tag.
func repositoryOf(ref string) string {
	if i := strings.Index(ref, "@"); i >= 0 {
		return ref[:i]
	}
	if i := strings.LastIndex(ref, ":"); i > strings.LastIndex(ref, "/") {
		return ref[:i]
	}
	return ref
}

func digestOf(ref string) string {
	_, d, _ := strings.Cut(ref, "@")
	return d
}

// permanentWith is permanent with details the workflow can read back
// (temporal.ApplicationError.Details): what was done before the refusal.
func permanentWith(typ string, err error, details any) error {
	return temporal.NewNonRetryableApplicationError(err.Error(), typ, err, details)
}
