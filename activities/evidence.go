package activities

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"time"

	"go.temporal.io/sdk/activity"

	"github.com/quell-ir/quell/internal/alert"
	"github.com/quell-ir/quell/internal/docker"
	"github.com/quell-ir/quell/internal/evidence"
	"github.com/quell-ir/quell/internal/incident"
)

// Evidence holds the activities that preserve and verify forensic evidence.
type Evidence struct {
	Runtime ContainerRuntime
	Store   *evidence.Store
	// Actor is recorded in the chain of custody.
	Actor evidence.Actor
}

// SnapshotInput is the input of SnapshotContainer; each bool turns a part on.
type SnapshotInput struct {
	IncidentID string       `json:"incident_id"`
	Target     alert.Target `json:"target"`
	Logs       bool         `json:"logs"`
	Processes  bool         `json:"processes"`
	Export     bool         `json:"export"`
	Commit     bool         `json:"commit"`
}

// SnapshotResult describes the sealed evidence.
type SnapshotResult struct {
	Evidence incident.Evidence `json:"evidence"`
}

// Artifact names inside an incident's evidence folder.
const (
	artInspect    = "container/inspect.json"
	artStdout     = "container/stdout.log"
	artStderr     = "container/stderr.log"
	artChanges    = "container/changes.json"
	artProcesses  = "container/processes.json"
	artFilesystem = "container/filesystem.tar"
	// artCommitted keeps the committed image off the daemon, so that
	// image:delete can remove it (it depends on the bad image) and the bad
	// image with it.
	artCommitted = "container/committed-image.tar"
)

// SnapshotContainer preserves the container's inspect document, logs,
// filesystem changes, processes, filesystem export and a committed image
// into the incident's write-once evidence folder and seals its manifest.
// After a crash it resumes: artifacts already completed are kept.
func (e *Evidence) SnapshotContainer(ctx context.Context, in SnapshotInput) (SnapshotResult, error) {
	folder, err := e.Store.Open(in.IncidentID, e.Actor)
	if err != nil {
		return SnapshotResult{}, permanent(ErrTypeBadInput, err)
	}
	if m, err := e.Store.Manifest(in.IncidentID); err == nil {
		return e.sealed(ctx, in.IncidentID, folder.Dir(), m)
	}
	c, err := resolve(ctx, e.Runtime, in.Target)
	if err != nil {
		return SnapshotResult{}, err
	}
	s := snapshot{e: e, folder: folder, id: c.ID, ctx: ctx}
	if err := s.collect(in); err != nil {
		return SnapshotResult{}, err
	}
	subject := map[string]string{
		"container_id": c.ID, "container_name": c.Name, "image": c.Image, "image_id": c.ImageID,
	}
	if in.Commit {
		ref := "quell-evidence:" + in.IncidentID
		imageID, err := e.Runtime.Commit(ctx, c.ID, ref, map[string]string{"quell.incident": in.IncidentID, "quell.evidence": "true"})
		if err != nil {
			return SnapshotResult{}, classify(fmt.Errorf("commit container %s: %w", c.ID, err), docker.ErrNotFound)
		}
		subject["evidence_image"], subject["evidence_image_id"] = ref, imageID
		if !s.done(artCommitted) {
			if err := s.save(imageID); err != nil {
				return SnapshotResult{}, classify(err, docker.ErrNotFound)
			}
		}
	}
	return s.seal(in.IncidentID, subject)
}

// seal seals the folder with subject and the notes on what could not be
// collected in its manifest.
func (s *snapshot) seal(incidentID string, subject map[string]string) (SnapshotResult, error) {
	for i, note := range s.notes {
		subject[noteKey(i+1)] = note
	}
	m, err := s.folder.Seal(subject)
	if err != nil {
		return SnapshotResult{}, fmt.Errorf("seal evidence %s: %w", incidentID, err)
	}
	return s.e.sealed(s.ctx, incidentID, s.folder.Dir(), m)
}

// sealed describes a sealed manifest with its own hash from the custody
// log, its signer and its timestamp, asking the authority for one.
func (e *Evidence) sealed(ctx context.Context, incidentID, dir string, m evidence.Manifest) (SnapshotResult, error) {
	custody, err := e.Store.Custody(incidentID)
	if err != nil {
		return SnapshotResult{}, fmt.Errorf("custody of %s: %w", incidentID, err)
	}
	ev := describe(dir, m)
	for _, c := range custody {
		if c.Action == evidence.ActionSealed {
			ev.ManifestSHA256 = c.SHA256
		}
	}
	if pub := e.Store.PublicKey(); pub != nil {
		ev.SignedBy = evidence.KeyID(pub)
	}
	ev.TimestampedAt, ev.TimestampMissing = e.timestamp(ctx, incidentID)
	return SnapshotResult{Evidence: ev}, nil
}

// timestampWait bounds how long sealing waits on the timestamp authority:
// a slow one must not hold the playbook; the worker's pending pass and the
// verify step ask again.
const timestampWait = 15 * time.Second

// timestamp returns the time the authority certified for the incident's
// signature, asking it first if the folder has no token, or why there is
// none; both are empty when no authority is configured or the folder is
// unsigned.
func (e *Evidence) timestamp(ctx context.Context, incidentID string) (*time.Time, string) {
	ctx, cancel := context.WithTimeout(ctx, timestampWait)
	defer cancel()
	at, err := e.Store.Timestamp(ctx, incidentID, e.Actor)
	switch {
	case err == nil:
		return &at, ""
	case errors.Is(err, evidence.ErrNoTimestamp), errors.Is(err, evidence.ErrNoManifest):
		return nil, ""
	}
	activity.GetLogger(ctx).Warn("no timestamp for the evidence yet", "incident", incidentID, "err", err)
	return nil, err.Error()
}

// snapshot collects one container's artifacts into a folder.
type snapshot struct {
	e      *Evidence
	folder *evidence.Folder
	id     string
	ctx    context.Context
	notes  []string
}

func (s *snapshot) collect(in SnapshotInput) error {
	parts := []struct {
		on    bool
		names []string
		take  func() error
	}{
		{true, []string{artInspect}, s.inspect},
		{in.Logs, []string{artStdout, artStderr}, s.logs},
		{true, []string{artChanges}, s.changes},
		{in.Processes, []string{artProcesses}, s.processes},
		{in.Export, []string{artFilesystem}, s.export},
	}
	for _, p := range parts {
		if !p.on || s.done(p.names...) {
			continue
		}
		if err := p.take(); err != nil {
			return classify(err, docker.ErrNotFound)
		}
	}
	return nil
}

// done reports whether every named artifact was completed by an earlier attempt.
func (s *snapshot) done(names ...string) bool {
	for _, n := range names {
		if _, ok := s.folder.Artifact(n); !ok {
			return false
		}
	}
	return true
}

func (s *snapshot) inspect() error {
	raw, err := s.e.Runtime.InspectRaw(s.ctx, s.id)
	if err != nil {
		return fmt.Errorf("inspect container %s: %w", s.id, err)
	}
	return s.write(artInspect, bytes.NewReader(raw))
}

func (s *snapshot) logs() error {
	out, err := s.folder.Create(artStdout)
	if err != nil {
		return err
	}
	defer out.Abort()
	errw, err := s.folder.Create(artStderr)
	if err != nil {
		return err
	}
	defer errw.Abort()
	if err := s.e.Runtime.Logs(s.ctx, s.id, out, errw); err != nil {
		return fmt.Errorf("logs of container %s: %w", s.id, err)
	}
	if _, err := out.Commit(); err != nil {
		return err
	}
	_, err = errw.Commit()
	return err
}

func (s *snapshot) changes() error {
	changes, err := s.e.Runtime.Diff(s.ctx, s.id)
	if err != nil {
		return fmt.Errorf("diff container %s: %w", s.id, err)
	}
	return s.writeJSON(artChanges, changes)
}

func (s *snapshot) processes() error {
	procs, err := s.e.Runtime.Top(s.ctx, s.id)
	if errors.Is(err, docker.ErrUnavailable) {
		s.notes = append(s.notes, "process list unavailable: "+err.Error())
		return nil
	}
	if err != nil {
		return fmt.Errorf("processes of container %s: %w", s.id, err)
	}
	return s.writeJSON(artProcesses, procs)
}

func (s *snapshot) export() error {
	rc, err := s.e.Runtime.Export(s.ctx, s.id)
	if err != nil {
		return fmt.Errorf("export container %s: %w", s.id, err)
	}
	defer rc.Close()
	return s.write(artFilesystem, rc)
}

func (s *snapshot) save(imageID string) error {
	rc, err := s.e.Runtime.SaveImage(s.ctx, imageID)
	if err != nil {
		return err
	}
	defer rc.Close()
	return s.write(artCommitted, rc)
}

func (s *snapshot) writeJSON(name string, v any) error {
	b, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		return fmt.Errorf("encode %s: %w", name, err)
	}
	return s.write(name, bytes.NewReader(b))
}

// write streams r into the artifact name, heartbeating its progress.
func (s *snapshot) write(name string, r io.Reader) error {
	_, err := s.folder.Write(s.ctx, name, r, func(n int64) {
		activity.RecordHeartbeat(s.ctx, progress{Artifact: name, Bytes: n})
	})
	if errors.Is(err, evidence.ErrExists) {
		return nil
	}
	return err
}

// noteKey is the manifest subject key of the i-th note (from 1) on what
// could not be collected.
func noteKey(i int) string { return fmt.Sprintf("note_%d", i) }

// progress is a snapshot's heartbeat detail.
type progress struct {
	Artifact string `json:"artifact"`
	Bytes    int64  `json:"bytes"`
}

func describe(dir string, m evidence.Manifest) incident.Evidence {
	ev := incident.Evidence{Dir: dir, Image: m.Subject["evidence_image"], ImageID: m.Subject["evidence_image_id"]}
	for _, a := range m.Artifacts {
		ev.Artifacts = append(ev.Artifacts, incident.Artifact{Name: a.Name, Path: a.Path, Size: a.Size, SHA256: a.SHA256})
	}
	for i := 1; m.Subject[noteKey(i)] != ""; i++ {
		ev.Notes = append(ev.Notes, m.Subject[noteKey(i)])
	}
	return ev
}

// VerifyInput is the input of VerifyEvidence.
type VerifyInput struct {
	IncidentID string `json:"incident_id"`
}

// VerifyResult is the outcome of VerifyEvidence.
type VerifyResult struct {
	Verified       int       `json:"verified"`
	ManifestSHA256 string    `json:"manifest_sha256"`
	At             time.Time `json:"at"`
	// Timestamped and TimestampMissing are as in incident.Evidence.
	Timestamped      *time.Time `json:"timestamped,omitempty"`
	TimestampMissing string     `json:"timestamp_missing,omitempty"`
}

// VerifyEvidence recomputes the hash of every artifact in the incident's
// manifest; any mismatch or missing file fails the step for good. A
// signature still without a timestamp is timestamped first, if the
// authority answers now.
func (e *Evidence) VerifyEvidence(ctx context.Context, in VerifyInput) (VerifyResult, error) {
	_, missing := e.timestamp(ctx, in.IncidentID)
	v, err := e.Store.Verify(ctx, in.IncidentID, e.Actor, func(done, total int64) {
		activity.RecordHeartbeat(ctx, progress{Bytes: done})
	})
	if errors.Is(err, evidence.ErrNoManifest) {
		return VerifyResult{}, permanent(ErrTypeNotFound, err)
	}
	if err != nil {
		return VerifyResult{}, fmt.Errorf("verify evidence %s: %w", in.IncidentID, err)
	}
	if !v.OK() {
		return VerifyResult{}, permanentf(ErrTypeEvidenceMismatch, "evidence %s: %s", in.IncidentID, problems(v.Problems))
	}
	return VerifyResult{Verified: v.Verified, ManifestSHA256: v.ManifestSHA256, At: v.At, Timestamped: v.Timestamped, TimestampMissing: missing}, nil
}

func problems(ps []evidence.Problem) string {
	var b bytes.Buffer
	for i, p := range ps {
		if i > 0 {
			b.WriteString("; ")
		}
		fmt.Fprintf(&b, "%s: %s", p.Artifact, p.Reason)
	}
	return b.String()
}
