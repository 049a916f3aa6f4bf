package workflows

import (
	"fmt"
	"time"

	"go.temporal.io/sdk/workflow"

	"github.com/quell-ir/quell/activities"
	"github.com/quell-ir/quell/internal/incident"
	"github.com/quell-ir/quell/playbooks"
)

// KindReplace replaces every unit by a container of the clean image.
const KindReplace = "docker:replace"

var replaceKind = define(Kind{
	Kind: playbooks.Kind{
		Name: KindReplace,
		Description: "Replace every unit by a new container from the clean image with the same configuration, started " +
			"and ready (healthy when it has a health check). The new container takes the unit's name; the unit is renamed " +
			"<name>-quarantined-<incident> and stopped. Idempotent: an existing replacement is reused.",
		Params:      []playbooks.Param{concurrencyParam},
		Destructive: true,
		Needs: []string{"GET /containers/{id}/json", "POST /containers/{id}/rename", "POST /containers/{id}/stop",
			"POST /containers/create", "POST /containers/{id}/start", "POST /networks/{id}/connect"},
		Undo:           "a replacement that does not become ready is removed and the unit gets its name back",
		DefaultTimeout: 10 * time.Minute, DefaultRetry: recoveryRetry,
	},
}, replace)

func replace(ctx workflow.Context, r *response, s step[perUnit]) (string, error) {
	if r.inc.Image == nil || r.inc.Image.NewImageID == "" {
		return "", fmt.Errorf("no clean image to replace from: run image:rebuild first")
	}
	return r.eachUnit(ctx, s, func(u incident.Unit) bool { return u.Replacement == nil && !u.Removed },
		func(ctx workflow.Context, u *incident.Unit) (string, error) {
			in := activities.ReplaceInput{
				IncidentID: r.inc.ID, Unit: *u, ImageID: r.inc.Image.NewImageID, ImageRef: r.inc.Image.PinnedRef(), QuarantineSuffix: r.suffix(),
			}
			if iso := r.inc.Isolation; iso != nil && iso.ContainerID == u.ContainerID {
				in.Networks = iso.Networks
			}
			var res activities.ReplaceResult
			if err := workflow.ExecuteActivity(r.unitOptions(ctx, s.Step, u.ContainerID), recoveryActs.ReplaceContainer, in).Get(ctx, &res); err != nil {
				return "", err
			}
			u.Quarantined, u.Replacement = res.Quarantined, &res.Replacement
			r.notifyReply(fmt.Sprintf(":recycle: *%s* replaced: image %s → %s", u.Name, shortImage(u.ImageID), shortImage(res.Replacement.ImageID)))
			return fmt.Sprintf("replaced by %s (%s, image %s); old one now %s", short(res.Replacement.ContainerID),
				res.Replacement.Name, shortImage(res.Replacement.ImageID), res.Quarantined), nil
		})
}
