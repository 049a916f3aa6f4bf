package workflows

import (
	"fmt"
	"slices"
	"strings"
	"time"

	"go.temporal.io/sdk/workflow"

	"github.com/quell-ir/quell/activities"
	"github.com/quell-ir/quell/internal/incident"
	"github.com/quell-ir/quell/internal/kube"
	"github.com/quell-ir/quell/playbooks"
)

// KindK8sRollout rolls the quarantined pod's workload out to the clean image.
const KindK8sRollout = "k8s:rollout"

// k8sRolloutParams are the parameters of k8s:rollout.
type k8sRolloutParams struct {
	Deadline playbooks.Duration `json:"deadline"`
}

var k8sRolloutKind = define(Kind{
	Kind: playbooks.Kind{
		Name: KindK8sRollout,
		Description: "Set the containers of the quarantined pod's Deployment, StatefulSet or DaemonSet that ran the bad " +
			"image to the clean image by digest (repo@sha256:..., as registry:push recorded it; never a tag) and wait " +
			"until the rollout completes: observed generation, updated and available replicas. A rollout that does not " +
			"complete by the deadline is rolled back to the images it replaced and fails the step. The workload records " +
			"the incident's rollout, so a worker that dies mid-rollout never starts a second one.",
		Params: []playbooks.Param{
			{Name: "deadline", Type: "duration", Default: "10m", Description: "how long the rollout may take before it is rolled back"},
		},
		Destructive:    true,
		Needs:          kube.Needs(kube.OpRollout),
		Undo:           "the rollout is undone by rolling the workload back to the recorded images (kept on the workload)",
		DefaultTimeout: 20 * time.Minute,
		DefaultRetry:   recoveryRetry,
	},
}, k8sRollout)

func k8sRollout(ctx workflow.Context, r *response, s step[k8sRolloutParams]) (string, error) {
	iso := r.inc.PodIsolation
	if iso == nil || iso.Workload == nil {
		return "", fmt.Errorf("no workload to roll out: run k8s:isolate first (a pod no workload owns is not rolled out)")
	}
	clean := r.inc.Image.PinnedRef()
	if clean == "" {
		return "", fmt.Errorf("no clean image by digest: run image:rebuild and registry:push first")
	}
	in := activities.RolloutInput{IncidentID: r.inc.ID, Isolation: *iso, Image: clean, BadImages: r.badPodImages(), Timeout: time.Duration(s.P.Deadline)}
	var res activities.RolloutResult
	if err := workflow.ExecuteActivity(r.options(ctx, s.Step), kubeActs.RolloutWorkload, in).Get(ctx, &res); err != nil {
		return "", err
	}
	r.inc.Rollout = &incident.Rollout{
		Cluster: iso.Cluster, Namespace: iso.Namespace, Workload: res.Workload, Image: res.Image,
		Previous: res.Previous, RolledBack: res.RolledBack, CompletedAt: timePtr(workflow.Now(ctx)),
	}
	r.notifyReply(fmt.Sprintf(":arrows_counterclockwise: %s/%s rolled out to `%s`", res.Workload.Kind, res.Workload.Name, res.Image))
	return res.Summary, nil
}

// badPodImages are the images the quarantined pod's containers ran, by
// reference and, where the node reported one, by digest.
func (r *response) badPodImages() []string {
	var images []string
	add := func(ref string) {
		if ref != "" && !slices.Contains(images, ref) {
			images = append(images, ref)
		}
	}
	add(r.inc.Target.Image)
	if iso := r.inc.PodIsolation; iso != nil {
		for _, c := range iso.Containers {
			add(c.Image)
			add(kube.DigestRef(c.Image, c.ImageID))
		}
	}
	if img := r.inc.Image; img != nil {
		for _, p := range img.Pushed {
			// p.Ref is the repository at the clean digest; the tag held Previous.
			if repo, _, ok := strings.Cut(p.Ref, "@"); ok && p.Previous != "" {
				add(repo + "@" + p.Previous)
			}
		}
	}
	return images
}
