package workflows

import (
	"fmt"
	"strings"
	"time"

	"go.temporal.io/sdk/workflow"

	"github.com/quell-ir/quell/activities"
	"github.com/quell-ir/quell/playbooks"
)

// KindPush publishes the clean image to the registries it is tagged for.
const KindPush = "registry:push"

var registryActs *activities.Registries

var pushKind = define(Kind{
	Kind: playbooks.Kind{
		Name: KindPush,
		Description: "Push the image that image:rebuild produced, every tag it took over that is in a configured registry " +
			"(registries: in the config), through the Docker daemon, and record each manifest digest: docker:replace then " +
			"runs the clean image by repo@sha256:digest. Idempotent by digest: a tag that already holds the clean image is " +
			"not pushed again. Without a registry configured there is nothing to do.",
		Needs:          []string{"POST /images/{name}/push", "GET /v2/{name}/manifests/{reference}"},
		Undo:           "the tags keep pointing at the clean image; push the old digest back to go back",
		DefaultTimeout: 30 * time.Minute, DefaultRetry: recoveryRetry,
	},
	Queue: HeavyQueue,
}, push)

func push(ctx workflow.Context, r *response, s step[none]) (string, error) {
	img := r.inc.Image
	if img == nil || img.NewImageID == "" {
		return "", fmt.Errorf("no clean image to push: run image:rebuild first")
	}
	in := activities.PushInput{IncidentID: r.inc.ID, ImageID: img.NewImageID, Tags: img.Tags, OldImageID: img.OldImageID}
	var res activities.PushResult
	if err := workflow.ExecuteActivity(r.options(ctx, s.Step), registryActs.PushImage, in).Get(ctx, &res); err != nil {
		return "", err
	}
	img.Pushed, img.Superseded = res.Pushed, res.Superseded
	if len(res.Pushed) == 0 {
		return res.Note, nil
	}
	var refs []string
	for _, p := range res.Pushed {
		refs = append(refs, p.Tag)
	}
	r.notifyReply(fmt.Sprintf(":package: clean image pushed: `%s`", img.PinnedRef()))
	return fmt.Sprintf("pushed %s as %s", strings.Join(refs, ", "), res.Pushed[0].Digest), nil
}
