package workflows

import (
	"fmt"
	"time"

	"go.temporal.io/sdk/workflow"

	"github.com/quell-ir/quell/activities"
	"github.com/quell-ir/quell/internal/incident"
	"github.com/quell-ir/quell/playbooks"
)

// KindDiscover finds every container of the incident's image.
const KindDiscover = "docker:discover"

var discoverKind = define(Kind{
	Kind: playbooks.Kind{
		Name:        KindDiscover,
		ReadOnly:    true,
		Description: "Find every container, running or stopped, that uses the incident's image; each becomes a unit of the incident.",
		Needs:       []string{"GET /containers/json?all=1"},
		// A daemon busy with many incidents' exports can take minutes to list.
		DefaultTimeout: 5 * time.Minute, DefaultRetry: recoveryRetry,
	},
}, discover)

func discover(ctx workflow.Context, r *response, s step[none]) (string, error) {
	var res activities.DiscoverResult
	in := activities.DiscoverInput{IncidentID: r.inc.ID, ImageID: r.badImage()}
	if err := workflow.ExecuteActivity(r.options(ctx, s.Step), recoveryActs.DiscoverContainers, in).Get(ctx, &res); err != nil {
		return "", err
	}
	added := 0
	for _, c := range res.Containers {
		if _, ok := r.inc.Unit(c.ID); !ok {
			r.inc.Units = append(r.inc.Units, incident.Unit{ContainerID: c.ID, Name: c.Name, ImageID: c.ImageID})
			added++
		}
	}
	return fmt.Sprintf("%d container(s) use image %s; %d unit(s) in all", len(res.Containers), shortImage(in.ImageID), len(r.inc.Units)), nil
}
