package workflows

import (
	"time"

	"go.temporal.io/sdk/workflow"

	"github.com/quell-ir/quell/activities"
	"github.com/quell-ir/quell/internal/incident"
	"github.com/quell-ir/quell/playbooks"
)

// KindReport writes the post-incident report.
const KindReport = "report:write"

var reportKind = define(Kind{
	Kind: playbooks.Kind{
		Name:     KindReport,
		ReadOnly: true,
		Description: "Write the post-incident report (Markdown, HTML and JSON): timeline, steps with times, " +
			"approvals, evidence and time to contain. Runs even when an earlier step aborted the playbook.",
		DefaultTimeout: time.Minute,
		DefaultRetry:   playbooks.Retry{MaxAttempts: 5, InitialInterval: playbooks.Duration(time.Second), BackoffCoefficient: 2},
	},
	Always: true,
}, report)

func report(ctx workflow.Context, r *response, s step[none]) (string, error) {
	// The report shows its own step as done; a failure below corrects the live state.
	snapshot := r.inc
	snapshot.Steps = append([]incident.Step(nil), r.inc.Steps...)
	snapshot.Steps[s.index].Status, snapshot.Steps[s.index].FinishedAt = incident.StepSucceeded, timePtr(workflow.Now(ctx))
	var res activities.ReportResult
	in := activities.ReportInput{Incident: snapshot}
	if err := workflow.ExecuteActivity(r.options(ctx, s.Step), reportActs.WriteReport, in).Get(ctx, &res); err != nil {
		return "", err
	}
	if res.HTML == "" { // a worker from before the HTML report
		return "wrote " + res.Markdown + " and " + res.JSON, nil
	}
	return "wrote " + res.Markdown + ", " + res.HTML + " and " + res.JSON, nil
}
