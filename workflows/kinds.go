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
	return append(append(containmentKinds(), recoveryKinds()...), notifyKinds()...)
}

// KindNotify posts a message to the incident channel.
const KindNotify = "slack:notify"

// notifyKinds describes the kinds that tell people.
func notifyKinds() []playbooks.Kind {
	return []playbooks.Kind{{
		Name: KindNotify,
		Description: "Post a message in the incident channel. The text may name {incident}, {rule}, {container}, " +
			"{status} and {playbook}. Every incident also gets a message of its own, kept up to date, when Slack is configured.",
		Params:         []playbooks.Param{{Name: "text", Type: "string", Required: true, Description: "what to post (Slack mrkdwn)"}},
		Needs:          []string{"chat:write"},
		DefaultTimeout: 30 * time.Second,
		DefaultRetry:   playbooks.Retry{MaxAttempts: 5, InitialInterval: playbooks.Duration(time.Second), BackoffCoefficient: 2},
	}}
}

// containmentKinds describes the kinds that contain, preserve and report.
func containmentKinds() []playbooks.Kind {
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
			Description: "Wait for responders' decision (approve or reject) before the steps that follow. " +
				"Rejection stops the playbook and leaves containment in place, or with on_reject: release " +
				"undoes what was done (a false positive). Reminds, escalates, and at the step timeout takes " +
				"the declared default, each recorded in the timeline.",
			Params: []playbooks.Param{
				{Name: "approvers", Type: "strings", Description: "who may decide: names, Slack user IDs (U...) or user groups (S...); " +
					"default: approvals.approvers in the config"},
				{Name: "required", Type: "int", Default: 1, Description: "how many different approvers must approve (N of M)"},
				{Name: "two_person", Type: "bool", Default: false,
					Description: "whoever approved an earlier gate of the incident cannot give the next approval"},
				{Name: "on_reject", Type: "string", Default: "stop", Enum: []string{"stop", "release"},
					Description: "stop: keep the containment; release: undo it"},
				{Name: "remind_after", Type: "duration", Description: "remind the approvers after this long without a decision"},
				{Name: "escalate_after", Type: "duration", Description: "mention escalate_to after this long without a decision"},
				{Name: "escalate_to", Type: "strings", Description: "who to mention when escalating (Slack user or group IDs)"},
				{Name: "on_timeout", Type: "string", Default: "reject", Enum: []string{"reject", "approve", "wait"},
					Description: "what the step timeout decides: reject (containment kept), approve, or wait on"},
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

// Step kinds that eradicate and recover.
const (
	KindDiscover = "docker:discover"
	KindRebuild  = "image:rebuild"
	KindReplace  = "docker:replace"
	KindRemove   = "docker:remove"
	KindDelete   = "image:delete"
)

// recoveryKinds describes the kinds that rebuild, replace and delete.
func recoveryKinds() []playbooks.Kind {
	concurrency := playbooks.Param{Name: "concurrency", Type: "int", Default: 4,
		Description: "how many units the step acts on at once"}
	retry := playbooks.Retry{MaxAttempts: 5, InitialInterval: playbooks.Duration(time.Second), BackoffCoefficient: 2}
	return []playbooks.Kind{
		{
			Name:        KindDiscover,
			Description: "Find every container, running or stopped, that uses the incident's image; each becomes a unit of the incident.",
			Needs:       []string{"GET /containers/json?all=1"},
			// A daemon busy with many incidents' exports can take minutes to list.
			DefaultTimeout: 5 * time.Minute, DefaultRetry: retry,
		},
		{
			Name: KindRebuild,
			Description: "Build a clean image, with no cache, from the trusted source configured for the image's repository " +
				"(images: in the config; never the image's own labels), tag it as the image it replaces and label it with " +
				"its provenance (incident, source, revision, build time). The build log is kept as evidence.",
			Needs:          []string{"GET /images/{id}/json", "POST /build"},
			Undo:           "the old image keeps its ID until image:delete; re-tag it to go back",
			DefaultTimeout: 30 * time.Minute, DefaultRetry: retry,
		},
		{
			Name: KindReplace,
			Description: "Replace every unit by a new container from the clean image with the same configuration, started " +
				"and ready (healthy when it has a health check). The new container takes the unit's name; the unit is renamed " +
				"<name>-quarantined-<incident> and stopped. Idempotent: an existing replacement is reused.",
			Params:      []playbooks.Param{concurrency},
			Destructive: true,
			Needs: []string{"GET /containers/{id}/json", "POST /containers/{id}/rename", "POST /containers/{id}/stop",
				"POST /containers/create", "POST /containers/{id}/start", "POST /networks/{id}/connect"},
			Undo:           "a replacement that does not become ready is removed and the unit gets its name back",
			DefaultTimeout: 10 * time.Minute, DefaultRetry: retry,
		},
		{
			Name:           KindRemove,
			Description:    "Remove the quarantined containers; a compromised one only once its snapshot has verified.",
			Params:         []playbooks.Param{concurrency},
			Destructive:    true,
			Needs:          []string{"DELETE /containers/{id}?force=1"},
			DefaultTimeout: 5 * time.Minute, DefaultRetry: retry,
		},
		{
			Name: KindDelete,
			Description: "Delete the bad image by ID once no container uses it, with the evidence images committed from it " +
				"(their content is in the sealed evidence). Refused unless every compromised unit's snapshot verified.",
			Destructive:    true,
			Needs:          []string{"GET /containers/json?all=1", "DELETE /images/{id}"},
			DefaultTimeout: 5 * time.Minute, DefaultRetry: retry,
		},
	}
}
