package workflows

import (
	"fmt"
	"strings"
	"time"

	"go.temporal.io/sdk/workflow"

	"github.com/quell-ir/quell/activities"
	"github.com/quell-ir/quell/internal/incident"
	"github.com/quell-ir/quell/internal/kube"
	"github.com/quell-ir/quell/playbooks"
)

// KindK8sBlockImage keeps the bad image out of the cluster.
const KindK8sBlockImage = "k8s:block-image"

// Scopes of k8s:block-image.
const (
	blockCluster   = "cluster"
	blockNamespace = "namespace"
)

// k8sBlockParams are the parameters of k8s:block-image.
type k8sBlockParams struct {
	Scope string `json:"scope"`
	ByTag bool   `json:"by_tag"`
}

var k8sBlockImageKind = define(Kind{
	Kind: playbooks.Kind{
		Name: KindK8sBlockImage,
		Description: "Create a ValidatingAdmissionPolicy and its binding (CEL) that refuse pods and pod templates " +
			"(Deployments, ReplicaSets, StatefulSets, DaemonSets, Jobs, CronJobs) using the bad image by digest and, with " +
			"by_tag, by the tag it was deployed under, cluster-wide or in the pod's namespace; the refusal names the " +
			"incident. Both are labelled with the incident; `quell blocks list` shows them and `quell blocks lift` removes them.",
		Params: []playbooks.Param{
			{Name: "scope", Type: "string", Default: blockCluster, Enum: []string{blockCluster, blockNamespace},
				Description: "refuse the image everywhere, or in the pod's namespace only"},
			{Name: "by_tag", Type: "bool", Default: true,
				Description: "also refuse the tag the pod ran (after registry:push it names the clean image: workloads must then pin digests)"},
		},
		Needs:          kube.Needs(kube.OpBlockImage),
		Undo:           "quell blocks lift <incident>",
		DefaultTimeout: 2 * time.Minute, DefaultRetry: recoveryRetry,
	},
}, k8sBlockImage)

func k8sBlockImage(ctx workflow.Context, r *response, s step[k8sBlockParams]) (string, error) {
	var images []string
	for _, ref := range r.badPodImages() {
		if s.P.ByTag || strings.Contains(ref, "@sha256:") {
			images = append(images, ref)
		}
	}
	if len(images) == 0 {
		return "", fmt.Errorf("no bad image known to block")
	}
	cluster := r.inc.Target.Cluster
	in := activities.BlockImageInput{IncidentID: r.inc.ID, Cluster: cluster, Images: images}
	if s.P.Scope == blockNamespace {
		in.Namespaces = []string{r.inc.Target.Namespace}
	}
	var res activities.BlockImageResult
	if err := workflow.ExecuteActivity(r.options(ctx, s.Step), kubeActs.BlockImage, in).Get(ctx, &res); err != nil {
		return "", err
	}
	r.inc.Block = &incident.ImageBlock{Cluster: cluster, Policy: res.Policy, Binding: res.Binding, Images: images, Namespaces: in.Namespaces}
	where := "cluster-wide"
	if len(in.Namespaces) > 0 {
		where = "in namespace " + in.Namespaces[0]
	}
	r.notifyReply(fmt.Sprintf(":no_entry_sign: image blocked %s: %s", where, strings.Join(images, ", ")))
	return fmt.Sprintf("policy %s refuses %s %s", res.Policy, strings.Join(images, ", "), where), nil
}
