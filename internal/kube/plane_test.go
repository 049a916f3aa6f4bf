package kube_test

import (
	"errors"
	"strings"
	"testing"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"

	"github.com/quell-ir/quell/internal/incident"
	"github.com/quell-ir/quell/internal/kube"
	"github.com/quell-ir/quell/internal/kubecp/kubecptest"
)

func waitFor(t *testing.T, what string, ok func() bool) {
	t.Helper()
	deadline := time.Now().Add(time.Minute)
	for !ok() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

func deployment(t *testing.T, c kubernetes.Interface, ns, image string) {
	t.Helper()
	replicas := int32(2)
	d := &appsv1.Deployment{
		ObjectMeta: metav1.ObjectMeta{Name: "web", Labels: map[string]string{"quell.test": "1"}},
		Spec: appsv1.DeploymentSpec{
			Replicas: &replicas,
			Selector: &metav1.LabelSelector{MatchLabels: map[string]string{"app": "web"}},
			Template: corev1.PodTemplateSpec{
				ObjectMeta: metav1.ObjectMeta{Labels: map[string]string{"app": "web", "quell.test": "1"}},
				Spec:       corev1.PodSpec{Containers: []corev1.Container{{Name: "app", Image: image}}},
			},
		},
	}
	if _, err := c.AppsV1().Deployments(ns).Create(t.Context(), d, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "two ready replicas", func() bool {
		d, err := c.AppsV1().Deployments(ns).Get(t.Context(), "web", metav1.GetOptions{})
		return err == nil && d.Status.ReadyReplicas == 2
	})
}

func onePod(t *testing.T, c kubernetes.Interface, ns string) corev1.Pod {
	t.Helper()
	pods, err := c.CoreV1().Pods(ns).List(t.Context(), metav1.ListOptions{LabelSelector: "app=web"})
	if err != nil || len(pods.Items) == 0 {
		t.Fatalf("pods of web: %v", err)
	}
	return pods.Items[0]
}

// TestOnAPlane runs the adapter against a real control plane: isolation
// twice is isolation once and undoes; a rollout past its deadline is rolled
// back; a pod is deleted only by its UID; a block refuses new pods of the
// image but lets objects that ran it before be updated.
func TestOnAPlane(t *testing.T) {
	plane := kubecptest.Start(t)
	c := kubernetes.NewForConfigOrDie(plane.AdminConfig())
	ns := kubecptest.Namespace(t, c)
	const bad = "registry.test/shop/web:1"
	deployment(t, c, ns, bad)
	victim := onePod(t, c, ns)
	const id = "k8s-test-incident.run-1"

	iso, err := kube.Isolate(t.Context(), c, "test", id, ns, victim.Name)
	if err != nil {
		t.Fatal(err)
	}
	again, err := kube.Isolate(t.Context(), c, "test", id, ns, victim.Name)
	if err != nil {
		t.Fatalf("isolating again: %v", err)
	}
	if again.RemovedLabels["app"] != "web" || again.RemovedLabels["pod-template-hash"] == "" || len(again.Owners) != 1 || again.Workload == nil || *again.Workload != (incident.Workload{Kind: "Deployment", Name: "web"}) {
		t.Errorf("second isolation lost what the first recorded: %+v", again)
	}
	if _, err := kube.Isolate(t.Context(), c, "test", "another-incident", ns, victim.Name); !errors.Is(err, kube.ErrQuarantined) {
		t.Errorf("another incident isolating the pod: %v, want ErrQuarantined", err)
	}
	restored, deleted, err := kube.Undo(t.Context(), c, id, iso)
	if err != nil || !deleted || len(restored) != 2 { // app and pod-template-hash
		t.Fatalf("undo: restored %v, policy deleted %t, %v", restored, deleted, err)
	}
	p, err := c.CoreV1().Pods(ns).Get(t.Context(), victim.Name, metav1.GetOptions{})
	if err != nil || p.Labels["app"] != "web" || p.Labels[kube.LabelQuarantine] != "" {
		t.Fatalf("pod after undo: %v %v", p.Labels, err)
	}

	// A rollout whose deadline has passed is rolled back at once.
	w := incident.Workload{Kind: "Deployment", Name: "web"}
	clean := "registry.test/shop/web@sha256:6eb26ce8a23395f27f7777f0cbce9a06ffb5010f60c25397e7942ac885a6cc25"
	ro, err := kube.RolloutWorkload(t.Context(), c, id, ns, w, clean, []string{bad}, time.Now(), func(string) { time.Sleep(kube.Poll) })
	if !errors.Is(err, kube.ErrRolledBack) || !ro.RolledBack || ro.Previous["app"] != bad {
		t.Fatalf("rollout past its deadline: %+v, %v; want rolled back", ro, err)
	}
	d, err := c.AppsV1().Deployments(ns).Get(t.Context(), "web", metav1.GetOptions{})
	if err != nil || d.Spec.Template.Spec.Containers[0].Image != bad {
		t.Fatalf("deployment after rollback runs %s (%v), want %s", d.Spec.Template.Spec.Containers[0].Image, err, bad)
	}
	if _, err := kube.RolloutWorkload(t.Context(), c, id, ns, w, clean, []string{bad}, time.Now().Add(time.Minute), func(string) {}); !errors.Is(err, kube.ErrRolledBack) {
		t.Errorf("retrying a rolled-back rollout: %v, want it to stay failed", err)
	}

	// Deleting by a UID that is not the pod's touches nothing.
	gone, err := kube.DeletePod(t.Context(), c, ns, victim.Name, "not-the-uid", kube.PolicyName(id), func() {})
	if err != nil || gone {
		t.Fatalf("delete by another uid: deleted %t, %v", gone, err)
	}
	if _, err := c.CoreV1().Pods(ns).Get(t.Context(), victim.Name, metav1.GetOptions{}); err != nil {
		t.Fatalf("pod deleted by another uid: %v", err)
	}

	// The block refuses new objects that run the image, and lets the
	// Deployment that ran it before be scaled.
	if _, err := kube.BlockImages(t.Context(), c, id, []string{bad}, []string{ns}); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _, _ = kube.LiftBlock(t.Context(), c, id) })
	probe := &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{Name: "probe", Labels: map[string]string{"quell.test": "1"}},
		Spec:       corev1.PodSpec{Containers: []corev1.Container{{Name: "c", Image: bad}}},
	}
	waitFor(t, "the block to refuse a pod", func() bool {
		_, err = c.CoreV1().Pods(ns).Create(t.Context(), probe, metav1.CreateOptions{DryRun: []string{metav1.DryRunAll}})
		return err != nil
	})
	if !strings.Contains(err.Error(), id) {
		t.Errorf("refusal %v does not name the incident", err)
	}
	scale, err := c.AppsV1().Deployments(ns).GetScale(t.Context(), "web", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	d, err = c.AppsV1().Deployments(ns).Get(t.Context(), "web", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	d.Spec.Replicas = &scale.Spec.Replicas
	d.Labels["touched"] = "yes"
	if _, err := c.AppsV1().Deployments(ns).Update(t.Context(), d, metav1.UpdateOptions{}); err != nil {
		t.Errorf("updating the deployment that ran the image before: %v", err)
	}
	blocks, err := kube.Blocks(t.Context(), c)
	if err != nil || len(blocks) != 1 || blocks[0].IncidentID != id || blocks[0].Namespaces[0] != ns {
		t.Fatalf("blocks: %+v, %v", blocks, err)
	}
	if lifted, err := kube.LiftBlock(t.Context(), c, id); err != nil || !lifted {
		t.Fatalf("lift: %t, %v", lifted, err)
	}
	waitFor(t, "the lifted block to let the pod in", func() bool {
		_, err = c.CoreV1().Pods(ns).Create(t.Context(), probe, metav1.CreateOptions{DryRun: []string{metav1.DryRunAll}})
		return err == nil
	})
}
