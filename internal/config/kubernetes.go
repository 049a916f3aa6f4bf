package config

import (
	"fmt"
	"regexp"
	"strings"
)

// Kubernetes lists the clusters quell acts on.
type Kubernetes struct {
	Clusters []Cluster `yaml:"clusters"`
}

// Cluster is one Kubernetes cluster: how to reach it and which alerts are
// about it.
type Cluster struct {
	// Name names the cluster in incidents, reports and alerts' labels.
	Name string `yaml:"name"`
	// Kubeconfig is the path of a kubeconfig file; empty with InCluster.
	Kubeconfig string `yaml:"kubeconfig"`
	// Context is the kubeconfig's context; empty means its current one.
	Context string `yaml:"context"`
	// InCluster uses the service account of the pod quell runs in.
	InCluster bool `yaml:"in_cluster"`
	// Match says which alerts are about this cluster, beside an alert's
	// own cluster label naming it.
	Match ClusterMatch `yaml:"match"`
}

// ClusterMatch picks a cluster for an alert about a pod.
type ClusterMatch struct {
	// Hosts are node names (Falco's hostname): an alert from one of them is
	// about this cluster. A trailing * matches a prefix.
	Hosts []string `yaml:"hosts"`
	// Labels must all be on the alert (Alertmanager labels, Falco output
	// fields) for it to be about this cluster.
	Labels map[string]string `yaml:"labels"`
}

// clusterNamePattern is a DNS label: cluster names go into incident IDs
// and object labels.
var clusterNamePattern = regexp.MustCompile(`^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$`)

// validateKubernetes checks each cluster.
func (c Config) validateKubernetes() []error {
	var errs []error
	seen := map[string]bool{}
	for i, cl := range c.Kubernetes.Clusters {
		at := fmt.Sprintf("kubernetes.clusters[%d]", i)
		if cl.Name != "" {
			at += " (" + cl.Name + ")"
		}
		fail := func(format string, args ...any) { errs = append(errs, fmt.Errorf(at+": "+format, args...)) }
		switch {
		case cl.Name == "":
			fail("name required")
		case !clusterNamePattern.MatchString(cl.Name):
			fail("name must be a DNS label (lower-case letters, digits and -)")
		case seen[cl.Name]:
			fail("listed twice")
		}
		seen[cl.Name] = true
		switch {
		case cl.InCluster && cl.Kubeconfig != "":
			fail("in_cluster and kubeconfig are exclusive")
		case cl.InCluster && cl.Context != "":
			fail("context needs kubeconfig")
		}
		for _, h := range cl.Match.Hosts {
			if strings.TrimSpace(h) == "" || strings.Contains(strings.TrimSuffix(h, "*"), "*") {
				fail("match.hosts: %q must be a host name, or a prefix ending in *", h)
			}
		}
	}
	return errs
}
