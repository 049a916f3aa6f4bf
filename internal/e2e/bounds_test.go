package e2e

import (
	"bytes"
	"encoding/json"
	"net/http"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/quell-ir/quell/internal/api"
	"github.com/quell-ir/quell/internal/config"
	"github.com/quell-ir/quell/internal/incident"
)

// TestHugeAlertsKeepTheIncidentReadable: two alerts, each just under the
// body limit with attacker-written text of almost 1 MiB, join an open
// incident; it stays readable and decidable. A Trivy report of 1 MiB is recorded or refused with 413, never
// answered 503 (which tells senders to retry for ever).
func TestHugeAlertsKeepTheIncidentReadable(t *testing.T) {
	s := startStack(t, "", func(c *config.Config) { c.Approvals.Approvers = []string{"carol"} })
	ctr := victim(t, s.docker, "e2e-huge-"+randomSuffix())
	var o opened
	if code := s.do("POST", "/v1/alerts/falco", "", falcoAlert(t, ctr.ID), &o); code != http.StatusAccepted {
		t.Fatalf("alert: %d", code)
	}
	cleanupIncident(t, s.docker, &o.IncidentID)
	s.incident(o.IncidentID, time.Minute, hasStatus(incident.StatusAwaitingApproval))

	for i := range 2 {
		var a map[string]any
		if err := json.Unmarshal(falcoAlert(t, ctr.ID), &a); err != nil {
			t.Fatal(err)
		}
		long := strings.Repeat("A", api.MaxAlertBytes-4096)
		a["output"] = long
		a["output_fields"].(map[string]any)["proc.cmdline"] = "sh -c " + long[:200<<10]
		body, _ := json.Marshal(a)
		if len(body) > api.MaxAlertBytes {
			body = bytes.Replace(body, []byte(long[:300<<10]), nil, 1)
		}
		if code := s.do("POST", "/v1/alerts/falco", "", body, nil); code != http.StatusAccepted {
			t.Fatalf("huge alert %d (%d bytes): %d", i, len(body), code)
		}
	}
	inc := s.incident(o.IncidentID, 30*time.Second, func(i incident.Incident) bool { return i.AlertsCount == 3 })
	if inc.AlertsCount != 3 {
		t.Fatalf("alerts_count = %d, want 3", inc.AlertsCount)
	}
	body, _ := json.Marshal(map[string]string{"step": "approve-recovery", "decision": "reject", "approver": "carol"})
	if code := s.do("POST", "/v1/incidents/"+o.IncidentID+"/decisions", "", body, nil); code != http.StatusOK {
		t.Fatalf("decision on the incident: %d", code)
	}
	s.incident(o.IncidentID, time.Minute, hasStatus(incident.StatusCompleted))

	b, err := os.ReadFile("../../../shared/samples/trivy_integration-testdata_alpine-39-high-critical.json.golden")
	if err != nil {
		t.Fatal(err)
	}
	var doc map[string]any
	if err := json.Unmarshal(b, &doc); err != nil {
		t.Fatal(err)
	}
	doc["Padding"] = strings.Repeat("x", api.MaxAlertBytes-len(b)-512)
	big, _ := json.Marshal(doc)
	code := s.do("POST", "/v1/alerts/trivy", "", big, nil)
	if code == http.StatusServiceUnavailable || (code != http.StatusRequestEntityTooLarge && code != http.StatusAccepted && code != http.StatusOK) {
		t.Errorf("a %d-byte Trivy report: %d, want 413 or recorded", len(big), code)
	}
}
