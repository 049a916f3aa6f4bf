package kube

import (
	"fmt"
	"maps"
	"slices"
	"strings"

	rbacv1 "k8s.io/api/rbac/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// Op is one thing quell does on a cluster; each step kind does one and
// declares what it needs with Needs.
type Op int

// What quell does on a cluster.
const (
	OpIsolate Op = iota
	OpSnapshot
	OpRollout
	OpDeletePod
	OpBlockImage
)

// ownerKinds are what a pod's owner chain is read through.
const ownerKinds = "replicasets.apps,statefulsets.apps,daemonsets.apps,deployments.apps,jobs.batch"

// needs are the API access each Op needs, as "verbs resources": verbs and
// resources comma-separated, a resource as plural[/subresource][.group].
var needs = map[Op][]string{
	OpIsolate: {
		"get,patch pods",
		"get " + ownerKinds,
		"get,create,delete networkpolicies.networking.k8s.io",
	},
	OpSnapshot: {
		"get pods,pods/log,nodes",
		"list events",
		"get " + ownerKinds,
	},
	OpRollout: {
		"get,patch deployments.apps,statefulsets.apps,daemonsets.apps",
	},
	OpDeletePod: {
		"get,delete pods",
		"delete networkpolicies.networking.k8s.io",
	},
	OpBlockImage: {
		"get,list,create,delete validatingadmissionpolicies.admissionregistration.k8s.io,validatingadmissionpolicybindings.admissionregistration.k8s.io",
	},
}

// Needs is the API access op needs, for a step kind's declaration.
func Needs(op Op) []string { return slices.Clone(needs[op]) }

// ClusterRole is the least ClusterRole that grants every declared need:
// one rule per API group and set of verbs.
func ClusterRole(name string, needs ...[]string) *rbacv1.ClusterRole {
	// verbs by group, then resource
	grants := map[string]map[string]map[string]bool{}
	for _, list := range needs {
		for _, need := range list {
			verbs, resources, ok := strings.Cut(need, " ")
			if !ok {
				panic(fmt.Sprintf("kube: need %q is not \"verbs resources\"", need))
			}
			for _, res := range strings.Split(resources, ",") {
				resource, group := splitResource(res)
				if grants[group] == nil {
					grants[group] = map[string]map[string]bool{}
				}
				if grants[group][resource] == nil {
					grants[group][resource] = map[string]bool{}
				}
				for _, v := range strings.Split(verbs, ",") {
					grants[group][resource][v] = true
				}
			}
		}
	}
	role := &rbacv1.ClusterRole{
		TypeMeta:   metav1.TypeMeta{APIVersion: rbacv1.SchemeGroupVersion.String(), Kind: "ClusterRole"},
		ObjectMeta: metav1.ObjectMeta{Name: name, Labels: map[string]string{"app.kubernetes.io/name": "quell"}},
	}
	for _, group := range slices.Sorted(maps.Keys(grants)) {
		byVerbs := map[string][]string{}
		for _, resource := range slices.Sorted(maps.Keys(grants[group])) {
			verbs := strings.Join(slices.Sorted(maps.Keys(grants[group][resource])), ",")
			byVerbs[verbs] = append(byVerbs[verbs], resource)
		}
		for _, verbs := range slices.Sorted(maps.Keys(byVerbs)) {
			role.Rules = append(role.Rules, rbacv1.PolicyRule{
				APIGroups: []string{group}, Resources: byVerbs[verbs], Verbs: strings.Split(verbs, ","),
			})
		}
	}
	return role
}

// splitResource splits plural[/subresource][.group].
func splitResource(s string) (resource, group string) {
	resource, group, _ = strings.Cut(s, ".")
	return resource, group
}
