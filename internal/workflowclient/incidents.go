// Package workflowclient is the Temporal client side of incidents: it
// starts incident workflows from alerts, reads them and steers them, for the
// HTTP API and Slack.
package workflowclient

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"strings"
	"time"

	commonpb "go.temporal.io/api/common/v1"
	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/api/serviceerror"
	taskqueuepb "go.temporal.io/api/taskqueue/v1"
	"go.temporal.io/api/workflowservice/v1"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/converter"
	"go.temporal.io/sdk/temporal"

	"github.com/quell-ir/quell/activities"
	"github.com/quell-ir/quell/internal/alert"
	"github.com/quell-ir/quell/internal/incident"
	"github.com/quell-ir/quell/playbooks"
	"github.com/quell-ir/quell/workflows"
)

// Service starts, reads and steers incident workflows.
type Service struct {
	Client    client.Client
	Namespace string
	// Approvers may decide approval steps that name none of their own.
	Approvers []string
	// DedupWindow is how long a finished incident takes late alerts.
	DedupWindow time.Duration
	// AlertHistory is how many events of history an incident grows
	// before its alerts go to a tally; the workflow's default when 0.
	AlertHistory int
	// Notify tells responders in Slack as incidents run.
	Notify bool
	// Playbooks are the validated playbooks alerts are matched against.
	Playbooks []playbooks.Playbook
	// Clusters names the Kubernetes cluster of an alert about a pod, so
	// that alerts about one pod join one incident whichever detector sent
	// them; nil when no cluster is configured.
	Clusters ClusterPicker
	// Inbox sends the alerts of units whose incident intake has just seen
	// open through the alert inboxes (see workflows.AlertInbox); the
	// worker must run them.
	Inbox bool

	intake  batcher[queued]
	inboxes batcher[boxed]
	open    openRuns
	tallies tallies
}

// Open picks the first playbook that matches the alert and signals the
// alert to the open incident of its unit, or starts one (signal-with-start
// on the unit's workflow ID); it wraps incident.ErrUnmatched when no
// playbook matches. Temporal has recorded the alert when it returns. Alerts
// about one unit that arrive together are recorded together, in one signal
// (see batcher).
func (s *Service) Open(ctx context.Context, a alert.Alert) (incident.Opened, error) {
	if a.Target.Kind == alert.KindKubernetes {
		cluster, err := s.cluster(a)
		if err != nil {
			return incident.Opened{}, err
		}
		a.Target.Cluster = cluster
	}
	if a.Status == alert.StatusResolved {
		return s.resolve(ctx, a)
	}
	if t := a.Target; t.Kind == alert.KindDocker && t.ContainerID == "" && t.ContainerName != "" {
		found, err := s.lookup(ctx, t)
		if err != nil {
			return incident.Opened{}, err
		}
		a.Target = found
	}
	pb, ok := playbooks.Select(s.Playbooks, a)
	if !ok {
		return incident.Opened{}, fmt.Errorf("alert %s (rule %q): %w", a.Digest, a.Rule, incident.ErrUnmatched)
	}
	wfID := WorkflowID(a)
	ref := incident.RefOf(a)
	q := queued{alert: a, playbook: pb, ref: ref}
	if runID, ok := s.open.recent(wfID, time.Now()); ok && s.Inbox {
		if _, err := s.inboxes.add(ctx, workflows.InboxID(wfID), boxed{unit: wfID, queued: q}, refSize(ref), s.signalInbox); err != nil {
			return incident.Opened{}, err
		}
		return inboxed(wfID, runID), nil
	}
	opened, err := s.intake.add(ctx, wfID, q, refSize(ref), func(ctx context.Context, wfID string, batch []queued) (batchOpened, error) {
		return s.signalWithStart(ctx, wfID, batch, requestID())
	})
	if err != nil {
		return incident.Opened{}, err
	}
	s.open.saw(wfID, opened.runID, time.Now())
	return incident.Opened{IncidentID: wfID + "." + opened.runID, Deduplicated: !opened.started}, nil
}

// ClusterPicker names the configured cluster an alert's pod is in: the one
// the target names, or the one whose match takes the target's host or the
// alert's labels.
type ClusterPicker interface {
	Pick(t alert.Target, labels map[string]string) (string, error)
}

// cluster is the cluster of an alert about a pod; an alert no configured
// cluster takes wraps incident.ErrBadRequest.
func (s *Service) cluster(a alert.Alert) (string, error) {
	if s.Clusters == nil {
		return "", fmt.Errorf("alert %s names pod %s/%s, and no Kubernetes cluster is configured: %w",
			a.Digest, a.Target.Namespace, a.Target.Pod, incident.ErrBadRequest)
	}
	name, err := s.Clusters.Pick(a.Target, a.Labels)
	if err != nil {
		return "", fmt.Errorf("alert %s: %v: %w", a.Digest, err, incident.ErrBadRequest)
	}
	return name, nil
}

// lookupTimeout bounds how long intake waits for a Docker host to name
// the container an alert names by name alone.
const lookupTimeout = 15 * time.Second

// lookup asks the Docker host's worker for the container a target names by
// name alone, so that the alert is keyed by the container's ID; a name no
// container has wraps incident.ErrBadRequest.
func (s *Service) lookup(ctx context.Context, t alert.Target) (alert.Target, error) {
	ctx, cancel := context.WithTimeout(ctx, lookupTimeout)
	defer cancel()
	run, err := s.Client.ExecuteWorkflow(ctx, client.StartWorkflowOptions{
		ID: "lookup-" + requestID(), TaskQueue: workflows.TaskQueue, WorkflowExecutionTimeout: lookupTimeout,
	}, workflows.LookupWorkflow, t)
	if err != nil {
		return t, fmt.Errorf("look up container %q: %w", t.ContainerName, err)
	}
	var found alert.Target
	err = run.Get(ctx, &found)
	var app *temporal.ApplicationError
	if errors.As(err, &app) && (app.Type() == activities.ErrTypeNotFound || app.Type() == activities.ErrTypeBadInput) {
		return t, fmt.Errorf("container %q on %s: %s: %w", t.ContainerName, orLocal(t.Host), app.Message(), incident.ErrBadRequest)
	}
	if err != nil {
		return t, fmt.Errorf("look up container %q: %w", t.ContainerName, err)
	}
	return found, nil
}

// InspectUnit reads the unit t names on its Docker host, changing nothing,
// through the host's worker (workflows.InspectLive).
func (s *Service) InspectUnit(ctx context.Context, t alert.Target) (activities.InspectUnitResult, error) {
	ctx, cancel := context.WithTimeout(ctx, lookupTimeout)
	defer cancel()
	var res activities.InspectUnitResult
	run, err := s.Client.ExecuteWorkflow(ctx, client.StartWorkflowOptions{
		ID: "inspect-" + requestID(), TaskQueue: workflows.TaskQueue, WorkflowExecutionTimeout: lookupTimeout,
	}, workflows.InspectWorkflow, t)
	if err == nil {
		err = run.Get(ctx, &res)
	}
	if err != nil {
		return res, fmt.Errorf("inspect the unit through the worker: %w", err)
	}
	return res, nil
}

func orLocal(host string) string {
	if host == "" {
		return "this host"
	}
	return host
}

// resolve records a detector's resolution of an alert in the open
// incident of its unit; a resolution opens no incident, so with none open
// it wraps incident.ErrNoIncident.
func (s *Service) resolve(ctx context.Context, a alert.Alert) (incident.Opened, error) {
	wfID := WorkflowID(a)
	refs := []incident.AlertRef{incident.RefOf(a)}
	if runID := s.signalTally(ctx, wfID, refs, requestID()); runID != "" {
		return incident.Opened{IncidentID: wfID + "." + runID, Deduplicated: true}, nil
	}
	err := s.Client.SignalWorkflow(ctx, wfID, "", workflows.SignalAlerts, refs)
	var notFound *serviceerror.NotFound
	if errors.As(err, &notFound) {
		return incident.Opened{}, fmt.Errorf("resolution of rule %q: %w", a.Rule, incident.ErrNoIncident)
	}
	if err != nil {
		return incident.Opened{}, fmt.Errorf("signal %s: %w", wfID, err)
	}
	desc, err := s.Client.DescribeWorkflowExecution(ctx, wfID, "")
	if err != nil {
		return incident.Opened{}, lookupErr(wfID, err)
	}
	return incident.Opened{IncidentID: wfID + "." + desc.GetWorkflowExecutionInfo().GetExecution().GetRunId(), Deduplicated: true}, nil
}

// queued is an alert waiting for its unit's next signal.
type queued struct {
	alert    alert.Alert
	playbook playbooks.Playbook
	ref      incident.AlertRef
}

// refSize estimates an alert reference's encoded size.
func refSize(r incident.AlertRef) int { return 200 + len(r.Rule) + len(r.Output) + len(r.Digest) }

// signalWithStart records a batch of alerts about one unit: the first one
// opens the incident if none is open. Temporal takes a request ID once.
func (s *Service) signalWithStart(ctx context.Context, wfID string, batch []queued, reqID string) (batchOpened, error) {
	first := batch[0]
	dc := converter.GetDefaultDataConverter()
	input, err := dc.ToPayloads(workflows.IncidentInput{
		Alert: first.alert, Playbook: first.playbook, Approvers: s.Approvers, DedupWindow: s.DedupWindow, Notify: s.Notify,
		AlertHistory: s.AlertHistory,
	})
	if err != nil {
		return batchOpened{}, fmt.Errorf("encode incident input: %w", err)
	}
	refs := make([]incident.AlertRef, len(batch))
	for i, q := range batch {
		refs[i] = q.ref
	}
	if runID := s.signalTally(ctx, wfID, refs, reqID); runID != "" {
		return batchOpened{runID: runID}, nil
	}
	signal, err := dc.ToPayloads(refs)
	if err != nil {
		return batchOpened{}, fmt.Errorf("encode alerts: %w", err)
	}
	memo, err := encodeMemo(dc, map[string]any{
		memoPlaybook: first.playbook.Name, memoTarget: first.alert.Target, memoStatus: incident.StatusRunning,
	})
	if err != nil {
		return batchOpened{}, err
	}
	resp, err := s.Client.WorkflowService().SignalWithStartWorkflowExecution(ctx, &workflowservice.SignalWithStartWorkflowExecutionRequest{
		Namespace:             s.Namespace,
		WorkflowId:            wfID,
		WorkflowType:          &commonpb.WorkflowType{Name: workflows.IncidentWorkflow},
		TaskQueue:             &taskqueuepb.TaskQueue{Name: workflows.TaskQueue, Kind: enumspb.TASK_QUEUE_KIND_NORMAL},
		Input:                 input,
		SignalName:            workflows.SignalAlerts,
		SignalInput:           signal,
		Identity:              "quell-api",
		RequestId:             reqID,
		WorkflowIdReusePolicy: enumspb.WORKFLOW_ID_REUSE_POLICY_ALLOW_DUPLICATE,
		Memo:                  memo,
	})
	if err != nil {
		return batchOpened{}, fmt.Errorf("signal-with-start %s: %w", wfID, err)
	}
	if !resp.GetStarted() && s.tallies.wrote(wfID) {
		go s.probeTally(wfID, resp.GetRunId())
	}
	return batchOpened{runID: resp.GetRunId(), started: resp.GetStarted()}, nil
}

// WorkflowID is the ID of the incident workflow for the alert's unit, so
// that alerts about one unit join one incident; an alert that names no unit
// gets a workflow of its own, by its idempotency key when it has one (the
// alerts of one Alertmanager webhook share the body's digest) or else its
// payload's digest.
func WorkflowID(a alert.Alert) string {
	if key, err := a.Target.UnitKey(); err == nil {
		return key
	}
	if a.IdempotencyKey != "" {
		sum := sha256.Sum256([]byte(a.IdempotencyKey))
		return "alert-" + hex.EncodeToString(sum[:8])
	}
	return "alert-" + strings.TrimPrefix(a.Digest, "sha256:")[:16]
}

// ParseID splits an incident ID into workflow and run IDs.
func ParseID(id string) (workflowID, runID string, err error) {
	i := strings.LastIndexByte(id, '.')
	if i <= 0 || i == len(id)-1 {
		return "", "", fmt.Errorf("incident %q: %w", id, incident.ErrNotFound)
	}
	return id[:i], id[i+1:], nil
}

// Get returns the incident's state: the workflow's result once it has
// completed (no worker needed), its status query while it runs; an
// incident whose workflow was terminated, cancelled or timed out outside
// its playbook is its last state, with that ending as its status.
func (s *Service) Get(ctx context.Context, id string) (incident.Incident, error) {
	wfID, runID, err := ParseID(id)
	if err != nil {
		return incident.Incident{}, err
	}
	desc, err := s.Client.DescribeWorkflowExecution(ctx, wfID, runID)
	if err != nil {
		return incident.Incident{}, lookupErr(id, err)
	}
	var inc incident.Incident
	info := desc.GetWorkflowExecutionInfo()
	if st := info.GetStatus(); st == enumspb.WORKFLOW_EXECUTION_STATUS_COMPLETED {
		err = s.Client.GetWorkflow(ctx, wfID, runID).Get(ctx, &inc)
	} else {
		// Running, or ended outside the playbook: the query answers its
		// state as its history last had it (replayed once it has closed).
		var v converter.EncodedValue
		v, err = s.Client.QueryWorkflow(ctx, wfID, runID, workflows.QueryStatus)
		if err == nil {
			err = v.Get(&inc)
		}
		if err == nil {
			inc = WithTally(ctx, s.Client, inc)
		}
		if err == nil && st != enumspb.WORKFLOW_EXECUTION_STATUS_RUNNING {
			inc.Status, inc.Resolution = endedOutside(st)
			if info.GetCloseTime() != nil {
				t := info.GetCloseTime().AsTime()
				inc.ClosedAt = &t
			}
		}
	}
	if err != nil {
		return incident.Incident{}, lookupErr(id, err)
	}
	return inc, nil
}

// Decide sends the decision as an update and waits for its outcome.
func (s *Service) Decide(ctx context.Context, id string, d incident.DecisionRequest) (incident.Decision, error) {
	wfID, runID, err := ParseID(id)
	if err != nil {
		return incident.Decision{}, err
	}
	h, err := s.Client.UpdateWorkflow(ctx, client.UpdateWorkflowOptions{
		WorkflowID:   wfID,
		RunID:        runID,
		UpdateID:     d.RequestID,
		UpdateName:   workflows.UpdateDecide,
		Args:         []any{incident.DecisionRequest{Step: d.Step, Decision: d.Decision, Approver: d.Approver, Comment: d.Comment}},
		WaitForStage: client.WorkflowUpdateStageCompleted,
	})
	var got incident.Decision
	if err == nil {
		err = h.Get(ctx, &got)
	}
	if err != nil {
		return incident.Decision{}, decisionErr(id, err)
	}
	return got, nil
}

// Health checks that the Temporal frontend answers.
func (s *Service) Health(ctx context.Context) error {
	if _, err := s.Client.CheckHealth(ctx, &client.CheckHealthRequest{}); err != nil {
		return fmt.Errorf("temporal: %w", err)
	}
	return nil
}

func decisionErr(id string, err error) error {
	var app *temporal.ApplicationError
	if errors.As(err, &app) {
		switch app.Type() {
		case activities.ErrTypeNotApprover:
			return fmt.Errorf("%s: %w", app.Message(), incident.ErrForbidden)
		case activities.ErrTypeNotWaiting:
			return fmt.Errorf("%s: %w", app.Message(), incident.ErrNotWaiting)
		case activities.ErrTypeBadDecision:
			return fmt.Errorf("%s: %w", app.Message(), incident.ErrBadRequest)
		}
	}
	var notFound *serviceerror.NotFound
	if errors.As(err, &notFound) {
		// An update to a closed workflow: nothing waits any more.
		if strings.Contains(notFound.Error(), "completed") {
			return fmt.Errorf("incident %s has closed: %w", id, incident.ErrNotWaiting)
		}
		return fmt.Errorf("incident %s: %w", id, incident.ErrNotFound)
	}
	return fmt.Errorf("decide on incident %s: %w", id, err)
}

func lookupErr(id string, err error) error {
	var notFound *serviceerror.NotFound
	var invalid *serviceerror.InvalidArgument
	if errors.As(err, &notFound) || errors.As(err, &invalid) {
		return fmt.Errorf("incident %s: %w", id, incident.ErrNotFound)
	}
	return fmt.Errorf("incident %s: %w", id, err)
}

func requestID() string {
	b := make([]byte, 16)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}
