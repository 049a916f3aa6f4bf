package workflows

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"go.temporal.io/sdk/workflow"

	"github.com/quell-ir/quell/internal/alert"
	"github.com/quell-ir/quell/internal/incident"
)

// TestStormGoesToATally: once the incident's history is long its alerts go
// to a tally that continues as new every few signals, and the incident's
// result counts every alert exactly, repeats once, with a bounded
// timeline.
func TestStormGoesToATally(t *testing.T) {
	f := newFixture(t)
	f.isolates()
	f.env.RegisterWorkflowWithOptions(AlertTally, workflow.RegisterOptions{Name: TallyWorkflow})
	opener := testAlert()
	opener.IdempotencyKey = "key-opener"
	f.alerts(0, opener)
	const batches, perBatch = 40, 30
	for b := range batches {
		as := make([]alert.Alert, perBatch)
		for i := range as {
			as[i] = testAlert()
			as[i].IdempotencyKey = fmt.Sprintf("key-%d-%d", b, i)
		}
		as[0].IdempotencyKey = "key-opener" // a repeat in every batch
		f.alerts(time.Duration(b+1)*time.Second, as...)
		if b == 10 {
			// The incident's history has grown long.
			f.env.RegisterDelayedCallback(func() { f.env.SetCurrentHistoryLength(DefaultAlertHistory) }, time.Duration(b+1)*time.Second-time.Millisecond)
		}
	}
	pb := playbook(t, `
name: contain-only
match: {source: falco}
steps:
  - {id: contain, kind: docker:isolate}
`)
	f.env.ExecuteWorkflow(incidentResponse(f.t), IncidentInput{Alert: opener, Playbook: pb, DedupWindow: 10 * time.Minute, TallyRunSignals: 3})
	if err := f.env.GetWorkflowError(); err != nil {
		t.Fatal(err)
	}
	var inc incident.Incident
	if err := f.env.GetWorkflowResult(&inc); err != nil {
		t.Fatal(err)
	}
	want := 1 + batches*(perBatch-1)
	if inc.AlertsCount != want || inc.AlertsRepeated != batches {
		t.Errorf("alerts_count = %d, repeated %d; want %d and %d", inc.AlertsCount, inc.AlertsRepeated, want, batches)
	}
	if inc.AlertTally != TallyID(inc.ID) {
		t.Errorf("alert_tally = %q; want %q", inc.AlertTally, TallyID(inc.ID))
	}
	if len(inc.Alerts) != incident.MaxAlerts || inc.LastAlert == nil || inc.LastAlert.IdempotencyKey != fmt.Sprintf("key-%d-%d", batches-1, perBatch-1) {
		t.Errorf("kept %d alerts, last %+v; want %d and the last sent", len(inc.Alerts), inc.LastAlert, incident.MaxAlerts)
	}
	joined := messages(inc, "alert.joined")
	if len(joined) != incident.MaxAlerts { // joins 2..100, then the 1000th
		t.Errorf("%d joins on the timeline; want %d", len(joined), incident.MaxAlerts)
	}
	if last := joined[len(joined)-1]; !strings.HasPrefix(last, "alert 1000:") {
		t.Errorf("last join on the timeline %q; want the 1000th", last)
	}
	if got := messages(inc, "alerts.tally"); len(got) != 1 || !strings.Contains(got[0], "counts them") {
		t.Errorf("tally on the timeline: %q", got)
	}
}

func TestListedCounts(t *testing.T) {
	for n, want := range map[int]bool{1: true, 100: true, 101: false, 999: false, 1000: true, 2000: false, 10000: true, 100000: true, 100001: false} {
		if got := listed(n); got != want {
			t.Errorf("listed(%d) = %v; want %v", n, got, want)
		}
	}
}

// messages are the messages of the timeline entries of one type.
func messages(inc incident.Incident, typ string) []string {
	var out []string
	for _, e := range inc.Timeline {
		if e.Type == typ {
			out = append(out, e.Message)
		}
	}
	return out
}
