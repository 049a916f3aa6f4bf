package kube

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"regexp"
	"slices"
	"strings"

	appsv1 "k8s.io/api/apps/v1"
	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/kubernetes"

	"github.com/quell-ir/quell/internal/incident"
)

// Labels and annotations quell puts on what it changes.
const (
	// LabelQuarantine marks a quarantined pod; its value is the incident's
	// Tag. The pod's NetworkPolicy selects it.
	LabelQuarantine = "quell.io/quarantine"
	// LabelIncident marks the objects quell creates with the incident's Tag.
	LabelIncident = "quell.io/incident"
	// AnnotationIncident holds the full incident ID.
	AnnotationIncident = "quell.io/incident"
	// annotationReleased holds, as JSON, the labels removed from a pod.
	annotationReleased = "quell.io/released-labels"
	// annotationOwners holds, as JSON, the owners a pod was released from.
	annotationOwners = "quell.io/released-owners"
)

// ErrQuarantined is wrapped when a pod is already quarantined by another
// incident.
var ErrQuarantined = errors.New("already quarantined")

// ErrNoRelease is wrapped when a pod's owner selects it in a way that
// removing labels cannot undo.
var ErrNoRelease = errors.New("cannot release the pod from its owner")

var tagUnsafe = regexp.MustCompile(`[^A-Za-z0-9._-]+`)

// Tag is an incident as a label value (at most 63 characters): a readable
// prefix of its ID and a hash of all of it.
func Tag(incidentID string) string {
	readable := tagUnsafe.ReplaceAllString(incidentID, "-")
	if len(readable) > 63-13 {
		readable = readable[:63-13]
	}
	readable = strings.Trim(readable, "-_.")
	if readable == "" {
		readable = "incident"
	}
	return readable + "-" + hash(incidentID)
}

// hash is a short hash of s, for names and label values.
func hash(s string) string {
	sum := sha256.Sum256([]byte(s))
	return hex.EncodeToString(sum[:])[:12]
}

// PolicyName is the name of the NetworkPolicy that quarantines the pod of
// an incident.
func PolicyName(incidentID string) string { return "quell-quarantine-" + hash(incidentID) }

// Isolate quarantines a pod alone and both ways. It first creates a
// NetworkPolicy that allows no ingress and no egress to pods labelled with
// the incident's Tag (none is yet), then, in one patch conditional on the
// pod's resource version, labels the pod with that Tag, removes the labels
// its owner's selector matches (its owner releases it and starts a
// replacement; Services stop sending it traffic) and its controller
// reference, and records what it removed in annotations. So the pod is
// cut off in the instant it leaves its owner, a retry finds the work done
// and finishes it once, and Undo can put it back. The pod stays alive.
func Isolate(ctx context.Context, c kubernetes.Interface, cluster, incidentID, namespace, name string) (incident.PodIsolation, error) {
	tag := Tag(incidentID)
	pod, err := c.CoreV1().Pods(namespace).Get(ctx, name, metav1.GetOptions{})
	if err != nil {
		return incident.PodIsolation{}, fmt.Errorf("get pod %s/%s: %w", namespace, name, err)
	}
	if q := pod.Labels[LabelQuarantine]; q != "" && q != tag {
		return incident.PodIsolation{}, fmt.Errorf("pod %s/%s: %w by incident %s", namespace, name, ErrQuarantined, pod.Annotations[AnnotationIncident])
	}
	if err := createPolicy(ctx, c, incidentID, namespace, tag); err != nil {
		return incident.PodIsolation{}, err
	}
	for attempt := 0; pod.Labels[LabelQuarantine] != tag; attempt++ {
		err := release(ctx, c, pod, incidentID, tag)
		if err == nil || !apierrors.IsConflict(err) || attempt == 5 {
			if err != nil {
				return incident.PodIsolation{}, err
			}
			break
		}
		// The pod changed since it was read: read it again.
		if pod, err = c.CoreV1().Pods(namespace).Get(ctx, name, metav1.GetOptions{}); err != nil {
			return incident.PodIsolation{}, fmt.Errorf("get pod %s/%s: %w", namespace, name, err)
		}
	}
	pod, err = c.CoreV1().Pods(namespace).Get(ctx, name, metav1.GetOptions{})
	if err != nil {
		return incident.PodIsolation{}, fmt.Errorf("get pod %s/%s: %w", namespace, name, err)
	}
	return isolation(ctx, c, cluster, incidentID, pod)
}

// createPolicy creates the deny-all NetworkPolicy of an incident; one that
// exists already (a retry) is kept.
func createPolicy(ctx context.Context, c kubernetes.Interface, incidentID, namespace, tag string) error {
	pol := &networkingv1.NetworkPolicy{
		ObjectMeta: metav1.ObjectMeta{
			Name: PolicyName(incidentID), Namespace: namespace,
			Labels:      map[string]string{LabelIncident: tag, "app.kubernetes.io/managed-by": "quell"},
			Annotations: map[string]string{AnnotationIncident: incidentID},
		},
		Spec: networkingv1.NetworkPolicySpec{
			PodSelector: metav1.LabelSelector{MatchLabels: map[string]string{LabelQuarantine: tag}},
			PolicyTypes: []networkingv1.PolicyType{networkingv1.PolicyTypeIngress, networkingv1.PolicyTypeEgress},
		},
	}
	_, err := c.NetworkingV1().NetworkPolicies(namespace).Create(ctx, pol, metav1.CreateOptions{FieldManager: "quell"})
	if apierrors.IsAlreadyExists(err) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("create NetworkPolicy %s/%s: %w", namespace, pol.Name, err)
	}
	return nil
}

// release labels the pod quarantined and removes it from its owner, in
// one merge patch that holds only if the pod is as it was read.
func release(ctx context.Context, c kubernetes.Interface, pod *corev1.Pod, incidentID, tag string) error {
	removed, err := selected(ctx, c, pod)
	if err != nil {
		return err
	}
	var owners []incident.Owner
	var kept []metav1.OwnerReference
	for _, o := range pod.OwnerReferences {
		if o.Controller != nil && *o.Controller {
			owners = append(owners, incident.Owner{Kind: o.Kind, Name: o.Name, UID: string(o.UID)})
			continue
		}
		kept = append(kept, o)
	}
	removedJSON, _ := json.Marshal(removed)
	ownersJSON, _ := json.Marshal(owners)
	labels := map[string]any{LabelQuarantine: tag}
	for k := range removed {
		labels[k] = nil
	}
	if kept == nil {
		kept = []metav1.OwnerReference{}
	}
	patch, err := json.Marshal(map[string]any{"metadata": map[string]any{
		"resourceVersion": pod.ResourceVersion,
		"labels":          labels,
		"ownerReferences": kept,
		"annotations": map[string]string{
			AnnotationIncident: incidentID, annotationReleased: string(removedJSON), annotationOwners: string(ownersJSON),
		},
	}})
	if err != nil {
		return err
	}
	_, err = c.CoreV1().Pods(pod.Namespace).Patch(ctx, pod.Name, types.MergePatchType, patch, metav1.PatchOptions{FieldManager: "quell"})
	if err != nil {
		return fmt.Errorf("quarantine pod %s/%s: %w", pod.Namespace, pod.Name, err)
	}
	return nil
}

// selected are the pod's labels that its controller's selector matches:
// removing them releases the pod.
func selected(ctx context.Context, c kubernetes.Interface, pod *corev1.Pod) (map[string]string, error) {
	ref := metav1.GetControllerOf(pod)
	if ref == nil {
		return map[string]string{}, nil
	}
	sel, err := ownerSelector(ctx, c, pod.Namespace, *ref)
	if err != nil {
		return nil, err
	}
	removed := map[string]string{}
	if sel == nil {
		return removed, nil
	}
	for k := range sel.MatchLabels {
		if v, ok := pod.Labels[k]; ok {
			removed[k] = v
		}
	}
	for _, e := range sel.MatchExpressions {
		if v, ok := pod.Labels[e.Key]; ok && (e.Operator == metav1.LabelSelectorOpIn || e.Operator == metav1.LabelSelectorOpExists) {
			removed[e.Key] = v
		}
	}
	if len(removed) == 0 {
		return nil, fmt.Errorf("pod %s/%s: %s %s selects it only by absent labels: %w", pod.Namespace, pod.Name, ref.Kind, ref.Name, ErrNoRelease)
	}
	return removed, nil
}

// ownerSelector is the selector of a pod's controller; nil when the
// controller is gone or of a kind quell does not know (the pod is then
// released by its reference alone).
func ownerSelector(ctx context.Context, c kubernetes.Interface, namespace string, ref metav1.OwnerReference) (*metav1.LabelSelector, error) {
	var owner metav1.Object
	var sel *metav1.LabelSelector
	var err error
	get := metav1.GetOptions{}
	switch ref.Kind {
	case "ReplicaSet":
		var o *appsv1.ReplicaSet
		if o, err = c.AppsV1().ReplicaSets(namespace).Get(ctx, ref.Name, get); err == nil {
			owner, sel = o, o.Spec.Selector
		}
	case "StatefulSet":
		var o *appsv1.StatefulSet
		if o, err = c.AppsV1().StatefulSets(namespace).Get(ctx, ref.Name, get); err == nil {
			owner, sel = o, o.Spec.Selector
		}
	case "DaemonSet":
		var o *appsv1.DaemonSet
		if o, err = c.AppsV1().DaemonSets(namespace).Get(ctx, ref.Name, get); err == nil {
			owner, sel = o, o.Spec.Selector
		}
	case "Job":
		var o *batchv1.Job
		if o, err = c.BatchV1().Jobs(namespace).Get(ctx, ref.Name, get); err == nil {
			owner, sel = o, o.Spec.Selector
		}
	default:
		return nil, nil
	}
	switch {
	case apierrors.IsNotFound(err):
		return nil, nil
	case err != nil:
		return nil, fmt.Errorf("get %s %s/%s: %w", ref.Kind, namespace, ref.Name, err)
	case owner.GetUID() != ref.UID:
		return nil, nil // a new object of the owner's name: not the owner
	}
	return sel, nil
}

// isolation describes a quarantined pod from what is recorded on it.
func isolation(ctx context.Context, c kubernetes.Interface, cluster, incidentID string, pod *corev1.Pod) (incident.PodIsolation, error) {
	iso := incident.PodIsolation{
		Cluster: cluster, Namespace: pod.Namespace, Pod: pod.Name, UID: string(pod.UID), Node: pod.Spec.NodeName,
		QuarantineLabel: pod.Labels[LabelQuarantine], Policy: PolicyName(incidentID), RemovedLabels: map[string]string{},
	}
	if err := json.Unmarshal([]byte(pod.Annotations[annotationReleased]), &iso.RemovedLabels); err != nil {
		return iso, fmt.Errorf("pod %s/%s: annotation %s: %w", pod.Namespace, pod.Name, annotationReleased, err)
	}
	if err := json.Unmarshal([]byte(pod.Annotations[annotationOwners]), &iso.Owners); err != nil {
		return iso, fmt.Errorf("pod %s/%s: annotation %s: %w", pod.Namespace, pod.Name, annotationOwners, err)
	}
	iso.Containers = Containers(pod)
	w, err := workload(ctx, c, pod.Namespace, iso.Owners)
	if err != nil {
		return iso, err
	}
	iso.Workload = w
	return iso, nil
}

// Containers are a pod's containers with the images they run and, where
// the node reported it, the image's digest.
func Containers(pod *corev1.Pod) []incident.PodContainer {
	ids := map[string]string{}
	for _, s := range slices.Concat(pod.Status.InitContainerStatuses, pod.Status.ContainerStatuses) {
		ids[s.Name] = s.ImageID
	}
	var out []incident.PodContainer
	for _, ct := range slices.Concat(pod.Spec.InitContainers, pod.Spec.Containers) {
		out = append(out, incident.PodContainer{Name: ct.Name, Image: ct.Image, ImageID: ids[ct.Name]})
	}
	return out
}

// workload follows a pod's owners to the Deployment, StatefulSet or
// DaemonSet that runs it; nil when none does.
func workload(ctx context.Context, c kubernetes.Interface, namespace string, owners []incident.Owner) (*incident.Workload, error) {
	for _, o := range owners {
		switch o.Kind {
		case "StatefulSet", "DaemonSet":
			return &incident.Workload{Kind: o.Kind, Name: o.Name}, nil
		case "ReplicaSet":
			rs, err := c.AppsV1().ReplicaSets(namespace).Get(ctx, o.Name, metav1.GetOptions{})
			if apierrors.IsNotFound(err) {
				return nil, nil
			}
			if err != nil {
				return nil, fmt.Errorf("get ReplicaSet %s/%s: %w", namespace, o.Name, err)
			}
			if ref := metav1.GetControllerOf(rs); ref != nil && ref.Kind == "Deployment" {
				return &incident.Workload{Kind: ref.Kind, Name: ref.Name}, nil
			}
		}
	}
	return nil, nil
}

// Undo puts a quarantined pod's removed labels back, removes its
// quarantine label and annotations and deletes its NetworkPolicy. The
// pod's owner may adopt it again (and then scale one replica down).
func Undo(ctx context.Context, c kubernetes.Interface, incidentID string, iso incident.PodIsolation) (restored []string, policyDeleted bool, err error) {
	pod, err := c.CoreV1().Pods(iso.Namespace).Get(ctx, iso.Pod, metav1.GetOptions{})
	switch {
	case apierrors.IsNotFound(err):
	case err != nil:
		return nil, false, fmt.Errorf("get pod %s/%s: %w", iso.Namespace, iso.Pod, err)
	case string(pod.UID) == iso.UID && pod.Labels[LabelQuarantine] == iso.QuarantineLabel:
		labels := map[string]any{LabelQuarantine: nil}
		for _, k := range slices.Sorted(maps.Keys(iso.RemovedLabels)) {
			labels[k] = iso.RemovedLabels[k]
			restored = append(restored, k)
		}
		patch, _ := json.Marshal(map[string]any{"metadata": map[string]any{
			"resourceVersion": pod.ResourceVersion,
			"labels":          labels,
			"annotations":     map[string]any{AnnotationIncident: nil, annotationReleased: nil, annotationOwners: nil},
		}})
		if _, err := c.CoreV1().Pods(iso.Namespace).Patch(ctx, iso.Pod, types.MergePatchType, patch, metav1.PatchOptions{FieldManager: "quell"}); err != nil {
			return nil, false, fmt.Errorf("restore pod %s/%s: %w", iso.Namespace, iso.Pod, err)
		}
	}
	policyDeleted, err = deletePolicy(ctx, c, iso.Namespace, iso.Policy)
	return restored, policyDeleted, err
}

// deletePolicy deletes a quarantine policy; gone already is no error.
func deletePolicy(ctx context.Context, c kubernetes.Interface, namespace, name string) (bool, error) {
	err := c.NetworkingV1().NetworkPolicies(namespace).Delete(ctx, name, metav1.DeleteOptions{})
	if apierrors.IsNotFound(err) {
		return false, nil
	}
	if err != nil {
		return false, fmt.Errorf("delete NetworkPolicy %s/%s: %w", namespace, name, err)
	}
	return true, nil
}

// ReleasedOwners are the controller references quarantine removed from a
// pod, as it recorded them.
func ReleasedOwners(pod *corev1.Pod) []metav1.OwnerReference {
	var owners []incident.Owner
	if json.Unmarshal([]byte(pod.Annotations[annotationOwners]), &owners) != nil {
		return nil
	}
	var refs []metav1.OwnerReference
	for _, o := range owners {
		refs = append(refs, metav1.OwnerReference{Kind: o.Kind, Name: o.Name, UID: types.UID(o.UID)})
	}
	return refs
}
