// Package evidence keeps forensic evidence of an incident on local disk so
// that auditors can trust it: every artifact is hashed with SHA-256 while it
// is written, files are write-once, and a manifest with a chain of custody
// lists them.
//
// One incident's evidence lives in <root>/<incident-id>/:
//
//	<artifacts>        at their names, e.g. "inspect.json", "logs/stdout.log", mode 0440
//	.journal.jsonl     completed artifacts, one JSON line each, appended and fsynced on commit
//	custody.log        the chain of custody, JSON lines, append-only and fsynced, each
//	                   line carrying the SHA-256 of the line before it (see Chain)
//	manifest.json      written once by Seal from the journal, mode 0440
//
// An artifact is written to a temporary ".<base>.partial" file beside its
// final name and only becomes complete when it is renamed into place and
// recorded in the journal. The writing process may be killed at any moment:
// a retried collection keeps journaled artifacts whose files are intact and
// redoes the rest (see Folder.Create).
//
// One process writes an incident's folder at a time; within that process any
// number of goroutines may share the Store.
package evidence

import (
	"errors"
	"time"
)

// Errors callers can test for with errors.Is.
var (
	// ErrExists reports that an artifact was already collected; artifacts are write-once.
	ErrExists = errors.New("already collected")
	// ErrSealed reports that the incident's manifest is written, so no artifact can be added.
	ErrSealed = errors.New("incident sealed")
	// ErrNoManifest reports that an incident has not been sealed.
	ErrNoManifest = errors.New("no manifest")
	// ErrInvalidName reports an incident ID or artifact name that is not allowed.
	ErrInvalidName = errors.New("invalid name")
)

// Custody actions recorded in custody.log.
const (
	// ActionCollected records an artifact's commit, with its SHA-256.
	ActionCollected = "collected"
	// ActionDiscarded records the removal of an unrecorded file left by an interrupted attempt.
	ActionDiscarded = "discarded"
	// ActionSealed records the writing of manifest.json, with the manifest's own SHA-256.
	ActionSealed = "sealed"
	// ActionVerified records a verification that found every artifact intact.
	ActionVerified = "verified"
	// ActionVerificationFailed records a verification that found problems.
	ActionVerificationFailed = "verification-failed"
)

// File names at the top of an incident folder.
const (
	// ManifestName is the manifest's file name.
	ManifestName = "manifest.json"
	// CustodyName is the custody log's file name.
	CustodyName = "custody.log"
)

const (
	journalName   = ".journal.jsonl"
	partialSuffix = ".partial"
	dirMode       = 0o750
	fileMode      = 0o640
	sealedMode    = 0o440
)

// Actor says who acts on evidence, for the custody log.
type Actor struct {
	// Who names the component, e.g. "quell-worker" or "quell-cli".
	Who string `json:"who"`
	// Host is the host it runs on (os.Hostname).
	Host string `json:"host"`
	// Version is quell's version.
	Version string `json:"version"`
}

// Artifact is one completed piece of evidence.
type Artifact struct {
	// Name is the artifact's slash-separated name, e.g. "logs/stdout.log".
	Name string `json:"name"`
	// Path is the file's slash-separated path relative to the manifest.
	Path string `json:"path"`
	// Size is the file's length in bytes.
	Size int64 `json:"size"`
	// SHA256 is the lower-case hex SHA-256 of the file's content.
	SHA256 string `json:"sha256"`
	// CollectedAt is when the artifact was committed, in UTC.
	CollectedAt time.Time `json:"collected_at"`
}

// Manifest lists an incident's artifacts and the custody chain up to sealing.
type Manifest struct {
	// IncidentID names the incident.
	IncidentID string `json:"incident_id"`
	// CreatedAt is when the manifest was sealed, in UTC.
	CreatedAt time.Time `json:"created_at"`
	// Subject describes what the evidence is about (container ID, image, node...).
	Subject map[string]string `json:"subject,omitempty"`
	// Artifacts are the completed artifacts, in completion order.
	Artifacts []Artifact `json:"artifacts"`
	// Custody is the custody log as it stood just before sealing.
	Custody []CustodyEntry `json:"custody"`
	// Tool is the actor that sealed the manifest.
	Tool Actor `json:"collected_by"`
}

// CustodyEntry is one line of the custody log.
type CustodyEntry struct {
	// Time is when the action happened, in UTC.
	Time time.Time `json:"time"`
	// Action is one of the Action constants.
	Action string `json:"action"`
	// Artifact names the artifact acted on, or ManifestName.
	Artifact string `json:"artifact,omitempty"`
	// SHA256 is the hex SHA-256 of the artifact or manifest acted on.
	SHA256 string `json:"sha256,omitempty"`
	Actor
	// Note says more, e.g. why a file was discarded or what verification found.
	Note string `json:"note,omitempty"`
	// Prev is the hex SHA-256 of the line before this one in custody.log
	// (of no bytes for the first line): the link of the hash chain. Lines
	// written before the chain have none.
	Prev string `json:"prev,omitempty"`
}
