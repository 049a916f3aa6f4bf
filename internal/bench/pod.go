package bench

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/apimachinery/pkg/watch"
	"k8s.io/client-go/kubernetes"

	"github.com/quell-ir/quell/internal/bench/rig"
	"github.com/quell-ir/quell/internal/kube"
	"github.com/quell-ir/quell/internal/kubecp"
)

// podBench is the pod figure's cluster: a control plane, a Deployment
// whose pods are quarantined one by one, and a watch of what the API
// server reports.
type podBench struct {
	b     *bench
	plane *kubecp.Plane
	c     kubernetes.Interface
	// kubeconfig is the plane's admin kubeconfig, for quell and Talon.
	kubeconfig string
	ns         string
	dev        *rig.Quell
	seen       *seen
	used       map[string]bool
}

// seen records when the watches first saw each NetworkPolicy and each pod
// released from its owner with a quarantine label.
type seen struct {
	mu       sync.Mutex
	policies map[string]time.Time
	released map[string]time.Time
}

func (s *seen) at(m map[string]time.Time, name string) (time.Time, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	t, ok := m[name]
	return t, ok
}

func (s *seen) mark(m map[string]time.Time, name string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, ok := m[name]; !ok {
		m[name] = time.Now()
	}
}

func (s *seen) forget(m map[string]time.Time, name string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	delete(m, name)
}

// waitSeen polls until seen reports what the watches saw, for at most
// containTimeout; the times measured are the watches', not the poll's.
func waitSeen(ctx context.Context, seen func() bool) bool {
	deadline := time.Now().Add(containTimeout)
	for !seen() {
		if time.Now().After(deadline) || ctx.Err() != nil {
			return false
		}
		time.Sleep(time.Millisecond)
	}
	return true
}

// pod measures alert → pod quarantined: from a Falco alert's POST about one
// pod of a Deployment to both the pod's NetworkPolicy and the pod released
// by its ReplicaSet (quarantine label on, controller reference off) being
// seen on a watch of the API server; beside the floor, the same policy
// create and label patch done directly with client-go, interleaved.
func (b *bench) pod(ctx context.Context) error {
	bins, err := kubecp.Build(b.logf)
	if err != nil {
		return fmt.Errorf("control plane programs: %w", err)
	}
	pb := &podBench{b: b, used: map[string]bool{}, seen: &seen{policies: map[string]time.Time{}, released: map[string]time.Time{}}}
	b.logf("starting a control plane")
	if pb.plane, err = kubecp.Start(ctx, filepath.Join(b.dir, "kube"), bins); err != nil {
		return err
	}
	defer pb.plane.Stop()
	if pb.c, err = kubernetes.NewForConfig(pb.plane.AdminConfig()); err != nil {
		return err
	}
	pb.kubeconfig = filepath.Join(b.dir, "kube", "bench.kubeconfig")
	if err := kubecp.WriteKubeconfig(pb.kubeconfig, pb.plane.AdminConfig()); err != nil {
		return err
	}
	n := b.size.pods
	if err := pb.deployment(ctx, int32(n+2)); err != nil {
		return err
	}
	if err := pb.watch(ctx); err != nil {
		return err
	}
	if err := pb.startDev(ctx); err != nil {
		return err
	}
	defer pb.dev.Stop()
	alert, err := rig.LoadPodAlert(b.cfg.Sample)
	if err != nil {
		return err
	}
	var peer *talon
	if b.cfg.Talon != "" {
		if peer, err = pb.startTalon(ctx, b.cfg.Talon); err != nil {
			return fmt.Errorf("falco-talon: %w", err)
		}
		defer peer.proc.Stop()
	}
	var quell, floor, talons durations
	for i := range n {
		q, err := pb.quell(ctx, alert)
		if err != nil {
			return err
		}
		f, err := pb.floor(ctx, i)
		if err != nil {
			return err
		}
		quell, floor = append(quell, q), append(floor, f)
		peerTook := "not measured"
		if peer != nil {
			t, err := pb.talonSample(ctx, peer, alert)
			if err != nil {
				return err
			}
			talons, peerTook = append(talons, t), t.String()
		}
		b.logf("pod sample %d/%d: quell %v, floor %v, Falco Talon %s", i+1, n, q, f, peerTook)
	}
	name := "alert → pod quarantined"
	// The goal is the peer's (Falco Talon): the floor is two API calls, where quell first records the alert durably.
	b.add(compared(name+" p50", "ms", quell.median(), floor.median(), KindFloor, n, goal{}))
	b.add(compared(name+" p95", "ms", quell.percentile(95), floor.percentile(95), KindFloor, n, goal{}))
	b.add(compared(name+" p99", "ms", quell.percentile(99), floor.percentile(99), KindFloor, n, goal{}))
	if peer == nil {
		b.problem("alert → pod quarantined: Falco Talon not measured in this run: give -talon BIN, a falco-talon built from " +
			"github.com/falcosecurity/falco-talon outside this repository")
		return nil
	}
	// Talon's figure is its policy seen; it releases no pod and cuts the
	// owner's every replica off egress only.
	b.add(compared(name+" p50 vs Falco Talon", "ms", quell.median(), talons.median(), KindPeer, n, atMost(1, "≤ 1× (no slower)")))
	b.add(compared(name+" p95 vs Falco Talon", "ms", quell.percentile(95), talons.percentile(95), KindPeer, n, goal{}))
	b.add(compared(name+" p99 vs Falco Talon", "ms", quell.percentile(99), talons.percentile(99), KindPeer, n, goal{}))
	return nil
}

// deployment creates the Deployment whose pods are quarantined, with room
// on the node for every replacement.
func (pb *podBench) deployment(ctx context.Context, replicas int32) error {
	pb.ns = "quell-bench"
	if _, err := pb.c.CoreV1().Namespaces().Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: pb.ns}}, metav1.CreateOptions{}); err != nil {
		return err
	}
	d := &appsv1.Deployment{
		ObjectMeta: metav1.ObjectMeta{Name: "web"},
		Spec: appsv1.DeploymentSpec{
			Replicas: &replicas,
			Selector: &metav1.LabelSelector{MatchLabels: map[string]string{"app": "web"}},
			Template: corev1.PodTemplateSpec{
				ObjectMeta: metav1.ObjectMeta{Labels: map[string]string{"app": "web"}},
				Spec:       corev1.PodSpec{Containers: []corev1.Container{{Name: "app", Image: "bench.invalid/web:1"}}},
			},
		},
	}
	if _, err := pb.c.AppsV1().Deployments(pb.ns).Create(ctx, d, metav1.CreateOptions{}); err != nil {
		return err
	}
	return pb.ready(ctx, replicas)
}

// ready waits until the Deployment has its replicas ready.
func (pb *podBench) ready(ctx context.Context, replicas int32) error {
	deadline := time.Now().Add(2 * time.Minute)
	for {
		d, err := pb.c.AppsV1().Deployments(pb.ns).Get(ctx, "web", metav1.GetOptions{})
		if err != nil {
			return err
		}
		if d.Status.ReadyReplicas >= replicas {
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("deployment web: %d of %d replicas ready after 2 minutes", d.Status.ReadyReplicas, replicas)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// watch watches the namespace's NetworkPolicies and pods.
func (pb *podBench) watch(ctx context.Context) error {
	pols, err := pb.c.NetworkingV1().NetworkPolicies(pb.ns).Watch(ctx, metav1.ListOptions{})
	if err != nil {
		return err
	}
	pods, err := pb.c.CoreV1().Pods(pb.ns).Watch(ctx, metav1.ListOptions{})
	if err != nil {
		return err
	}
	go func() {
		for ev := range pols.ResultChan() {
			if p, ok := ev.Object.(*networkingv1.NetworkPolicy); ok && ev.Type == watch.Added {
				pb.seen.mark(pb.seen.policies, p.Name)
			}
		}
	}()
	go func() {
		for ev := range pods.ResultChan() {
			if p, ok := ev.Object.(*corev1.Pod); ok && p.Labels[kube.LabelQuarantine] != "" && metav1.GetControllerOf(p) == nil {
				pb.seen.mark(pb.seen.released, p.Name)
			}
		}
	}()
	return nil
}

// startDev starts a quell dev of its own on the plane's cluster.
func (pb *podBench) startDev(ctx context.Context) error {
	cfg := filepath.Join(pb.b.dir, "kube", "quell.yaml")
	body := fmt.Sprintf("kubernetes:\n  clusters:\n    - {name: bench, kubeconfig: %s, match: {hosts: [%s]}}\n", pb.kubeconfig, pb.plane.NodeName)
	if err := os.WriteFile(cfg, []byte(body), 0o600); err != nil {
		return err
	}
	dev, err := rig.StartDev(ctx, rig.DevOptions{Bin: pb.b.bin, Name: "quell-dev-kube", DataDir: filepath.Join(pb.b.dir, "data-kube"),
		Config: cfg, LogDir: pb.b.dir})
	if err != nil {
		return err
	}
	pb.dev = dev
	return nil
}

// next is a pod of the Deployment not yet quarantined.
func (pb *podBench) next(ctx context.Context) (corev1.Pod, error) {
	deadline := time.Now().Add(time.Minute)
	for {
		pods, err := pb.c.CoreV1().Pods(pb.ns).List(ctx, metav1.ListOptions{LabelSelector: "app=web"})
		if err != nil {
			return corev1.Pod{}, err
		}
		for _, p := range pods.Items {
			if !pb.used[p.Name] && p.Status.Phase == corev1.PodRunning && metav1.GetControllerOf(&p) != nil {
				pb.used[p.Name] = true
				return p, nil
			}
		}
		if time.Now().After(deadline) {
			return corev1.Pod{}, fmt.Errorf("no running pod of web left to quarantine")
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// quarantined waits until the watches saw the policy and the released pod.
func (pb *podBench) quarantined(ctx context.Context, start time.Time, policy, pod string) (time.Duration, error) {
	var p, r time.Time
	var okP, okR bool
	if !waitSeen(ctx, func() bool {
		p, okP = pb.seen.at(pb.seen.policies, policy)
		r, okR = pb.seen.at(pb.seen.released, pod)
		return okP && okR
	}) {
		return 0, fmt.Errorf("pod %s not seen quarantined (policy %s seen %t, released %t)", pod, policy, okP, okR)
	}
	return max(p.Sub(start), r.Sub(start)), nil
}

// quell posts a Falco alert about one pod, waits until it is seen
// quarantined, then lets the incident rest (the playbook waits for
// approval after verifying the evidence).
func (pb *podBench) quell(ctx context.Context, alert rig.PodAlert) (time.Duration, error) {
	pod, err := pb.next(ctx)
	if err != nil {
		return 0, err
	}
	start := time.Now()
	o, _, err := pb.dev.API.PostAlert(ctx, alert.For(pb.plane.NodeName, pb.ns, pod.Name, "bench.invalid/web"))
	if err != nil {
		return 0, err
	}
	took, err := pb.quarantined(ctx, start, kube.PolicyName(o.IncidentID), pod.Name)
	if err != nil {
		return 0, err
	}
	wctx, cancel := context.WithTimeout(ctx, 2*time.Minute)
	defer cancel()
	inc, err := pb.dev.API.WaitIncident(wctx, o.IncidentID, 50*time.Millisecond, rig.Resting)
	if err != nil {
		return 0, err
	}
	if !rig.Healthy(inc) {
		return 0, fmt.Errorf("incident %s %s: %s", inc.ID, inc.Status, rig.StepStatuses(inc))
	}
	return took, nil
}

// floor quarantines one pod straight through client-go: the deny-all
// policy, then the one label patch that releases the pod.
func (pb *podBench) floor(ctx context.Context, i int) (time.Duration, error) {
	pod, err := pb.next(ctx)
	if err != nil {
		return 0, err
	}
	tag := fmt.Sprintf("floor-%d", i)
	start := time.Now()
	pol := &networkingv1.NetworkPolicy{
		ObjectMeta: metav1.ObjectMeta{Name: tag},
		Spec: networkingv1.NetworkPolicySpec{
			PodSelector: metav1.LabelSelector{MatchLabels: map[string]string{kube.LabelQuarantine: tag}},
			PolicyTypes: []networkingv1.PolicyType{networkingv1.PolicyTypeIngress, networkingv1.PolicyTypeEgress},
		},
	}
	if _, err := pb.c.NetworkingV1().NetworkPolicies(pb.ns).Create(ctx, pol, metav1.CreateOptions{}); err != nil {
		return 0, err
	}
	labels := map[string]any{kube.LabelQuarantine: tag}
	for k := range pod.Labels {
		labels[k] = nil
	}
	patch, _ := json.Marshal(map[string]any{"metadata": map[string]any{"labels": labels, "ownerReferences": []any{}}})
	if _, err := pb.c.CoreV1().Pods(pb.ns).Patch(ctx, pod.Name, types.MergePatchType, patch, metav1.PatchOptions{}); err != nil {
		return 0, err
	}
	return pb.quarantined(ctx, start, tag, pod.Name)
}

// talon is Falco Talon, built from its public source outside this
// repository (the bench only runs a binary it is given), answering Falco
// events with its kubernetes:networkpolicy action.
type talon struct {
	proc *rig.Proc
	url  string
}

// talonRules makes Talon answer the sample's rule with an egress
// NetworkPolicy, as its documentation's example does.
const talonRules = `- action: Disable outbound connections
  actionner: kubernetes:networkpolicy
- rule: Terminal shell
  match:
    rules:
      - Terminal shell in container
  actions:
    - action: Disable outbound connections
`

// startTalon starts Talon on a loopback port against the plane.
func (pb *podBench) startTalon(ctx context.Context, bin string) (*talon, error) {
	dir := filepath.Join(pb.b.dir, "talon")
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, err
	}
	addr, err := rig.FreeAddr()
	if err != nil {
		return nil, err
	}
	host, port, _ := strings.Cut(addr, ":")
	cfg := fmt.Sprintf(`listen_address: %q
listen_port: %s
rules_files: [%q]
kubeconfig: %q
log_format: text
watch_rules: false
print_all_events: false
otel: {traces_enabled: false, metrics_enabled: false}
deduplication: {leader_election: false, time_window_seconds: 5}
default_notifiers: []
`, host, port, filepath.Join(dir, "rules.yaml"), pb.kubeconfig)
	for name, body := range map[string]string{"config.yaml": cfg, "rules.yaml": talonRules} {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(body), 0o600); err != nil {
			return nil, err
		}
	}
	p, err := rig.Start(ctx, rig.Spec{Name: "falco-talon", Bin: bin, Args: []string{"server", "-c", filepath.Join(dir, "config.yaml")},
		Ready: "is up and listening", LogDir: pb.b.dir})
	if err != nil {
		return nil, err
	}
	return &talon{proc: p, url: "http://" + addr + "/"}, nil
}

// talonSample posts the Falco event about one pod to Talon and waits until
// the watch sees the NetworkPolicy it creates (it names the policy after
// the pod's owner and changes no label, so the pod is not released and
// its siblings are cut off too); the policy is then deleted for the next
// sample.
func (pb *podBench) talonSample(ctx context.Context, t *talon, alert rig.PodAlert) (time.Duration, error) {
	pod, err := pb.next(ctx)
	if err != nil {
		return 0, err
	}
	owner := metav1.GetControllerOf(&pod).Name
	start := time.Now()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, t.url, bytes.NewReader(alert.For(pb.plane.NodeName, pb.ns, pod.Name, "bench.invalid/web")))
	if err != nil {
		return 0, err
	}
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return 0, fmt.Errorf("falco-talon: %w", err)
	}
	resp.Body.Close()
	if resp.StatusCode/100 != 2 {
		return 0, fmt.Errorf("falco-talon answered %s", resp.Status)
	}
	var at time.Time
	if !waitSeen(ctx, func() bool {
		var ok bool
		at, ok = pb.seen.at(pb.seen.policies, owner)
		return ok && at.After(start)
	}) {
		return 0, fmt.Errorf("falco-talon: no NetworkPolicy %s seen within %s (its log: %s)", owner, containTimeout, t.proc.Output())
	}
	pb.seen.forget(pb.seen.policies, owner)
	return at.Sub(start), pb.c.NetworkingV1().NetworkPolicies(pb.ns).Delete(ctx, owner, metav1.DeleteOptions{})
}
