// Package report renders an incident's post-incident report from the
// incident's state: Markdown for people, JSON (described by Schema) for
// machines.
package report

import (
	_ "embed"
	"encoding/json"
	"fmt"
	"io"
	"slices"
	"strings"
	"time"

	"github.com/quell-ir/quell/internal/incident"
)

// Document is the JSON form of a report; Schema describes it.
type Document struct {
	// SchemaVersion is SchemaVersion.
	SchemaVersion string `json:"schema_version"`
	incident.Incident
	// Figures are the incident's times to detect, contain and recover.
	Figures Figures `json:"figures"`
	// Detection summarises the alerts that joined.
	Detection Detection `json:"detection"`
	// TimeToContainSeconds is the time from accepting the first alert to
	// isolation, in seconds; absent while not contained.
	TimeToContainSeconds *float64 `json:"time_to_contain_seconds,omitempty"`
	// DetectionToContainSeconds is the same from the detector's own event time.
	DetectionToContainSeconds *float64 `json:"detection_to_contain_seconds,omitempty"`
	// GeneratedAt is when the report was rendered.
	GeneratedAt time.Time `json:"generated_at"`
}

// Schema is the JSON Schema (draft 2020-12) of Document, version
// SchemaVersion.
//
//go:embed report.schema.json
var Schema []byte

// JSON writes the report as indented JSON, a Document that Schema
// validates.
func JSON(w io.Writer, inc incident.Incident, now time.Time) error {
	// Lists are lists, even when empty.
	inc.Alerts, inc.Steps, inc.Timeline = nonNil(inc.Alerts), nonNil(inc.Steps), nonNil(inc.Timeline)
	doc := Document{SchemaVersion: SchemaVersion, Incident: inc, Figures: figures(inc), Detection: detection(inc), GeneratedAt: now.UTC()}
	if inc.ContainedAt != nil {
		dtc := inc.ContainedAt.Sub(inc.DetectedAt).Seconds()
		doc.TimeToContainSeconds, doc.DetectionToContainSeconds = doc.Figures.TimeToContainSeconds, &dtc
	}
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	if err := enc.Encode(doc); err != nil {
		return fmt.Errorf("report %s: %w", inc.ID, err)
	}
	return nil
}

// seconds prints a figure, or a dash while it is absent.
func seconds(s *float64) string {
	if s == nil {
		return "-"
	}
	return (time.Duration(*s * float64(time.Second))).Round(time.Millisecond).String()
}

func nonNil[T any](s []T) []T {
	if s == nil {
		return []T{}
	}
	return s
}

// Markdown writes the report for people.
func Markdown(w io.Writer, inc incident.Incident, now time.Time) error {
	m := &mdWriter{w: w}
	m.summary(inc, now)
	m.figures(inc)
	m.steps(inc)
	m.decisions(inc)
	m.isolation(inc)
	m.kubernetes(inc)
	m.evidence(inc)
	m.units(inc)
	m.image(inc)
	m.registries(inc)
	m.timeline(inc)
	m.alerts(inc)
	if m.err != nil {
		return fmt.Errorf("report %s: %w", inc.ID, m.err)
	}
	return nil
}

// mdWriter writes Markdown and keeps the first error.
type mdWriter struct {
	w   io.Writer
	err error
}

func (m *mdWriter) printf(format string, args ...any) {
	if m.err == nil {
		_, m.err = fmt.Fprintf(m.w, format, args...)
	}
}

func (m *mdWriter) summary(inc incident.Incident, now time.Time) {
	t := inc.Target
	m.printf("# Incident report: %s\n\n", inc.Rule)
	m.printf("| | |\n|---|---|\n")
	m.printf("| Incident | `%s` |\n", inc.ID)
	m.printf("| Status | %s |\n", inc.Status)
	if inc.Resolution != "" {
		m.printf("| Resolution | %s |\n", cell(inc.Resolution))
	}
	m.printf("| Playbook | %s |\n", playbookName(inc))
	m.printf("| Rule | %s (priority %s) |\n", cell(inc.Rule), inc.Priority)
	if t.Pod != "" {
		m.printf("| Pod | `%s/%s` on cluster %s |\n", t.Namespace, t.Pod, cell(orDash(t.Cluster)))
	}
	if t.ContainerID != "" || t.Pod == "" {
		m.printf("| Container | `%s` (%s) |\n", t.ContainerID, cell(orDash(t.ContainerName)))
	}
	m.printf("| Image | %s |\n", cell(orDash(t.Image)))
	m.printf("| Host | %s |\n", cell(orDash(t.Host)))
	m.printf("| Alerts | %d |\n", inc.AlertsCount)
	m.printf("| Detected | %s |\n", stamp(&inc.DetectedAt))
	m.printf("| Opened | %s |\n", stamp(&inc.OpenedAt))
	m.printf("| Contained | %s |\n", stamp(inc.ContainedAt))
	if inc.ContainedAt != nil {
		m.printf("| Time to contain | %s from the alert (%s from detection) |\n",
			inc.TimeToContain().Round(time.Millisecond), inc.ContainedAt.Sub(inc.DetectedAt).Round(time.Millisecond))
	}
	m.printf("| Closed | %s |\n", stamp(inc.ClosedAt))
	m.printf("| Report generated | %s |\n\n", stamp(&now))
}

func (m *mdWriter) figures(inc incident.Incident) {
	f := figures(inc)
	m.printf("## Figures\n\n| Time to detect | Time to contain | Time to recover | Duration |\n|---|---|---|---|\n")
	m.printf("| %s | %s | %s | %s |\n\n", seconds(f.TimeToDetectSeconds), seconds(f.TimeToContainSeconds),
		seconds(f.TimeToRecoverSeconds), seconds(f.DurationSeconds))
}

func (m *mdWriter) steps(inc incident.Incident) {
	m.printf("## Steps\n\n| Step | Kind | Status | Started | Finished | Took | Detail |\n|---|---|---|---|---|---|---|\n")
	for _, s := range inc.Steps {
		detail := s.Summary
		if s.Error != "" {
			detail = "error: " + s.Error
		}
		m.printf("| %s | %s | %s | %s | %s | %s | %s |\n", s.ID, s.Kind, s.Status,
			stamp(s.StartedAt), stamp(s.FinishedAt), took(s.StartedAt, s.FinishedAt), cell(orDash(detail)))
	}
	m.printf("\n")
}

func (m *mdWriter) decisions(inc incident.Incident) {
	if len(inc.Decisions) == 0 {
		return
	}
	m.printf("## Approvals\n\n| Step | Decision | By | At | Comment |\n|---|---|---|---|---|\n")
	for _, d := range inc.Decisions {
		m.printf("| %s | %s | %s | %s | %s |\n", d.Step, d.Decision, cell(d.Approver), stamp(&d.At), cell(orDash(d.Comment)))
	}
	m.printf("\n")
}

func (m *mdWriter) isolation(inc incident.Incident) {
	iso := inc.Isolation
	if iso == nil {
		return
	}
	m.printf("## Containment\n\n")
	m.printf("- Paused: %t (already paused before: %t)\n", iso.Paused, iso.WasPaused)
	for _, a := range iso.Networks {
		m.printf("- Disconnected from network `%s` (ip %s, aliases %s)\n", a.Network, orDash(a.IPv4), orDash(strings.Join(a.Aliases, ", ")))
	}
	if len(iso.Networks) == 0 {
		m.printf("- Attached to no network\n")
	}
	if iso.Note != "" {
		m.printf("- Note: %s\n", iso.Note)
	}
	m.printf("\n")
}

func (m *mdWriter) evidence(inc incident.Incident) {
	ev := inc.Evidence
	if ev == nil {
		return
	}
	m.printf("## Evidence\n\nFolder `%s`; manifest SHA-256 `%s`; verified: %s.\n\n%s.\n\n", ev.Dir, ev.ManifestSHA256, verified(ev), signature(ev))
	if ev.Image != "" {
		m.printf("Committed image `%s` (`%s`).\n\n", ev.Image, ev.ImageID)
	}
	m.printf("| Artifact | Size | SHA-256 | Check it offline, in the folder |\n|---|---|---|---|\n")
	for _, a := range ev.Artifacts {
		m.printf("| %s | %d | `%s` | `%s` |\n", cell(a.Path), a.Size, a.SHA256, cell(VerifyCommand(a)))
	}
	for _, n := range ev.Notes {
		m.printf("\nNote: %s\n", n)
	}
	m.printf("\n")
}

func (m *mdWriter) timeline(inc incident.Incident) {
	m.printf("## Timeline\n\n| Time | Event | Step | Detail |\n|---|---|---|---|\n")
	for _, e := range inc.Timeline {
		m.printf("| %s | %s | %s | %s |\n", stamp(&e.Time), e.Type, orDash(e.Step), cell(e.Message))
	}
	m.printf("\n")
}

func (m *mdWriter) alerts(inc incident.Incident) {
	m.printf("## Alerts\n\n%d alert(s) joined this incident", inc.AlertsCount)
	listed := inc.Alerts
	if inc.AlertsCount > len(inc.Alerts) {
		m.printf("; the first %d are listed", len(inc.Alerts))
		if inc.LastAlert != nil {
			m.printf(", and the latest")
			listed = append(slices.Clip(listed), *inc.LastAlert)
		}
	}
	if inc.AlertsRepeated > 0 {
		m.printf("; %d repeat(s) of reports already counted were not counted again", inc.AlertsRepeated)
	}
	if inc.AlertsResolved > 0 {
		m.printf("; the detector resolved %d", inc.AlertsResolved)
	}
	m.printf(".\n\n| Received | Detected | Rule | Priority | Payload digest |\n|---|---|---|---|---|\n")
	for _, a := range listed {
		m.printf("| %s | %s | %s | %s | `%s` |\n", stamp(&a.ReceivedAt), stamp(&a.Time), cell(a.Rule), a.Priority, a.Digest)
	}
}

func (m *mdWriter) units(inc incident.Incident) {
	if len(inc.Units) == 0 {
		return
	}
	m.printf("## Units\n\n| Unit | Compromised | Old container | Old image | Replacement | New image | Quarantined as | Removed | Steps |\n|---|---|---|---|---|---|---|---|---|\n")
	for _, u := range inc.Units {
		repl, newImage := "-", "-"
		if r := u.Replacement; r != nil {
			repl, newImage = "`"+short(r.ContainerID)+"`", "`"+short(r.ImageID)+"`"
		}
		var steps []string
		for _, r := range u.Results {
			step := r.Step + ": " + r.Status
			if r.Error != "" {
				step += " (" + r.Error + ")"
			}
			steps = append(steps, step)
		}
		m.printf("| %s | %t | `%s` | `%s` | %s | %s | %s | %t | %s |\n", cell(u.Name), u.Compromised, short(u.ContainerID),
			short(u.ImageID), repl, newImage, cell(orDash(u.Quarantined)), u.Removed, cell(orDash(strings.Join(steps, "; "))))
	}
	m.printf("\n")
}

func (m *mdWriter) image(inc incident.Incident) {
	img := inc.Image
	if img == nil {
		return
	}
	m.printf("## Image\n\n- Bad image: `%s`\n", img.OldImageID)
	if img.NewImageID != "" {
		m.printf("- Rebuilt as `%s`, tagged %s, at %s\n", img.NewImageID, orDash(strings.Join(img.Tags, ", ")), stamp(img.BuiltAt))
		m.printf("- Trusted source: %s (revision `%s`)\n", cell(img.Source), img.Revision)
	}
	if a := img.BuildLog; a != nil {
		m.printf("- Build log: `%s` (%d bytes, SHA-256 `%s`)\n", a.Path, a.Size, a.SHA256)
	}
	if img.DeletedAt != nil {
		m.printf("- Deleted at %s: %s\n", stamp(img.DeletedAt), cell(strings.Join(img.Deleted, ", ")))
	}
	m.printf("\n")
}

// short is an ID as Docker prints it.
func short(id string) string {
	id = strings.TrimPrefix(id, "sha256:")
	if len(id) > 12 {
		return id[:12]
	}
	return orDash(id)
}

func verified(ev *incident.Evidence) string {
	if !ev.Verified {
		return "no"
	}
	return "yes, at " + stamp(ev.VerifiedAt)
}

// playbookName is the playbook's name with the digest of the version
// that ran, when known.
func playbookName(inc incident.Incident) string {
	if inc.PlaybookDigest == "" {
		return inc.Playbook
	}
	return inc.Playbook + " (" + inc.PlaybookDigest + ")"
}

// signature says who signed the manifest and when an authority
// certified it, or why not.
func signature(ev *incident.Evidence) string {
	if ev.SignedBy == "" {
		return "Manifest unsigned"
	}
	s := "Manifest signed by the collector's Ed25519 key " + ev.SignedBy
	switch {
	case ev.TimestampedAt != nil:
		return s + "; timestamped " + stamp(ev.TimestampedAt) + " by an RFC 3161 authority"
	case ev.TimestampMissing != "":
		return s + "; timestamp missing (" + ev.TimestampMissing + "): quell adds it when the authority answers"
	}
	return s + "; no timestamp authority configured"
}

func stamp(t *time.Time) string {
	if t == nil || t.IsZero() {
		return "-"
	}
	return t.UTC().Format("2006-01-02 15:04:05.000Z")
}

func took(from, to *time.Time) string {
	if from == nil || to == nil {
		return "-"
	}
	return to.Sub(*from).Round(time.Millisecond).String()
}

func orDash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

// cell keeps a value from breaking a Markdown table row.
func cell(s string) string {
	return strings.NewReplacer("|", `\|`, "\n", " ", "\r", " ").Replace(s)
}
