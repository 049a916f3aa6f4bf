package workflows

import (
	"fmt"
	"strings"
	"time"

	"go.temporal.io/sdk/workflow"

	"github.com/quell-ir/quell/activities"
	"github.com/quell-ir/quell/playbooks"
)

// KindRebuild builds a clean image from the trusted source.
const KindRebuild = "image:rebuild"

var rebuildKind = define(Kind{
	Kind: playbooks.Kind{
		Name: KindRebuild,
		Description: "Build a clean image, with no cache, from the trusted source configured for the image's repository " +
			"(images: in the config; never the image's own labels), tag it as the image it replaces and label it with " +
			"its provenance (incident, source, revision, build time). The build log is kept as evidence.",
		Needs:          []string{"GET /images/{id}/json", "POST /build"},
		Undo:           "the old image keeps its ID until image:delete; re-tag it to go back",
		DefaultTimeout: 30 * time.Minute, DefaultRetry: recoveryRetry,
	},
	Queue: HeavyQueue,
}, rebuild)

func rebuild(ctx workflow.Context, r *response, s step[none]) (string, error) {
	var res activities.RebuildResult
	in := activities.RebuildInput{IncidentID: r.inc.ID, ImageID: r.badImage(), Ref: r.inc.Target.Image}
	if err := workflow.ExecuteActivity(r.options(ctx, s.Step), recoveryActs.RebuildImage, in).Get(ctx, &res); err != nil {
		return "", err
	}
	r.inc.Image = &res.Image
	return fmt.Sprintf("built %s as %s from %s (revision %s)", shortImage(res.Image.NewImageID),
		strings.Join(res.Image.Tags, ", "), res.Image.Source, res.Image.Revision), nil
}
