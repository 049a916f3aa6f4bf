// Package incident holds an incident's state as the workflow keeps it and as
// the API, the report and the notifiers read it.
package incident

import (
	"time"

	"github.com/quell-ir/quell/internal/alert"
)

// Incident statuses.
const (
	StatusRunning          = "running"
	StatusAwaitingApproval = "awaiting_approval"
	StatusCompleted        = "completed"
	StatusFailed           = "failed"
	// The incident's workflow was ended outside its playbook: terminated
	// (by an operator, in Temporal), cancelled, or past its run timeout.
	StatusTerminated = "terminated"
	StatusCanceled   = "canceled"
	StatusTimedOut   = "timed_out"
)

// Step statuses.
const (
	StepPending          = "pending"
	StepRunning          = "running"
	StepSucceeded        = "succeeded"
	StepFailed           = "failed"
	StepSkipped          = "skipped"
	StepAwaitingApproval = "awaiting_approval"
)

// Incident is the state of one incident response.
type Incident struct {
	// ID is the incident's ID: its workflow ID, a dot, and the run ID.
	ID string `json:"id"`
	// Status is one of the Status constants.
	Status string `json:"status"`
	// Resolution says how the incident ended, in words, once it has.
	Resolution string `json:"resolution,omitempty"`
	// Playbook is the name of the playbook that runs.
	Playbook string `json:"playbook"`
	// PlaybookDigest is the SHA-256 of the playbook's file as the incident
	// started it ("sha256:..."): the version that ran, whatever the file
	// says later.
	PlaybookDigest string `json:"playbook_digest,omitempty"`
	// Rule is the rule of the alert that opened the incident.
	Rule string `json:"rule"`
	// Priority is that alert's priority.
	Priority alert.Priority `json:"priority"`
	// Target is the unit the incident is about, completed from Docker once known.
	Target alert.Target `json:"target"`
	// AlertRecord counts and samples the alerts that joined.
	AlertRecord
	// AlertTally is the workflow ID of the tally that took the incident's
	// alerts once its history grew long, if one did; while the incident
	// runs, the tally's record is the current one.
	AlertTally string `json:"alert_tally,omitempty"`
	// Steps holds every playbook step in order.
	Steps []Step `json:"steps"`
	// Timeline holds what happened, in order.
	Timeline []Event `json:"timeline"`
	// Decisions holds every decision taken on approval steps.
	Decisions []Decision `json:"decisions,omitempty"`
	// Isolation records what containment changed, for undo and for the report.
	Isolation *Isolation `json:"isolation,omitempty"`
	// PodIsolation records what containment changed on a Kubernetes pod.
	PodIsolation *PodIsolation `json:"pod_isolation,omitempty"`
	// Rollout records the rollout of the pod's workload to the clean image.
	Rollout *Rollout `json:"rollout,omitempty"`
	// Block records the admission policy that keeps the bad image out of
	// the cluster.
	Block *ImageBlock `json:"block,omitempty"`
	// Evidence describes the preserved evidence, once taken.
	Evidence *Evidence `json:"evidence,omitempty"`
	// Units are the containers the incident acts on, once known.
	Units []Unit `json:"units,omitempty"`
	// Image records the bad image's replacement and deletion.
	Image *ImageChange `json:"image,omitempty"`
	// DetectedAt is when the detector saw the first event.
	DetectedAt time.Time `json:"detected_at"`
	// OpenedAt is when quell accepted the first alert.
	OpenedAt time.Time `json:"opened_at"`
	// ContainedAt is when isolation finished, if it has.
	ContainedAt *time.Time `json:"contained_at,omitempty"`
	// ClosedAt is when the incident ended, if it has.
	ClosedAt *time.Time `json:"closed_at,omitempty"`
}

// AlertRecord is what an incident keeps of the alerts about its unit: every
// one counted, the first MaxAlerts and the latest kept.
type AlertRecord struct {
	// AlertsCount counts every alert that joined the incident; a report
	// repeated under the same idempotency key counts once.
	AlertsCount int `json:"alerts_count"`
	// AlertsRepeated counts the repeats of reports already counted.
	AlertsRepeated int `json:"alerts_repeated,omitempty"`
	// AlertsResolved counts the detector's resolutions.
	AlertsResolved int `json:"alerts_resolved,omitempty"`
	// Alerts holds the first alerts that joined, up to MaxAlerts.
	Alerts []AlertRef `json:"alerts"`
	// LastAlert is the latest alert that joined once Alerts is full.
	LastAlert *AlertRef `json:"last_alert,omitempty"`
}

// MaxAlerts bounds Incident.Alerts; AlertsCount goes on counting past it.
// The timeline lists as many joins and resolutions, and then only every
// tenfold count.
const MaxAlerts = 100

// AlertRef is the short record of one alert that joined an incident.
type AlertRef struct {
	Rule       string         `json:"rule"`
	Priority   alert.Priority `json:"priority"`
	Time       time.Time      `json:"time"`
	ReceivedAt time.Time      `json:"received_at"`
	Digest     string         `json:"digest"`
	Output     string         `json:"output,omitempty"`
	// Status is the detector's "firing" or "resolved", when it reports both.
	Status string `json:"status,omitempty"`
	// IdempotencyKey names the report, so that repeats count once.
	IdempotencyKey string `json:"idempotency_key,omitempty"`
}

// RefOf is the short record of a.
func RefOf(a alert.Alert) AlertRef {
	return AlertRef{Rule: a.Rule, Priority: a.Priority, Time: a.Time, ReceivedAt: a.ReceivedAt, Digest: a.Digest, Output: a.Output,
		Status: a.Status, IdempotencyKey: a.IdempotencyKey}
}

// Step is the state of one playbook step.
type Step struct {
	ID         string     `json:"id"`
	Kind       string     `json:"kind"`
	Status     string     `json:"status"`
	StartedAt  *time.Time `json:"started_at"`
	FinishedAt *time.Time `json:"finished_at"`
	Error      string     `json:"error"`
	// Summary says in a line what the step did.
	Summary string `json:"summary,omitempty"`
}

// Event is one timeline entry.
type Event struct {
	Time    time.Time `json:"time"`
	Type    string    `json:"type"`
	Step    string    `json:"step,omitempty"`
	Message string    `json:"message"`
}

// Decision is a responder's decision on an approval step.
type Decision struct {
	Step     string    `json:"step"`
	Decision string    `json:"decision"`
	Approver string    `json:"approver"`
	Comment  string    `json:"comment,omitempty"`
	At       time.Time `json:"at"`
}

// MessageRef names a chat message the incident posted: its channel and
// timestamp, as Slack identifies messages.
type MessageRef struct {
	Channel string `json:"channel"`
	TS      string `json:"ts"`
}

// Decisions a responder may take.
const (
	Approve = "approve"
	Reject  = "reject"
)

// Isolation records what containment changed on a unit, enough to undo
// it. Kind says which platform the unit is on; a Docker container's record
// is its network attachments before it was cut off and whether it was
// already paused. Records of earlier versions have no Kind: they are
// Docker's.
type Isolation struct {
	// Kind is the unit's platform, alert.KindDocker for a container.
	Kind        string       `json:"kind,omitempty"`
	ContainerID string       `json:"container_id"`
	Networks    []Attachment `json:"networks"`
	WasPaused   bool         `json:"was_paused"`
	Paused      bool         `json:"paused"`
	Note        string       `json:"note,omitempty"`
}

// Attachment is one network a container was attached to.
type Attachment struct {
	Network   string   `json:"network"`
	NetworkID string   `json:"network_id,omitempty"`
	Aliases   []string `json:"aliases,omitempty"`
	IPv4      string   `json:"ipv4,omitempty"`
	IPv6      string   `json:"ipv6,omitempty"`
	Links     []string `json:"links,omitempty"`
}

// Evidence describes an incident's preserved evidence.
type Evidence struct {
	// Dir is the evidence folder on the worker that took it.
	Dir string `json:"dir"`
	// ManifestSHA256 is the hex SHA-256 of manifest.json.
	ManifestSHA256 string `json:"manifest_sha256"`
	// Artifacts lists what was preserved.
	Artifacts []Artifact `json:"artifacts"`
	// Image is the committed image of the container, tagged with the incident.
	Image   string `json:"image,omitempty"`
	ImageID string `json:"image_id,omitempty"`
	// Verified is set once every hash has been recomputed and matched.
	Verified   bool       `json:"verified"`
	VerifiedAt *time.Time `json:"verified_at,omitempty"`
	// SignedBy is the key ID (SHA-256 of the public key) of the collector
	// that signed the manifest; empty when unsigned.
	SignedBy string `json:"signed_by,omitempty"`
	// TimestampedAt is the time an RFC 3161 authority certified for the
	// signature.
	TimestampedAt *time.Time `json:"timestamped_at,omitempty"`
	// TimestampMissing says why the signature has no timestamp while an
	// authority is configured; the worker adds it when the authority
	// answers.
	TimestampMissing string `json:"timestamp_missing,omitempty"`
	// Notes records what could not be collected and why.
	Notes []string `json:"notes,omitempty"`
}

// Artifact is one preserved file.
type Artifact struct {
	Name   string `json:"name"`
	Path   string `json:"path"`
	Size   int64  `json:"size"`
	SHA256 string `json:"sha256"`
}

// TimeToContain is the time from quell accepting the first alert to the
// unit being isolated, and zero while it is not.
func (i Incident) TimeToContain() time.Duration {
	if i.ContainedAt == nil {
		return 0
	}
	return i.ContainedAt.Sub(i.OpenedAt)
}

// Step returns the step with the given ID.
func (i *Incident) Step(id string) (*Step, bool) {
	for k := range i.Steps {
		if i.Steps[k].ID == id {
			return &i.Steps[k], true
		}
	}
	return nil, false
}
