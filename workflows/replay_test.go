package workflows

import (
	"path/filepath"
	"testing"

	"go.temporal.io/sdk/worker"
	"go.temporal.io/sdk/workflow"
)

// TestReplayRecordedHistories replays histories recorded from real runs on
// the embedded Temporal server (internal/e2e, QUELL_RECORD_HISTORIES=1). A
// change to IncidentResponse that would break running incidents fails here;
// record new histories only for a deliberate, versioned change, keeping
// the old ones: v1-* were recorded when each alert came in a signal of its
// own and every activity ran on one task queue; v2-* when containment ran
// on a queue of its own.
func TestReplayRecordedHistories(t *testing.T) {
	files, err := filepath.Glob("testdata/*.json")
	if err != nil || len(files) == 0 {
		t.Fatalf("no recorded histories in testdata: %v", err)
	}
	for _, f := range files {
		t.Run(filepath.Base(f), func(t *testing.T) {
			r := worker.NewWorkflowReplayer()
			r.RegisterWorkflowWithOptions(incidentResponse(t), workflow.RegisterOptions{Name: IncidentWorkflow})
			if err := r.ReplayWorkflowHistoryFromJSONFile(nil, f); err != nil {
				t.Fatalf("replay %s: %v", f, err)
			}
		})
	}
}
