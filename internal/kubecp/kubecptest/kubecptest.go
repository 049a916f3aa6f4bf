// Package kubecptest starts a real Kubernetes control plane on loopback
// for a test, and gives the test namespaces of its own. A test that cannot
// build or start the plane is skipped, and fails under CI=true.
package kubecptest

import (
	"crypto/rand"
	"encoding/hex"
	"testing"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"

	"github.com/quell-ir/quell/internal/kubecp"
	"github.com/quell-ir/quell/internal/toolcache"
)

// Start builds (once, into the cache) and starts a control plane that
// stops when the test ends.
func Start(t testing.TB) *kubecp.Plane {
	t.Helper()
	bins := map[string]string{}
	for _, tool := range kubecp.Tools() {
		bins[tool.Name] = toolcache.Binary(t, tool)
	}
	plane, err := kubecp.Start(t.Context(), t.TempDir(), bins)
	if err != nil {
		toolcache.Unavailable(t, "start the control plane: %v", err)
	}
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("control plane logs:\n%s", plane.Logs())
		}
		plane.Stop()
	})
	return plane
}

// Namespace creates a namespace of the test's own, labelled quell.test=1,
// deleted when the test ends.
func Namespace(t testing.TB, admin kubernetes.Interface) string {
	t.Helper()
	b := make([]byte, 4)
	_, _ = rand.Read(b)
	ns := &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: "quell-test-" + hex.EncodeToString(b), Labels: map[string]string{"quell.test": "1"}}}
	if _, err := admin.CoreV1().Namespaces().Create(t.Context(), ns, metav1.CreateOptions{}); err != nil {
		t.Fatalf("create namespace: %v", err)
	}
	t.Cleanup(func() {
		_ = admin.CoreV1().Namespaces().Delete(t.Context(), ns.Name, metav1.DeleteOptions{})
	})
	return ns.Name
}
