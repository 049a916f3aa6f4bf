// Package alert holds the one normalised form of a detector's alert that the
// rest of quell reads, whatever detector sent it.
package alert

import (
	"fmt"
	"regexp"
	"strings"
	"time"
)

// Alert is a detector's report, normalised. It is part of the incident
// workflow's input and history, so fields are only ever added.
type Alert struct {
	// Source is the detector family: "falco" (and later "trivy", "alertmanager").
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
	// Vulnerabilities summarises an image scanner's findings, for scanner alerts.
	Vulnerabilities *Vulnerabilities `json:"vulnerabilities,omitempty"`
}

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
	// Kind is "docker" (or "kubernetes"); empty when the alert names no unit.
	Kind string `json:"kind"`
	// Host is the Docker host (or node) the unit runs on.
	Host string `json:"host,omitempty"`
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
	// RepoTags and RepoDigests name an image target.
	RepoTags    []string `json:"repo_tags,omitempty"`
	RepoDigests []string `json:"repo_digests,omitempty"`
}

// Unit kinds.
const (
	// KindDocker is a Docker container.
	KindDocker = "docker"
	// KindImage is an image, and through it every container that runs it.
	KindImage = "image"
)

var unsafeChars = regexp.MustCompile(`[^a-z0-9-]+`)

// UnitKey identifies the unit across alerts: all alerts with the same key
// while an incident is open join that incident. It is safe in a Temporal
// workflow ID, a file name and a Docker tag.
func (t Target) UnitKey() (string, error) {
	if t.Kind == KindImage {
		id := strings.TrimPrefix(strings.ToLower(t.ImageID), "sha256:")
		if id == "" {
			return "", fmt.Errorf("unit key: image target has no image id")
		}
		return "image-" + unsafeChars.ReplaceAllString(id[:min(12, len(id))], ""), nil
	}
	if t.Kind != KindDocker {
		return "", fmt.Errorf("unit key: target kind %q not supported", t.Kind)
	}
	if t.ContainerID == "" {
		return "", fmt.Errorf("unit key: target has no container id")
	}
	id := strings.ToLower(t.ContainerID)
	if len(id) > 12 {
		id = id[:12]
	}
	host := strings.Trim(unsafeChars.ReplaceAllString(strings.ToLower(t.Host), "-"), "-")
	if host == "" {
		host = "local"
	}
	return fmt.Sprintf("docker-%s-%s", host, unsafeChars.ReplaceAllString(id, "")), nil
}
