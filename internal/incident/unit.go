package incident

import "time"

// Unit is one container an incident acts on: the compromised one, or one
// of the containers that run a bad image.
type Unit struct {
	ContainerID string `json:"container_id"`
	Name        string `json:"name"`
	// ImageID is the image the unit ran when the incident found it.
	ImageID string `json:"image_id"`
	// Compromised marks the unit an alert named as attacked; the others
	// only run the same image.
	Compromised bool `json:"compromised"`
	// EvidenceVerified is set once the unit's snapshot has verified.
	EvidenceVerified bool `json:"evidence_verified"`
	// Quarantined is the name the unit was renamed to once replaced.
	Quarantined string `json:"quarantined_name,omitempty"`
	// Replacement is the container that replaced the unit.
	Replacement *Replacement `json:"replacement,omitempty"`
	// Removed is set once the quarantined container has been removed.
	Removed bool `json:"removed"`
	// Results records what each per-unit step did to the unit.
	Results []UnitResult `json:"results,omitempty"`
}

// Replacement is a container built from the clean image in place of a unit.
type Replacement struct {
	ContainerID string `json:"container_id"`
	Name        string `json:"name"`
	ImageID     string `json:"image_id"`
	// ImageRef is the reference the replacement was created from when it
	// is not ImageID: the clean image by digest, repo@sha256:..., once
	// registry:push published it.
	ImageRef string    `json:"image_ref,omitempty"`
	ReadyAt  time.Time `json:"ready_at"`
}

// UnitResult is one step's outcome on one unit.
type UnitResult struct {
	Step       string     `json:"step"`
	Status     string     `json:"status"`
	StartedAt  *time.Time `json:"started_at"`
	FinishedAt *time.Time `json:"finished_at"`
	Error      string     `json:"error,omitempty"`
	Summary    string     `json:"summary,omitempty"`
}

// ImageChange records how the bad image was replaced and deleted.
type ImageChange struct {
	// OldImageID is the bad image.
	OldImageID string `json:"old_image_id"`
	// Ref is the reference the clean image was built for, e.g. example/app:1.
	Ref string `json:"ref,omitempty"`
	// NewImageID is the clean image, once built.
	NewImageID string `json:"new_image_id,omitempty"`
	// Tags are the tags the clean image took over.
	Tags []string `json:"tags,omitempty"`
	// Source and Revision say where the clean image was built from.
	Source   string     `json:"source,omitempty"`
	Revision string     `json:"revision,omitempty"`
	BuiltAt  *time.Time `json:"built_at,omitempty"`
	// BuildLog is the build's log, hashed like evidence.
	BuildLog *Artifact `json:"build_log,omitempty"`
	// Deleted lists what deleting the bad image removed from the daemon.
	Deleted   []string   `json:"deleted,omitempty"`
	DeletedAt *time.Time `json:"deleted_at,omitempty"`
	// Pushed lists where registry:push published the clean image, one
	// entry per tag.
	Pushed []PushedImage `json:"pushed,omitempty"`
	// Superseded are the bad image's manifests that the pushed tags pointed
	// at before, repo@sha256:..., for registry:delete to remove.
	Superseded []string `json:"superseded,omitempty"`
	// RegistryDeleted lists the bad image's manifests deleted from the
	// registries, with their tags.
	RegistryDeleted []RegistryDeletion `json:"registry_deleted,omitempty"`
	// RegistryRefused lists the registries that refused to delete the bad
	// image: it survives there.
	RegistryRefused []RegistryRefusal `json:"registry_refused,omitempty"`
	// BlastRadius lists the images in the registries built on the bad
	// image's own layers.
	BlastRadius *BlastRadius `json:"blast_radius,omitempty"`
}

// PinnedRef is the clean image by digest, repo@sha256:..., as pushed for
// the tag the incident is about (else the first one pushed), and "" when it
// was not pushed.
func (c *ImageChange) PinnedRef() string {
	if c == nil || len(c.Pushed) == 0 {
		return ""
	}
	for _, p := range c.Pushed {
		if p.Tag == c.Ref {
			return p.Ref
		}
	}
	return c.Pushed[0].Ref
}

// PushedImage is one tag of the clean image published to a registry.
type PushedImage struct {
	// Tag is the reference pushed, host/path:tag.
	Tag string `json:"tag"`
	// Ref is the same image by digest, host/path@sha256:....
	Ref string `json:"ref"`
	// Digest is the manifest digest the registry stored.
	Digest string `json:"digest"`
	// Previous is the manifest the tag pointed at before, if any.
	Previous string `json:"previous,omitempty"`
	// AlreadyThere says an earlier attempt had pushed it: nothing was sent.
	AlreadyThere bool       `json:"already_there,omitempty"`
	PushedAt     *time.Time `json:"pushed_at,omitempty"`
}

// RegistryDeletion is one manifest of the bad image deleted from a registry.
type RegistryDeletion struct {
	// Repository is host/path.
	Repository string `json:"repository"`
	Digest     string `json:"digest"`
	// Tags are the repository's tags that pointed at it, gone with it.
	Tags []string `json:"tags,omitempty"`
	// AlreadyGone says it had gone before this attempt (an earlier,
	// interrupted one deleted it).
	AlreadyGone bool       `json:"already_gone,omitempty"`
	DeletedAt   *time.Time `json:"deleted_at,omitempty"`
}

// RegistryRefusal is a manifest of the bad image that a registry would not
// delete.
type RegistryRefusal struct {
	Repository string   `json:"repository"`
	Digest     string   `json:"digest"`
	Tags       []string `json:"tags,omitempty"`
	// Reason is the registry's answer, e.g. "405 UNSUPPORTED".
	Reason string `json:"reason"`
}

// BlastRadius is what else in the registries was built on the bad image's
// own layers: those it added over its base image.
type BlastRadius struct {
	// Base says which image was taken as the bad image's base, and how.
	Base string `json:"base"`
	// OwnLayers are the bad image's own layers (diff IDs), bottom first.
	OwnLayers []string `json:"own_layers"`
	// Affected lists each image that contains at least one of them.
	Affected []AffectedImage `json:"affected"`
	// Scanned counts the images compared; Truncated says the scan stopped
	// at its limit.
	Scanned   int  `json:"scanned"`
	Truncated bool `json:"truncated,omitempty"`
}

// AffectedImage is an image in a registry that holds the bad image's own
// layers.
type AffectedImage struct {
	// Repository is host/path.
	Repository string   `json:"repository"`
	Tags       []string `json:"tags,omitempty"`
	Digest     string   `json:"digest"`
	// Shared counts the bad image's own layers it contains.
	Shared int `json:"shared"`
	// BuiltOn says every layer of the bad image is at its bottom, in
	// order: it was built FROM the bad image (or a tag of it).
	BuiltOn bool `json:"built_on"`
}

// Unit returns the unit with the given container ID.
func (i *Incident) Unit(containerID string) (*Unit, bool) {
	for k := range i.Units {
		if i.Units[k].ContainerID == containerID {
			return &i.Units[k], true
		}
	}
	return nil, false
}
