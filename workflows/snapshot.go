package workflows

import (
	"fmt"
	"time"

	"go.temporal.io/sdk/workflow"

	"github.com/quell-ir/quell/activities"
	"github.com/quell-ir/quell/internal/incident"
	"github.com/quell-ir/quell/playbooks"
)

// KindSnapshot preserves a container as write-once, hashed evidence.
const KindSnapshot = "evidence:snapshot"

// snapshotParams are the parameters of evidence:snapshot.
type snapshotParams struct {
	Logs      bool `json:"logs"`
	Processes bool `json:"processes"`
	Export    bool `json:"export"`
	Commit    bool `json:"commit"`
}

var snapshotKind = define(Kind{
	Kind: playbooks.Kind{
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
		ReadOnly:  true,
		Needs: []string{"GET /containers/{id}/json", "GET /containers/{id}/logs", "GET /containers/{id}/changes",
			"GET /containers/{id}/top", "GET /containers/{id}/export", "POST /commit"},
		DefaultTimeout: 30 * time.Minute,
		DefaultRetry:   playbooks.Retry{MaxAttempts: 10, InitialInterval: playbooks.Duration(time.Second), BackoffCoefficient: 2},
	},
	Queue: HeavyQueue,
}, snapshot)

func snapshot(ctx workflow.Context, r *response, s step[snapshotParams]) (string, error) {
	var res activities.SnapshotResult
	in := activities.SnapshotInput{
		IncidentID: r.inc.ID, Target: r.inc.Target,
		Logs: s.P.Logs, Processes: s.P.Processes, Export: s.P.Export, Commit: s.P.Commit,
	}
	if err := workflow.ExecuteActivity(r.options(ctx, s.Step), evidenceActs.SnapshotContainer, in).Get(ctx, &res); err != nil {
		return "", err
	}
	r.inc.Evidence = &res.Evidence
	return evidenceSummary(res.Evidence), nil
}

// evidenceSummary is a snapshot's step summary: what was preserved, its
// manifest's hash, and what could not be.
func evidenceSummary(ev incident.Evidence) string {
	var size int64
	for _, a := range ev.Artifacts {
		size += a.Size
	}
	summary := fmt.Sprintf("%d artifacts, %d bytes, manifest sha256 %s", len(ev.Artifacts), size, ev.ManifestSHA256)
	for _, n := range ev.Notes {
		summary += "; " + n
	}
	return summary
}
