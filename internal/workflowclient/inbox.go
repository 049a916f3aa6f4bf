package workflowclient

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"strconv"
	"sync"
	"time"

	commonpb "go.temporal.io/api/common/v1"
	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/api/serviceerror"
	taskqueuepb "go.temporal.io/api/taskqueue/v1"
	"go.temporal.io/api/workflowservice/v1"
	"go.temporal.io/sdk/converter"

	"github.com/quell-ir/quell/activities"
	"github.com/quell-ir/quell/internal/incident"
	"github.com/quell-ir/quell/playbooks"
	"github.com/quell-ir/quell/workflows"
)

// Alerts about a unit whose incident intake has just seen open go to the
// unit's alert inbox (see workflows.AlertInbox), which takes many units'
// alerts in one write; alerts about any other unit go to its incident
// directly, so that the first alert opens the incident at once.
//
// "Just" is inboxTrust: past it, the unit's next alert goes to the
// incident again, and its answer says whether it is still open. An
// incident that closes within inboxTrust of being seen open gets its last
// alerts in a new incident, opened by the inbox; their answers named the
// one seen open.
const inboxTrust = 2 * time.Second

// maxInboxSignal bounds the payload of one signal to an inbox; a batch
// larger goes in several.
const maxInboxSignal = 1536 << 10

// openRuns is what intake knows of the incidents it saw open: a unit's
// incident workflow ID, its run ID and when. Its zero value is ready.
type openRuns struct {
	mu   sync.Mutex
	seen map[string]openRun
}

type openRun struct {
	runID string
	at    time.Time
}

// recent returns the run of wfID's incident if intake saw it open within
// inboxTrust of now.
func (o *openRuns) recent(wfID string, now time.Time) (string, bool) {
	o.mu.Lock()
	defer o.mu.Unlock()
	r, ok := o.seen[wfID]
	if !ok || now.Sub(r.at) >= inboxTrust {
		return "", false
	}
	return r.runID, true
}

// saw records that wfID's incident run was open at now.
func (o *openRuns) saw(wfID, runID string, now time.Time) {
	o.mu.Lock()
	defer o.mu.Unlock()
	if o.seen == nil || len(o.seen) >= maxTracked {
		o.seen = map[string]openRun{}
	}
	o.seen[wfID] = openRun{runID: runID, at: now}
}

// boxed is an alert waiting for its inbox's next signal.
type boxed struct {
	unit string
	queued
}

// signalInbox records a batch of alerts, of any units, in one inbox: in
// one signal, or in several when the batch is too large for one.
func (s *Service) signalInbox(ctx context.Context, inboxID string, batch []boxed) (batchOpened, error) {
	dc := converter.GetDefaultDataConverter()
	signal, err := dc.ToPayloads(groupByUnit(batch))
	if err != nil {
		return batchOpened{}, fmt.Errorf("encode alerts: %w", err)
	}
	if signal.Size() > maxInboxSignal && len(batch) > 1 {
		half := len(batch) / 2
		if _, err := s.signalInbox(ctx, inboxID, batch[:half]); err != nil {
			return batchOpened{}, err
		}
		return s.signalInbox(ctx, inboxID, batch[half:])
	}
	input, err := dc.ToPayloads(workflows.Inbox{})
	if err != nil {
		return batchOpened{}, fmt.Errorf("encode inbox input: %w", err)
	}
	req := &workflowservice.SignalWithStartWorkflowExecutionRequest{
		Namespace:             s.Namespace,
		WorkflowId:            inboxID,
		WorkflowType:          &commonpb.WorkflowType{Name: workflows.InboxWorkflow},
		TaskQueue:             &taskqueuepb.TaskQueue{Name: workflows.TaskQueue, Kind: enumspb.TASK_QUEUE_KIND_NORMAL},
		Input:                 input,
		SignalName:            workflows.SignalInbox,
		SignalInput:           signal,
		Identity:              "quell-api",
		RequestId:             requestID(),
		WorkflowIdReusePolicy: enumspb.WORKFLOW_ID_REUSE_POLICY_ALLOW_DUPLICATE,
	}
	// While an inbox continues as new, Temporal refuses its signals as
	// ResourceExhausted ("workflow is closing") for the moment it takes.
	for wait := 5 * time.Millisecond; ; wait = min(2*wait, 200*time.Millisecond) {
		_, err = s.Client.WorkflowService().SignalWithStartWorkflowExecution(ctx, req)
		var busy *serviceerror.ResourceExhausted
		if !errors.As(err, &busy) {
			break
		}
		select {
		case <-ctx.Done():
			return batchOpened{}, fmt.Errorf("signal-with-start %s: %w", inboxID, err)
		case <-time.After(wait):
		}
	}
	if err != nil {
		return batchOpened{}, fmt.Errorf("signal-with-start %s: %w", inboxID, err)
	}
	return batchOpened{}, nil
}

// groupByUnit gathers a batch's alerts by unit, units in the order of
// their first alert, each unit's alerts in the order taken.
func groupByUnit(batch []boxed) []activities.AlertGroup {
	at := map[string]int{}
	var groups []activities.AlertGroup
	for _, b := range batch {
		i, ok := at[b.unit]
		if !ok {
			i = len(groups)
			at[b.unit] = i
			groups = append(groups, activities.AlertGroup{Unit: b.unit, Playbook: b.playbook.Name, First: b.alert})
		}
		groups[i].Refs = append(groups[i].Refs, b.ref)
	}
	return groups
}

// forwardParallel bounds the signals one forwarding sends at once.
const forwardParallel = 32

// Forward records each group of an inbox's round in its unit's incident,
// or the incident's tally, opening the incident again from the group's
// first alert if it has closed. Each group's signal has a request ID of
// the round's request and the group, so that a retried round signals no
// incident twice.
func (s *Service) Forward(ctx context.Context, groups []activities.AlertGroup, request string) []error {
	errs := make([]error, len(groups))
	sem := make(chan struct{}, forwardParallel)
	var wg sync.WaitGroup
	for i, g := range groups {
		pb, ok := s.playbook(g.Playbook)
		switch {
		case len(g.Refs) == 0:
			continue
		case !ok:
			errs[i] = fmt.Errorf("playbook %q is not loaded on this worker", g.Playbook)
			continue
		}
		batch := make([]queued, len(g.Refs))
		for j, ref := range g.Refs {
			batch[j].ref = ref
		}
		batch[0].alert, batch[0].playbook = g.First, pb
		sum := sha256.Sum256([]byte(request + "/" + strconv.Itoa(i) + "/" + g.Unit))
		wg.Add(1)
		sem <- struct{}{}
		go func() {
			defer func() { <-sem; wg.Done() }()
			_, errs[i] = s.signalWithStart(ctx, g.Unit, batch, hex.EncodeToString(sum[:16]))
		}()
	}
	wg.Wait()
	return errs
}

// playbook is the loaded playbook of that name.
func (s *Service) playbook(name string) (pb playbooks.Playbook, ok bool) {
	for _, p := range s.Playbooks {
		if p.Name == name {
			return p, true
		}
	}
	return pb, false
}

// inboxed answers an alert the inbox took, in the incident intake saw open.
func inboxed(wfID, runID string) incident.Opened {
	return incident.Opened{IncidentID: wfID + "." + runID, Deduplicated: true}
}
