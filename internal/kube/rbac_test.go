package kube

import (
	"slices"
	"testing"
)

func TestClusterRoleMergesNeeds(t *testing.T) {
	role := ClusterRole("quell", Needs(OpIsolate), Needs(OpDeletePod))
	find := func(group, resource string) []string {
		for _, r := range role.Rules {
			if slices.Contains(r.APIGroups, group) && slices.Contains(r.Resources, resource) {
				return r.Verbs
			}
		}
		return nil
	}
	for _, c := range []struct {
		group, resource string
		verbs           []string
	}{
		{"", "pods", []string{"delete", "get", "patch"}},
		{"networking.k8s.io", "networkpolicies", []string{"create", "delete", "get"}},
		{"apps", "replicasets", []string{"get"}},
		{"batch", "jobs", []string{"get"}},
		{"apps", "deployments", []string{"get"}},
	} {
		if got := find(c.group, c.resource); !slices.Equal(got, c.verbs) {
			t.Errorf("%s in %q: verbs %v, want %v", c.resource, c.group, got, c.verbs)
		}
	}
	if got := find("admissionregistration.k8s.io", "validatingadmissionpolicies"); got != nil {
		t.Errorf("admission policies granted %v though no op needs them", got)
	}
}
