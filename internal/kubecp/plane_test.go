package kubecp_test

import (
	"testing"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"

	"github.com/quell-ir/quell/internal/kubecp/kubecptest"
)

// TestPlaneRunsPods starts the plane and checks that a Deployment's pods
// are scheduled on the fake node and become ready, and that users other
// than admin start with no rights.
func TestPlaneRunsPods(t *testing.T) {
	plane := kubecptest.Start(t)
	admin := kubernetes.NewForConfigOrDie(plane.AdminConfig())
	ns := kubecptest.Namespace(t, admin)
	replicas := int32(2)
	d := &appsv1.Deployment{
		ObjectMeta: metav1.ObjectMeta{Name: "web", Labels: map[string]string{"quell.test": "1"}},
		Spec: appsv1.DeploymentSpec{
			Replicas: &replicas,
			Selector: &metav1.LabelSelector{MatchLabels: map[string]string{"app": "web"}},
			Template: corev1.PodTemplateSpec{
				ObjectMeta: metav1.ObjectMeta{Labels: map[string]string{"app": "web"}},
				Spec:       corev1.PodSpec{Containers: []corev1.Container{{Name: "app", Image: "example.test/web:1"}}},
			},
		},
	}
	if _, err := admin.AppsV1().Deployments(ns).Create(t.Context(), d, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(time.Minute)
	for {
		got, err := admin.AppsV1().Deployments(ns).Get(t.Context(), "web", metav1.GetOptions{})
		if err != nil {
			t.Fatal(err)
		}
		if got.Status.ReadyReplicas == replicas {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("deployment not ready: %+v", got.Status)
		}
		time.Sleep(100 * time.Millisecond)
	}
	pods, err := admin.CoreV1().Pods(ns).List(t.Context(), metav1.ListOptions{})
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range pods.Items {
		if p.Spec.NodeName != plane.NodeName {
			t.Errorf("pod %s on node %q, want %s", p.Name, p.Spec.NodeName, plane.NodeName)
		}
	}
	nobody := kubernetes.NewForConfigOrDie(plane.UserConfig("nobody"))
	if _, err := nobody.CoreV1().Pods(ns).List(t.Context(), metav1.ListOptions{}); !apierrors.IsForbidden(err) {
		t.Errorf("nobody listing pods: %v, want forbidden", err)
	}
}
