package activities

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strings"
	"time"

	"go.temporal.io/sdk/activity"

	"github.com/quell-ir/quell/internal/incident"
	"github.com/quell-ir/quell/internal/registry"
)

// RegistryDeleteInput is the input of DeleteFromRegistries.
type RegistryDeleteInput struct {
	IncidentID string `json:"incident_id"`
	// ImageID is the bad image (its config digest).
	ImageID string `json:"image_id"`
	// Known are manifests of it, repo@sha256:..., that registry:push found
	// under the tags it moved: a moved tag no longer leads to them.
	Known []string `json:"known,omitempty"`
}

// RegistryDeleteResult says what was deleted from the registries and what
// a registry refused to delete.
type RegistryDeleteResult struct {
	Deleted []incident.RegistryDeletion `json:"deleted,omitempty"`
	Refused []incident.RegistryRefusal  `json:"refused,omitempty"`
	// Note says why nothing was deleted, when nothing was.
	Note string `json:"note,omitempty"`
}

// deleteProgress is DeleteFromRegistries's heartbeat: the targets, found
// once, and what is done.
type deleteProgress struct {
	Found   bool                 `json:"found"`
	Targets []registry.Image     `json:"targets"`
	Result  RegistryDeleteResult `json:"result"`
}

// DeleteFromRegistries deletes the bad image's manifests, by digest, from
// every configured registry that holds it, and the tags that point at
// them. A manifest is deleted only if its config is the bad image's. It
// checks before acting and resumes from its heartbeat, so a retry never
// deletes twice. When a registry refuses deletes it goes on with the
// others and then fails, not retried, with type ErrTypeDeleteRefused and
// the result as the error's details.
func (r *Registries) DeleteFromRegistries(ctx context.Context, in RegistryDeleteInput) (RegistryDeleteResult, error) {
	if !r.configured() {
		return RegistryDeleteResult{Note: NoRegistry}, nil
	}
	if in.ImageID == "" {
		return RegistryDeleteResult{}, permanentf(ErrTypeBadInput, "delete from registries: no image id")
	}
	var p deleteProgress
	if activity.HasHeartbeatDetails(ctx) {
		_ = activity.GetHeartbeatDetails(ctx, &p)
	}
	if !p.Found {
		targets, err := r.locate(ctx, in.ImageID, in.Known)
		if err != nil {
			return RegistryDeleteResult{}, err
		}
		p.Found, p.Targets = true, targets
		activity.RecordHeartbeat(ctx, p)
	}
	for _, t := range p.Targets {
		if p.done(t) {
			continue
		}
		if err := r.deleteTarget(ctx, in.ImageID, t, &p.Result); err != nil {
			return p.Result, err
		}
		activity.RecordHeartbeat(ctx, p)
	}
	res := p.Result
	if len(p.Targets) == 0 {
		res.Note = fmt.Sprintf("nothing to do: no configured registry holds image %s", in.ImageID)
	}
	if len(res.Refused) == 0 {
		return res, nil
	}
	var where []string
	for _, f := range res.Refused {
		where = append(where, fmt.Sprintf("%s@%s (%s)", f.Repository, f.Digest, f.Reason))
	}
	return res, permanentWith(ErrTypeDeleteRefused, fmt.Errorf("registry refuses deletes: image %s survives in %s",
		in.ImageID, strings.Join(where, ", ")), res)
}

func (p deleteProgress) done(t registry.Image) bool {
	match := func(repo, digest string) bool { return repo == t.Repository && digest == t.Digest }
	return slices.ContainsFunc(p.Result.Deleted, func(d incident.RegistryDeletion) bool { return match(d.Repository, d.Digest) }) ||
		slices.ContainsFunc(p.Result.Refused, func(f incident.RegistryRefusal) bool { return match(f.Repository, f.Digest) })
}

// deleteTarget deletes one manifest of the bad image and the tags still
// pointing at it, checking first that it is there and is the bad image.
func (r *Registries) deleteTarget(ctx context.Context, imageID string, t registry.Image, res *RegistryDeleteResult) error {
	now := time.Now().UTC()
	done := incident.RegistryDeletion{Repository: t.Repository, Digest: t.Digest, Tags: t.Tags, DeletedAt: &now}
	m, err := r.Client.Resolve(ctx, t.Ref())
	switch {
	case errors.Is(err, registry.ErrNotFound):
		done.AlreadyGone = true
		res.Deleted = append(res.Deleted, done)
		return nil
	case err != nil:
		return registryError(err)
	case m.Config != imageID:
		return permanentf(ErrTypeRefused, "manifest %s is not of image %s (config %s): not deleting it", t.Ref(), imageID, m.Config)
	}
	err = r.Client.Delete(ctx, t.Ref())
	if errors.Is(err, registry.ErrDeleteRefused) {
		res.Refused = append(res.Refused, incident.RegistryRefusal{Repository: t.Repository, Digest: t.Digest, Tags: t.Tags, Reason: reason(err)})
		return nil
	}
	if err != nil {
		return registryError(err)
	}
	// Registries that keep a tag after its manifest goes get it deleted too.
	for _, tag := range t.Tags {
		tm, err := r.Client.Resolve(ctx, t.Repository+":"+tag)
		if err != nil || tm.Digest != t.Digest {
			continue
		}
		if err := r.Client.Delete(ctx, t.Repository+":"+tag); err != nil && !errors.Is(err, registry.ErrDeleteRefused) {
			return registryError(err)
		}
	}
	res.Deleted = append(res.Deleted, done)
	return nil
}

// reason is a refusal's cause as the registry stated it, e.g.
// "405 UNSUPPORTED".
func reason(err error) string {
	msg := err.Error()
	if i := strings.LastIndex(msg, "("); i >= 0 && strings.HasSuffix(msg, ")") {
		return msg[i+1 : len(msg)-1]
	}
	return msg
}

// locate finds the bad image's manifests in the configured registries: the
// tags whose manifest has its config, the known manifests and the daemon's
// digests of it, looked for in every repository (a registry mounts blobs
// and manifests across repositories).
func (r *Registries) locate(ctx context.Context, imageID string, known []string) ([]registry.Image, error) {
	scan, err := r.Client.Scan(ctx, registry.ScanOptions{Progress: func(n int) { activity.RecordHeartbeat(ctx, n) }})
	if err != nil {
		return nil, registryError(err)
	}
	found := map[string]*registry.Image{}
	add := func(img registry.Image) {
		if prev, ok := found[img.Ref()]; ok {
			prev.Tags = append(prev.Tags, img.Tags...)
			return
		}
		found[img.Ref()] = &img
	}
	for _, img := range scan.Images {
		if img.Config == imageID {
			if img.Index != "" {
				img.Tags = nil // the index's tags name other platforms too; its manifest goes, the index stays
			}
			add(img)
		}
	}
	var digests []string
	repos := slices.Clone(scan.Repositories)
	for _, ref := range append(slices.Clone(known), r.superseded(ctx, imageID, nil)...) {
		if _, ok := r.Client.HostOf(ref); !ok {
			continue
		}
		if d := digestOf(ref); d != "" && !slices.Contains(digests, d) {
			digests = append(digests, d)
		}
		if repo := repositoryOf(ref); !slices.Contains(repos, repo) {
			repos = append(repos, repo)
		}
	}
	for _, repo := range repos {
		for _, d := range digests {
			m, err := r.Client.Resolve(ctx, repo+"@"+d)
			if errors.Is(err, registry.ErrNotFound) {
				// A manifest the workflow knows of that is gone from its own
				// repository stays a target: an earlier attempt may have
				// deleted it and died before its heartbeat reached Temporal
				// (heartbeats are throttled), and the deletion must still be
				// on the record, as gone when this attempt looked.
				if ref := repo + "@" + d; slices.Contains(known, ref) {
					add(registry.Image{Manifest: registry.Manifest{Repository: repo, Digest: d}})
				}
				continue
			}
			if err != nil {
				return nil, registryError(err)
			}
			if m.Config == imageID {
				add(registry.Image{Manifest: m})
			}
		}
	}
	out := make([]registry.Image, 0, len(found))
	for _, k := range slices.Sorted(maps.Keys(found)) {
		img := *found[k]
		slices.Sort(img.Tags)
		img.Tags = slices.Compact(img.Tags)
		out = append(out, img)
	}
	return out, nil
}
