package workflows

import (
	"fmt"
	"time"

	"go.temporal.io/sdk/workflow"

	"github.com/quell-ir/quell/activities"
	"github.com/quell-ir/quell/playbooks"
)

// KindVerify recomputes the hash of every preserved artifact.
const KindVerify = "evidence:verify"

var verifyKind = define(Kind{
	Kind: playbooks.Kind{
		Name:           KindVerify,
		ReadOnly:       true,
		Description:    "Recompute the SHA-256 of every artifact in the manifest; a mismatch or a missing file fails the step.",
		DefaultTimeout: 30 * time.Minute,
		DefaultRetry:   playbooks.Retry{MaxAttempts: 5, InitialInterval: playbooks.Duration(time.Second), BackoffCoefficient: 2},
	},
	Queue: HeavyQueue,
}, verify)

func verify(ctx workflow.Context, r *response, s step[none]) (string, error) {
	var res activities.VerifyResult
	in := activities.VerifyInput{IncidentID: r.inc.ID}
	if err := workflow.ExecuteActivity(r.options(ctx, s.Step), evidenceActs.VerifyEvidence, in).Get(ctx, &res); err != nil {
		return "", err
	}
	if r.inc.Evidence != nil {
		r.inc.Evidence.Verified, r.inc.Evidence.VerifiedAt = true, timePtr(res.At)
		if res.Timestamped != nil || res.TimestampMissing != "" {
			r.inc.Evidence.TimestampedAt, r.inc.Evidence.TimestampMissing = res.Timestamped, res.TimestampMissing
		}
		if u, ok := r.inc.Unit(r.inc.Target.ContainerID); ok {
			u.EvidenceVerified = true
		}
		r.notifyReply(evidenceReply(*r.inc.Evidence))
	}
	return fmt.Sprintf("%d artifacts verified, manifest sha256 %s", res.Verified, res.ManifestSHA256), nil
}
