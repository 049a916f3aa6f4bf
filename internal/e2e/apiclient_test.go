package e2e

import (
	"errors"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/quell-ir/quell/internal/apiclient"
	"github.com/quell-ir/quell/internal/config"
	"github.com/quell-ir/quell/internal/incident"
)

const approveThenReport = `name: approve-then-report
match: {source: falco, target: docker, min_priority: debug, rules: ["*"], required_fields: [target.container_id]}
steps:
  - {id: approve, kind: approval, timeout: 10m}
  - {id: report, kind: report:write}
`

// TestAPIClient is what quell incident and quell report do, against the
// real stack: list, show, watch until the incident rests at its
// approval, approve (which moves the workflow on), the report; and the
// errors a person at a terminal meets, each named: an unknown incident, a
// refused credential, a server that is not there.
func TestAPIClient(t *testing.T) {
	const token = "quell-e2e-cli-token-0123456789abcdef0123"
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "pb.yaml"), []byte(approveThenReport), 0o644); err != nil {
		t.Fatal(err)
	}
	s := startStack(t, dir, func(c *config.Config) {
		c.Approvals.Approvers = []string{"admin"}
		c.API.Token = token
	})
	s.token = token
	var o opened
	if code := s.do("POST", "/v1/alerts/falco", token, falcoAlert(t, "8d4e5f60718293a4b5c6d7e8f9011223"), &o); code != http.StatusAccepted {
		t.Fatalf("alert: %d", code)
	}
	c, err := apiclient.New(s.url, token)
	if err != nil {
		t.Fatal(err)
	}
	var seen []string
	inc, err := c.Watch(t.Context(), o.IncidentID, 50*time.Millisecond, func(inc incident.Incident) { seen = append(seen, inc.Status) })
	if err != nil || inc.Status != incident.StatusAwaitingApproval || len(seen) == 0 {
		t.Fatalf("watch = %s, %v (saw %v), want it to rest awaiting approval", inc.Status, err, seen)
	}
	list, err := c.List(t.Context())
	if err != nil || len(list) != 1 || list[0].ID != o.IncidentID {
		t.Errorf("list = %+v, %v", list, err)
	}
	d, err := c.Decide(t.Context(), o.IncidentID, incident.DecisionRequest{Step: "approve", Decision: "approve", Comment: "from the terminal"})
	if err != nil || d.Approver != "admin" {
		t.Fatalf("approve = %+v, %v; want it decided as the token's principal", d, err)
	}
	if inc, err = c.Watch(t.Context(), o.IncidentID, 50*time.Millisecond, func(incident.Incident) {}); err != nil || inc.Status != incident.StatusCompleted {
		t.Errorf("after the approval: %s, %v; want the workflow moved on to the end", inc.Status, err)
	}
	page, err := c.Report(t.Context(), o.IncidentID, "html")
	if err != nil || !strings.HasPrefix(string(page), "<!DOCTYPE html>") {
		t.Errorf("html report: %.80s, %v", page, err)
	}

	if _, err := c.Get(t.Context(), "docker-falco-x-000000000000.nope"); !errors.Is(err, apiclient.ErrNotFound) {
		t.Errorf("unknown incident: %v, want ErrNotFound", err)
	}
	bad, _ := apiclient.New(s.url, "quell-e2e-wrong-token-0123456789abcdef")
	if _, err := bad.List(t.Context()); !errors.Is(err, apiclient.ErrDenied) || !strings.Contains(err.Error(), "QUELL_TOKEN") {
		t.Errorf("wrong token: %v, want ErrDenied saying how to set one", err)
	}
	gone, _ := apiclient.New("http://127.0.0.1:1", token)
	if _, err := gone.List(t.Context()); !errors.Is(err, apiclient.ErrUnreachable) {
		t.Errorf("no server: %v, want ErrUnreachable", err)
	}
}
