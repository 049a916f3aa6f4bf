package workflows

import (
	"fmt"
	"slices"
	"time"

	"go.temporal.io/sdk/workflow"

	"github.com/quell-ir/quell/activities"
	"github.com/quell-ir/quell/internal/incident"
	"github.com/quell-ir/quell/playbooks"
)

// KindDelete deletes the bad image.
const KindDelete = "image:delete"

var deleteKind = define(Kind{
	Kind: playbooks.Kind{
		Name: KindDelete,
		Description: "Delete the bad image by ID once no container uses it, with the evidence images committed from it " +
			"(their content is in the sealed evidence). Refused unless every compromised unit's snapshot verified.",
		Destructive:    true,
		Needs:          []string{"GET /containers/json?all=1", "DELETE /images/{id}"},
		DefaultTimeout: 5 * time.Minute, DefaultRetry: recoveryRetry,
	},
}, deleteImage)

func deleteImage(ctx workflow.Context, r *response, s step[none]) (string, error) {
	for _, u := range r.inc.Units {
		if u.Compromised && !u.EvidenceVerified {
			return "", fmt.Errorf("refused: unit %s ran the image and its snapshot has not verified", u.Name)
		}
	}
	in := activities.DeleteImageInput{IncidentID: r.inc.ID, ImageID: r.badImage()}
	if ev := r.inc.Evidence; ev != nil && ev.Image != "" && slices.ContainsFunc(ev.Artifacts, func(a incident.Artifact) bool {
		return a.Name == committedImageArtifact
	}) {
		in.EvidenceImages = []string{ev.Image}
	}
	var res activities.DeleteImageResult
	if err := workflow.ExecuteActivity(r.options(ctx, s.Step), recoveryActs.DeleteImage, in).Get(ctx, &res); err != nil {
		return "", err
	}
	if r.inc.Image == nil {
		r.inc.Image = &incident.ImageChange{OldImageID: in.ImageID}
	}
	r.inc.Image.Deleted, r.inc.Image.DeletedAt = res.Removed, timePtr(workflow.Now(ctx))
	return fmt.Sprintf("deleted image %s (%d object(s) removed)", shortImage(in.ImageID), len(res.Removed)), nil
}
