// Package workflows holds quell's Temporal workflows: IncidentResponse, the
// interpreter of a validated playbook.
package workflows

import "go.temporal.io/sdk/temporal"

// Names shared by the workflows, the worker and the API.
const (
	// TaskQueue is where incident workflows and most activities run,
	// containment among them: on the workflow's own queue the isolation is
	// handed to the worker in the answer to the workflow task that
	// schedules it (eager activity dispatch), and PriorityContain puts it
	// ahead of the queue's other tasks when it is not.
	TaskQueue = "quell-incidents"
	// ContainQueue is where earlier versions scheduled containment; workers
	// still poll it for the isolations scheduled there before an upgrade.
	ContainQueue = "quell-contain"
	// HeavyQueue runs what loads the Docker daemon and the disk for long
	// (filesystem exports, hashing, image builds); each worker bounds how
	// many run at once.
	HeavyQueue = "quell-heavy"
	// IncidentWorkflow is the registered name of IncidentResponse.
	IncidentWorkflow = "IncidentResponse"
	// LookupWorkflow is the registered name of LookupUnit.
	LookupWorkflow = "LookupUnit"
	// InspectWorkflow is the registered name of InspectLive.
	InspectWorkflow = "InspectLive"
	// ActivityIsolate is the registered name of the containment activity,
	// activities.Docker.IsolateContainer.
	ActivityIsolate = "IsolateContainer"
	// SignalAlerts carries the alerts that join an incident, as
	// []incident.AlertRef, in the order quell took them; the alert that
	// opened the incident is the first and is in the input in full.
	SignalAlerts = "alerts"
	// SignalAlert carried one alert (alert.Alert) per signal. Histories of
	// earlier versions hold it, so incidents still take it.
	SignalAlert = "alert"
	// QueryStatus returns the incident's state (incident.Incident).
	QueryStatus = "status"
	// UpdateDecide takes a decision (incident.DecisionRequest) on an approval step.
	UpdateDecide = "decide"
)

// PriorityContain is the priority key of containment: the highest, so
// that in a queue that backs up it is matched before anything else.
const PriorityContain = 1

// IsContainment reports whether an activity scheduled on queue at priority
// p contains: the kinds that contain schedule theirs at PriorityContain,
// and earlier versions scheduled them on ContainQueue.
func IsContainment(queue string, p temporal.Priority) bool {
	return p.PriorityKey == PriorityContain || queue == ContainQueue
}

// Memo keys the incident workflow keeps current, so lists need no query.
const (
	MemoPlaybook = "playbook"
	MemoTarget   = "target"
	MemoStatus   = "status"
)
