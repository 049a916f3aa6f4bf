package activities

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"time"

	"go.temporal.io/sdk/activity"

	"github.com/quell-ir/quell/internal/docker"
	"github.com/quell-ir/quell/internal/evidence"
	"github.com/quell-ir/quell/internal/incident"
)

// ReplaceInput is the input of ReplaceContainer.
type ReplaceInput struct {
	IncidentID string `json:"incident_id"`
	// Unit is the container to replace.
	Unit incident.Unit `json:"unit"`
	// ImageID is the clean image.
	ImageID string `json:"image_id"`
	// ImageRef, when set, is the clean image by digest (repo@sha256:...,
	// as registry:push published it): the replacement is created from it.
	ImageRef string `json:"image_ref,omitempty"`
	// Networks are the unit's attachments before isolation, when it was
	// isolated; empty means its current ones.
	Networks []incident.Attachment `json:"networks,omitempty"`
	// QuarantineSuffix names the replaced container <name>-quarantined-<suffix>.
	QuarantineSuffix string `json:"quarantine_suffix"`
}

// ReplaceResult says what replaced the unit.
type ReplaceResult struct {
	Quarantined string               `json:"quarantined_name"`
	Replacement incident.Replacement `json:"replacement"`
}

// ReplaceContainer replaces a unit by a new container from the clean image
// with the same configuration (command, entrypoint, env, labels, mounts,
// restart policy, ports, networks with aliases, health check), started and
// ready. The new container takes the unit's name; the unit is renamed
// <name>-quarantined-<suffix> and stopped. A replacement that already exists
// (labelled quell.replaces=<unit id>) is reused, never duplicated. When the
// replacement cannot be made ready it is removed and the unit gets its name
// back, and its service back unless it was compromised.
func (r *Recovery) ReplaceContainer(ctx context.Context, in ReplaceInput) (ReplaceResult, error) {
	old, err := r.Containers.Container(ctx, in.Unit.ContainerID)
	if err != nil {
		return ReplaceResult{}, classify(fmt.Errorf("unit %s: %w", in.Unit.ContainerID, err), docker.ErrNotFound)
	}
	name, quarantined := in.Unit.Name, in.Unit.Name+"-quarantined-"+in.QuarantineSuffix
	spec, err := r.Containers.Spec(ctx, old.ID)
	if err != nil {
		return ReplaceResult{}, classify(err, docker.ErrNotFound)
	}
	if len(in.Networks) > 0 {
		spec = spec.WithNetworks(toDockerAll(in.Networks))
	}
	activity.RecordHeartbeat(ctx, "quarantine "+old.ID)
	if err := r.Containers.Rename(ctx, old.ID, quarantined); err != nil {
		return ReplaceResult{}, fmt.Errorf("rename %s to %s: %w", old.ID, quarantined, err)
	}
	if err := r.Containers.Stop(ctx, old.ID, r.StopGrace); err != nil {
		return ReplaceResult{}, fmt.Errorf("stop %s: %w", old.ID, err)
	}
	newID, err := r.replacement(ctx, spec, old.ID, name, in)
	if err != nil {
		return ReplaceResult{}, err
	}
	activity.RecordHeartbeat(ctx, "start "+newID)
	if err := r.start(ctx, newID); err != nil {
		return ReplaceResult{}, r.rollBack(ctx, in, old.ID, newID, err)
	}
	return ReplaceResult{
		Quarantined: quarantined,
		Replacement: incident.Replacement{ContainerID: newID, Name: name, ImageID: in.ImageID, ImageRef: in.ImageRef, ReadyAt: time.Now().UTC()},
	}, nil
}

// replacement returns the unit's replacement, creating it unless an
// earlier attempt already has.
func (r *Recovery) replacement(ctx context.Context, spec docker.Spec, oldID, name string, in ReplaceInput) (string, error) {
	existing, err := r.Containers.FindByLabel(ctx, LabelReplaces, oldID)
	if err != nil {
		return "", err
	}
	switch len(existing) {
	case 0:
	case 1:
		// An earlier attempt may have died between the create and the
		// connects: the replacement joins what it still lacks.
		id := existing[0].ID
		if err := r.Containers.JoinNetworks(ctx, id, spec.Networks); err != nil {
			return "", fmt.Errorf("complete replacement %s of %s: %w", id, oldID, classify(err, docker.ErrNotFound))
		}
		return id, nil
	default:
		return "", permanentf(ErrTypeRefused, "unit %s has %d replacements; expected one", oldID, len(existing))
	}
	id, err := r.Containers.CreateFrom(ctx, spec, cmp.Or(in.ImageRef, in.ImageID), name, map[string]string{
		LabelReplaces: oldID, LabelIncident: in.IncidentID,
	})
	if err != nil {
		return "", fmt.Errorf("create replacement of %s: %w", oldID, err)
	}
	return id, nil
}

func (r *Recovery) start(ctx context.Context, id string) error {
	if err := r.Containers.Start(ctx, id); err != nil {
		return err
	}
	return r.Containers.WaitReady(ctx, id)
}

// rollBack undoes a replacement that did not become ready: the half-made
// container goes, the unit gets its name back, and a unit that was not
// compromised runs again.
func (r *Recovery) rollBack(ctx context.Context, in ReplaceInput, oldID, newID string, cause error) error {
	errs := []error{fmt.Errorf("replacement %s of %s not ready: %w", newID, oldID, cause)}
	errs = append(errs, r.Containers.Remove(ctx, newID))
	errs = append(errs, r.Containers.Rename(ctx, oldID, in.Unit.Name))
	if !in.Unit.Compromised {
		errs = append(errs, r.start(ctx, oldID))
	}
	return permanent(ErrTypeRefused, errors.Join(errs...))
}

// RemoveInput is the input of RemoveContainer.
type RemoveInput struct {
	IncidentID string        `json:"incident_id"`
	Unit       incident.Unit `json:"unit"`
}

// RemoveResult is the result of RemoveContainer.
type RemoveResult struct {
	Removed string `json:"removed"`
}

// RemoveContainer removes a quarantined container. A compromised one is
// refused unless the incident's evidence verified (the custody log says so).
func (r *Recovery) RemoveContainer(ctx context.Context, in RemoveInput) (RemoveResult, error) {
	if in.Unit.Quarantined == "" {
		return RemoveResult{}, permanentf(ErrTypeRefused, "unit %s was not replaced: nothing quarantined to remove", in.Unit.ContainerID)
	}
	if in.Unit.Compromised {
		if err := r.verified(in.IncidentID, in.Unit.ContainerID); err != nil {
			return RemoveResult{}, err
		}
	}
	if err := r.Containers.Remove(ctx, in.Unit.ContainerID); err != nil {
		return RemoveResult{}, fmt.Errorf("remove %s: %w", in.Unit.ContainerID, err)
	}
	return RemoveResult{Removed: in.Unit.Quarantined}, nil
}

// verified refuses unless the incident's manifest covers the container and
// its last verification in the custody log succeeded.
func (r *Recovery) verified(incidentID, containerID string) error {
	m, err := r.Store.Manifest(incidentID)
	if err != nil {
		return permanentf(ErrTypeRefused, "container %s has no evidence: %v", containerID, err)
	}
	if m.Subject["container_id"] != containerID {
		return permanentf(ErrTypeRefused, "the evidence of %s is of container %s, not %s", incidentID, m.Subject["container_id"], containerID)
	}
	custody, err := r.Store.Custody(incidentID)
	if err != nil {
		return fmt.Errorf("custody of %s: %w", incidentID, err)
	}
	last := ""
	for _, c := range custody {
		if c.Action == evidence.ActionVerified || c.Action == evidence.ActionVerificationFailed {
			last = c.Action
		}
	}
	if last != evidence.ActionVerified {
		return permanentf(ErrTypeRefused, "the evidence of container %s has not verified", containerID)
	}
	return nil
}

func toDockerAll(atts []incident.Attachment) []docker.Attachment {
	out := make([]docker.Attachment, len(atts))
	for i, a := range atts {
		out[i] = toDocker(a)
	}
	return out
}
