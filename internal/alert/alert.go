// Package alert holds the one normalised form of a detector's alert that the
// rest of quell reads, whatever detector sent it.
package alert

import "time"

// Alert is a detector's report, normalised. It is part of the incident
// workflow's input and history, so fields are only ever added.
type Alert struct {
	// Source is the detector family: "falco", "trivy", "alertmanager", or
	// the source a sender of quell's own format names.
	Source string `json:"source"`
	// EventSource is the detector's own event source, e.g. Falco's "syscall" or "k8s_audit".
	EventSource string `json:"event_source,omitempty"`
	// DetectorID is the detector's own ID for the event (Falcosidekick's uuid), when it sends one.
	DetectorID string `json:"detector_id,omitempty"`
	// Rule is the name of the rule that fired.
	Rule string `json:"rule"`
	// Priority is the rule's severity.
	Priority Priority `json:"priority"`
	// Time is when the detector saw the event.
	Time time.Time `json:"time"`
	// Output is the detector's human-readable line.
	Output string `json:"output,omitempty"`
	// Tags are the rule's tags.
	Tags []string `json:"tags,omitempty"`
	// Hostname is the host the detector runs on.
	Hostname string `json:"hostname,omitempty"`
	// Fields holds the detector's output fields; JSON nulls are dropped.
	Fields map[string]any `json:"fields,omitempty"`
	// Target is the unit the alert is about.
	Target Target `json:"target"`
	// Digest is "sha256:<hex>" of the raw payload as received.
	Digest string `json:"digest"`
	// ReceivedAt is when quell accepted the alert.
	ReceivedAt time.Time `json:"received_at"`
	// PostedBy is the authenticated principal that posted the alert, when
	// the API knows one; under the two-person rule it may not approve.
	PostedBy string `json:"posted_by,omitempty"`
	// Vulnerabilities summarises an image scanner's findings, for scanner alerts.
	Vulnerabilities *Vulnerabilities `json:"vulnerabilities,omitempty"`
	// Labels are the alert's labels, for detectors that label alerts
	// (Alertmanager, quell's own format); playbooks match on them.
	Labels map[string]string `json:"labels,omitempty"`
	// Annotations are Alertmanager's annotations: summary, description,
	// runbook links.
	Annotations map[string]string `json:"annotations,omitempty"`
	// Status is "firing" or "resolved" for detectors that report both
	// (Alertmanager); empty for detectors that only report firing.
	Status string `json:"status,omitempty"`
	// IdempotencyKey names this report of this event, so that a sender's
	// retries and repeats can be counted once: equal keys are the same
	// report. Empty when the detector gives nothing to build one from.
	IdempotencyKey string `json:"idempotency_key,omitempty"`
	// Truncated lists the values quell cut to keep the alert small, with
	// the size and digest of each full value, at most MaxCuts of them.
	Truncated []Cut `json:"truncated,omitempty"`
	// TruncatedMore counts the cuts beyond MaxCuts that Truncated does not
	// list; the raw payload's Digest covers them.
	TruncatedMore int `json:"truncated_more,omitempty"`
}

// Cut records a value that an alert keeps only in part.
type Cut struct {
	// Field is where the value is in the alert, in the alert's JSON names:
	// "output", `fields["proc.cmdline"]`, "vulnerabilities.top[3].title".
	Field string `json:"field"`
	// Size is the full value's length in bytes: a string's UTF-8 bytes, a
	// list's JSON encoding.
	Size int `json:"size"`
	// Items is how many items a list had in full; zero for a string.
	Items int `json:"items,omitempty"`
	// SHA256 is the hex SHA-256 of the full value's bytes (as Size counts them).
	SHA256 string `json:"sha256"`
}

// MaxCuts bounds Alert.Truncated.
const MaxCuts = 16

// Statuses of detectors that report when an alert stops (Alertmanager).
const (
	// StatusFiring is an alert that holds.
	StatusFiring = "firing"
	// StatusResolved is an alert that no longer holds.
	StatusResolved = "resolved"
)

// Vulnerabilities summarises an image scan.
type Vulnerabilities struct {
	// Counts holds the number of findings by severity: "critical", "high",
	// "medium", "low", "unknown".
	Counts map[string]int `json:"counts"`
	// Fixable holds, by severity, the findings that have a fixed version.
	Fixable map[string]int `json:"fixable"`
	// Top lists the most severe findings, at most MaxTopVulnerabilities.
	Top []Vulnerability `json:"top,omitempty"`
}

// MaxTopVulnerabilities bounds Vulnerabilities.Top.
const MaxTopVulnerabilities = 20

// Vulnerability is one finding of an image scan.
type Vulnerability struct {
	ID               string `json:"id"`
	Package          string `json:"package"`
	InstalledVersion string `json:"installed_version"`
	FixedVersion     string `json:"fixed_version,omitempty"`
	Severity         string `json:"severity"`
	Title            string `json:"title,omitempty"`
}

// Severities of scanner findings, lowest first.
var Severities = []string{"unknown", "low", "medium", "high", "critical"}

// Target names the unit an alert is about.
type Target struct {
	// Kind is KindDocker, KindKubernetes or KindImage; empty when the
	// alert names no unit (it may still name an object, see Resource).
	Kind string `json:"kind"`
	// Host is the Docker host (or node) the unit runs on.
	Host string `json:"host,omitempty"`
	// Cluster is the Kubernetes cluster, when the alert names one.
	Cluster string `json:"cluster,omitempty"`
	// ContainerID is the container's ID as the detector gave it (often 12 hex digits).
	ContainerID string `json:"container_id,omitempty"`
	// ContainerName is the container's name without a leading slash.
	ContainerName string `json:"container_name,omitempty"`
	// Image is the image reference: the detector's until Docker has told
	// quell the container's own.
	Image string `json:"image,omitempty"`
	// ImageID is the image's ID once Docker has told it.
	ImageID string `json:"image_id,omitempty"`
	// Namespace is the Kubernetes namespace, when known.
	Namespace string `json:"namespace,omitempty"`
	// Pod is the Kubernetes pod name, when known.
	Pod string `json:"pod,omitempty"`
	// Resource is the Kubernetes resource an audit alert is about, e.g.
	// "pods" or "serviceaccounts".
	Resource string `json:"resource,omitempty"`
	// Object is the name of the Kubernetes object an audit alert is about
	// when it is not a pod (a pod is named by Pod). Such an alert names no
	// unit: Kind is empty.
	Object string `json:"object,omitempty"`
	// RepoTags and RepoDigests name an image target.
	RepoTags    []string `json:"repo_tags,omitempty"`
	RepoDigests []string `json:"repo_digests,omitempty"`
}
