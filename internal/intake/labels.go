package intake

import (
	"errors"
	"fmt"
	"net"
	"strings"

	"github.com/quell-ir/quell/internal/alert"
)

// LabelMap says which of an Alertmanager alert's labels name its target
// and its severity. A field left empty reads no label. DefaultLabelMap
// holds the defaults; configuration starts from it.
type LabelMap struct {
	// ContainerID is the label holding a container's ID.
	ContainerID string `yaml:"container_id" json:"container_id,omitempty"`
	// Container is the label holding a container's ID or name: an ID when
	// it is 12 to 64 hex digits, a name otherwise.
	Container string `yaml:"container" json:"container,omitempty"`
	// ContainerName is the label holding a container's name.
	ContainerName string `yaml:"container_name" json:"container_name,omitempty"`
	// Namespace and Pod are the labels naming a Kubernetes pod; with both
	// set the alert targets the pod.
	Namespace string `yaml:"namespace" json:"namespace,omitempty"`
	Pod       string `yaml:"pod" json:"pod,omitempty"`
	// Instance is the label holding the target's host, alone or as
	// host:port (the port is dropped).
	Instance string `yaml:"instance" json:"instance,omitempty"`
	// Image is the label holding the image reference.
	Image string `yaml:"image" json:"image,omitempty"`
	// Cluster is the label holding the Kubernetes cluster's name.
	Cluster string `yaml:"cluster" json:"cluster,omitempty"`
	// Severity is the label the priority comes from.
	Severity string `yaml:"severity" json:"severity,omitempty"`
	// DefaultPriority is the priority of an alert without a severity, or
	// with one quell does not know.
	DefaultPriority alert.Priority `yaml:"default_priority" json:"default_priority"`
}

// DefaultLabelMap returns the labels Prometheus exporters and rules use:
// container_id, container (ID or name), name, namespace, pod, instance,
// image, cluster and severity; priority warning by default.
func DefaultLabelMap() LabelMap {
	return LabelMap{
		ContainerID:     "container_id",
		Container:       "container",
		ContainerName:   "name",
		Namespace:       "namespace",
		Pod:             "pod",
		Instance:        "instance",
		Image:           "image",
		Cluster:         "cluster",
		Severity:        "severity",
		DefaultPriority: alert.Warning,
	}
}

// Validate reports every label name of m that no alert could carry
// (empty names are fine: they read nothing) and an unknown priority, each
// naming its field.
func (m LabelMap) Validate() error {
	var errs []error
	for _, f := range []struct{ key, name string }{
		{"container_id", m.ContainerID}, {"container", m.Container}, {"container_name", m.ContainerName},
		{"namespace", m.Namespace}, {"pod", m.Pod}, {"instance", m.Instance}, {"image", m.Image},
		{"cluster", m.Cluster}, {"severity", m.Severity},
	} {
		if f.name != "" && checkName("labels", f.key, f.name) != nil {
			errs = append(errs, fmt.Errorf("labels: %s: %s is not a label name", f.key, quote(f.name)))
		}
	}
	if m.DefaultPriority < alert.Debug || m.DefaultPriority > alert.Emergency {
		errs = append(errs, fmt.Errorf("labels: default_priority %s unknown", m.DefaultPriority))
	}
	return errors.Join(errs...)
}

// severities maps severity label values that are not priority names to
// priorities; every priority name (alert.ParsePriority) is read too.
var severities = map[string]alert.Priority{
	"page":     alert.Critical,
	"fatal":    alert.Emergency,
	"high":     alert.Error,
	"major":    alert.Error,
	"medium":   alert.Warning,
	"moderate": alert.Warning,
	"minor":    alert.Notice,
	"low":      alert.Notice,
	"none":     alert.Informational,
}

// priority maps the severity label to a priority: a priority name
// (critical, warning, info, ...), one of severities, or m's default.
func (m LabelMap) priority(labels map[string]string) alert.Priority {
	s := strings.ToLower(strings.TrimSpace(labels[m.Severity]))
	if m.Severity == "" || s == "" {
		return m.DefaultPriority
	}
	if p, err := alert.ParsePriority(s); err == nil {
		return p
	}
	if p, ok := severities[s]; ok {
		return p
	}
	return m.DefaultPriority
}

// target names the unit an alert's labels name: the pod when the
// namespace and pod labels are set (the container kept too), else the
// container when a container label is; else none. Every name is
// validated, the instance's host too (when it names the host of a unit).
func (m LabelMap) target(path string, labels map[string]string) (alert.Target, error) {
	get := func(name string) string {
		if name == "" {
			return ""
		}
		return labels[name]
	}
	t := alert.Target{
		ContainerID:   get(m.ContainerID),
		ContainerName: get(m.ContainerName),
		Namespace:     get(m.Namespace),
		Pod:           get(m.Pod),
		Image:         get(m.Image),
		Cluster:       get(m.Cluster),
	}
	from := map[string]string{
		"container_id": m.ContainerID, "container_name": m.ContainerName, "namespace": m.Namespace,
		"pod": m.Pod, "image": m.Image, "cluster": m.Cluster, "host": m.Instance,
	}
	if c := get(m.Container); c != "" {
		if _, err := checkContainerID(c); err == nil && t.ContainerID == "" {
			t.ContainerID, from["container_id"] = c, m.Container
		} else if t.ContainerName == "" {
			t.ContainerName, from["container_name"] = c, m.Container
		}
	}
	switch {
	case t.Namespace != "" && t.Pod != "":
		t.Kind = alert.KindKubernetes
	case t.ContainerID != "" || t.ContainerName != "":
		t.Kind = alert.KindDocker
	default:
		return alert.Target{}, nil
	}
	t.Host = instanceHost(get(m.Instance))
	return checkTarget(amPayload, t, func(f string) string {
		return fmt.Sprintf("%s.labels[%q]", path, from[f])
	})
}

// instanceHost is the host of an instance label: the label without its
// port ("node-1:9100", "[::1]:9100"), or as it is ("http://x:80/metrics"
// stays whole, and is no host).
func instanceHost(instance string) string {
	host, port, err := net.SplitHostPort(instance)
	if err == nil && port != "" && strings.Trim(port, "0123456789") == "" {
		return host
	}
	return instance
}
