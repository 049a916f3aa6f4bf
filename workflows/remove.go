package workflows

import (
	"fmt"
	"time"

	"go.temporal.io/sdk/workflow"

	"github.com/quell-ir/quell/activities"
	"github.com/quell-ir/quell/internal/incident"
	"github.com/quell-ir/quell/playbooks"
)

// KindRemove removes the quarantined containers.
const KindRemove = "docker:remove"

var removeKind = define(Kind{
	Kind: playbooks.Kind{
		Name:           KindRemove,
		Description:    "Remove the quarantined containers; a compromised one only once its snapshot has verified.",
		Params:         []playbooks.Param{concurrencyParam},
		Destructive:    true,
		Needs:          []string{"DELETE /containers/{id}?force=1"},
		DefaultTimeout: 5 * time.Minute, DefaultRetry: recoveryRetry,
	},
}, remove)

func remove(ctx workflow.Context, r *response, s step[perUnit]) (string, error) {
	return r.eachUnit(ctx, s, func(u incident.Unit) bool { return u.Quarantined != "" && !u.Removed },
		func(ctx workflow.Context, u *incident.Unit) (string, error) {
			if u.Compromised && !u.EvidenceVerified {
				return "", fmt.Errorf("refused: the snapshot of %s has not verified", u.Name)
			}
			var res activities.RemoveResult
			in := activities.RemoveInput{IncidentID: r.inc.ID, Unit: *u}
			if err := workflow.ExecuteActivity(r.unitOptions(ctx, s.Step, u.ContainerID), recoveryActs.RemoveContainer, in).Get(ctx, &res); err != nil {
				return "", err
			}
			u.Removed = true
			return "removed " + res.Removed, nil
		})
}
