package workflows

import (
	"time"

	"github.com/quell-ir/quell/playbooks"
)

// Step kinds the incident workflow can run.
const (
	KindIsolate  = "docker:isolate"
	KindSnapshot = "evidence:snapshot"
	KindVerify   = "evidence:verify"
	KindApproval = "approval"
	KindReport   = "report:write"
)

// Kinds describes every step kind IncidentResponse interprets: the registry
// that validates playbooks and that `quell steps` prints.
func Kinds() []playbooks.Kind {
	return []playbooks.Kind{
		{
			Name: KindIsolate,
			Description: "Cut the container off every network and freeze it (pause); it stays alive for " +
				"forensics. The attachments are recorded so the isolation can be undone. Idempotent.",
			Needs: []string{"GET /containers/{id}/json", "POST /networks/{id}/disconnect",
				"POST /containers/{id}/pause"},
			Undo:           "UndoIsolation: reconnect the recorded networks (aliases, static IPs) and unpause",
			DefaultTimeout: 30 * time.Second,
			DefaultRetry:   playbooks.Retry{MaxAttempts: 5, InitialInterval: playbooks.Duration(200 * time.Millisecond), BackoffCoefficient: 2},
		},
		{
			Name: KindSnapshot,
			Description: "Preserve the container as write-once evidence: inspect, logs (stdout and stderr with " +
				"timestamps), filesystem changes, processes, a filesystem export and a committed image, each " +
				"SHA-256-hashed as written into manifest.json with a chain of custody. Resumes after a crash.",
			Params: []playbooks.Param{
				{Name: "logs", Type: "bool", Default: true, Description: "preserve stdout and stderr"},
				{Name: "processes", Type: "bool", Default: true, Description: "preserve the process list when it can be read"},
				{Name: "export", Type: "bool", Default: true, Description: "preserve the whole filesystem as a tar"},
				{Name: "commit", Type: "bool", Default: true, Description: "commit the container to an image tagged quell-evidence:<incident>"},
			},
			Preserves: true,
			Needs: []string{"GET /containers/{id}/json", "GET /containers/{id}/logs", "GET /containers/{id}/changes",
				"GET /containers/{id}/top", "GET /containers/{id}/export", "POST /commit"},
			DefaultTimeout: 30 * time.Minute,
			DefaultRetry:   playbooks.Retry{MaxAttempts: 10, InitialInterval: playbooks.Duration(time.Second), BackoffCoefficient: 2},
		},
		{
			Name:           KindVerify,
			Description:    "Recompute the SHA-256 of every artifact in the manifest; a mismatch or a missing file fails the step.",
			DefaultTimeout: 30 * time.Minute,
			DefaultRetry:   playbooks.Retry{MaxAttempts: 5, InitialInterval: playbooks.Duration(time.Second), BackoffCoefficient: 2},
		},
		{
			Name: KindApproval,
			Description: "Wait for a responder's decision (approve or reject) before the steps that follow. " +
				"Rejection stops the playbook and leaves containment in place, or with on_reject: release " +
				"undoes what was done (a false positive). No decision within the step timeout fails the step.",
			Params: []playbooks.Param{
				{Name: "approvers", Type: "strings", Description: "who may decide; default: approvals.approvers in the config"},
				{Name: "on_reject", Type: "string", Default: "stop", Enum: []string{"stop", "release"},
					Description: "stop: keep the containment; release: undo it"},
			},
			Gate:           true,
			DefaultTimeout: 24 * time.Hour,
		},
		{
			Name: KindReport,
			Description: "Write the post-incident report (Markdown and JSON): timeline, steps with times, " +
				"approvals, evidence and time to contain. Runs even when an earlier step aborted the playbook.",
			DefaultTimeout: time.Minute,
			DefaultRetry:   playbooks.Retry{MaxAttempts: 5, InitialInterval: playbooks.Duration(time.Second), BackoffCoefficient: 2},
		},
	}
}
