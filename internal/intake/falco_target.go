package intake

import (
	"strconv"

	"github.com/quell-ir/quell/internal/alert"
)

// notAvailable is what Falco prints for a field it has no value for.
const notAvailable = "<NA>"

// falcoClusterField is the output field quell reads a cluster's name
// from. Falco has none of its own; operators add it (Falcosidekick's
// customfields, Falco's append_output) so that a pod's unit key does not
// depend on which Falco saw it.
const falcoClusterField = "k8s.cluster.name"

// falcoTarget names the unit an alert is about, from its raw output fields
// (as sent, before they are kept safe): the pod when k8s.ns.name and
// k8s.pod.name are set, the container when container.id is (host events,
// container.id "host", have none), and for k8s_audit alerts the object the
// ka.target.* fields name. Every name is validated.
func falcoTarget(fields map[string]any, hostname, source string) (alert.Target, error) {
	if source == "k8s_audit" {
		return auditTarget(fields, hostname)
	}
	id := fieldString(fields, "container.id")
	if id == "host" {
		return alert.Target{}, nil
	}
	image, imageField := falcoImage(fields)
	t := alert.Target{
		Host:          hostname,
		Cluster:       fieldString(fields, falcoClusterField),
		ContainerID:   id,
		ContainerName: fieldString(fields, "container.name"),
		Image:         image,
		Namespace:     fieldString(fields, "k8s.ns.name"),
		Pod:           fieldString(fields, "k8s.pod.name"),
	}
	switch {
	case t.Namespace != "" && t.Pod != "":
		t.Kind = alert.KindKubernetes
	case id != "":
		t.Kind = alert.KindDocker
	default:
		return alert.Target{}, nil
	}
	return checkTarget(falcoPayload, t, falcoWhere(map[string]string{
		"cluster":        falcoClusterField,
		"container_id":   "container.id",
		"container_name": "container.name",
		"image":          imageField,
		"namespace":      "k8s.ns.name",
		"pod":            "k8s.pod.name",
	}))
}

// auditTarget names the object a k8s_audit alert is about: a pod when
// ka.target.resource is pods and the namespace and name are set; any other
// object is recorded (namespace, resource, name) with no unit, so that no
// playbook acts on a unit the alert cannot name.
func auditTarget(fields map[string]any, hostname string) (alert.Target, error) {
	ns := fieldString(fields, "ka.target.namespace")
	res := fieldString(fields, "ka.target.resource")
	name := fieldString(fields, "ka.target.name")
	if ns == "" && res == "" && name == "" {
		return alert.Target{}, nil
	}
	t := alert.Target{Cluster: fieldString(fields, falcoClusterField), Namespace: ns, Resource: res}
	if res == "pods" && ns != "" && name != "" {
		t.Kind, t.Host, t.Pod = alert.KindKubernetes, hostname, name
	} else {
		t.Object = name
	}
	return checkTarget(falcoPayload, t, falcoWhere(map[string]string{
		"cluster":   falcoClusterField,
		"namespace": "ka.target.namespace",
		"resource":  "ka.target.resource",
		"pod":       "ka.target.name",
		"object":    "ka.target.name",
	}))
}

// falcoWhere maps a target's JSON names to the output fields they came
// from; the host comes from the alert's hostname.
func falcoWhere(from map[string]string) func(string) string {
	return func(f string) string {
		if f == "host" {
			return "hostname"
		}
		if key, ok := from[f]; ok {
			return "output_fields[" + strconv.Quote(key) + "]"
		}
		return "output_fields"
	}
}

// falcoImage builds the image reference from the repository and tag, or
// takes container.image when the repository is not given. It returns the
// output field it came from too.
func falcoImage(fields map[string]any) (ref, field string) {
	repo := fieldString(fields, "container.image.repository")
	if repo == "" {
		return fieldString(fields, "container.image"), "container.image"
	}
	if tag := fieldString(fields, "container.image.tag"); tag != "" {
		return repo + ":" + tag, "container.image.repository"
	}
	return repo, "container.image.repository"
}

// fieldString returns a string output field, or "" when it is absent, not
// a string, or Falco's "<NA>".
func fieldString(fields map[string]any, key string) string {
	s, _ := fields[key].(string)
	if s == notAvailable {
		return ""
	}
	return s
}
