package activities

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/quell-ir/quell/internal/docker"
)

// DeleteImageInput is the input of DeleteImage.
type DeleteImageInput struct {
	IncidentID string `json:"incident_id"`
	// ImageID is the bad image.
	ImageID string `json:"image_id"`
	// EvidenceImages are images committed as evidence from the bad image's
	// containers; they depend on it, and their content is preserved in the
	// sealed evidence, so they go first.
	EvidenceImages []string `json:"evidence_images,omitempty"`
}

// DeleteImageResult lists what the daemon removed.
type DeleteImageResult struct {
	Removed []string `json:"removed"`
}

// DeleteImage removes the bad image by ID once no container uses it.
func (r *Recovery) DeleteImage(ctx context.Context, in DeleteImageInput) (DeleteImageResult, error) {
	users, err := r.Containers.ContainersByImage(ctx, in.ImageID)
	if err != nil {
		return DeleteImageResult{}, err
	}
	if len(users) > 0 {
		names := make([]string, len(users))
		for i, c := range users {
			names[i] = c.Name
		}
		return DeleteImageResult{}, permanentf(ErrTypeRefused, "image %s is still used by %s", in.ImageID, strings.Join(names, ", "))
	}
	var res DeleteImageResult
	for _, ev := range in.EvidenceImages {
		removed, err := r.Images.RemoveImage(ctx, ev)
		if err != nil && !errors.Is(err, docker.ErrNotFound) {
			return res, fmt.Errorf("evidence image %s: %w", ev, err)
		}
		res.Removed = append(res.Removed, removed...)
	}
	removed, err := r.Images.RemoveImage(ctx, in.ImageID)
	if errors.Is(err, docker.ErrInUse) {
		return res, permanent(ErrTypeRefused, err)
	}
	if err != nil {
		return res, fmt.Errorf("delete image %s: %w", in.ImageID, err)
	}
	res.Removed = append(res.Removed, removed...)
	return res, nil
}
