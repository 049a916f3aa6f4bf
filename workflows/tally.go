package workflows

import (
	"fmt"
	"slices"

	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/sdk/workflow"

	"github.com/quell-ir/quell/internal/alert"
	"github.com/quell-ir/quell/internal/incident"
)

// Storms. Every alert about an incident's unit counts, and every signal
// that carries some grows the incident's history, which Temporal bounds:
// 10,000 signals by default, and past 50 MB or 51,200 events it terminates
// the workflow. A worm on many containers, or a detector quoting an
// attacker's 4 KiB command lines, reaches that within minutes. So once the
// incident's history is long it starts a child, the alert tally, hands it
// the alert record and passes it the alerts that still reach the incident;
// intake, finding the tally, sends it the unit's alerts directly. The
// tally continues as new, carrying the record, whenever its own history
// grows, so no storm caps an incident. When the incident ends it closes
// the tally and takes the record back into its result.

const (
	// TallyWorkflow is the alert tally's workflow type.
	TallyWorkflow = "AlertTally"
	// SignalTallyClose tells a tally that its incident ends.
	SignalTallyClose = "close"
	// QueryTally answers a tally's record so far.
	QueryTally = "tally"
	// DefaultAlertHistory is how many events of history an incident
	// grows before its alerts go to a tally.
	DefaultAlertHistory = 2000
	// alertHistoryBytes is the history size past which they go there
	// whatever the count; also how large a tally's run grows.
	alertHistoryBytes = 4 << 20
	// tallyRunSignals is how many signals a tally's run takes before it
	// continues as new.
	tallyRunSignals = 500
)

// TallyID is the workflow ID of an incident's alert tally.
func TallyID(incidentID string) string { return incidentID + "/alerts" }

// Tally is an alert tally's state: the incident's alert record, the
// timeline entries the tally added, and the idempotency keys counted.
type Tally struct {
	Incident string `json:"incident"`
	incident.AlertRecord
	Timeline []incident.Event `json:"timeline,omitempty"`
	Reports  map[string]bool  `json:"reports,omitempty"`
	// RunSignals overrides tallyRunSignals (tests).
	RunSignals int `json:"run_signals,omitempty"`
}

// AlertTally counts the alerts its incident hands it until the incident
// closes it, continuing as new every so often, and returns the record.
func AlertTally(ctx workflow.Context, t Tally) (Tally, error) {
	if t.Reports == nil {
		t.Reports = map[string]bool{}
	}
	if err := workflow.SetQueryHandler(ctx, QueryTally, func() (Tally, error) {
		view := t
		view.Reports = nil
		return view, nil
	}); err != nil {
		return t, fmt.Errorf("query handler: %w", err)
	}
	closing, signals := false, 0
	s := workflow.NewSelector(ctx)
	s.AddReceive(workflow.GetSignalChannel(ctx, SignalAlerts), func(c workflow.ReceiveChannel, _ bool) {
		var refs []incident.AlertRef
		c.Receive(ctx, &refs)
		signals++
		for _, ref := range refs {
			if typ, msg := countAlert(&t.AlertRecord, t.Reports, ref); typ != "" {
				t.Timeline = append(t.Timeline, incident.Event{Time: workflow.Now(ctx), Type: typ, Message: msg})
			}
		}
	})
	s.AddReceive(workflow.GetSignalChannel(ctx, SignalTallyClose), func(c workflow.ReceiveChannel, _ bool) {
		c.Receive(ctx, nil)
		closing = true
	})
	limit := t.RunSignals
	if limit <= 0 {
		limit = tallyRunSignals
	}
	for !closing && signals < limit && !historyLong(ctx, 0) {
		s.Select(ctx)
	}
	for s.HasPending() {
		s.Select(ctx)
	}
	if closing {
		return t, nil
	}
	return t, workflow.NewContinueAsNewError(ctx, TallyWorkflow, t)
}

// historyLong reports whether the workflow's history has grown past
// events (none when 0) or alertHistoryBytes, or Temporal suggests
// continuing as new.
func historyLong(ctx workflow.Context, events int) bool {
	info := workflow.GetInfo(ctx)
	return (events > 0 && info.GetCurrentHistoryLength() >= events) ||
		info.GetCurrentHistorySize() >= alertHistoryBytes || info.GetContinueAsNewSuggested()
}

// countAlert counts ref into rec, once per report (its idempotency key),
// and returns the timeline entry it makes, if any: each of the first
// MaxAlerts joins and resolutions, then only every tenfold count.
func countAlert(rec *incident.AlertRecord, reports map[string]bool, ref incident.AlertRef) (typ, msg string) {
	if key := ref.IdempotencyKey; key != "" {
		if reports[key] {
			rec.AlertsRepeated++
			return "", ""
		}
		if len(reports) < maxReports {
			reports[key] = true
		}
	}
	if ref.Status == alert.StatusResolved {
		rec.AlertsResolved++
		if !listed(rec.AlertsResolved) {
			return "", ""
		}
		return "alert.resolved", fmt.Sprintf("rule %q resolved at the detector", ref.Rule)
	}
	rec.AlertsCount++
	if len(rec.Alerts) < incident.MaxAlerts {
		rec.Alerts = append(rec.Alerts, ref)
	} else {
		rec.LastAlert = &ref
	}
	if n := rec.AlertsCount; n > 1 && listed(n) {
		return "alert.joined", fmt.Sprintf("alert %d: rule %q (%s)", n, ref.Rule, ref.Priority)
	}
	return "", ""
}

// listed reports whether the nth join or resolution goes on the timeline.
func listed(n int) bool {
	if n <= incident.MaxAlerts {
		return true
	}
	for n%10 == 0 {
		n /= 10
	}
	return n == 1
}

// tallyChild is an incident's running alert tally.
type tallyChild struct {
	id   string
	run  workflow.ChildWorkflowFuture
	late []incident.AlertRef // alerts the tally did not take, or that came while it closed
	// closing is set once the incident has told the tally to close.
	closing bool
}

// takeAlerts counts the alerts of one signal, or passes them to the
// tally, and starts the tally once the history is long.
func (r *response) takeAlerts(ctx workflow.Context, refs []incident.AlertRef) {
	switch t := r.tally; {
	case t != nil && t.closing:
		t.late = append(t.late, refs...)
		return
	case t != nil:
		if workflow.GetVersion(ctx, "tally-takes-pending-at-once", workflow.DefaultVersion, 1) == 1 {
			refs = pendingAlerts(ctx, refs)
		}
		if err := t.run.SignalChildWorkflow(ctx, SignalAlerts, refs).Get(ctx, nil); err != nil {
			// Kept for the end, when the tally's record comes back and
			// these are counted into it.
			if len(t.late) == 0 {
				r.event(ctx, "alerts.tally", "", "the alert tally did not take alerts; the incident keeps them to count at its end: "+message(err))
			}
			t.late = append(t.late, refs...)
		}
		return
	}
	for _, ref := range refs {
		r.join(ctx, ref)
	}
	if r.tally == nil && !r.noTally && historyLong(ctx, r.alertHistory()) {
		r.startTally(ctx)
	}
}

// maxForward bounds how many alerts the incident passes to its tally in
// one signal, well under Temporal's payload limit (an alert reference is
// bounded at a few KiB).
const maxForward = 256

// pendingAlerts adds to refs the alerts of the signals that are already
// waiting, up to maxForward: while intake has not yet found the tally,
// every signal the incident passes on costs it a round of history events,
// and under a storm they come faster than it passes them one by one.
func pendingAlerts(ctx workflow.Context, refs []incident.AlertRef) []incident.AlertRef {
	c := workflow.GetSignalChannel(ctx, SignalAlerts)
	for len(refs) < maxForward {
		var more []incident.AlertRef
		if !c.ReceiveAsync(&more) {
			break
		}
		refs = append(refs, more...)
	}
	return refs
}

func (r *response) alertHistory() int {
	if r.in.AlertHistory > 0 {
		return r.in.AlertHistory
	}
	return DefaultAlertHistory
}

// startTally starts the incident's alert tally with its record so far.
func (r *response) startTally(ctx workflow.Context) {
	if workflow.GetVersion(ctx, "alert-tally", workflow.DefaultVersion, 1) == workflow.DefaultVersion {
		r.noTally = true
		return
	}
	id := TallyID(r.inc.ID)
	cctx := workflow.WithChildOptions(ctx, workflow.ChildWorkflowOptions{
		WorkflowID: id, TaskQueue: TaskQueue, WorkflowIDReusePolicy: enumspb.WORKFLOW_ID_REUSE_POLICY_REJECT_DUPLICATE,
	})
	run := workflow.ExecuteChildWorkflow(cctx, TallyWorkflow, Tally{
		Incident: r.inc.ID, AlertRecord: r.inc.AlertRecord, Reports: r.reports, RunSignals: r.in.TallyRunSignals,
	})
	if err := run.GetChildWorkflowExecution().Get(ctx, nil); err != nil {
		r.noTally = true
		r.event(ctx, "alerts.tally", "", "the alert tally did not start; the incident counts its alerts: "+message(err))
		return
	}
	r.tally = &tallyChild{id: id, run: run}
	r.inc.AlertTally = id
	r.event(ctx, "alerts.tally", "", fmt.Sprintf("after %d alerts, the alert tally %s counts them", r.inc.AlertsCount, id))
}

// closeTally closes the tally and takes its record back, with the
// timeline entries it added and the alerts that came meanwhile.
func (r *response) closeTally(ctx workflow.Context) {
	t := r.tally
	if t == nil {
		return
	}
	t.closing = true
	var got Tally
	err := t.run.SignalChildWorkflow(ctx, SignalTallyClose, nil).Get(ctx, nil)
	if err == nil {
		err = t.run.Get(ctx, &got)
	}
	r.tally = nil
	if err != nil {
		r.event(ctx, "alerts.tally", "", "the alert tally's record was lost, so the count is the incident's own: "+message(err))
	} else {
		r.inc, r.reports = WithTally(r.inc, got), got.Reports
		if r.reports == nil {
			r.reports = map[string]bool{}
		}
	}
	for _, ref := range t.late {
		r.join(ctx, ref)
	}
}

// mergeTimelines merges two timelines in time order, a's first on a tie.
func mergeTimelines(a, b []incident.Event) []incident.Event {
	out := slices.Concat(a, b)
	slices.SortStableFunc(out, func(x, y incident.Event) int { return x.Time.Compare(y.Time) })
	return out
}

// WithTally returns inc with the record of its running tally.
func WithTally(inc incident.Incident, t Tally) incident.Incident {
	inc.AlertRecord = t.AlertRecord
	inc.Timeline = mergeTimelines(inc.Timeline, t.Timeline)
	return inc
}
