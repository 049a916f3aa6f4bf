package chaos

import (
	"slices"
	"testing"

	historypb "go.temporal.io/api/history/v1"
)

func scheduledEvent(id int64, activity string) *historypb.HistoryEvent {
	return &historypb.HistoryEvent{EventId: id, Attributes: &historypb.HistoryEvent_ActivityTaskScheduledEventAttributes{
		ActivityTaskScheduledEventAttributes: &historypb.ActivityTaskScheduledEventAttributes{ActivityId: activity},
	}}
}

func completedEvent(id, scheduled int64) *historypb.HistoryEvent {
	return &historypb.HistoryEvent{EventId: id, Attributes: &historypb.HistoryEvent_ActivityTaskCompletedEventAttributes{
		ActivityTaskCompletedEventAttributes: &historypb.ActivityTaskCompletedEventAttributes{ScheduledEventId: scheduled},
	}}
}

func TestActivitiesStepBoundaries(t *testing.T) {
	a := newActivities()
	for _, e := range []*historypb.HistoryEvent{
		scheduledEvent(5, "rebuild"), scheduledEvent(6, "7"), completedEvent(8, 5),
		scheduledEvent(10, "replace/aaa"), scheduledEvent(11, "replace/bbb"), completedEvent(12, 10),
	} {
		a.add(e)
	}
	if !a.done("rebuild") || a.done("replace") || a.done("remove-quarantined") {
		t.Errorf("done: rebuild %t replace %t remove-quarantined %t, want true false false",
			a.done("rebuild"), a.done("replace"), a.done("remove-quarantined"))
	}
	if !a.isScheduled("replace") || a.isScheduled("remove-quarantined") || a.isScheduled("re") {
		t.Errorf("scheduled: replace %t remove-quarantined %t re %t, want true false false",
			a.isScheduled("replace"), a.isScheduled("remove-quarantined"), a.isScheduled("re"))
	}
	a.add(completedEvent(13, 11))
	if !a.done("replace") {
		t.Error("replace not done once both units' activities completed")
	}
	if got, want := a.steps(), []string{"rebuild", "replace"}; !slices.Equal(got, want) {
		t.Errorf("steps() = %v, want %v (notifications are no steps)", got, want)
	}
}
