package bench

import (
	"context"
	"fmt"
	"log/slog"
	"regexp"
	"strings"
	"time"

	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/sdk/client"
	sdklog "go.temporal.io/sdk/log"

	"github.com/quell-ir/quell/internal/bench/rig"
	"github.com/quell-ir/quell/internal/devserver/apikey"
)

// stepTimes is when Temporal recorded each stage of one activity of an
// incident workflow, from its history: where the time to contain goes.
type stepTimes struct {
	started   time.Time // the workflow started (the alert recorded)
	scheduled time.Time // the activity scheduled: the first workflow task done
	picked    time.Time // a worker took the activity task
	completed time.Time // the worker reported the activity done
}

// temporalLine is the line of quell dev's banner that says where its
// embedded Temporal listens.
var temporalLine = regexp.MustCompile(`temporal: (\S+) \(namespace (\S+)\)`)

// dialTemporal connects to the embedded Temporal of a quell dev process.
func dialTemporal(q *rig.Quell) (client.Client, error) {
	var m []string
	for range 50 {
		if m = temporalLine.FindStringSubmatch(q.Output()); m != nil {
			break
		}
		time.Sleep(10 * time.Millisecond)
	}
	if m == nil {
		return nil, fmt.Errorf("no temporal address in quell dev's banner")
	}
	key, err := apikey.Read(apikey.Path(q.DataDir))
	if err != nil {
		return nil, fmt.Errorf("temporal api key: %w", err)
	}
	c, err := client.Dial(client.Options{HostPort: m[1], Namespace: m[2],
		Credentials:       client.NewAPIKeyStaticCredentials(key),
		ConnectionOptions: client.ConnectionOptions{TLSDisabled: true},
		Logger:            sdklog.NewStructuredLogger(slog.New(slog.DiscardHandler))})
	if err != nil {
		return nil, fmt.Errorf("temporal %s: %w", m[1], err)
	}
	return c, nil
}

// activityTimes reads the incident's history for the activity with the
// given ID (quell's activity IDs are step IDs).
func activityTimes(ctx context.Context, c client.Client, incidentID, activityID string) (stepTimes, error) {
	wfID, runID, _ := strings.Cut(incidentID, ".")
	iter := c.GetWorkflowHistory(ctx, wfID, runID, false, enumspb.HISTORY_EVENT_FILTER_TYPE_ALL_EVENT)
	var t stepTimes
	var scheduledID int64
	for iter.HasNext() {
		e, err := iter.Next()
		if err != nil {
			return t, fmt.Errorf("history of %s: %w", incidentID, err)
		}
		at := e.GetEventTime().AsTime()
		switch {
		case e.GetWorkflowExecutionStartedEventAttributes() != nil:
			t.started = at
		case e.GetActivityTaskScheduledEventAttributes().GetActivityId() == activityID && scheduledID == 0:
			t.scheduled, scheduledID = at, e.GetEventId()
		case e.GetActivityTaskStartedEventAttributes().GetScheduledEventId() == scheduledID && scheduledID != 0:
			t.picked = at
		case e.GetActivityTaskCompletedEventAttributes().GetScheduledEventId() == scheduledID && scheduledID != 0:
			t.completed = at
			return t, nil
		}
	}
	return t, fmt.Errorf("history of %s: activity %s did not complete", incidentID, activityID)
}
