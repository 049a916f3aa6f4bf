// Package workflows holds quell's Temporal workflows: IncidentResponse, the
// interpreter of a validated playbook.
package workflows

// Names shared by the workflows, the worker and the API.
const (
	// TaskQueue is where incident workflows and most activities run.
	TaskQueue = "quell-incidents"
	// ContainQueue runs containment alone, so that no backlog of slower
	// work on the worker ever delays an isolation.
	ContainQueue = "quell-contain"
	// HeavyQueue runs what loads the Docker daemon and the disk for long
	// (filesystem exports, hashing, image builds); each worker bounds how
	// many run at once.
	HeavyQueue = "quell-heavy"
	// IncidentWorkflow is the registered name of IncidentResponse.
	IncidentWorkflow = "IncidentResponse"
	// SignalAlerts carries the alerts that join an incident, as
	// []incident.AlertRef, in the order quell took them; the alert that
	// opened the incident is the first and is in the input in full.
	SignalAlerts = "alerts"
	// SignalAlert carried one alert (alert.Alert) per signal. Histories of
	// earlier versions hold it, so incidents still take it.
	SignalAlert = "alert"
	// QueryStatus returns the incident's state (incident.Incident).
	QueryStatus = "status"
	// UpdateDecide takes a decision (DecisionRequest) on an approval step.
	UpdateDecide = "decide"
)

// QueueOf returns the task queue of a step kind's activities.
func QueueOf(kind string) string {
	switch kind {
	case KindIsolate:
		return ContainQueue
	case KindSnapshot, KindVerify, KindRebuild:
		return HeavyQueue
	}
	return TaskQueue
}

// Error types of refused decisions, as ApplicationError.Type.
const (
	// ErrTypeNotApprover: the approver is not on the step's allow-list.
	ErrTypeNotApprover = "NotApprover"
	// ErrTypeNotWaiting: the step is not waiting for a decision.
	ErrTypeNotWaiting = "NotWaiting"
	// ErrTypeBadDecision: the decision is neither approve nor reject.
	ErrTypeBadDecision = "BadDecision"
)

// Memo keys the incident workflow keeps current, so lists need no query.
const (
	MemoPlaybook = "playbook"
	MemoTarget   = "target"
	MemoStatus   = "status"
)
