package e2e

import (
	"fmt"
	"net/http"
	"path/filepath"
	"strings"
	"testing"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"

	"github.com/quell-ir/quell/internal/app"
	"github.com/quell-ir/quell/internal/bench/rig"
	"github.com/quell-ir/quell/internal/config"
	"github.com/quell-ir/quell/internal/docker/dockertest"
	"github.com/quell-ir/quell/internal/incident"
	"github.com/quell-ir/quell/internal/kubecp"
	"github.com/quell-ir/quell/internal/kubecp/kubecptest"
	"github.com/quell-ir/quell/internal/registry/registrytest"
)

// podAlert is Falco's documented terminal-shell sample as a node's Falco
// writes it about a pod.
func podAlert(t *testing.T, host, namespace, pod, image string) []byte {
	t.Helper()
	a, err := rig.LoadPodAlert("../../../shared/samples/falco-website_docs-outputs-channels_terminal-shell.json")
	if err != nil {
		t.Fatalf("sample alert: %v", err)
	}
	return a.For(host, namespace, pod, image)
}

// roleKubeconfig binds the ClusterRole that `quell steps --rbac` prints
// for the library's playbooks to the control plane's user "quell", and
// writes a kubeconfig of that user: quell then runs with exactly that role.
func roleKubeconfig(t *testing.T, plane *kubecp.Plane, admin kubernetes.Interface) (string, *rbacv1.ClusterRole) {
	t.Helper()
	kinds, err := app.Kinds()
	if err != nil {
		t.Fatal(err)
	}
	pbs, err := app.LoadPlaybooks("", kinds)
	if err != nil {
		t.Fatal(err)
	}
	role := app.ClusterRole("quell-test-"+randomSuffix(), kinds, pbs)
	role.Labels = map[string]string{"quell.test": "1"}
	ctx := t.Context()
	if _, err := admin.RbacV1().ClusterRoles().Create(ctx, role, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	binding := &rbacv1.ClusterRoleBinding{
		ObjectMeta: metav1.ObjectMeta{Name: role.Name, Labels: role.Labels},
		RoleRef:    rbacv1.RoleRef{APIGroup: rbacv1.GroupName, Kind: "ClusterRole", Name: role.Name},
		Subjects:   []rbacv1.Subject{{APIGroup: rbacv1.GroupName, Kind: rbacv1.UserKind, Name: "quell"}},
	}
	if _, err := admin.RbacV1().ClusterRoleBindings().Create(ctx, binding, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		_ = admin.RbacV1().ClusterRoleBindings().Delete(t.Context(), binding.Name, metav1.DeleteOptions{})
		_ = admin.RbacV1().ClusterRoles().Delete(t.Context(), role.Name, metav1.DeleteOptions{})
	})
	path := filepath.Join(t.TempDir(), "kubeconfig")
	if err := kubecp.WriteKubeconfig(path, plane.UserConfig("quell")); err != nil {
		t.Fatal(err)
	}
	return path, role
}

// deployment creates a Deployment of three replicas of image and waits
// until they are ready.
func deployment(t *testing.T, cs kubernetes.Interface, ns, name, image string) *appsv1.Deployment {
	t.Helper()
	replicas := int32(3)
	sel := map[string]string{"app": name}
	d := &appsv1.Deployment{
		ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: ns, Labels: map[string]string{"quell.test": "1"}},
		Spec: appsv1.DeploymentSpec{
			Replicas: &replicas,
			Selector: &metav1.LabelSelector{MatchLabels: sel},
			Template: corev1.PodTemplateSpec{
				ObjectMeta: metav1.ObjectMeta{Labels: map[string]string{"app": name, "tier": "web", "quell.test": "1"}},
				Spec:       corev1.PodSpec{Containers: []corev1.Container{{Name: "app", Image: image}}},
			},
		},
	}
	d, err := cs.AppsV1().Deployments(ns).Create(t.Context(), d, metav1.CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	waitFor(t, time.Minute, "three ready replicas of "+name, func() bool { return readyReplicas(t, cs, ns, name) == 3 })
	return d
}

func readyReplicas(t *testing.T, cs kubernetes.Interface, ns, name string) int32 {
	d, err := cs.AppsV1().Deployments(ns).Get(t.Context(), name, metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	return d.Status.ReadyReplicas
}

func waitFor(t *testing.T, timeout time.Duration, what string, ok func() bool) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for !ok() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %s waiting for %s", timeout, what)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// TestKubernetesCompromisedPod is the acceptance scenario on a real
// control plane, with quell running under the ClusterRole it generates: a
// Falco alert for one pod of three quarantines that pod alone, both ways,
// while the Deployment gets its three replicas back; the evidence
// verifies; after approval the Deployment runs the clean image by digest,
// the quarantined pod is gone, and the API server refuses the bad image,
// naming the incident.
func TestKubernetesCompromisedPod(t *testing.T) {
	rt := dockertest.Client(t)
	plane := kubecptest.Start(t)
	admin := kubernetes.NewForConfigOrDie(plane.AdminConfig())
	ns := kubecptest.Namespace(t, admin)
	a := newRegistryApp(t, rt, registrytest.Options{})
	kubeconfig, _ := roleKubeconfig(t, plane, admin)

	s := startStack(t, "", func(c *config.Config) {
		c.Approvals.Approvers = []string{"carol"}
		c.Images = []config.ImageSource{{Repository: a.repo, Context: a.source}}
		c.Registries = []config.Registry{{Host: a.reg.Host}}
		c.Kubernetes = config.Kubernetes{Clusters: []config.Cluster{{
			Name: "test", Kubeconfig: kubeconfig, Match: config.ClusterMatch{Hosts: []string{plane.NodeName}},
		}}}
	})
	deployment(t, admin, ns, "web", a.ref)
	pods, err := admin.CoreV1().Pods(ns).List(t.Context(), metav1.ListOptions{LabelSelector: "app=web"})
	if err != nil || len(pods.Items) != 3 {
		t.Fatalf("pods of web: %v %v", pods, err)
	}
	victim := pods.Items[0]

	var o opened
	if code := s.do("POST", "/v1/alerts/falco", "", podAlert(t, plane.NodeName, ns, victim.Name, a.repo), &o); code != http.StatusAccepted {
		t.Fatalf("falco alert: %d", code)
	}
	cleanupIncident(t, rt, &o.IncidentID)
	inc := s.incident(o.IncidentID, time.Minute, hasStatus(incident.StatusAwaitingApproval))
	if inc.Playbook != "compromised-pod" || inc.Target.Cluster != "test" {
		t.Fatalf("incident: playbook %s, cluster %q; want compromised-pod on test", inc.Playbook, inc.Target.Cluster)
	}

	// Quarantined: labelled, released by its ReplicaSet, selected alone by
	// a policy of both types and no rules; three other replicas ready.
	p, err := admin.CoreV1().Pods(ns).Get(t.Context(), victim.Name, metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if p.UID != victim.UID || p.Labels["quell.io/quarantine"] == "" || metav1.GetControllerOf(p) != nil || p.Labels["app"] != "" {
		t.Errorf("quarantined pod: uid %s (was %s), labels %v, controller %v", p.UID, victim.UID, p.Labels, metav1.GetControllerOf(p))
	}
	pol, err := admin.NetworkingV1().NetworkPolicies(ns).Get(t.Context(), inc.PodIsolation.Policy, metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if types := pol.Spec.PolicyTypes; len(types) != 2 || len(pol.Spec.Ingress) != 0 || len(pol.Spec.Egress) != 0 {
		t.Errorf("policy %s: types %v, %d ingress and %d egress rules; want both types, no rules", pol.Name, types, len(pol.Spec.Ingress), len(pol.Spec.Egress))
	}
	sel, err := metav1.LabelSelectorAsSelector(&pol.Spec.PodSelector)
	if err != nil {
		t.Fatal(err)
	}
	selected, err := admin.CoreV1().Pods(ns).List(t.Context(), metav1.ListOptions{LabelSelector: sel.String()})
	if err != nil || len(selected.Items) != 1 || selected.Items[0].UID != victim.UID {
		t.Errorf("policy selects %d pod(s), want the quarantined pod alone (%v)", len(selected.Items), err)
	}
	waitFor(t, time.Minute, "three replicas ready again", func() bool { return readyReplicas(t, admin, ns, "web") == 3 })
	if inc.Evidence == nil || !inc.Evidence.Verified {
		t.Fatalf("evidence not verified: %+v", inc.Evidence)
	}
	t.Logf("alert to quarantine: %s", inc.TimeToContain())

	s.approve(o.IncidentID, "approve-recovery")
	inc = s.incident(o.IncidentID, 5*time.Minute, func(i incident.Incident) bool { return i.Status != incident.StatusRunning })
	for _, st := range inc.Steps {
		if st.Status != incident.StepSucceeded {
			t.Errorf("step %s: %s %s", st.ID, st.Status, st.Error)
		}
	}
	if inc.Status != incident.StatusCompleted {
		t.Fatalf("incident %s: %s", inc.ID, inc.Status)
	}

	// Rolled out by digest, the quarantined pod gone.
	pinned := inc.Image.PinnedRef()
	d, err := admin.AppsV1().Deployments(ns).Get(t.Context(), "web", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if got := d.Spec.Template.Spec.Containers[0].Image; got != pinned || !strings.Contains(got, "@sha256:") {
		t.Errorf("deployment image %s, want the clean image by digest %s", got, pinned)
	}
	if d.Status.ObservedGeneration < d.Generation || d.Status.UpdatedReplicas != 3 || d.Status.AvailableReplicas != 3 {
		t.Errorf("rollout not complete: %+v", d.Status)
	}
	if _, err := admin.CoreV1().Pods(ns).Get(t.Context(), victim.Name, metav1.GetOptions{}); !apierrors.IsNotFound(err) {
		t.Errorf("quarantined pod: %v, want it deleted", err)
	}

	// The bad image is refused, by digest and by tag, naming the incident.
	// An admission policy takes effect once the API server has loaded it.
	t.Cleanup(func() {
		if t.Failed() {
			pols, _ := admin.AdmissionregistrationV1().ValidatingAdmissionPolicies().List(t.Context(), metav1.ListOptions{})
			for _, p := range pols.Items {
				t.Logf("policy %s: status %+v", p.Name, p.Status)
			}
		}
	})
	for _, bad := range []string{a.repo + "@" + a.digest, a.ref} {
		var err error
		waitFor(t, 15*time.Second, "the bad image refused", func() bool {
			err = createPod(t, admin, ns, bad)
			return err != nil
		})
		if !strings.Contains(err.Error(), inc.ID) {
			t.Errorf("pod with %s: %v; want it refused naming incident %s", bad, err, inc.ID)
		}
	}
	if err := createPod(t, admin, ns, pinned); err != nil {
		t.Errorf("pod with the clean image %s: %v", pinned, err)
	}

	// quell's role lets it do none of what it does not need.
	quell := kubernetes.NewForConfigOrDie(plane.UserConfig("quell"))
	if err := quell.AppsV1().Deployments(ns).Delete(t.Context(), "web", metav1.DeleteOptions{}); !apierrors.IsForbidden(err) {
		t.Errorf("quell deleting a deployment: %v, want forbidden", err)
	}
	report := s.get("/v1/incidents/" + inc.ID + "/report")
	for _, want := range []string{victim.Name, pinned} {
		if !strings.Contains(report, want) {
			t.Errorf("report lacks %q", want)
		}
	}
}

var podSeq int

func createPod(t *testing.T, cs kubernetes.Interface, ns, image string) error {
	podSeq++
	p := &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{Name: fmt.Sprintf("probe-%d", podSeq), Namespace: ns, Labels: map[string]string{"quell.test": "1"}},
		Spec:       corev1.PodSpec{Containers: []corev1.Container{{Name: "c", Image: image}}},
	}
	_, err := cs.CoreV1().Pods(ns).Create(t.Context(), p, metav1.CreateOptions{DryRun: []string{metav1.DryRunAll}})
	return err
}
