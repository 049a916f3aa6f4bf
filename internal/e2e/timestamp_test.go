package e2e

import (
	"encoding/json"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/quell-ir/quell/internal/config"
	"github.com/quell-ir/quell/internal/incident"
	"github.com/quell-ir/quell/internal/tsa/tsatest"
)

const preserveThenVerify = `name: preserve-then-verify
match: {source: falco, target: docker, min_priority: debug, rules: ["*"], required_fields: [target.container_id]}
steps:
  - {id: preserve, kind: evidence:snapshot, with: {export: false, commit: false, logs: true, processes: false}}
  - {id: wait, kind: approval, timeout: 10m}
  - {id: verify, kind: evidence:verify}
  - {id: report, kind: report:write}
`

// TestTimestampAuthorityDownThenBack: with the real RFC 3161 authority
// down when the evidence is sealed, the incident goes on, the incident and
// its live report say the timestamp is missing; once the authority is
// back, the verify step adds it and the final report names its time.
func TestTimestampAuthorityDownThenBack(t *testing.T) {
	authority := tsatest.Start(t)
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "pb.yaml"), []byte(preserveThenVerify), 0o644); err != nil {
		t.Fatal(err)
	}
	s := startStack(t, dir, func(c *config.Config) {
		c.Approvals.Approvers = []string{"carol"}
		c.Evidence.TimestampAuthority = config.TimestampAuthority{URL: authority.URL, Timeout: 2 * time.Second}
	})
	ctr := victim(t, s.docker, "e2e-tsa-"+randomSuffix())
	authority.Stop()
	var o opened
	if code := s.do("POST", "/v1/alerts/falco", "", falcoAlert(t, ctr.ID), &o); code != http.StatusAccepted {
		t.Fatalf("alert: %d", code)
	}
	inc := s.incident(o.IncidentID, time.Minute, hasStatus(incident.StatusAwaitingApproval))
	if inc.Evidence == nil || inc.Evidence.SignedBy == "" || inc.Evidence.TimestampedAt != nil || !strings.Contains(inc.Evidence.TimestampMissing, "unreachable") {
		t.Fatalf("evidence %+v, want it signed, its timestamp missing and why", inc.Evidence)
	}
	if md := s.get("/v1/incidents/" + o.IncidentID + "/report?format=md"); !strings.Contains(md, "timestamp missing (") {
		t.Errorf("the live report does not say the timestamp is missing:\n%s", md)
	}

	authority.Restart(t)
	decision, _ := json.Marshal(map[string]string{"step": "wait", "decision": "approve", "approver": "carol"})
	if code := s.do("POST", "/v1/incidents/"+o.IncidentID+"/decisions", "", decision, nil); code != http.StatusOK {
		t.Fatalf("approve: %d", code)
	}
	inc = s.incident(o.IncidentID, time.Minute, hasStatus(incident.StatusCompleted))
	if inc.Evidence == nil || inc.Evidence.TimestampedAt == nil || inc.Evidence.TimestampMissing != "" || time.Since(*inc.Evidence.TimestampedAt) > time.Minute {
		t.Fatalf("evidence %+v, want the timestamp added once the authority was back", inc.Evidence)
	}
	report, err := os.ReadFile(filepath.Join(s.cfg.DataDir, "reports", o.IncidentID+".md"))
	if err != nil || !strings.Contains(string(report), "by an RFC 3161 authority") {
		t.Errorf("final report (%v) does not name the timestamp:\n%s", err, report)
	}
}
