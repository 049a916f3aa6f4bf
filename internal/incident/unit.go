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
	ContainerID string    `json:"container_id"`
	Name        string    `json:"name"`
	ImageID     string    `json:"image_id"`
	ReadyAt     time.Time `json:"ready_at"`
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
