package workflows

import (
	"fmt"
	"strings"
	"time"

	"go.temporal.io/sdk/workflow"

	"github.com/quell-ir/quell/activities"
	"github.com/quell-ir/quell/playbooks"
)

// KindBlastRadius lists what else in the registries was built on the bad
// image's own layers.
const KindBlastRadius = "registry:blast-radius"

var blastRadiusKind = define(Kind{
	Kind: playbooks.Kind{
		Name: KindBlastRadius,
		Description: "List every repository and tag in the configured registries whose image contains the layers the bad image " +
			"added over its base (its declared base, else the bottom layers it shares with an image not built on it), " +
			"so the report shows what else was built on what was poisoned. Reads the bad image from the registries: run it " +
			"before registry:delete.",
		Needs:          []string{"GET /v2/_catalog", "GET /v2/{name}/tags/list", "GET /v2/{name}/manifests/{reference}", "GET /v2/{name}/blobs/{digest}"},
		DefaultTimeout: 15 * time.Minute, DefaultRetry: recoveryRetry,
	},
	Queue: HeavyQueue,
}, blastRadius)

func blastRadius(ctx workflow.Context, r *response, s step[none]) (string, error) {
	img := r.imageChange()
	in := activities.BlastRadiusInput{IncidentID: r.inc.ID, ImageID: img.OldImageID, Known: img.Superseded}
	var res activities.BlastRadiusResult
	if err := workflow.ExecuteActivity(r.options(ctx, s.Step), registryActs.BlastRadius, in).Get(ctx, &res); err != nil {
		return "", err
	}
	if res.Radius == nil {
		return res.Note, nil
	}
	img.BlastRadius = res.Radius
	var names []string
	for _, a := range res.Radius.Affected {
		names = append(names, a.Repository+":"+strings.Join(a.Tags, ","))
	}
	if len(names) == 0 {
		return fmt.Sprintf("no other image of %d scanned holds its %d own layer(s)", res.Radius.Scanned, len(res.Radius.OwnLayers)), nil
	}
	r.notifyReply(fmt.Sprintf(":boom: blast radius: %d image(s) built on the bad image's layers: %s", len(names), strings.Join(names, ", ")))
	return fmt.Sprintf("%d image(s) hold its %d own layer(s): %s", len(names), len(res.Radius.OwnLayers), strings.Join(names, "; ")), nil
}
