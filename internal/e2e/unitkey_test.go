package e2e

import (
	"bytes"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/quell-ir/quell/internal/incident"
)

// unitPlaybooks contain what Falco or Alertmanager alerts name.
const unitPlaybooks = `
name: falco-contain
match: {source: falco, target: docker}
steps:
  - {id: contain, kind: docker:isolate}
---
name: am-contain
match: {source: alertmanager, target: docker}
steps:
  - {id: contain, kind: docker:isolate}
`

// TestOneContainerOneIncident: a container alerted by its 12-digit ID, by
// its full ID in upper case, and by its name alone (Alertmanager's name
// label) while its incident is open gets one incident; a name no container
// has, and IDs that are paths or commands, are refused and start nothing.
func TestOneContainerOneIncident(t *testing.T) {
	dir := t.TempDir()
	for i, doc := range bytes.Split([]byte(unitPlaybooks), []byte("---\n")) {
		if err := os.WriteFile(filepath.Join(dir, fmt.Sprintf("p%d.yaml", i)), doc, 0o600); err != nil {
			t.Fatal(err)
		}
	}
	s := startStack(t, dir, nil)
	ctr := victim(t, s.docker, "e2e-unit-"+randomSuffix())

	var first opened
	if code := s.do("POST", "/v1/alerts/falco", "", falcoAlert(t, ctr.ID), &first); code != http.StatusAccepted {
		t.Fatalf("by 12-digit id: %d", code)
	}
	full := bytes.ReplaceAll(falcoAlert(t, ctr.ID), []byte(ctr.ID[:12]), bytes.ToUpper([]byte(ctr.ID)))
	var second opened
	if code := s.do("POST", "/v1/alerts/falco", "", full, &second); code != http.StatusAccepted || second.IncidentID != first.IncidentID {
		t.Errorf("by full upper-case id: %d %+v, want incident %s", code, second, first.IncidentID)
	}
	byName := func(name string) []byte {
		return []byte(fmt.Sprintf(`{"version":"4","status":"firing","alerts":[{"status":"firing",
			"labels":{"alertname":"CryptoMiner","severity":"critical","name":%q,"instance":"falco-xczjd:9100"},
			"startsAt":"2026-11-23T01:00:00Z"}]}`, name))
	}
	var third struct {
		Alerts []opened `json:"alerts"`
	}
	if code := s.do("POST", "/v1/alerts/alertmanager", "", byName(ctr.Name), &third); code != http.StatusAccepted ||
		len(third.Alerts) != 1 || third.Alerts[0].IncidentID != first.IncidentID {
		t.Errorf("by name: %d %+v, want incident %s", code, third, first.IncidentID)
	}
	inc := s.incident(first.IncidentID, 30*time.Second, func(i incident.Incident) bool { return i.AlertsCount == 3 })
	if inc.AlertsCount != 3 {
		t.Errorf("alerts_count = %d, want 3", inc.AlertsCount)
	}

	if code := s.do("POST", "/v1/alerts/alertmanager", "", byName("e2e-no-such-container-"+randomSuffix()), nil); code != http.StatusBadRequest {
		t.Errorf("a name no container has: %d, want 400", code)
	}
	for _, bad := range []string{"../../etc", "$(id)", "../networks/x", ctr.ID[:4]} {
		body := bytes.ReplaceAll(falcoAlert(t, ctr.ID), []byte(`"container.id":"`+ctr.ID[:12]+`"`), []byte(fmt.Sprintf(`"container.id":%q`, bad)))
		if code := s.do("POST", "/v1/alerts/falco", "", body, nil); code != http.StatusBadRequest {
			t.Errorf("container id %q: %d, want 400", bad, code)
		}
	}
	var list struct{ Incidents []incident.Summary }
	s.do("GET", "/v1/incidents", "", nil, &list)
	if len(list.Incidents) != 1 {
		t.Errorf("%d incidents, want 1: %+v", len(list.Incidents), list.Incidents)
	}
}
