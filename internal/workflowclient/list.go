package workflowclient

import (
	"context"
	"fmt"

	commonpb "go.temporal.io/api/common/v1"
	enumspb "go.temporal.io/api/enums/v1"
	workflowpb "go.temporal.io/api/workflow/v1"
	"go.temporal.io/api/workflowservice/v1"
	"go.temporal.io/sdk/converter"

	"github.com/quell-ir/quell/internal/incident"
	"github.com/quell-ir/quell/workflows"
)

// Memo keys the workflow keeps up to date for lists.
const (
	memoPlaybook = workflows.MemoPlaybook
	memoTarget   = workflows.MemoTarget
	memoStatus   = workflows.MemoStatus
)

// maxList bounds one listing.
const maxList = 500

// List returns the incidents, newest first, from Temporal's visibility
// store; statuses come from the memo the workflow keeps.
func (s *Service) List(ctx context.Context) ([]incident.Summary, error) {
	var out []incident.Summary
	var token []byte
	for len(out) < maxList {
		resp, err := s.Client.ListWorkflow(ctx, &workflowservice.ListWorkflowExecutionsRequest{
			Namespace:     s.Namespace,
			PageSize:      100,
			NextPageToken: token,
			Query:         fmt.Sprintf("WorkflowType = '%s'", workflows.IncidentWorkflow),
		})
		if err != nil {
			return nil, fmt.Errorf("list incidents: %w", err)
		}
		for _, e := range resp.GetExecutions() {
			out = append(out, summarize(e))
		}
		if token = resp.GetNextPageToken(); len(token) == 0 {
			break
		}
	}
	return out, nil
}

func summarize(e *workflowpb.WorkflowExecutionInfo) incident.Summary {
	dc := converter.GetDefaultDataConverter()
	sum := incident.Summary{
		ID:       e.GetExecution().GetWorkflowId() + "." + e.GetExecution().GetRunId(),
		OpenedAt: e.GetStartTime().AsTime(),
	}
	fields := e.GetMemo().GetFields()
	_ = decodeField(dc, fields, memoPlaybook, &sum.Playbook)
	_ = decodeField(dc, fields, memoTarget, &sum.Target)
	_ = decodeField(dc, fields, memoStatus, &sum.Status)
	switch e.GetStatus() {
	case enumspb.WORKFLOW_EXECUTION_STATUS_RUNNING:
	case enumspb.WORKFLOW_EXECUTION_STATUS_COMPLETED:
		if sum.Status != incident.StatusFailed {
			sum.Status = incident.StatusCompleted
		}
	default:
		sum.Status, _ = endedOutside(e.GetStatus())
	}
	if e.GetCloseTime() != nil {
		t := e.GetCloseTime().AsTime()
		sum.ClosedAt = &t
	}
	return sum
}

func decodeField(dc converter.DataConverter, fields map[string]*commonpb.Payload, key string, v any) error {
	p, ok := fields[key]
	if !ok {
		return nil
	}
	return dc.FromPayload(p, v)
}

func encodeMemo(dc converter.DataConverter, values map[string]any) (*commonpb.Memo, error) {
	memo := &commonpb.Memo{Fields: map[string]*commonpb.Payload{}}
	for k, v := range values {
		p, err := dc.ToPayload(v)
		if err != nil {
			return nil, fmt.Errorf("encode memo %s: %w", k, err)
		}
		memo.Fields[k] = p
	}
	return memo, nil
}

// endedOutside is the status, and a sentence for the resolution, of an
// incident whose workflow closed other than by completing its playbook.
func endedOutside(st enumspb.WorkflowExecutionStatus) (status, resolution string) {
	switch st {
	case enumspb.WORKFLOW_EXECUTION_STATUS_TERMINATED:
		return incident.StatusTerminated, "its workflow was terminated outside quell's playbook (in Temporal); the steps stand as they were then"
	case enumspb.WORKFLOW_EXECUTION_STATUS_CANCELED:
		return incident.StatusCanceled, "its workflow was cancelled outside quell's playbook; the steps stand as they were then"
	case enumspb.WORKFLOW_EXECUTION_STATUS_TIMED_OUT:
		return incident.StatusTimedOut, "its workflow ran past its time limit; the steps stand as they were then"
	}
	return incident.StatusFailed, "its workflow failed; the steps stand as they were then"
}
