package workflows

import (
	"fmt"
	"time"

	"go.temporal.io/sdk/workflow"

	"github.com/quell-ir/quell/activities"
	"github.com/quell-ir/quell/internal/kube"
	"github.com/quell-ir/quell/playbooks"
)

// KindK8sDeletePod deletes the quarantined pod.
const KindK8sDeletePod = "k8s:delete-pod"

var k8sDeletePodKind = define(Kind{
	Kind: playbooks.Kind{
		Name: KindK8sDeletePod,
		Description: "Delete the quarantined pod, by UID so that no other pod of the same name is touched, with its " +
			"NetworkPolicy. Refused unless its snapshot verified.",
		Destructive:    true,
		Needs:          kube.Needs(kube.OpDeletePod),
		DefaultTimeout: 5 * time.Minute, DefaultRetry: recoveryRetry,
	},
}, k8sDeletePod)

func k8sDeletePod(ctx workflow.Context, r *response, s step[none]) (string, error) {
	iso := r.inc.PodIsolation
	if iso == nil {
		return "", fmt.Errorf("no quarantined pod: run k8s:isolate first")
	}
	if ev := r.inc.Evidence; ev == nil || !ev.Verified {
		return "", fmt.Errorf("refused: the snapshot of pod %s/%s has not verified", iso.Namespace, iso.Pod)
	}
	var res activities.PodDeleteResult
	in := activities.PodDeleteInput{IncidentID: r.inc.ID, Isolation: *iso}
	if err := workflow.ExecuteActivity(r.options(ctx, s.Step), kubeActs.DeletePod, in).Get(ctx, &res); err != nil {
		return "", err
	}
	if !res.Deleted {
		return res.Note, nil
	}
	return fmt.Sprintf("deleted pod %s/%s (uid %s)", iso.Namespace, iso.Pod, iso.UID), nil
}
