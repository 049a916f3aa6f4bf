// Package kube is quell's adapter to Kubernetes clusters, on client-go:
// it quarantines a pod alone and both ways, preserves it, rolls its
// workload out to a clean image by digest, deletes it by UID and keeps the
// bad image out with an admission policy. Every object quell creates or
// changes carries the incident, so that a retry after a crash finishes the
// work once and a person can see why it is there.
package kube

import (
	"errors"
	"fmt"
	"maps"
	"slices"
	"strings"

	"k8s.io/apimachinery/pkg/util/validation"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/clientcmd"

	"github.com/quell-ir/quell/internal/alert"
	"github.com/quell-ir/quell/internal/config"
)

// ErrUnknownCluster is wrapped when a name is no configured cluster.
var ErrUnknownCluster = errors.New("no such cluster")

// ClusterLabel is the alert label that names a pod's cluster (Falcosidekick
// custom fields, Alertmanager labels).
const ClusterLabel = "cluster"

// Clusters are the configured clusters with a client of each.
type Clusters struct {
	list []cluster
}

type cluster struct {
	cfg    config.Cluster
	rest   *rest.Config
	client kubernetes.Interface
}

// NewClusters loads every configured cluster's credentials; it does not
// reach the clusters. No cluster is no error.
func NewClusters(cfg config.Kubernetes) (*Clusters, error) {
	cs := &Clusters{}
	for _, c := range cfg.Clusters {
		rc, err := restConfig(c)
		if err != nil {
			return nil, fmt.Errorf("cluster %s: %w", c.Name, err)
		}
		rc.UserAgent = "quell"
		// quell acts in bursts (an outbreak): client-go's default of 5 per
		// second would queue containment behind itself.
		rc.QPS, rc.Burst = 100, 200
		client, err := kubernetes.NewForConfig(rc)
		if err != nil {
			return nil, fmt.Errorf("cluster %s: %w", c.Name, err)
		}
		cs.list = append(cs.list, cluster{cfg: c, rest: rc, client: client})
	}
	return cs, nil
}

func restConfig(c config.Cluster) (*rest.Config, error) {
	if c.InCluster {
		return rest.InClusterConfig()
	}
	rules := &clientcmd.ClientConfigLoadingRules{ExplicitPath: c.Kubeconfig}
	if c.Kubeconfig == "" {
		rules = clientcmd.NewDefaultClientConfigLoadingRules()
	}
	overrides := &clientcmd.ConfigOverrides{CurrentContext: c.Context}
	return clientcmd.NewNonInteractiveDeferredLoadingClientConfig(rules, overrides).ClientConfig()
}

// Names are the configured clusters' names.
func (cs *Clusters) Names() []string {
	var names []string
	for _, c := range cs.list {
		names = append(names, c.cfg.Name)
	}
	return names
}

// Client is the named cluster's client.
func (cs *Clusters) Client(name string) (kubernetes.Interface, error) {
	for _, c := range cs.list {
		if c.cfg.Name == name {
			return c.client, nil
		}
	}
	return nil, fmt.Errorf("cluster %q: %w (configured: %s)", name, ErrUnknownCluster, strings.Join(cs.Names(), ", "))
}

// Pick names the cluster of an alert about a pod, after checking that the
// namespace and pod are names Kubernetes could have given (the alert's
// text is the attacker's): the cluster the target or the alert's cluster
// label names, else the one cluster whose match takes the alert's host or
// labels, else the one cluster that has no match at all.
func (cs *Clusters) Pick(t alert.Target, labels map[string]string) (string, error) {
	if errs := validation.IsDNS1123Label(t.Namespace); len(errs) > 0 {
		return "", fmt.Errorf("namespace %.64q: %s", t.Namespace, strings.Join(errs, "; "))
	}
	if errs := validation.IsDNS1123Subdomain(t.Pod); len(errs) > 0 {
		return "", fmt.Errorf("pod %.64q: %s", t.Pod, strings.Join(errs, "; "))
	}
	named := t.Cluster
	if named == "" {
		named = labels[ClusterLabel]
	}
	if named != "" {
		if _, err := cs.Client(named); err != nil {
			return "", err
		}
		return named, nil
	}
	var matched, open []string
	for _, c := range cs.list {
		m := c.cfg.Match
		switch {
		case len(m.Hosts) == 0 && len(m.Labels) == 0:
			open = append(open, c.cfg.Name)
		case matches(m, t.Host, labels):
			matched = append(matched, c.cfg.Name)
		}
	}
	switch {
	case len(matched) == 1:
		return matched[0], nil
	case len(matched) > 1:
		return "", fmt.Errorf("host %.64q matches clusters %s: make their match rules exclusive", t.Host, strings.Join(matched, ", "))
	case len(open) == 1:
		return open[0], nil
	}
	return "", fmt.Errorf("no configured cluster takes pod %s/%s from host %.64q (set the alert's %q label, or a cluster's match)",
		t.Namespace, t.Pod, t.Host, ClusterLabel)
}

// matches reports whether an alert from host with labels meets m: one of
// its hosts (a trailing * matches a prefix) if it has any, and all of its
// labels.
func matches(m config.ClusterMatch, host string, labels map[string]string) bool {
	if len(m.Hosts) > 0 && !slices.ContainsFunc(m.Hosts, func(h string) bool {
		if prefix, ok := strings.CutSuffix(h, "*"); ok {
			return strings.HasPrefix(host, prefix)
		}
		return strings.EqualFold(h, host)
	}) {
		return false
	}
	for _, k := range slices.Sorted(maps.Keys(m.Labels)) {
		if labels[k] != m.Labels[k] {
			return false
		}
	}
	return true
}
