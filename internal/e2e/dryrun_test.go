package e2e

import (
	"encoding/json"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"go.temporal.io/api/workflowservice/v1"

	"github.com/quell-ir/quell/internal/incident"
	"github.com/quell-ir/quell/playbooks"
	"github.com/quell-ir/quell/workflows"
)

// TestDryRunLeavesTheContainerAlone runs the library's compromised-container
// playbook as a dry run (dry_run: true, the snapshot for real) against a
// Falco alert on a live container: the incident runs every step with no
// one approving, the container keeps its networks and runs on unpaused,
// its image stays, and the report lists what each step would have done.
func TestDryRunLeavesTheContainerAlone(t *testing.T) {
	lib, err := playbooks.Library.ReadFile("library/compromised-container.yaml")
	if err != nil {
		t.Fatal(err)
	}
	src := strings.Replace(string(lib), "name: compromised-container\n", "name: rehearse-compromised-container\ndry_run: true\n", 1)
	src = strings.Replace(src, "    kind: evidence:snapshot\n", "    kind: evidence:snapshot\n    dry_run: false        # read-only: runs for real\n", 1)
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "rehearse.yaml"), []byte(src), 0o644); err != nil {
		t.Fatal(err)
	}
	s := startStack(t, dir, nil)
	ctr := victim(t, s.docker, "e2e-dry-"+randomSuffix())
	before, err := s.docker.Attachments(t.Context(), ctr.ID)
	if err != nil || len(before) == 0 {
		t.Fatalf("victim's networks: %v, %v", before, err)
	}
	var o opened
	if code := s.do("POST", "/v1/alerts/falco", "", falcoAlert(t, ctr.ID), &o); code != http.StatusAccepted {
		t.Fatalf("alert: %d", code)
	}
	inc := s.incident(o.IncidentID, 2*time.Minute, hasStatus(incident.StatusCompleted))
	if inc.Playbook != "rehearse-compromised-container" || inc.ContainedAt != nil || inc.Isolation != nil {
		t.Errorf("playbook %s, contained %v, isolation %+v; want the dry run, nothing contained", inc.Playbook, inc.ContainedAt, inc.Isolation)
	}
	got, err := s.docker.Container(t.Context(), ctr.ID)
	if err != nil || got.Paused || !got.Running {
		t.Errorf("after the dry run the container is %+v (%v), want running, unpaused", got, err)
	}
	after, _ := s.docker.Attachments(t.Context(), ctr.ID)
	if len(after) != len(before) {
		t.Errorf("networks %v after the dry run, want %v", after, before)
	}
	if _, err := s.docker.ImageInspect(t.Context(), ctr.ImageID); err != nil {
		t.Errorf("the image is gone after a dry run: %v", err)
	}
	// The snapshot ran for real: evidence sealed.
	if inc.Evidence == nil || len(inc.Evidence.Artifacts) == 0 {
		t.Errorf("evidence %+v, want the snapshot taken", inc.Evidence)
	}
	report := s.get("/v1/incidents/" + o.IncidentID + "/report?format=md")
	for _, want := range []string{
		"would disconnect container " + ctr.Name, "dry run, nothing changed", "delete-image",
	} {
		if !strings.Contains(report, want) {
			t.Errorf("report lacks %q:\n%s", want, report)
		}
	}
}

// TestPlanOverTheAPI: POST /v1/plan on a live container answers the steps
// and the networks containment would cut, read through the Docker host's
// worker (an InspectLive workflow ran), and changes nothing.
func TestPlanOverTheAPI(t *testing.T) {
	s := startStack(t, "", nil)
	ctr := victim(t, s.docker, "e2e-plan-"+randomSuffix())
	req, _ := json.Marshal(map[string]any{"source": "falco", "alert": json.RawMessage(falcoAlert(t, ctr.ID))})
	var plan playbooks.Plan
	if code := s.do("POST", "/v1/plan", "", req, &plan); code != http.StatusOK {
		t.Fatalf("plan: %d %+v", code, plan)
	}
	if plan.Playbook != "compromised-container" || len(plan.Steps) == 0 || len(plan.Notes) != 0 {
		t.Fatalf("plan = %+v, want the library's compromised-container with the unit read", plan)
	}
	if got := strings.Join(plan.Steps[0].Changes, "; "); !strings.Contains(got, "disconnect container "+ctr.Name+" ") {
		t.Errorf("containment would change %q, want the victim's network cut", got)
	}
	got, err := s.docker.Container(t.Context(), ctr.ID)
	if err != nil || got.Paused {
		t.Errorf("after the plan the container is %+v (%v), want it untouched", got, err)
	}
	// Visibility records a run a moment after it closes: look for a while.
	runs := 0
	for deadline := time.Now().Add(10 * time.Second); runs == 0 && time.Now().Before(deadline); time.Sleep(100 * time.Millisecond) {
		resp, err := s.client.ListWorkflow(t.Context(), &workflowservice.ListWorkflowExecutionsRequest{
			Namespace: s.cfg.Temporal.Namespace, Query: "WorkflowType = '" + workflows.InspectWorkflow + "'",
		})
		if err != nil {
			t.Fatal(err)
		}
		runs = len(resp.GetExecutions())
	}
	if runs != 1 {
		t.Errorf("%d InspectLive runs, want the plan's one", runs)
	}
}
