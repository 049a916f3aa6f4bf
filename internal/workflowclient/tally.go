package workflowclient

import (
	"context"
	"errors"
	"log/slog"
	"sync"

	commonpb "go.temporal.io/api/common/v1"
	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/api/serviceerror"
	"go.temporal.io/api/workflowservice/v1"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/converter"

	"github.com/quell-ir/quell/internal/incident"
	"github.com/quell-ir/quell/workflows"
)

// An incident whose history grew long hands its alerts to an alert tally
// (see workflows.AlertTally). Intake finds the tally by looking for it
// every probeEvery writes to the incident, and from then on signals it
// instead; the incident passes on whatever still reaches it meanwhile, at
// a few events of its history for each write. A look is one read, cheap
// beside the writes it saves.
const probeEvery = 8

// tallies is what intake knows of the incidents' tallies: how many writes
// each unit's incident took since intake last looked, and the tally to
// write to once found. Its zero value is ready.
type tallies struct {
	mu     sync.Mutex
	writes map[string]int        // unit workflow ID → writes since the last look
	found  map[string]tallyRoute // unit workflow ID → its incident's tally
}

// tallyRoute names an incident's tally.
type tallyRoute struct {
	id    string // the tally's workflow ID
	runID string // the incident's run ID
}

// maxTracked bounds the units tallies tracks: past it, it forgets them all
// and looks again.
const maxTracked = 10000

func (t *tallies) route(wfID string) tallyRoute {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.found[wfID]
}

func (t *tallies) set(wfID string, r tallyRoute) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if r.id == "" {
		delete(t.found, wfID)
		return
	}
	if t.found == nil || len(t.found) >= maxTracked {
		t.found = map[string]tallyRoute{}
	}
	t.found[wfID] = r
}

// wrote counts a write to wfID's incident and reports whether it is time
// to look for its tally.
func (t *tallies) wrote(wfID string) bool {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.writes == nil || len(t.writes) >= maxTracked {
		t.writes = map[string]int{}
	}
	t.writes[wfID]++
	if t.writes[wfID] < probeEvery {
		return false
	}
	t.writes[wfID] = 0
	return true
}

// signalTally records a batch in the unit's tally, if intake knows one,
// and returns the incident's run ID; "" when there is none, it has closed
// or it did not answer, and the batch goes to the incident.
func (s *Service) signalTally(ctx context.Context, wfID string, refs []incident.AlertRef, reqID string) string {
	r := s.tallies.route(wfID)
	if r.id == "" {
		return ""
	}
	input, err := converter.GetDefaultDataConverter().ToPayloads(refs)
	if err == nil {
		_, err = s.Client.WorkflowService().SignalWorkflowExecution(ctx, &workflowservice.SignalWorkflowExecutionRequest{
			Namespace:         s.Namespace,
			WorkflowExecution: &commonpb.WorkflowExecution{WorkflowId: r.id},
			SignalName:        workflows.SignalAlerts,
			Input:             input,
			Identity:          "quell-api",
			RequestId:         reqID,
		})
	}
	var notFound *serviceerror.NotFound
	if errors.As(err, &notFound) {
		s.tallies.set(wfID, tallyRoute{})
		return ""
	}
	if err != nil {
		// The incident takes them and passes them on.
		slog.Warn("alert tally did not take alerts; signalling the incident", "tally", r.id, "err", err)
		return ""
	}
	return r.runID
}

// probeTally looks for the tally of the incident run and, when it runs,
// routes the unit's alerts to it.
func (s *Service) probeTally(wfID, runID string) {
	ctx, cancel := context.WithTimeout(context.Background(), lookupTimeout)
	defer cancel()
	id := workflows.TallyID(wfID + "." + runID)
	desc, err := s.Client.DescribeWorkflowExecution(ctx, id, "")
	var notFound *serviceerror.NotFound
	switch {
	case errors.As(err, &notFound):
		// No tally yet: the incident counts its alerts itself.
	case err != nil:
		slog.Warn("could not look for the alert tally; the incident passes its alerts on", "tally", id, "err", err)
	case desc.GetWorkflowExecutionInfo().GetStatus() == enumspb.WORKFLOW_EXECUTION_STATUS_RUNNING:
		s.tallies.set(wfID, tallyRoute{id: id, runID: runID})
	}
}

// WithTally returns a running incident with its tally's record, when it
// has one; the incident's own when the tally cannot answer.
func WithTally(ctx context.Context, c client.Client, inc incident.Incident) incident.Incident {
	if inc.AlertTally == "" {
		return inc
	}
	v, err := c.QueryWorkflow(ctx, inc.AlertTally, "", workflows.QueryTally)
	if err != nil {
		return inc
	}
	var t workflows.Tally
	if err := v.Get(&t); err != nil {
		return inc
	}
	return workflows.WithTally(inc, t)
}
