package workflows

import (
	"fmt"
	"slices"
	"time"

	"go.temporal.io/sdk/workflow"

	"github.com/quell-ir/quell/activities"
	"github.com/quell-ir/quell/internal/alert"
	"github.com/quell-ir/quell/internal/incident"
	"github.com/quell-ir/quell/playbooks"
)

// IncidentInput is the input of IncidentResponse. The playbook is part of
// it, validated before the start, so history records exactly what ran.
type IncidentInput struct {
	// Alert is the alert that opened the incident. It is also delivered as
	// the first of SignalAlerts, which is what counts it.
	Alert alert.Alert `json:"alert"`
	// Playbook is the validated playbook to run.
	Playbook playbooks.Playbook `json:"playbook"`
	// Approvers may decide approval steps that name none of their own.
	Approvers []string `json:"approvers"`
	// DedupWindow is how long the incident goes on taking alerts about its
	// unit after its steps have finished, so a detector's late or repeated
	// alerts join it instead of opening a new incident.
	DedupWindow time.Duration `json:"dedup_window"`
	// Notify tells responders in chat (Slack) as the incident runs.
	Notify bool `json:"notify,omitempty"`
	// AlertHistory is how many events of history the incident grows
	// before its alerts go to an alert tally; DefaultAlertHistory when 0.
	AlertHistory int `json:"alert_history,omitempty"`
	// TallyRunSignals is how many signals each run of the tally takes
	// before it continues as new; tallyRunSignals when 0.
	TallyRunSignals int `json:"tally_run_signals,omitempty"`
}

// Incidents runs incident workflows with the step kinds of a registry.
// Register its IncidentResponse with the worker as IncidentWorkflow.
type Incidents struct {
	kinds *Registry
}

// NewIncidents returns the incident workflows over the kinds of reg.
func NewIncidents(reg *Registry) *Incidents { return &Incidents{kinds: reg} }

// IncidentResponse runs a playbook for one incident: it interprets the
// steps in order through their kinds, records a timeline, answers
// QueryStatus, takes decisions through UpdateDecide and counts every alert
// that joins through SignalAlerts.
func (w *Incidents) IncidentResponse(ctx workflow.Context, in IncidentInput) (incident.Incident, error) {
	r := newResponse(ctx, in, w.kinds)
	if err := r.setup(ctx); err != nil {
		return r.inc, err
	}
	return r.run(ctx)
}

// response is one run of IncidentResponse.
type response struct {
	in    IncidentInput
	kinds *Registry
	inc   incident.Incident
	// stopped says why the remaining steps are skipped; "" while they run.
	stopped string
	// aborted is set when a failing step stopped the playbook.
	aborted bool
	// undo holds compensations, run in reverse on release.
	undo []compensation
	// gates holds the approval steps waiting for decisions, by step ID.
	gates map[string]*gate
	// reports holds the idempotency keys of the reports counted, at most
	// maxReports of them.
	reports map[string]bool
	// out holds what responders have yet to be told; nil without chat.
	out *outbox
	// tally is the running alert tally, once the history grew long.
	tally *tallyChild
	// noTally is set when the incident counts its alerts itself to the
	// end: it started before tallies, or its tally failed.
	noTally bool
	// live is the unit as a dry run read it, once.
	live *activities.InspectUnitResult
}

// compensation undoes one step's effect.
type compensation struct {
	step string
	run  func(workflow.Context) (string, error)
}

func newResponse(ctx workflow.Context, in IncidentInput, kinds *Registry) *response {
	info := workflow.GetInfo(ctx)
	r := &response{in: in, kinds: kinds, gates: map[string]*gate{}, reports: map[string]bool{}}
	r.inc = incident.Incident{
		ID:       info.WorkflowExecution.ID + "." + info.FirstRunID,
		Status:   incident.StatusRunning,
		Playbook: in.Playbook.Name,
		// From the input: the version the incident started with.
		PlaybookDigest: in.Playbook.Digest,
		Rule:           in.Alert.Rule,
		Priority:       in.Alert.Priority,
		Target:         in.Alert.Target,
		DetectedAt:     in.Alert.Time,
		OpenedAt:       in.Alert.ReceivedAt,
	}
	for _, s := range in.Playbook.Steps {
		r.inc.Steps = append(r.inc.Steps, incident.Step{ID: s.ID, Kind: s.Kind, Status: incident.StepPending})
	}
	return r
}

func (r *response) setup(ctx workflow.Context) error {
	if err := workflow.SetQueryHandler(ctx, QueryStatus, func() (incident.Incident, error) {
		return r.inc, nil
	}); err != nil {
		return fmt.Errorf("query handler: %w", err)
	}
	if err := workflow.SetUpdateHandlerWithOptions(ctx, UpdateDecide, r.decide,
		workflow.UpdateHandlerOptions{Validator: r.validateDecision}); err != nil {
		return fmt.Errorf("update handler: %w", err)
	}
	return nil
}

func (r *response) run(ctx workflow.Context) (incident.Incident, error) {
	r.event(ctx, "incident.opened", "", fmt.Sprintf("rule %q (%s) on container %s; playbook %s",
		r.in.Alert.Rule, r.in.Alert.Priority, r.inc.Target.ContainerID, r.in.Playbook.Name))
	r.startNotifier(ctx)
	workflow.Go(ctx, func(ctx workflow.Context) {
		alerts := r.alertSignals(ctx)
		for {
			alerts.Select(ctx)
		}
	})
	for i, s := range r.in.Playbook.Steps {
		if k, _ := r.kinds.Kind(s.Kind); r.stopped != "" && !k.Always {
			r.skip(ctx, i)
			continue
		}
		// Only playbooks written since conditions existed have any, so
		// the histories of running incidents hold no such evaluation.
		if s.When != "" {
			holds, err := r.when(ctx, i)
			if err != nil {
				r.finish(ctx, i, "", err)
				continue
			}
			if !holds {
				r.skipWhen(ctx, i)
				continue
			}
		}
		r.runStep(ctx, i)
	}
	r.close(ctx)
	if err := r.closeNotifier(ctx); err != nil {
		return r.inc, err
	}
	// Late alerts about the unit join this incident until the window ends;
	// an incident that failed to contain its unit takes none, so that the
	// next alert naming the unit opens one that contains it.
	if r.in.DedupWindow > 0 && !r.containmentFailed(ctx) {
		if err := workflow.Sleep(ctx, r.in.DedupWindow); err != nil {
			return r.inc, err
		}
	}
	r.drainAlerts(ctx)
	if r.tally != nil {
		r.closeTally(ctx)
		r.drainAlerts(ctx)
	}
	return r.inc, nil
}

// drainAlerts takes the alerts already signalled.
func (r *response) drainAlerts(ctx workflow.Context) {
	for late := r.alertSignals(ctx); late.HasPending(); {
		late.Select(ctx)
	}
}

// alertSignals returns a selector that joins the alerts of one signal,
// batched or, from earlier versions, single, each time it selects.
func (r *response) alertSignals(ctx workflow.Context) workflow.Selector {
	s := workflow.NewSelector(ctx)
	s.AddReceive(workflow.GetSignalChannel(ctx, SignalAlerts), func(c workflow.ReceiveChannel, _ bool) {
		var refs []incident.AlertRef
		c.Receive(ctx, &refs)
		r.takeAlerts(ctx, refs)
	})
	s.AddReceive(workflow.GetSignalChannel(ctx, SignalAlert), func(c workflow.ReceiveChannel, _ bool) {
		var a alert.Alert
		c.Receive(ctx, &a)
		r.takeAlerts(ctx, []incident.AlertRef{incident.RefOf(a)})
	})
	return s
}

// maxReports bounds how many idempotency keys an incident remembers; the
// reports past it are counted without deduplication.
const maxReports = 10000

// join counts an alert about the incident's unit: once per report (its
// idempotency key), and a resolution goes on the timeline uncounted.
func (r *response) join(ctx workflow.Context, ref incident.AlertRef) {
	if typ, msg := countAlert(&r.inc.AlertRecord, r.reports, ref); typ != "" {
		r.event(ctx, typ, "", msg)
	}
}

// containmentFailed reports whether a step that contains failed. Incidents
// that started before this rule took the dedup window all the same.
func (r *response) containmentFailed(ctx workflow.Context) bool {
	failed := slices.ContainsFunc(r.inc.Steps, func(s incident.Step) bool {
		k, _ := r.kinds.Kind(s.Kind)
		return k.Contains && s.Status == incident.StepFailed
	})
	return failed && workflow.GetVersion(ctx, "failed-containment-takes-no-alerts", workflow.DefaultVersion, 1) == 1
}

func (r *response) close(ctx workflow.Context) {
	now := workflow.Now(ctx)
	r.inc.ClosedAt = &now
	if r.aborted {
		r.setStatus(ctx, incident.StatusFailed)
	} else {
		r.setStatus(ctx, incident.StatusCompleted)
	}
	if r.inc.Resolution == "" {
		r.inc.Resolution = "every step ran"
		if failed := r.failedSteps(); len(failed) > 0 {
			r.inc.Resolution = fmt.Sprintf("every step ran; failed and continued: %v", failed)
		}
		if r.in.Playbook.DryRun {
			r.inc.Resolution = "dry run, nothing changed: " + r.inc.Resolution
		}
	}
	r.event(ctx, "incident.closed", "", fmt.Sprintf("%s: %s", r.inc.Status, r.inc.Resolution))
	ttc := "not contained"
	if r.inc.ContainedAt != nil {
		ttc = "time to contain " + r.inc.TimeToContain().Round(time.Millisecond).String()
	}
	r.notifyReply(fmt.Sprintf(":checkered_flag: incident %s: %s; %s", r.inc.Status, r.inc.Resolution, ttc))
}

func (r *response) failedSteps() []string {
	var ids []string
	for _, s := range r.inc.Steps {
		if s.Status == incident.StepFailed {
			ids = append(ids, s.ID)
		}
	}
	return ids
}

// event appends a timeline entry at workflow time; the incident's chat
// message will show it.
func (r *response) event(ctx workflow.Context, typ, step, msg string) {
	r.inc.Timeline = append(r.inc.Timeline, incident.Event{Time: workflow.Now(ctx), Type: typ, Step: step, Message: msg})
	if r.out != nil && typ != "notify.failed" {
		r.out.dirty = true
	}
}

// approvers returns who may decide a step, Slack groups resolved: its own
// list, else the config's.
func (r *response) approvers(ctx workflow.Context, stepID string, list []string) []string {
	if len(list) == 0 {
		list = r.in.Approvers
	}
	return r.resolveApprovers(ctx, stepID, list)
}

func (r *response) refreshStatus(ctx workflow.Context) {
	waiting := slices.ContainsFunc(r.inc.Steps, func(s incident.Step) bool {
		return s.Status == incident.StepAwaitingApproval
	})
	status := incident.StatusRunning
	if waiting {
		status = incident.StatusAwaitingApproval
	}
	r.setStatus(ctx, status)
}

// setStatus changes the incident's status and the memo that lists show.
func (r *response) setStatus(ctx workflow.Context, status string) {
	if r.inc.Status == status {
		return
	}
	r.inc.Status = status
	_ = workflow.UpsertMemo(ctx, map[string]any{MemoStatus: status, MemoTarget: r.inc.Target})
}

func timePtr(t time.Time) *time.Time { return &t }
