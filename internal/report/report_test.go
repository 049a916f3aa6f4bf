package report

import (
	"bytes"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/quell-ir/quell/internal/alert"
	"github.com/quell-ir/quell/internal/incident"
)

func sample() incident.Incident {
	at := func(s int) *time.Time { t := time.Date(2026, 11, 23, 1, 0, s, 0, time.UTC); return &t }
	return incident.Incident{
		ID: "docker-h-abc.run", Status: incident.StatusCompleted, Resolution: "every step ran", Playbook: "compromised-container",
		PlaybookDigest: "sha256:" + strings.Repeat("ab", 32),
		Rule:           "Terminal shell in container", Priority: alert.Critical,
		Target:      alert.Target{Kind: "docker", Host: "h", ContainerID: "abcdef0123456789", ContainerName: "web", Image: "example/app:1"},
		AlertRecord: incident.AlertRecord{AlertsCount: 2},
		DetectedAt:  *at(0), OpenedAt: *at(1), ContainedAt: at(2), ClosedAt: at(9),
		Steps: []incident.Step{
			{ID: "contain", Kind: "docker:isolate", Status: incident.StepSucceeded, StartedAt: at(1), FinishedAt: at(2), Summary: "paused"},
			{ID: "approve", Kind: "approval", Status: incident.StepFailed, StartedAt: at(3), FinishedAt: at(4), Error: "rejected by bob | reason"},
		},
		Decisions: []incident.Decision{{Step: "approve", Decision: "reject", Approver: "bob", At: *at(4)}},
		Evidence: &incident.Evidence{Dir: "/e", ManifestSHA256: "feed", Verified: true, VerifiedAt: at(3),
			Artifacts: []incident.Artifact{{Name: "container/filesystem.tar", Path: "container/filesystem.tar", Size: 10, SHA256: "beef"}}},
		Units: []incident.Unit{{ContainerID: "abcdef0123456789", Name: "web", ImageID: "sha256:0ld0ld0ld0ld0ld", Compromised: true,
			Replacement: &incident.Replacement{ContainerID: "11112222333344445555", ImageID: "sha256:cleancleanclean"}, Removed: true,
			Results: []incident.UnitResult{{Step: "replace", Status: incident.StepSucceeded}}}},
		Image: &incident.ImageChange{OldImageID: "sha256:0ld0ld0ld0ld0ld", NewImageID: "sha256:cleancleanclean", Tags: []string{"example/app:1"},
			Source: "/srv/app", Revision: "sha256:rev", BuiltAt: at(5), DeletedAt: at(8), Deleted: []string{"Deleted: sha256:0ld"}},
	}
}

func TestMarkdown(t *testing.T) {
	var b bytes.Buffer
	if err := Markdown(&b, sample(), time.Date(2026, 11, 23, 2, 0, 0, 0, time.UTC)); err != nil {
		t.Fatal(err)
	}
	md := b.String()
	for _, want := range []string{
		"# Incident report: Terminal shell in container",
		"| Time to contain | 1s from the alert (2s from detection) |",
		"| contain | docker:isolate | succeeded | 2026-11-23 01:00:01.000Z | 2026-11-23 01:00:02.000Z | 1s | paused |",
		`| approve | approval | failed | 2026-11-23 01:00:03.000Z | 2026-11-23 01:00:04.000Z | 1s | error: rejected by bob \| reason |`,
		"| approve | reject | bob |",
		"| container/filesystem.tar | 10 | `beef` | `echo 'beef  container/filesystem.tar' \\| sha256sum -c -` |",
		"| 1s | 1s | - | 8s |",
		"| web | true | `abcdef012345` | `0ld0ld0ld0ld` | `111122223333` | `cleancleancl` | - | true | replace: succeeded |",
		"- Rebuilt as `sha256:cleancleanclean`, tagged example/app:1",
		"2 alert(s) joined this incident",
		"| Playbook | compromised-container (sha256:abab",
	} {
		if !strings.Contains(md, want) {
			t.Errorf("report lacks %q\n%s", want, md)
		}
	}
}

func TestJSON(t *testing.T) {
	var b bytes.Buffer
	if err := JSON(&b, sample(), time.Now()); err != nil {
		t.Fatal(err)
	}
	var doc map[string]any
	if err := json.Unmarshal(b.Bytes(), &doc); err != nil {
		t.Fatal(err)
	}
	if doc["time_to_contain_seconds"] != 1.0 || doc["detection_to_contain_seconds"] != 2.0 || doc["id"] != "docker-h-abc.run" {
		t.Errorf("json report = %v", doc)
	}
	inc := sample()
	inc.ContainedAt = nil
	b.Reset()
	_ = JSON(&b, inc, time.Now())
	if strings.Contains(b.String(), "time_to_contain_seconds") {
		t.Error("an incident not contained has a time to contain")
	}
}

// TestMarkdownStormAlerts: past the alerts it lists, the report says how
// many it left out, lists the latest, and counts repeats and resolutions.
func TestMarkdownStormAlerts(t *testing.T) {
	inc := sample()
	at := time.Date(2026, 11, 23, 1, 5, 0, 0, time.UTC)
	inc.AlertRecord = incident.AlertRecord{
		AlertsCount: 5000, AlertsRepeated: 7, AlertsResolved: 1,
		Alerts:    []incident.AlertRef{{Rule: "Terminal shell in container", Priority: alert.Critical, Digest: "sha256:first"}},
		LastAlert: &incident.AlertRef{Rule: "Write below etc", Priority: alert.Error, Digest: "sha256:latest", ReceivedAt: at, Time: at},
	}
	var b bytes.Buffer
	if err := Markdown(&b, inc, at); err != nil {
		t.Fatal(err)
	}
	md := b.String()
	for _, want := range []string{
		"5000 alert(s) joined this incident; the first 1 are listed, and the latest; 7 repeat(s) of reports already counted were not counted again; the detector resolved 1.",
		"| Write below etc | error | `sha256:latest` |",
	} {
		if !strings.Contains(md, want) {
			t.Errorf("report lacks %q:\n%s", want, md)
		}
	}
}
