package app

import (
	"fmt"
	"slices"
	"strings"

	rbacv1 "k8s.io/api/rbac/v1"

	"github.com/quell-ir/quell/activities"
	"github.com/quell-ir/quell/internal/alert"
	"github.com/quell-ir/quell/internal/config"
	"github.com/quell-ir/quell/internal/evidence"
	"github.com/quell-ir/quell/internal/kube"
	"github.com/quell-ir/quell/internal/workflowclient"
	"github.com/quell-ir/quell/playbooks"
	"github.com/quell-ir/quell/workflows"
)

// kubePrefix begins the names of the Kubernetes step kinds.
const kubePrefix = "k8s:"

// ClusterRole is the ClusterRole that the Kubernetes step kinds the
// playbooks use need, made from each kind's declaration of what it needs
// (`quell steps --rbac`): quell runs under exactly this role.
func ClusterRole(name string, kinds *workflows.Registry, pbs []playbooks.Playbook) *rbacv1.ClusterRole {
	var used []string
	for _, pb := range pbs {
		for _, s := range pb.Steps {
			if strings.HasPrefix(s.Kind, kubePrefix) && !slices.Contains(used, s.Kind) {
				used = append(used, s.Kind)
			}
		}
	}
	slices.Sort(used)
	needs := make([][]string, 0, len(used))
	for _, k := range used {
		if d, ok := kinds.Kind(k); ok {
			needs = append(needs, d.Needs)
		}
	}
	return kube.ClusterRole(name, needs...)
}

// clusterPicker names the cluster of alerts about pods from the config's
// clusters; nil when none is configured. A config whose clusters cannot be
// loaded (config.Validate has said why) refuses such alerts with the reason.
func clusterPicker(cfg config.Config) workflowclient.ClusterPicker {
	if len(cfg.Kubernetes.Clusters) == 0 {
		return nil
	}
	clusters, err := kube.NewClusters(cfg.Kubernetes)
	if err != nil {
		return refusePods{err: err}
	}
	return clusters
}

// refusePods refuses every alert about a pod with the reason the clusters
// could not be loaded.
type refusePods struct{ err error }

func (r refusePods) Pick(alert.Target, map[string]string) (string, error) {
	return "", fmt.Errorf("kubernetes clusters: %w", r.err)
}

// kubeActivities are the Kubernetes step kinds' activities over the
// config's clusters.
func kubeActivities(cfg config.Config, store *evidence.Store, actor evidence.Actor) (*activities.Kube, error) {
	clusters, err := kube.NewClusters(cfg.Kubernetes)
	if err != nil {
		return nil, fmt.Errorf("kubernetes clusters: %w", err)
	}
	return &activities.Kube{Clusters: clusters, Store: store, Actor: actor}, nil
}
