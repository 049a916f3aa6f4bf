package activities

import (
	"context"
	"fmt"

	"github.com/quell-ir/quell/internal/alert"
	"github.com/quell-ir/quell/internal/docker"
)

// InspectUnitInput is the input of InspectUnit.
type InspectUnitInput struct {
	IncidentID string       `json:"incident_id"`
	Target     alert.Target `json:"target"`
}

// InspectUnitResult is the live state of an alert's unit on the Docker
// daemon, as plans and dry runs read it.
type InspectUnitResult struct {
	// Container is the alert's container with its network attachments;
	// zero for an image target.
	Container docker.Container `json:"container"`
	// ImageID is the bad image: the container's, or the image target's.
	ImageID string `json:"image_id,omitempty"`
	// Siblings are the other containers, running or not, of that image.
	Siblings []docker.Container `json:"siblings,omitempty"`
	// Note says what could not be read and why, for the plan to show.
	Note string `json:"note,omitempty"`
}

// InspectUnit reads, and changes nothing of, the alert's container (its
// networks, state and image) and the other containers of its image. A pod
// is not on this daemon: its result says so in Note.
func (r *Recovery) InspectUnit(ctx context.Context, in InspectUnitInput) (InspectUnitResult, error) {
	var res InspectUnitResult
	switch in.Target.Kind {
	case alert.KindDocker:
		c, err := r.Containers.Container(ctx, in.Target.ContainerID)
		if err != nil {
			return res, classify(fmt.Errorf("inspect container %s: %w", in.Target.ContainerID, err), docker.ErrNotFound)
		}
		res.Container, res.ImageID = c, c.ImageID
	case alert.KindImage:
		res.ImageID = in.Target.ImageID
	default:
		res.Note = fmt.Sprintf("target kind %q is not on the Docker daemon: not inspected", in.Target.Kind)
		return res, nil
	}
	if res.ImageID == "" {
		return res, nil
	}
	cs, err := r.Containers.ContainersByImage(ctx, res.ImageID)
	if err != nil {
		return res, classify(fmt.Errorf("containers of image %s: %w", res.ImageID, err), docker.ErrNotFound)
	}
	for _, c := range cs {
		if c.ID != res.Container.ID {
			res.Siblings = append(res.Siblings, c)
		}
	}
	return res, nil
}
