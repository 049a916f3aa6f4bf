package workflows

import (
	"errors"
	"fmt"
	"strings"
	"time"

	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/workflow"

	"github.com/quell-ir/quell/activities"
	"github.com/quell-ir/quell/internal/incident"
	"github.com/quell-ir/quell/playbooks"
)

// KindRegistryDelete deletes the bad image from the registries.
const KindRegistryDelete = "registry:delete"

var registryDeleteKind = define(Kind{
	Kind: playbooks.Kind{
		Name: KindRegistryDelete,
		Description: "Delete the bad image's manifests by digest, and the tags that point at them, from every configured " +
			"registry that holds it, so that no pull brings it back. Refused unless every compromised unit's snapshot " +
			"verified. A registry that refuses deletes fails the step, not retried, and the report says the image survives there.",
		Destructive:    true,
		Needs:          []string{"GET /v2/_catalog", "GET /v2/{name}/tags/list", "GET /v2/{name}/manifests/{reference}", "DELETE /v2/{name}/manifests/{digest}"},
		DefaultTimeout: 10 * time.Minute, DefaultRetry: recoveryRetry,
	},
}, registryDelete)

func registryDelete(ctx workflow.Context, r *response, s step[none]) (string, error) {
	for _, u := range r.inc.Units {
		if u.Compromised && !u.EvidenceVerified {
			return "", fmt.Errorf("refused: unit %s ran the image and its snapshot has not verified", u.Name)
		}
	}
	img := r.imageChange()
	in := activities.RegistryDeleteInput{IncidentID: r.inc.ID, ImageID: img.OldImageID, Known: img.Superseded}
	var res activities.RegistryDeleteResult
	err := workflow.ExecuteActivity(r.options(ctx, s.Step), registryActs.DeleteFromRegistries, in).Get(ctx, &res)
	var app *temporal.ApplicationError
	if errors.As(err, &app) && app.Type() == activities.ErrTypeDeleteRefused && app.HasDetails() {
		_ = app.Details(&res)
	} else if err != nil {
		return "", err
	}
	img.RegistryDeleted, img.RegistryRefused = res.Deleted, res.Refused
	if err != nil {
		return "", err
	}
	if len(res.Deleted) == 0 {
		return res.Note, nil
	}
	return "deleted " + deletions(res.Deleted), nil
}

// imageChange returns the incident's image record, made for the bad image
// if no step has made it yet.
func (r *response) imageChange() *incident.ImageChange {
	if r.inc.Image == nil {
		r.inc.Image = &incident.ImageChange{OldImageID: r.badImage()}
	}
	return r.inc.Image
}

func deletions(ds []incident.RegistryDeletion) string {
	var parts []string
	for _, d := range ds {
		p := d.Repository + "@" + shortImage(d.Digest)
		if len(d.Tags) > 0 {
			p += " (tags " + strings.Join(d.Tags, ", ") + ")"
		}
		parts = append(parts, p)
	}
	return strings.Join(parts, "; ")
}
