package workflows

import (
	"fmt"
	"strings"

	"go.temporal.io/sdk/workflow"

	"github.com/quell-ir/quell/activities"
	"github.com/quell-ir/quell/internal/docker"
	"github.com/quell-ir/quell/internal/incident"
)

// dryRun runs step i as a dry run: it reads the live unit (once per
// incident, changing nothing) and records on the timeline what the step
// would have changed.
func (r *response) dryRun(ctx workflow.Context, i int) (string, error) {
	s := r.in.Playbook.Steps[i]
	if r.live == nil {
		var live activities.InspectUnitResult
		in := activities.InspectUnitInput{IncidentID: r.inc.ID, Target: r.inc.Target}
		if err := workflow.ExecuteActivity(r.options(ctx, s), recoveryActs.InspectUnit, in).Get(ctx, &live); err != nil {
			return "", err
		}
		r.live = &live
	}
	var units []docker.Container
	if r.live.Container.ID != "" {
		units = append(units, r.live.Container)
	}
	for j, st := range r.inc.Steps[:i] {
		if st.Kind == KindDiscover && st.Status == incident.StepSucceeded && r.in.Playbook.StepDryRun(j) {
			units = append(units, r.live.Siblings...)
		}
	}
	would := strings.Join(r.kinds.changes(s, *r.live, units), "; ")
	r.event(ctx, "step.dry_run", s.ID, "would "+would)
	return fmt.Sprintf("dry run, nothing changed; would: %s", would), nil
}
