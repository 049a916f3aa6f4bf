package e2e

import (
	"bytes"
	"crypto/ed25519"
	"encoding/json"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/quell-ir/quell/internal/config"
	"github.com/quell-ir/quell/internal/docker/dockertest"
	"github.com/quell-ir/quell/internal/evidence"
	"github.com/quell-ir/quell/internal/incident"
	"github.com/quell-ir/quell/workflows"
)

type opened struct {
	IncidentID   string `json:"incident_id"`
	Deduplicated bool   `json:"deduplicated"`
}

// contained is true once the default playbook has contained the unit,
// preserved and verified its evidence, and waits for a responder.
func contained(i incident.Incident) bool {
	return i.Status == incident.StatusAwaitingApproval && i.Evidence != nil && i.Evidence.Verified
}

func TestFalcoAlertContainsContainer(t *testing.T) {
	s := startStack(t, "", func(c *config.Config) { c.Approvals.Approvers = []string{"carol"} })
	ctr := victim(t, s.docker, "e2e-victim-"+randomSuffix())
	body := falcoAlert(t, ctr.ID)

	var first opened
	if code := s.do("POST", "/v1/alerts/falco", "", body, &first); code != http.StatusAccepted || first.Deduplicated {
		t.Fatalf("first alert: %d %+v, want 202 and a new incident", code, first)
	}
	dockertest.RemoveImage(t, s.docker, "quell-evidence:"+first.IncidentID)
	inc := s.incident(first.IncidentID, time.Minute, contained)

	// Contained: no network, paused, alive.
	got, err := s.docker.Container(t.Context(), ctr.ID)
	if err != nil {
		t.Fatal(err)
	}
	if !got.Paused || !got.Running {
		t.Errorf("container running %t paused %t, want frozen and alive", got.Running, got.Paused)
	}
	if atts, _ := s.docker.Attachments(t.Context(), ctr.ID); len(atts) != 0 {
		t.Errorf("container still on %+v", atts)
	}
	if inc.Target.ContainerName != ctr.Name || inc.Target.Kind != "docker" {
		t.Errorf("target = %+v", inc.Target)
	}
	for _, st := range inc.Steps[:4] {
		if st.Status != incident.StepSucceeded || st.StartedAt == nil || st.FinishedAt == nil {
			t.Errorf("step %+v", st)
		}
	}

	// Evidence: every hash verifies and the export holds the attacker's file.
	store := evidence.NewStore(filepath.Join(s.cfg.DataDir, "evidence"))
	v, err := store.Verify(t.Context(), first.IncidentID, evidence.Actor{Who: "e2e"}, nil)
	if err != nil || !v.OK() || v.Verified < 5 {
		t.Fatalf("verify: %+v, %v", v, err)
	}
	export := filepath.Join(store.Dir(first.IncidentID), "container/filesystem.tar")
	if content := dockertest.TarEntry(t, export, "pwned.txt"); !strings.Contains(content, "evil.example") {
		t.Errorf("pwned.txt in export = %q", content)
	}

	// The same alert again joins the incident.
	var second opened
	if code := s.do("POST", "/v1/alerts/falco", "", body, &second); code != http.StatusAccepted {
		t.Fatalf("second alert: %d", code)
	}
	if !second.Deduplicated || second.IncidentID != first.IncidentID {
		t.Errorf("second alert = %+v, want deduplicated into %s", second, first.IncidentID)
	}
	s.incident(first.IncidentID, 10*time.Second, func(i incident.Incident) bool { return i.AlertsCount == 2 })

	var list struct{ Incidents []map[string]any }
	s.do("GET", "/v1/incidents", "", nil, &list)
	if len(list.Incidents) != 1 || list.Incidents[0]["status"] != "awaiting_approval" {
		t.Errorf("list = %+v, want the one incident awaiting approval", list.Incidents)
	}

	// Rejecting the recovery keeps the containment and deletes nothing.
	decision, _ := json.Marshal(map[string]string{"step": "approve-recovery", "decision": "reject", "approver": "carol", "comment": "keep it for forensics"})
	if code := s.do("POST", "/v1/incidents/"+first.IncidentID+"/decisions", "", decision, nil); code != http.StatusOK {
		t.Fatalf("reject: %d", code)
	}
	done := s.incident(first.IncidentID, time.Minute, hasStatus(incident.StatusCompleted))
	if got, _ := s.docker.Container(t.Context(), ctr.ID); !got.Paused || got.Name != ctr.Name {
		t.Errorf("after rejection: %+v, want the container isolated and in place", got)
	}
	// The report names the rule, the container and every step with its times.
	report := s.get("/v1/incidents/" + first.IncidentID + "/report?format=md")
	for _, want := range []string{"Terminal shell in container", ctr.ID[:12], ctr.Name, "| contain | docker:isolate | succeeded |",
		"| preserve | evidence:snapshot | succeeded |", "| verify | evidence:verify | succeeded |", "| approve-recovery | approval | failed |", "| rebuild | image:rebuild | skipped |",
		"| report | report:write | succeeded |", "Time to contain", "rejected by carol: keep it for forensics; containment kept"} {
		if !strings.Contains(report, want) {
			t.Errorf("report lacks %q:\n%s", want, report)
		}
	}
	var doc map[string]any
	if err := json.Unmarshal([]byte(s.get("/v1/incidents/"+first.IncidentID+"/report?format=json")), &doc); err != nil || doc["time_to_contain_seconds"] == nil {
		t.Errorf("json report: %v %v", err, doc["time_to_contain_seconds"])
	}
	reports := filepath.Join(s.cfg.DataDir, "reports")
	for _, format := range []string{"md", "json"} {
		if _, err := os.Stat(filepath.Join(reports, first.IncidentID+"."+format)); err != nil {
			t.Errorf("report:write left no %s file: %v", format, err)
		}
	}
	if !strings.HasPrefix(done.PlaybookDigest, "sha256:") || len(done.PlaybookDigest) != 71 || !strings.Contains(report, done.PlaybookDigest) {
		t.Errorf("playbook digest %q, want it on the incident and in its report", done.PlaybookDigest)
	}
	page, err := os.ReadFile(filepath.Join(reports, first.IncidentID+".html"))
	if n := bytes.Count(page, []byte(`<rect class="bar `)); err != nil || n != len(done.Steps) {
		t.Errorf("HTML report (%v): %d bars for %d steps", err, n, len(done.Steps))
	}

	// The incident's bundle checks offline against the collector's key,
	// touching no server, as an auditor checks it.
	key, err := evidence.LoadOrCreateKey(filepath.Join(s.cfg.DataDir, evidence.KeyFile))
	if err != nil {
		t.Fatal(err)
	}
	pub := key.Public().(ed25519.PublicKey)
	var bundle bytes.Buffer
	if err := store.Bundle(first.IncidentID, &bundle, pub, reports, evidence.Actor{Who: "e2e"}, "bundled by the test"); err != nil {
		t.Fatal(err)
	}
	ev, _, err := evidence.Unpack(&bundle, t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	if v, err := evidence.VerifyDir(t.Context(), ev, first.IncidentID, evidence.VerifyOptions{PublicKey: pub}); err != nil || !v.OK() || v.Verified < 5 {
		t.Errorf("the bundle verifies: %+v, %v", v.Problems, err)
	}
	if _, err := os.Stat(filepath.Join(filepath.Dir(ev), "report", first.IncidentID+".html")); err != nil {
		t.Errorf("the bundle lacks the HTML report: %v", err)
	}

	// Containment was scheduled on the workflow's own queue, where the
	// worker takes it with the workflow task, at the highest priority.
	var scheduled bool
	for _, e := range s.history(first.IncidentID) {
		if a := e.GetActivityTaskScheduledEventAttributes(); a.GetActivityType().GetName() == workflows.ActivityIsolate {
			scheduled = true
			if q, p := a.GetTaskQueue().GetName(), a.GetPriority().GetPriorityKey(); q != workflows.TaskQueue || p != workflows.PriorityContain {
				t.Errorf("containment scheduled on %q at priority %d, want %q at %d", q, p, workflows.TaskQueue, workflows.PriorityContain)
			}
		}
	}
	if !scheduled {
		t.Error("no containment in the history")
	}
	s.recordHistory(first.IncidentID, "falco-contained")
}

func TestBadRequestsStartNothing(t *testing.T) {
	s := startStack(t, "", func(c *config.Config) { c.API.Token = e2eToken })
	ctr := victim(t, s.docker, "e2e-bad-"+randomSuffix())
	good := falcoAlert(t, ctr.ID)
	huge := append([]byte(`{"rule":"r","priority":"Critical","time":"2026-01-01T00:00:00Z","output":"`), bytes.Repeat([]byte("a"), 1<<20)...)
	huge = append(huge, `"}`...)
	cases := []struct {
		name  string
		token string
		body  []byte
		code  int
		want  string
	}{
		{"no token", "", good, http.StatusUnauthorized, "missing or wrong bearer token"},
		{"wrong token", "nope", good, http.StatusUnauthorized, "missing or wrong bearer token"},
		{"malformed", e2eToken, []byte(`{"rule":`), http.StatusBadRequest, "falco alert: invalid JSON"},
		{"missing fields", e2eToken, []byte(`{"output":"x"}`), http.StatusBadRequest, "falco alert: missing rule, priority, time"},
		{"oversized", e2eToken, huge, http.StatusRequestEntityTooLarge, "alert body over 1048576 bytes"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			var answer map[string]string
			if code := s.do("POST", "/v1/alerts/falco", tc.token, tc.body, &answer); code != tc.code {
				t.Errorf("code = %d, want %d (%v)", code, tc.code, answer)
			}
			if !strings.Contains(answer["error"], tc.want) {
				t.Errorf("error = %q, want it to contain %q", answer["error"], tc.want)
			}
		})
	}
	var unmatched struct {
		Matched bool   `json:"matched"`
		Reason  string `json:"reason"`
	}
	noContainer := []byte(`{"rule":"Write below binary dir","priority":"Error","time":"2026-01-01T00:00:00Z","output_fields":{}}`)
	if code := s.do("POST", "/v1/alerts/falco", e2eToken, noContainer, &unmatched); code != http.StatusOK || unmatched.Matched || unmatched.Reason != "no playbook matches" {
		t.Errorf("unmatched alert: %d %v", code, unmatched)
	}
	var list struct{ Incidents []any }
	s.do("GET", "/v1/incidents", e2eToken, nil, &list)
	if len(list.Incidents) != 0 {
		t.Errorf("incidents = %v, want none", list.Incidents)
	}
	if c, _ := s.docker.Container(t.Context(), ctr.ID); c.Paused {
		t.Error("a refused alert paused the container")
	}
}

func TestApprovalThroughAPI(t *testing.T) {
	s := startStack(t, "testdata/playbooks", func(c *config.Config) { c.Approvals.Approvers = []string{"carol"} })
	ctr := victim(t, s.docker, "e2e-gated-"+randomSuffix())
	var o opened
	if code := s.do("POST", "/v1/alerts/falco", "", falcoAlert(t, ctr.ID), &o); code != http.StatusAccepted {
		t.Fatalf("alert: %d", code)
	}
	id := o.IncidentID
	s.incident(id, time.Minute, hasStatus(incident.StatusAwaitingApproval))
	decide := func(step, decision, approver string) (int, map[string]any) {
		var answer map[string]any
		body, _ := json.Marshal(map[string]string{"step": step, "decision": decision, "approver": approver, "comment": "e2e"})
		return s.do("POST", "/v1/incidents/"+id+"/decisions", "", body, &answer), answer
	}
	if code, a := decide("approve", "approve", "carol"); code != http.StatusForbidden {
		t.Errorf("carol (not on the step's list): %d %v, want 403", code, a)
	}
	if code, a := decide("contain", "approve", "alice"); code != http.StatusConflict {
		t.Errorf("decision on a step not waiting: %d %v, want 409", code, a)
	}
	if code, a := decide("approve", "approve", "alice"); code != http.StatusOK || a["approver"] != "alice" {
		t.Fatalf("alice approves: %d %v", code, a)
	}
	inc := s.incident(id, time.Minute, hasStatus(incident.StatusCompleted))
	if len(inc.Decisions) != 1 || inc.Steps[3].Status != incident.StepSucceeded {
		t.Errorf("decisions %+v, verify step %+v", inc.Decisions, inc.Steps[3])
	}
	if code, _ := decide("approve", "reject", "alice"); code != http.StatusConflict {
		t.Errorf("decision after the gate: %d, want 409", code)
	}
	s.recordHistory(id, "approval-approved")
	var missing map[string]any
	if code := s.do("GET", "/v1/incidents/docker-nohost-000000000000.00000000-0000-0000-0000-000000000000", "", nil, &missing); code != http.StatusNotFound {
		t.Errorf("unknown incident: %d %v, want 404", code, missing)
	}
}

func randomSuffix() string {
	return strings.ReplaceAll(time.Now().Format("150405.000000"), ".", "")
}

// e2eToken is the legacy API token of the tests that set one: 32 bytes or
// more, as quell requires.
const e2eToken = "quell-e2e-token-0123456789abcdef0123"
