package kube

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strings"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/util/retry"

	"github.com/quell-ir/quell/internal/incident"
)

// Annotations a rollout leaves on its workload.
const (
	// annotationRollout names the incident that rolled the workload out.
	annotationRollout = "quell.io/rollout"
	// annotationPrevious holds, as JSON, the images the rollout replaced.
	annotationPrevious = "quell.io/rollout-previous"
	// annotationRolledBack is set once the rollout was rolled back.
	annotationRolledBack = "quell.io/rolled-back"
)

// ErrRolledBack is wrapped when a rollout did not complete in time and
// was rolled back.
var ErrRolledBack = errors.New("rollout did not complete and was rolled back")

// ErrNoBadImage is wrapped when no container of the workload runs a bad
// image.
var ErrNoBadImage = errors.New("no container runs a bad image")

// Rollout is a workload's rollout to a clean image.
type Rollout struct {
	Workload incident.Workload
	// Previous are the images replaced, by container.
	Previous   map[string]string
	RolledBack bool
}

// workloadObject is a Deployment, StatefulSet or DaemonSet read for a rollout.
type workloadObject struct {
	meta     metav1.ObjectMeta
	template corev1.PodTemplateSpec
	// done reports whether the rollout of the current spec completed.
	done func() (bool, string)
}

// getWorkload reads a workload.
func getWorkload(ctx context.Context, c kubernetes.Interface, ns string, w incident.Workload) (workloadObject, error) {
	get := metav1.GetOptions{}
	switch w.Kind {
	case "Deployment":
		d, err := c.AppsV1().Deployments(ns).Get(ctx, w.Name, get)
		if err != nil {
			return workloadObject{}, err
		}
		return workloadObject{meta: d.ObjectMeta, template: d.Spec.Template, done: func() (bool, string) { return deploymentDone(d) }}, nil
	case "StatefulSet":
		s, err := c.AppsV1().StatefulSets(ns).Get(ctx, w.Name, get)
		if err != nil {
			return workloadObject{}, err
		}
		return workloadObject{meta: s.ObjectMeta, template: s.Spec.Template, done: func() (bool, string) { return statefulSetDone(s) }}, nil
	case "DaemonSet":
		d, err := c.AppsV1().DaemonSets(ns).Get(ctx, w.Name, get)
		if err != nil {
			return workloadObject{}, err
		}
		return workloadObject{meta: d.ObjectMeta, template: d.Spec.Template, done: func() (bool, string) { return daemonSetDone(d) }}, nil
	}
	return workloadObject{}, fmt.Errorf("%s %s: quell rolls out Deployments, StatefulSets and DaemonSets", w.Kind, w.Name)
}

func deploymentDone(d *appsv1.Deployment) (bool, string) {
	want := int32(1)
	if d.Spec.Replicas != nil {
		want = *d.Spec.Replicas
	}
	s := d.Status
	state := fmt.Sprintf("generation %d observed %d, %d updated, %d available, %d in all, of %d", d.Generation, s.ObservedGeneration,
		s.UpdatedReplicas, s.AvailableReplicas, s.Replicas, want)
	return s.ObservedGeneration >= d.Generation && s.UpdatedReplicas == want && s.AvailableReplicas == want && s.Replicas == want, state
}

func statefulSetDone(ss *appsv1.StatefulSet) (bool, string) {
	want := int32(1)
	if ss.Spec.Replicas != nil {
		want = *ss.Spec.Replicas
	}
	s := ss.Status
	state := fmt.Sprintf("generation %d observed %d, %d updated, %d ready, of %d", ss.Generation, s.ObservedGeneration, s.UpdatedReplicas, s.ReadyReplicas, want)
	return s.ObservedGeneration >= ss.Generation && s.UpdatedReplicas == want && s.ReadyReplicas == want && s.CurrentRevision == s.UpdateRevision, state
}

func daemonSetDone(ds *appsv1.DaemonSet) (bool, string) {
	s := ds.Status
	state := fmt.Sprintf("generation %d observed %d, %d updated, %d available, of %d", ds.Generation, s.ObservedGeneration,
		s.UpdatedNumberScheduled, s.NumberAvailable, s.DesiredNumberScheduled)
	return s.ObservedGeneration >= ds.Generation && s.UpdatedNumberScheduled == s.DesiredNumberScheduled && s.NumberAvailable == s.DesiredNumberScheduled, state
}

// RolloutWorkload sets the containers of a workload that run one of bad
// to image and waits, calling wait between reads, until the rollout
// completes. The workload records the incident and the images replaced
// in one patch with the change, so that a retry after a crash waits for
// the rollout it started instead of starting another. A rollout that has
// not completed by deadline is rolled back to the replaced images and
// fails, wrapping ErrRolledBack.
func RolloutWorkload(ctx context.Context, c kubernetes.Interface, incidentID, ns string, w incident.Workload, image string, bad []string,
	deadline time.Time, wait func(state string)) (Rollout, error) {
	var ro Rollout
	// The controllers write the workload's status meanwhile: a conflict
	// reads it again and decides again.
	err := retry.RetryOnConflict(retry.DefaultRetry, func() (err error) {
		ro, err = startRollout(ctx, c, incidentID, ns, w, image, bad)
		return err
	})
	if err != nil {
		return ro, err
	}
	for {
		obj, err := getWorkload(ctx, c, ns, w)
		if err != nil {
			return ro, fmt.Errorf("get %s %s/%s: %w", w.Kind, ns, w.Name, err)
		}
		done, state := obj.done()
		if done {
			return ro, nil
		}
		if time.Now().After(deadline) {
			if err := rollBack(ctx, c, ns, w, ro.Previous); err != nil {
				return ro, fmt.Errorf("roll %s %s/%s back after it did not complete (%s): %w", w.Kind, ns, w.Name, state, err)
			}
			ro.RolledBack = true
			return ro, fmt.Errorf("%s %s/%s (%s): %w to %v", w.Kind, ns, w.Name, state, ErrRolledBack, ro.Previous)
		}
		wait(state)
	}
}

// startRollout sets the workload's bad images to image, recording the
// incident and the images replaced, unless the incident's rollout already
// started it.
func startRollout(ctx context.Context, c kubernetes.Interface, incidentID, ns string, w incident.Workload, image string, bad []string) (Rollout, error) {
	obj, err := getWorkload(ctx, c, ns, w)
	if err != nil {
		return Rollout{}, fmt.Errorf("get %s %s/%s: %w", w.Kind, ns, w.Name, err)
	}
	ro := Rollout{Workload: w, Previous: map[string]string{}}
	if obj.meta.Annotations[annotationRollout] == incidentID {
		if err := json.Unmarshal([]byte(obj.meta.Annotations[annotationPrevious]), &ro.Previous); err != nil {
			return ro, fmt.Errorf("%s %s/%s: annotation %s: %w", w.Kind, ns, w.Name, annotationPrevious, err)
		}
		if obj.meta.Annotations[annotationRolledBack] != "" {
			ro.RolledBack = true
			return ro, fmt.Errorf("%s %s/%s: %w", w.Kind, ns, w.Name, ErrRolledBack)
		}
		return ro, nil
	}
	for _, ct := range slices.Concat(obj.template.Spec.InitContainers, obj.template.Spec.Containers) {
		if isBad(ct.Image, bad) {
			ro.Previous[ct.Name] = ct.Image
		}
	}
	if len(ro.Previous) == 0 {
		return ro, fmt.Errorf("%s %s/%s: %w (%s)", w.Kind, ns, w.Name, ErrNoBadImage, strings.Join(bad, ", "))
	}
	images := map[string]string{}
	for name := range ro.Previous {
		images[name] = image
	}
	return ro, setImages(ctx, c, ns, w, obj, images, map[string]any{
		annotationRollout: incidentID, annotationPrevious: mustJSON(ro.Previous), annotationRolledBack: nil,
	})
}

// rollBack sets the replaced images back and marks the workload rolled
// back. The controllers write the workload's status while it rolls out,
// so a conflict reads it again and retries.
func rollBack(ctx context.Context, c kubernetes.Interface, ns string, w incident.Workload, previous map[string]string) error {
	return retry.RetryOnConflict(retry.DefaultRetry, func() error {
		obj, err := getWorkload(ctx, c, ns, w)
		if err != nil {
			return fmt.Errorf("get %s %s/%s: %w", w.Kind, ns, w.Name, err)
		}
		return setImages(ctx, c, ns, w, obj, previous, map[string]any{annotationRolledBack: time.Now().UTC().Format(time.RFC3339)})
	})
}

// setImages sets containers' images by name and the workload's
// annotations in one strategic merge patch, conditional on the workload's
// resource version.
func setImages(ctx context.Context, c kubernetes.Interface, ns string, w incident.Workload, obj workloadObject, images map[string]string, annotations map[string]any) error {
	var containers, initContainers []map[string]string
	isInit := map[string]bool{}
	for _, ct := range obj.template.Spec.InitContainers {
		isInit[ct.Name] = true
	}
	for _, name := range slices.Sorted(maps.Keys(images)) {
		entry := map[string]string{"name": name, "image": images[name]}
		if isInit[name] {
			initContainers = append(initContainers, entry)
		} else {
			containers = append(containers, entry)
		}
	}
	podSpec := map[string]any{}
	if containers != nil {
		podSpec["containers"] = containers
	}
	if initContainers != nil {
		podSpec["initContainers"] = initContainers
	}
	patch, err := json.Marshal(map[string]any{
		"metadata": map[string]any{"resourceVersion": obj.meta.ResourceVersion, "annotations": annotations},
		"spec":     map[string]any{"template": map[string]any{"spec": podSpec}},
	})
	if err != nil {
		return err
	}
	opts := metav1.PatchOptions{FieldManager: "quell"}
	switch w.Kind {
	case "Deployment":
		_, err = c.AppsV1().Deployments(ns).Patch(ctx, w.Name, types.StrategicMergePatchType, patch, opts)
	case "StatefulSet":
		_, err = c.AppsV1().StatefulSets(ns).Patch(ctx, w.Name, types.StrategicMergePatchType, patch, opts)
	case "DaemonSet":
		_, err = c.AppsV1().DaemonSets(ns).Patch(ctx, w.Name, types.StrategicMergePatchType, patch, opts)
	}
	if err != nil {
		return fmt.Errorf("set images of %s %s/%s: %w", w.Kind, ns, w.Name, err)
	}
	return nil
}

// isBad reports whether image is one of bad: the same reference, or the
// same digest.
func isBad(image string, bad []string) bool {
	for _, b := range bad {
		if image == b {
			return true
		}
		if _, d, ok := strings.Cut(b, "@"); ok && strings.HasSuffix(image, "@"+d) {
			return true
		}
	}
	return false
}

// DigestRef is image by the digest the node reported for it
// (repo@sha256:...); empty when the node reported none, or only an image
// ID, which names no manifest.
func DigestRef(image, imageID string) string {
	_, digest, ok := strings.Cut(imageID, "@")
	if !ok || !strings.HasPrefix(digest, "sha256:") {
		return ""
	}
	repo, _, _ := strings.Cut(image, "@")
	if slash, colon := strings.LastIndex(repo, "/"), strings.LastIndex(repo, ":"); colon > slash {
		repo = repo[:colon]
	}
	return repo + "@" + digest
}

func mustJSON(v any) string {
	b, err := json.Marshal(v)
	if err != nil {
		panic(err)
	}
	return string(b)
}
