package slack_test

import (
	"encoding/json"
	"os"
	"strings"
	"testing"
	"time"

	slackgo "github.com/slack-go/slack"

	"github.com/quell-ir/quell/internal/alert"
	"github.com/quell-ir/quell/internal/incident"
	"github.com/quell-ir/quell/internal/slack"
)

// finishedIncident is testIncident once the image was replaced and deleted.
func finishedIncident() incident.Incident {
	inc := testIncident()
	inc.Status, inc.Resolution = incident.StatusCompleted, "contained, evidence verified, image replaced"
	for i := range inc.Steps {
		inc.Steps[i].Status = incident.StepSucceeded
	}
	inc.Steps[2].FinishedAt = at(3 * time.Minute)
	inc.Steps[3].StartedAt, inc.Steps[3].FinishedAt, inc.Steps[3].Summary = at(3*time.Minute), at(3*time.Minute+1500*time.Millisecond), "2 containers replaced"
	inc.Image = &incident.ImageChange{OldImageID: "sha256:0123456789abcdef", NewImageID: "sha256:fedcba9876543210", Ref: "example/app:1", DeletedAt: at(4 * time.Minute)}
	inc.Units = []incident.Unit{
		{ContainerID: "3f2a1b9c8d7e0a1b", Name: "web-1", ImageID: "sha256:0123456789abcdef", Compromised: true, Removed: true,
			Replacement: &incident.Replacement{ImageID: "sha256:fedcba9876543210"}},
		{ContainerID: "4a4a4a4a4a4a4a4a", Name: "web-2", ImageID: "sha256:0123456789abcdef", Quarantined: "web-2-quell",
			Replacement: &incident.Replacement{ImageID: "sha256:fedcba9876543210"}},
	}
	return inc
}

func TestIncidentBlocks(t *testing.T) {
	blocks := slack.IncidentBlocks(finishedIncident(), slack.Links{Report: "https://quell.example/r/1", Temporal: "https://temporal.example/w?a=1&b=2"})
	b, err := json.Marshal(blocks)
	if err != nil {
		t.Fatal(err)
	}
	if os.Getenv("SLACK_BLOCKS_DUMP") != "" {
		out, _ := json.MarshalIndent(blocks, "", "  ")
		t.Logf("%s", out)
	}
	var got []string
	for _, bl := range blocks {
		got = append(got, texts(t, mustJSON(t, bl)))
	}
	want := []string{
		":white_check_mark: Completed · Terminal shell in container",
		"*Container*\n*`web-1`* (`3f2a1b9c8d7e`)\n*Priority*\n:red_circle: *CRITICAL*\n*Image*\n`example/app:1`\n*Host*\n`prod-host-1`\n*Alerts*\n3\n" +
			"*Time to contain*\n*0.8s*\n*Evidence*\n5 artifacts, manifest `9b2e5f0c1d2e`\n:lock: verified",
		"*Resolution:* contained, evidence verified, image replaced",
		"*Steps*\n:white_check_mark: contain (docker:isolate) 0.2s\n" +
			":white_check_mark: snapshot (evidence:snapshot) 1m14s — 5 artifacts\n" +
			":white_check_mark: approve-delete (slack:approve) 1m40s\n" +
			":white_check_mark: delete-image (image:delete) 1.5s — 2 containers replaced",
		"*Units*\n*Image* `0123456789ab` → `fedcba987654` (`example/app:1`), old image deleted\n" +
			"• :biohazard_sign: `web-1` `0123456789ab` → `fedcba987654`, removed\n" +
			"• `web-2` `0123456789ab` → `fedcba987654`, quarantined as `web-2-quell`",
		"Incident `quell-docker-3f2a1b9c8d7e.0195f3c2-run` · playbook `contain-and-replace` · " +
			"<https://quell.example/r/1|Report> · <https://temporal.example/w?a=1&amp;b=2|Temporal>",
	}
	if len(got) != len(want) {
		t.Fatalf("%d blocks, want %d: %s", len(got), len(want), b)
	}
	for i := range want {
		if got[i] != want[i] {
			t.Errorf("block %d =\n%s\nwant\n%s", i, got[i], want[i])
		}
	}
}

func mustJSON(t *testing.T, v any) string {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return "[" + string(b) + "]"
}

func TestIncidentBlocksMinimal(t *testing.T) {
	inc := incident.Incident{ID: "i", Status: incident.StatusRunning, Rule: "Rule <x> & y", Target: alert.Target{ContainerID: "abc"},
		Steps: []incident.Step{{ID: "contain", Kind: "docker:isolate", Status: incident.StepRunning}}}
	got := texts(t, mustJSONBlocks(t, slack.IncidentBlocks(inc, slack.Links{})))
	for _, want := range []string{":rotating_light: Running · Rule <x> & y", "*Container*\n`abc`", ":hourglass_flowing_sand: contain (docker:isolate)", "Incident `i`"} {
		if !strings.Contains(got, want) {
			t.Errorf("blocks lack %q:\n%s", want, got)
		}
	}
	for _, absent := range []string{"Time to contain", "Evidence", "Units", "Report", "Resolution"} {
		if strings.Contains(got, absent) {
			t.Errorf("blocks show %q:\n%s", absent, got)
		}
	}
}

func mustJSONBlocks(t *testing.T, blocks []slackgo.Block) string {
	t.Helper()
	b, err := json.Marshal(blocks)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func TestApprovalBlocksWithoutWhat(t *testing.T) {
	blocks := slack.ApprovalBlocks(testIncident(), "approve-delete", nil, nil)
	buttons := buttonsOf(t, mustJSONBlocks(t, blocks))
	if len(buttons) != 2 || buttons[0].Confirm != nil || buttons[1].Confirm == nil {
		t.Fatalf("buttons = %+v, want Approve without confirm, Reject with", buttons)
	}
	got := texts(t, mustJSONBlocks(t, blocks))
	if want := ":raised_hand: *Approval needed* for step *approve-delete* (slack:approve)\n*`web-1`* (`3f2a1b9c8d7e`): Terminal shell in container"; !strings.HasPrefix(got, want) {
		t.Errorf("text = %q, want prefix %q", got, want)
	}
	if strings.Contains(got, "destroy") || strings.Contains(got, "Who may decide") {
		t.Errorf("text shows empty lists: %q", got)
	}
}
