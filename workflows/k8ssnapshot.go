package workflows

import (
	"time"

	"go.temporal.io/sdk/workflow"

	"github.com/quell-ir/quell/activities"
	"github.com/quell-ir/quell/internal/kube"
	"github.com/quell-ir/quell/playbooks"
)

// KindK8sSnapshot preserves a pod as write-once, hashed evidence.
const KindK8sSnapshot = "k8s:snapshot"

// k8sSnapshotParams are the parameters of k8s:snapshot.
type k8sSnapshotParams struct {
	Logs       bool `json:"logs"`
	Checkpoint bool `json:"checkpoint"`
}

var k8sSnapshotKind = define(Kind{
	Kind: playbooks.Kind{
		Name: KindK8sSnapshot,
		Description: "Preserve the pod as write-once evidence: the pod and its owner chain as the API server holds them, " +
			"its events, the logs of every container (and of its previous instance where it restarted), the node object " +
			"and, with checkpoint, the kubelet's answer to a checkpoint of each container (the archive stays on the node; " +
			"this needs create on nodes/proxy, a right as strong as exec that the generated ClusterRole leaves out: " +
			"without it the checkpoint is noted as skipped, with the reason). What the cluster cannot give is noted in " +
			"the manifest, not failed. Each artifact is SHA-256-hashed as written into manifest.json with a chain of " +
			"custody. Resumes after a crash.",
		Params: []playbooks.Param{
			{Name: "logs", Type: "bool", Default: true, Description: "preserve the logs of every container"},
			{Name: "checkpoint", Type: "bool", Default: false, Description: "ask the kubelet for a checkpoint of each container (needs create on nodes/proxy)"},
		},
		Preserves:      true,
		ReadOnly:       true,
		Needs:          kube.Needs(kube.OpSnapshot),
		DefaultTimeout: 30 * time.Minute,
		DefaultRetry:   playbooks.Retry{MaxAttempts: 10, InitialInterval: playbooks.Duration(time.Second), BackoffCoefficient: 2},
	},
	Queue: HeavyQueue,
}, k8sSnapshot)

func k8sSnapshot(ctx workflow.Context, r *response, s step[k8sSnapshotParams]) (string, error) {
	var res activities.SnapshotResult
	in := activities.PodSnapshotInput{IncidentID: r.inc.ID, Target: r.inc.Target, Logs: s.P.Logs, Checkpoint: s.P.Checkpoint}
	if err := workflow.ExecuteActivity(r.options(ctx, s.Step), kubeActs.SnapshotPod, in).Get(ctx, &res); err != nil {
		return "", err
	}
	r.inc.Evidence = &res.Evidence
	return evidenceSummary(res.Evidence), nil
}
