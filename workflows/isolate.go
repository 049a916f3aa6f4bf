package workflows

import (
	"fmt"
	"time"

	"go.temporal.io/sdk/workflow"

	"github.com/quell-ir/quell/activities"
	"github.com/quell-ir/quell/internal/incident"
	"github.com/quell-ir/quell/playbooks"
)

// KindIsolate cuts a container off its networks and freezes it.
const KindIsolate = "docker:isolate"

var isolateKind = define(Kind{
	Kind: playbooks.Kind{
		Name: KindIsolate,
		Description: "Cut the container off every network and freeze it (pause); it stays alive for " +
			"forensics. The attachments are recorded so the isolation can be undone. Idempotent.",
		Needs: []string{"GET /containers/{id}/json", "POST /networks/{id}/disconnect",
			"POST /containers/{id}/pause"},
		Undo:           "UndoIsolation: reconnect the recorded networks (aliases, static IPs) and unpause",
		DefaultTimeout: 30 * time.Second,
		DefaultRetry:   playbooks.Retry{MaxAttempts: 5, InitialInterval: playbooks.Duration(200 * time.Millisecond), BackoffCoefficient: 2},
	},
	Contains: true,
}, isolate)

func isolate(ctx workflow.Context, r *response, s step[none]) (string, error) {
	var res activities.IsolateResult
	in := activities.IsolateInput{IncidentID: r.inc.ID, Target: r.inc.Target}
	if err := workflow.ExecuteActivity(r.options(ctx, s.Step), dockerActs.IsolateContainer, in).Get(ctx, &res); err != nil {
		return "", err
	}
	r.inc.Target = res.Target
	r.inc.Isolation = &res.Isolation
	if _, ok := r.inc.Unit(res.Target.ContainerID); !ok {
		r.inc.Units = append(r.inc.Units, incident.Unit{
			ContainerID: res.Target.ContainerID, Name: res.Target.ContainerName, ImageID: res.Target.ImageID, Compromised: true,
		})
	}
	r.inc.ContainedAt = timePtr(workflow.Now(ctx))
	r.undo = append(r.undo, compensation{step: s.ID, run: func(ctx workflow.Context) (string, error) {
		var undone activities.UndoIsolationResult
		in := activities.UndoIsolationInput{IncidentID: r.inc.ID, Isolation: res.Isolation}
		err := workflow.ExecuteActivity(r.options(ctx, s.Step), dockerActs.UndoIsolation, in).Get(ctx, &undone)
		return fmt.Sprintf("reconnected %v, unpaused %t", undone.Reconnected, undone.Unpaused), err
	}})
	summary := fmt.Sprintf("disconnected from %d network(s), paused %t", len(res.Isolation.Networks), res.Isolation.Paused)
	r.notifyReply(fmt.Sprintf(":no_entry: contained *%s* in %s: %s", res.Target.ContainerName,
		r.inc.TimeToContain().Round(time.Millisecond), summary))
	r.event(ctx, "incident.contained", s.ID, fmt.Sprintf("container %s (%s) %s in %s", short(res.Target.ContainerID),
		res.Target.ContainerName, summary, r.inc.TimeToContain().Round(time.Millisecond)))
	return summary, nil
}
