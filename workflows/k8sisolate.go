package workflows

import (
	"fmt"
	"time"

	"go.temporal.io/sdk/workflow"

	"github.com/quell-ir/quell/activities"
	"github.com/quell-ir/quell/internal/kube"
	"github.com/quell-ir/quell/playbooks"
)

// KindK8sIsolate quarantines one pod both ways.
const KindK8sIsolate = "k8s:isolate"

var kubeActs *activities.Kube

var k8sIsolateKind = define(Kind{
	Kind: playbooks.Kind{
		Name: KindK8sIsolate,
		Description: "Quarantine the pod, alone and both ways: label it quell.io/quarantine=<incident> and remove the " +
			"labels its owner's selector matches in one patch (its ReplicaSet releases it and starts a replacement at " +
			"once; Services stop sending it traffic), then create a NetworkPolicy that selects only that pod and allows " +
			"no ingress and no egress. The pod stays alive for forensics. What changed is recorded on the pod, so that " +
			"a retry after a crash finishes the work once and the isolation can be undone. Idempotent.",
		Needs:          kube.Needs(kube.OpIsolate),
		Undo:           "UndoPodIsolation: put the removed labels back, remove the quarantine label and delete the policy",
		DefaultTimeout: 30 * time.Second,
		DefaultRetry:   playbooks.Retry{MaxAttempts: 5, InitialInterval: playbooks.Duration(200 * time.Millisecond), BackoffCoefficient: 2},
	},
	Contains: true,
}, k8sIsolate)

func k8sIsolate(ctx workflow.Context, r *response, s step[none]) (string, error) {
	var res activities.PodIsolateResult
	in := activities.PodIsolateInput{IncidentID: r.inc.ID, Target: r.inc.Target}
	if err := workflow.ExecuteActivity(r.options(ctx, s.Step), kubeActs.IsolatePod, in).Get(ctx, &res); err != nil {
		return "", err
	}
	r.inc.Target = res.Target
	r.inc.PodIsolation = &res.Isolation
	r.inc.ContainedAt = timePtr(workflow.Now(ctx))
	r.undo = append(r.undo, compensation{step: s.ID, run: func(ctx workflow.Context) (string, error) {
		var undone activities.PodUndoResult
		in := activities.PodUndoInput{IncidentID: r.inc.ID, Isolation: res.Isolation}
		err := workflow.ExecuteActivity(r.options(ctx, s.Step), kubeActs.UndoPodIsolation, in).Get(ctx, &undone)
		return fmt.Sprintf("labels %v restored, policy deleted %t", undone.RestoredLabels, undone.PolicyDeleted), err
	}})
	iso := res.Isolation
	summary := fmt.Sprintf("pod %s/%s released by its owner (%d label(s) removed), NetworkPolicy %s denies ingress and egress",
		iso.Namespace, iso.Pod, len(iso.RemovedLabels), iso.Policy)
	r.notifyReply(fmt.Sprintf(":no_entry: quarantined pod *%s/%s* on %s in %s: %s", iso.Namespace, iso.Pod, iso.Cluster,
		r.inc.TimeToContain().Round(time.Millisecond), summary))
	r.event(ctx, "incident.contained", s.ID, fmt.Sprintf("%s in %s", summary, r.inc.TimeToContain().Round(time.Millisecond)))
	return summary, nil
}
