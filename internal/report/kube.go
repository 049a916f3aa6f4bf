package report

import (
	"maps"
	"slices"
	"strings"

	"github.com/quell-ir/quell/internal/incident"
)

// kubernetes writes what the Kubernetes steps did: the pod's quarantine,
// the rollout of its workload and the admission policy that blocks the
// bad image.
func (m *mdWriter) kubernetes(inc incident.Incident) {
	if iso := inc.PodIsolation; iso != nil {
		m.printf("## Quarantine\n\n")
		m.printf("- Pod `%s/%s` (uid `%s`) on node %s of cluster %s\n", iso.Namespace, iso.Pod, iso.UID, cell(orDash(iso.Node)), cell(iso.Cluster))
		m.printf("- Labelled `quell.io/quarantine=%s`\n", iso.QuarantineLabel)
		for _, k := range slices.Sorted(maps.Keys(iso.RemovedLabels)) {
			m.printf("- Removed label `%s=%s` (the owner's selector): released by its owner\n", k, iso.RemovedLabels[k])
		}
		for _, o := range iso.Owners {
			m.printf("- Owned by %s `%s`\n", o.Kind, o.Name)
		}
		m.printf("- NetworkPolicy `%s` selects only this pod and denies all ingress and egress\n", iso.Policy)
		for _, c := range iso.Containers {
			m.printf("- Container `%s` ran `%s` (%s)\n", c.Name, c.Image, cell(orDash(c.ImageID)))
		}
		m.printf("\n")
	}
	if r := inc.Rollout; r != nil {
		m.printf("## Rollout\n\n")
		m.printf("- %s `%s/%s` set to `%s`", r.Workload.Kind, r.Namespace, r.Workload.Name, r.Image)
		if r.RolledBack {
			m.printf(": **rolled back**, the rollout did not complete")
		}
		m.printf(" (%s)\n", stamp(r.CompletedAt))
		for _, name := range slices.Sorted(maps.Keys(r.Previous)) {
			m.printf("- Container `%s` ran `%s` before\n", name, r.Previous[name])
		}
		m.printf("\n")
	}
	if b := inc.Block; b != nil {
		where := "cluster-wide"
		if len(b.Namespaces) > 0 {
			where = "in namespace(s) " + strings.Join(b.Namespaces, ", ")
		}
		m.printf("## Admission block\n\n")
		m.printf("- ValidatingAdmissionPolicy `%s` (binding `%s`) on cluster %s refuses, %s:\n", b.Policy, b.Binding, cell(b.Cluster), where)
		for _, img := range b.Images {
			m.printf("  - `%s`\n", img)
		}
		m.printf("\n")
	}
}
