package activities

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"go.temporal.io/sdk/activity"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"

	"github.com/quell-ir/quell/internal/alert"
	"github.com/quell-ir/quell/internal/evidence"
	"github.com/quell-ir/quell/internal/incident"
	"github.com/quell-ir/quell/internal/kube"
)

// Kube holds the activities that act on Kubernetes clusters.
type Kube struct {
	Clusters *kube.Clusters
	Store    *evidence.Store
	// Actor is recorded in the chain of custody.
	Actor evidence.Actor
}

// client is the client of the target's cluster.
func (k *Kube) client(cluster string) (kubernetes.Interface, error) {
	if k.Clusters == nil {
		return nil, permanentf(ErrTypeBadInput, "no Kubernetes cluster is configured")
	}
	c, err := k.Clusters.Client(cluster)
	if err != nil {
		return nil, permanent(ErrTypeBadInput, err)
	}
	return c, nil
}

// kubeError makes the API server's answers that retrying cannot change
// permanent, saying what to do where quell's role lacks a permission.
func kubeError(err error) error {
	switch {
	case err == nil:
		return nil
	case apierrors.IsNotFound(err):
		return permanent(ErrTypeNotFound, err)
	case apierrors.IsForbidden(err):
		return permanent(ErrTypeRefused, fmt.Errorf("%w (quell's ClusterRole is what `quell steps --rbac` prints)", err))
	case apierrors.IsInvalid(err), apierrors.IsBadRequest(err):
		return permanent(ErrTypeBadInput, err)
	case errors.Is(err, kube.ErrQuarantined), errors.Is(err, kube.ErrNoRelease):
		return permanent(ErrTypeRefused, err)
	case errors.Is(err, kube.ErrRolledBack):
		return permanent(ErrTypeRolledBack, err)
	case errors.Is(err, kube.ErrNoBadImage):
		return permanent(ErrTypeBadInput, err)
	}
	return err
}

// PodIsolateInput is the input of IsolatePod.
type PodIsolateInput struct {
	IncidentID string       `json:"incident_id"`
	Target     alert.Target `json:"target"`
}

// PodIsolateResult is what IsolatePod did, enough to undo it.
type PodIsolateResult struct {
	// Target is the alert's target completed from the pod (its image).
	Target    alert.Target          `json:"target"`
	Isolation incident.PodIsolation `json:"isolation"`
}

// IsolatePod quarantines the target pod alone and both ways (see
// kube.Isolate). Running it again is harmless.
func (k *Kube) IsolatePod(ctx context.Context, in PodIsolateInput) (PodIsolateResult, error) {
	t := in.Target
	c, err := k.client(t.Cluster)
	if err != nil {
		return PodIsolateResult{}, err
	}
	iso, err := kube.Isolate(ctx, c, t.Cluster, in.IncidentID, t.Namespace, t.Pod)
	if err != nil {
		return PodIsolateResult{}, kubeError(err)
	}
	for _, ct := range iso.Containers {
		if t.ContainerName == "" || ct.Name == t.ContainerName {
			t.ContainerName, t.Image, t.ImageID = ct.Name, ct.Image, ct.ImageID
			break
		}
	}
	if t.Host == "" {
		t.Host = iso.Node
	}
	return PodIsolateResult{Target: t, Isolation: iso}, nil
}

// PodUndoInput is the input of UndoPodIsolation.
type PodUndoInput struct {
	IncidentID string                `json:"incident_id"`
	Isolation  incident.PodIsolation `json:"isolation"`
}

// PodUndoResult is what UndoPodIsolation restored.
type PodUndoResult struct {
	RestoredLabels []string `json:"restored_labels,omitempty"`
	PolicyDeleted  bool     `json:"policy_deleted"`
}

// UndoPodIsolation puts a quarantined pod back as it was, but for its
// owner reference (its owner may adopt it again).
func (k *Kube) UndoPodIsolation(ctx context.Context, in PodUndoInput) (PodUndoResult, error) {
	c, err := k.client(in.Isolation.Cluster)
	if err != nil {
		return PodUndoResult{}, err
	}
	restored, deleted, err := kube.Undo(ctx, c, in.IncidentID, in.Isolation)
	return PodUndoResult{RestoredLabels: restored, PolicyDeleted: deleted}, kubeError(err)
}

// PodSnapshotInput is the input of SnapshotPod.
type PodSnapshotInput struct {
	IncidentID string       `json:"incident_id"`
	Target     alert.Target `json:"target"`
	Logs       bool         `json:"logs"`
	Checkpoint bool         `json:"checkpoint"`
}

// Artifact names of a pod's evidence.
const (
	artPod    = "pod/pod.json"
	artOwners = "pod/owners.json"
	artEvents = "pod/events.json"
	artNode   = "pod/node.json"
)

// SnapshotPod preserves the pod as write-once evidence: the pod, its
// owner chain, its events and its node as the API server holds them, the
// log of every container (and of its previous instance, where it
// restarted) and, when asked, the kubelet's checkpoint of each container.
// What the cluster cannot give (a node without logs or the checkpoint API)
// is noted in the manifest, not failed. Artifacts completed by an earlier
// attempt are kept.
func (k *Kube) SnapshotPod(ctx context.Context, in PodSnapshotInput) (SnapshotResult, error) {
	e := &Evidence{Store: k.Store, Actor: k.Actor}
	folder, err := k.Store.Open(in.IncidentID, k.Actor)
	if err != nil {
		return SnapshotResult{}, permanent(ErrTypeBadInput, err)
	}
	if m, err := k.Store.Manifest(in.IncidentID); err == nil {
		return e.sealed(ctx, in.IncidentID, folder.Dir(), m)
	}
	t := in.Target
	c, err := k.client(t.Cluster)
	if err != nil {
		return SnapshotResult{}, err
	}
	pod, err := kube.Pod(ctx, c, t.Namespace, t.Pod)
	if err != nil {
		return SnapshotResult{}, kubeError(err)
	}
	s := snapshot{e: e, folder: folder, id: string(pod.UID), ctx: ctx}
	parts := []struct {
		name string
		read func() (any, error)
	}{
		{artPod, func() (any, error) { return pod, nil }},
		{artOwners, func() (any, error) { return kube.Owners(ctx, c, pod, podOwners(pod)) }},
		{artEvents, func() (any, error) { return kube.Events(ctx, c, pod) }},
		{artNode, func() (any, error) { return kube.Node(ctx, c, pod.Spec.NodeName) }},
	}
	for _, p := range parts {
		if s.done(p.name) || (p.name == artNode && pod.Spec.NodeName == "") {
			continue
		}
		v, err := p.read()
		if err != nil {
			return SnapshotResult{}, kubeError(err)
		}
		if err := s.writeJSON(p.name, v); err != nil {
			return SnapshotResult{}, err
		}
	}
	restarted := map[string]bool{}
	for _, st := range pod.Status.ContainerStatuses {
		restarted[st.Name] = st.RestartCount > 0
	}
	for _, ct := range kube.Containers(pod) {
		if in.Logs {
			if err := s.podLog(c, pod, ct.Name, false); err != nil {
				return SnapshotResult{}, err
			}
			if restarted[ct.Name] {
				if err := s.podLog(c, pod, ct.Name, true); err != nil {
					return SnapshotResult{}, err
				}
			}
		}
		if in.Checkpoint {
			name := "checkpoint/" + ct.Name + ".json"
			if s.done(name) {
				continue
			}
			answer, err := kube.Checkpoint(ctx, c, pod, ct.Name)
			if err != nil {
				s.notes = append(s.notes, "checkpoint skipped: "+err.Error())
				continue
			}
			if err := s.write(name, strings.NewReader(string(answer))); err != nil {
				return SnapshotResult{}, err
			}
		}
	}
	subject := map[string]string{
		"cluster": t.Cluster, "namespace": pod.Namespace, "pod": pod.Name, "pod_uid": string(pod.UID), "node": pod.Spec.NodeName,
	}
	for _, ct := range kube.Containers(pod) {
		subject["image."+ct.Name] = ct.Image
		if ct.ImageID != "" {
			subject["image_id."+ct.Name] = ct.ImageID
		}
	}
	return s.seal(in.IncidentID, subject)
}

// podOwners are the pod's owners: as it has them, and as quarantine
// recorded them when it released the pod.
func podOwners(pod *corev1.Pod) []metav1.OwnerReference {
	return append(slices.Clone(pod.OwnerReferences), kube.ReleasedOwners(pod)...)
}

// podLog preserves a container's log; a log the node cannot give is
// noted instead.
func (s *snapshot) podLog(c kubernetes.Interface, pod *corev1.Pod, container string, previous bool) error {
	name := "logs/" + container + ".log"
	if previous {
		name = "logs/" + container + ".previous.log"
	}
	if s.done(name) {
		return nil
	}
	rc, err := kube.Logs(s.ctx, c, pod, container, previous)
	if err != nil {
		s.notes = append(s.notes, "log unavailable: "+err.Error())
		return nil
	}
	defer rc.Close()
	return s.write(name, rc)
}

// RolloutInput is the input of RolloutWorkload.
type RolloutInput struct {
	IncidentID string                `json:"incident_id"`
	Isolation  incident.PodIsolation `json:"isolation"`
	// Image is the clean image by digest.
	Image string `json:"image"`
	// BadImages are the references and digests the pod ran.
	BadImages []string `json:"bad_images"`
	// Timeout is how long the rollout may take before it is rolled back.
	Timeout time.Duration `json:"timeout"`
}

// RolloutResult is what RolloutWorkload did.
type RolloutResult struct {
	Workload   incident.Workload `json:"workload"`
	Previous   map[string]string `json:"previous,omitempty"`
	Image      string            `json:"image"`
	RolledBack bool              `json:"rolled_back,omitempty"`
	Summary    string            `json:"summary"`
}

// RolloutWorkload rolls the quarantined pod's workload out to the clean
// image (see kube.RolloutWorkload), heartbeating its progress. The
// deadline is kept across retries: it starts with the first attempt.
func (k *Kube) RolloutWorkload(ctx context.Context, in RolloutInput) (RolloutResult, error) {
	iso := in.Isolation
	if iso.Workload == nil {
		return RolloutResult{}, permanentf(ErrTypeBadInput, "pod %s/%s: no workload to roll out", iso.Namespace, iso.Pod)
	}
	if !strings.Contains(in.Image, "@sha256:") {
		return RolloutResult{}, permanentf(ErrTypeBadInput, "image %q: a rollout takes an image by digest", in.Image)
	}
	c, err := k.client(iso.Cluster)
	if err != nil {
		return RolloutResult{}, err
	}
	timeout := in.Timeout
	if timeout <= 0 {
		timeout = 10 * time.Minute
	}
	deadline := activity.GetInfo(ctx).ScheduledTime.Add(timeout)
	if activity.HasHeartbeatDetails(ctx) {
		var started time.Time
		if activity.GetHeartbeatDetails(ctx, &started) == nil && !started.IsZero() {
			deadline = started.Add(timeout)
		}
	}
	started := deadline.Add(-timeout)
	ro, err := kube.RolloutWorkload(ctx, c, in.IncidentID, iso.Namespace, *iso.Workload, in.Image, in.BadImages, deadline, func(string) {
		activity.RecordHeartbeat(ctx, started)
		time.Sleep(kube.Poll)
	})
	res := RolloutResult{Workload: ro.Workload, Previous: ro.Previous, Image: in.Image, RolledBack: ro.RolledBack}
	if err != nil {
		return res, kubeError(err)
	}
	res.Summary = fmt.Sprintf("%s %s/%s rolled out to %s: %d container(s) changed, all replicas updated and available",
		ro.Workload.Kind, iso.Namespace, ro.Workload.Name, in.Image, len(ro.Previous))
	return res, nil
}

// PodDeleteInput is the input of DeletePod.
type PodDeleteInput struct {
	IncidentID string                `json:"incident_id"`
	Isolation  incident.PodIsolation `json:"isolation"`
}

// PodDeleteResult is what DeletePod did.
type PodDeleteResult struct {
	Deleted bool   `json:"deleted"`
	Note    string `json:"note,omitempty"`
}

// DeletePod deletes the quarantined pod, by UID, and its NetworkPolicy,
// and waits until the pod is gone.
func (k *Kube) DeletePod(ctx context.Context, in PodDeleteInput) (PodDeleteResult, error) {
	iso := in.Isolation
	c, err := k.client(iso.Cluster)
	if err != nil {
		return PodDeleteResult{}, err
	}
	deleted, err := kube.DeletePod(ctx, c, iso.Namespace, iso.Pod, iso.UID, iso.Policy, func() {
		activity.RecordHeartbeat(ctx)
		time.Sleep(kube.Poll)
	})
	if err != nil {
		return PodDeleteResult{}, kubeError(err)
	}
	res := PodDeleteResult{Deleted: deleted}
	if !deleted {
		res.Note = fmt.Sprintf("pod %s/%s (uid %s) was gone already; NetworkPolicy %s deleted", iso.Namespace, iso.Pod, iso.UID, iso.Policy)
	}
	return res, nil
}

// BlockImageInput is the input of BlockImage.
type BlockImageInput struct {
	IncidentID string   `json:"incident_id"`
	Cluster    string   `json:"cluster"`
	Images     []string `json:"images"`
	// Namespaces limit the block; none means cluster-wide.
	Namespaces []string `json:"namespaces,omitempty"`
}

// BlockImageResult names the admission policy and its binding.
type BlockImageResult struct {
	Policy  string `json:"policy"`
	Binding string `json:"binding"`
}

// BlockImage keeps the bad images out of the cluster with an admission
// policy (see kube.BlockImages).
func (k *Kube) BlockImage(ctx context.Context, in BlockImageInput) (BlockImageResult, error) {
	c, err := k.client(in.Cluster)
	if err != nil {
		return BlockImageResult{}, err
	}
	name, err := kube.BlockImages(ctx, c, in.IncidentID, in.Images, in.Namespaces)
	if err != nil {
		return BlockImageResult{}, kubeError(err)
	}
	return BlockImageResult{Policy: name, Binding: name}, nil
}
