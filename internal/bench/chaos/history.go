package chaos

import (
	"context"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	enumspb "go.temporal.io/api/enums/v1"
	historypb "go.temporal.io/api/history/v1"
)

// activities is what an incident's history says of its activities so far.
// Activity IDs are step IDs, followed by "/<unit>" for a step that acts on
// each unit.
type activities struct {
	byEvent   map[int64]string // scheduled event ID -> activity ID
	scheduled []string         // activity IDs, in the order scheduled
	completed map[string]bool
}

func newActivities() activities {
	return activities{byEvent: map[int64]string{}, completed: map[string]bool{}}
}

func (a *activities) add(e *historypb.HistoryEvent) {
	if at := e.GetActivityTaskScheduledEventAttributes(); at != nil {
		a.byEvent[e.GetEventId()] = at.GetActivityId()
		a.scheduled = append(a.scheduled, at.GetActivityId())
	}
	if at := e.GetActivityTaskCompletedEventAttributes(); at != nil {
		a.completed[a.byEvent[at.GetScheduledEventId()]] = true
	}
}

// ofStep reports whether the activity ID is the step's.
func ofStep(activityID, step string) bool {
	return activityID == step || strings.HasPrefix(activityID, step+"/")
}

// isScheduled reports whether an activity of the step has been scheduled.
func (a activities) isScheduled(step string) bool {
	return slices.ContainsFunc(a.scheduled, func(id string) bool { return ofStep(id, step) })
}

// done reports whether the step has activities and every one scheduled so
// far has completed. The per-unit activities of a step are scheduled in
// one workflow task, so none is still to come when the first completes.
func (a activities) done(step string) bool {
	n := 0
	for _, id := range a.scheduled {
		if ofStep(id, step) {
			if !a.completed[id] {
				return false
			}
			n++
		}
	}
	return n > 0
}

// steps lists the steps whose activities have all completed, in order.
// Notifications, whose activity IDs are Temporal's numbers, are no steps.
func (a activities) steps() []string {
	var out []string
	for _, id := range a.scheduled {
		step, _, _ := strings.Cut(id, "/")
		if _, err := strconv.Atoi(step); err == nil {
			continue
		}
		if a.done(step) && !slices.Contains(out, step) {
			out = append(out, step)
		}
	}
	return out
}

// watchHistory follows the incident's history with a long poll and
// returns once cond holds of its activities.
func (r *run) watchHistory(ctx context.Context, v *victim, cond func(activities) bool) error {
	_, held, err := r.scanHistory(ctx, v, true, cond)
	if err == nil && !held {
		err = fmt.Errorf("history of %s ended before the moment", v.id)
	}
	return err
}

// readHistory returns the incident's activities as its history has them now.
func (r *run) readHistory(ctx context.Context, v *victim) (activities, error) {
	acts, _, err := r.scanHistory(ctx, v, false, func(activities) bool { return false })
	return acts, err
}

// scanHistory reads the incident's history, waiting for new events when
// wait is set, until it ends or stop holds of its activities.
func (r *run) scanHistory(ctx context.Context, v *victim, wait bool, stop func(activities) bool) (acts activities, stopped bool, err error) {
	wfID, runID, _ := strings.Cut(v.id, ".")
	iter := r.history.GetWorkflowHistory(ctx, wfID, runID, wait, enumspb.HISTORY_EVENT_FILTER_TYPE_ALL_EVENT)
	acts = newActivities()
	for iter.HasNext() {
		e, err := iter.Next()
		if err != nil {
			return acts, false, fmt.Errorf("history of %s: %w", v.id, err)
		}
		acts.add(e)
		if stop(acts) {
			return acts, true, nil
		}
	}
	return acts, false, nil
}

// progress describes how far the incident had got, from its history: the
// steps done and the report still to write, or reportWritten.
func (r *run) progress(ctx context.Context, v *victim) string {
	acts, err := r.readHistory(ctx, v)
	if err != nil {
		return err.Error()
	}
	if acts.done("report") {
		return reportWritten
	}
	return "steps done: " + strings.Join(acts.steps(), " ")
}

// pending lists the incident's activities that Temporal has scheduled and
// not seen completed: one a dead worker had started is retried only after
// its heartbeat or start-to-close timeout.
func (r *run) pending(ctx context.Context, v *victim) string {
	if v.dev != nil {
		return "(quell dev's own Temporal)"
	}
	wfID, runID, _ := strings.Cut(v.id, ".")
	d, err := r.history.DescribeWorkflowExecution(ctx, wfID, runID)
	if err != nil {
		return err.Error()
	}
	var out []string
	for _, p := range d.GetPendingActivities() {
		s := fmt.Sprintf("%s %s attempt %d", p.GetActivityId(), strings.ToLower(strings.TrimPrefix(p.GetState().String(), "PENDING_ACTIVITY_STATE_")), p.GetAttempt())
		if p.GetState() == enumspb.PENDING_ACTIVITY_STATE_STARTED {
			s += fmt.Sprintf(" (started %s ago by %s)", time.Since(p.GetLastStartedTime().AsTime()).Round(time.Millisecond), p.GetLastWorkerIdentity())
		}
		out = append(out, s)
	}
	if len(out) == 0 {
		return "no activity pending"
	}
	return strings.Join(out, "; ")
}
