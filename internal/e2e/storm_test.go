package e2e

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	enumspb "go.temporal.io/api/enums/v1"

	"github.com/quell-ir/quell/internal/config"
	"github.com/quell-ir/quell/internal/incident"
	"github.com/quell-ir/quell/workflows"
)

// holdPlaybook takes every Falco alert into an incident that waits for an
// approval: a storm's alerts all join one incident that does nothing else.
const holdPlaybook = `name: hold
match: {source: falco, target: docker, min_priority: debug, rules: ["*"], required_fields: [target.container_id]}
steps:
  - {id: hold, kind: approval, timeout: 1h, with: {approvers: [nobody]}}
`

// TestAlertStormOnOneUnitIsRecordedInBatches sends many alerts about one
// unit at once: every one is answered 202 into the same incident, exactly
// one opened it, the incident counts them all, and Temporal recorded them
// in fewer signals than alerts.
func TestAlertStormOnOneUnitIsRecordedInBatches(t *testing.T) {
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "hold.yaml"), []byte(holdPlaybook), 0o644); err != nil {
		t.Fatal(err)
	}
	s := startStack(t, dir, nil)
	body := falcoAlert(t, "5a1b2c3d4e5f60718293a4b5c6d7e8f9")
	const alerts, clients = 600, 40
	id := storm(t, s, body, alerts, clients, 1)
	inc := s.incident(id, 30*time.Second, func(i incident.Incident) bool { return i.AlertsCount >= alerts })
	if inc.AlertsCount != alerts || len(inc.Alerts) != incident.MaxAlerts {
		t.Errorf("incident counts %d alerts and keeps %d, want %d and %d", inc.AlertsCount, len(inc.Alerts), alerts, incident.MaxAlerts)
	}

	wfID, runID, _ := strings.Cut(id, ".")
	iter := s.client.GetWorkflowHistory(t.Context(), wfID, runID, false, enumspb.HISTORY_EVENT_FILTER_TYPE_ALL_EVENT)
	signals, carried := 0, 0
	for iter.HasNext() {
		e, err := iter.Next()
		if err != nil {
			t.Fatal(err)
		}
		a := e.GetWorkflowExecutionSignaledEventAttributes()
		if a == nil || a.GetSignalName() != workflows.SignalAlerts {
			continue
		}
		signals++
		var refs []incident.AlertRef
		if err := json.Unmarshal(a.GetInput().GetPayloads()[0].GetData(), &refs); err != nil {
			t.Fatal(err)
		}
		carried += len(refs)
	}
	if carried != alerts || signals >= alerts {
		t.Errorf("%d signals carried %d alerts, want %d alerts in fewer signals", signals, carried, alerts)
	}
	t.Logf("%d alerts from %d clients in %d signals", alerts, clients, signals)
}

// storm posts the alert body alerts times from clients at once and returns
// the one incident every answer names; it fails the test unless every
// answer is 202 and opens of them opened the incident (1 for a new unit,
// 0 for one whose incident is open).
func storm(t *testing.T, s *stack, body []byte, alerts, clients, opens int) string {
	t.Helper()
	answers := make(chan opened, alerts)
	errs := make(chan error, alerts)
	var wg sync.WaitGroup
	next := make(chan struct{}, alerts)
	for range alerts {
		next <- struct{}{}
	}
	close(next)
	for range clients {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for range next {
				resp, err := http.Post(s.url+"/v1/alerts/falco", "application/json", bytes.NewReader(body))
				if err != nil {
					errs <- err
					continue
				}
				raw, err := io.ReadAll(resp.Body)
				resp.Body.Close()
				var o opened
				if err == nil {
					err = json.Unmarshal(raw, &o)
				}
				if resp.StatusCode != http.StatusAccepted || err != nil {
					errs <- fmt.Errorf("answer %d %s (%v)", resp.StatusCode, raw, err)
					continue
				}
				answers <- o
			}
		}()
	}
	wg.Wait()
	close(answers)
	close(errs)
	if n := len(errs); n > 0 {
		t.Errorf("%d of %d alerts not accepted; the first: %v", n, alerts, <-errs)
	}
	ids, opening := map[string]int{}, 0
	for o := range answers {
		ids[o.IncidentID]++
		if !o.Deduplicated {
			opening++
		}
	}
	if len(ids) != 1 || opening != opens {
		t.Fatalf("alerts went to incidents %v, %d of them opening one; want one incident, opened %d times", ids, opening, opens)
	}
	var id string
	for id = range ids {
	}
	return id
}

// TestStormPastTheHistoryGoesToATally sends one unit's incident more
// alerts than its history takes (alert_history set low), in waves until
// its history has passed the bound: every one is answered 202 into the
// same incident, which counts them all exactly while its own history stays
// near the bound, because its alert tally took the rest.
func TestStormPastTheHistoryGoesToATally(t *testing.T) {
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "hold.yaml"), []byte(holdPlaybook), 0o644); err != nil {
		t.Fatal(err)
	}
	// Low: through the inbox, thousands of alerts can reach the incident
	// in a few dozen events of history, and the tally starts only when an
	// alert finds the history past the bound.
	const history = 20
	s := startStack(t, dir, func(c *config.Config) { c.Incidents.AlertHistory = history })
	body := falcoAlert(t, "6b2c3d4e5f60718293a4b5c6d7e8f901")
	const wave, clients = 2000, 40
	id := storm(t, s, body, wave, clients, 1)
	wfID, runID, _ := strings.Cut(id, ".")
	length := func() int64 {
		desc, err := s.client.DescribeWorkflowExecution(t.Context(), wfID, runID)
		if err != nil {
			t.Fatal(err)
		}
		return desc.GetWorkflowExecutionInfo().GetHistoryLength()
	}
	// Every wave the incident counts grows its history by at least a
	// signal and a workflow task, so the bound is passed in a few; the
	// wave after that starts the tally.
	alerts := wave
	inc := s.incident(id, 30*time.Second, func(i incident.Incident) bool { return i.AlertsCount >= alerts })
	for waves := 1; inc.AlertTally == ""; waves++ {
		if waves > history {
			t.Fatalf("after %d waves (%d alerts, history %d events) the incident has no tally", waves, alerts, length())
		}
		storm(t, s, body, wave, clients, 0)
		alerts += wave
		inc = s.incident(id, 30*time.Second, func(i incident.Incident) bool { return i.AlertsCount >= alerts })
	}
	// And a last wave goes through the tally.
	storm(t, s, body, wave, clients, 0)
	alerts += wave
	inc = s.incident(id, 30*time.Second, func(i incident.Incident) bool { return i.AlertsCount >= alerts })
	if inc.AlertsCount != alerts || inc.AlertTally != workflows.TallyID(id) || inc.LastAlert == nil {
		t.Errorf("incident counts %d alerts, tally %q, last %v; want %d, %q and the last kept",
			inc.AlertsCount, inc.AlertTally, inc.LastAlert, alerts, workflows.TallyID(id))
	}

	// Past the bound, intake finds the tally within probeEvery writes,
	// and the incident passes on what reaches it meanwhile, the signals
	// waiting together in one. (Before both, a full e2e run saw 1,205
	// for 6,000 alerts; with them, 96 to 124 here for 8,000.)
	events := length()
	if events > 10*history {
		t.Errorf("the incident's history grew to %d events; want it near %d", events, history)
	}
	t.Logf("%d alerts: the incident's history has %d events, the tally counts the rest", alerts, events)
}

// TestTerminatedIncidentIsToldSo: an incident awaiting approval whose
// workflow an operator terminates in Temporal says terminated in its own
// state and in the list alike, and its report is still served.
func TestTerminatedIncidentIsToldSo(t *testing.T) {
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "hold.yaml"), []byte(holdPlaybook), 0o644); err != nil {
		t.Fatal(err)
	}
	s := startStack(t, dir, nil)
	id := storm(t, s, falcoAlert(t, "7c3d4e5f60718293a4b5c6d7e8f90112"), 1, 1, 1)
	s.incident(id, 30*time.Second, hasStatus(incident.StatusAwaitingApproval))
	wfID, runID, _ := strings.Cut(id, ".")
	if err := s.client.TerminateWorkflow(t.Context(), wfID, runID, "operator: ended by hand"); err != nil {
		t.Fatal(err)
	}
	inc := s.incident(id, 30*time.Second, hasStatus(incident.StatusTerminated))
	if inc.ClosedAt == nil || !strings.Contains(inc.Resolution, "terminated outside quell's playbook") {
		t.Errorf("terminated incident: closed %v, resolution %q", inc.ClosedAt, inc.Resolution)
	}
	var list struct{ Incidents []incident.Summary }
	for deadline := time.Now().Add(10 * time.Second); time.Now().Before(deadline); time.Sleep(100 * time.Millisecond) {
		s.do("GET", "/v1/incidents", "", nil, &list)
		if len(list.Incidents) == 1 && list.Incidents[0].Status == incident.StatusTerminated {
			break
		}
	}
	if len(list.Incidents) != 1 || list.Incidents[0].Status != incident.StatusTerminated {
		t.Errorf("list = %+v, want the incident terminated, as its own state says", list.Incidents)
	}
	if md := s.get("/v1/incidents/" + id + "/report?format=md"); !strings.Contains(md, "terminated") {
		t.Errorf("report of the terminated incident:\n%s", md)
	}
}
