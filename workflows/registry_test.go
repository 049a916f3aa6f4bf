package workflows

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/mock"
	"go.temporal.io/sdk/temporal"

	"github.com/quell-ir/quell/activities"
	"github.com/quell-ir/quell/internal/alert"
	"github.com/quell-ir/quell/internal/docker"
	"github.com/quell-ir/quell/internal/incident"
	"github.com/quell-ir/quell/playbooks"
)

const (
	cleanDigest = "sha256:c1ea2000000000000000000000000000000000000000000000000000000000"
	badDigest   = "sha256:bad0000000000000000000000000000000000000000000000000000000000000"
)

// registryPlaybook recovers a compromised container through the
// registries.
const registryPlaybook = `
name: through-the-registry
match: {source: falco}
steps:
  - {id: contain, kind: docker:isolate}
  - {id: preserve, kind: evidence:snapshot}
  - {id: verify, kind: evidence:verify}
  - {id: find, kind: docker:discover}
  - {id: rebuild, kind: image:rebuild}
  - {id: push, kind: registry:push}
  - {id: replace, kind: docker:replace}
  - {id: blast, kind: registry:blast-radius}
  - {id: unpublish, kind: registry:delete, on_failure: continue}
  - {id: report, kind: report:write}
`

// registryFixture mocks every activity but the registries' and
// ReplaceContainer (see replacedFrom) to succeed.
func registryFixture(t *testing.T) *fixture {
	f := newFixture(t)
	f.env.RegisterActivity(&activities.Registries{})
	f.isolates()
	f.snapshots()
	f.verifies()
	f.env.OnActivity(recoveryActs.DiscoverContainers, mock.Anything, mock.Anything).Return(activities.DiscoverResult{
		Containers: []docker.Container{{ID: containerID, Name: "victim", ImageID: "sha256:bad"}, {ID: siblingID, Name: "sibling", ImageID: "sha256:bad"}},
	}, nil)
	f.env.OnActivity(recoveryActs.RebuildImage, mock.Anything, mock.Anything).Return(activities.RebuildResult{
		Image: incident.ImageChange{OldImageID: "sha256:bad", NewImageID: "sha256:clean", Tags: []string{"example/app:1"}},
	}, nil)
	f.reports()
	return f
}

func (f *fixture) pushes(res activities.PushResult) *[]activities.PushInput {
	var got []activities.PushInput
	f.env.OnActivity(registryActs.PushImage, mock.Anything, mock.Anything).Return(
		func(_ context.Context, in activities.PushInput) (activities.PushResult, error) {
			got = append(got, in)
			return res, nil
		})
	return &got
}

func (f *fixture) blasts(res activities.BlastRadiusResult) {
	f.env.OnActivity(registryActs.BlastRadius, mock.Anything, mock.Anything).Return(res, nil)
}

func (f *fixture) replacedFrom() *[]string {
	var refs []string
	f.env.OnActivity(recoveryActs.ReplaceContainer, mock.Anything, mock.Anything).Return(
		func(_ context.Context, in activities.ReplaceInput) (activities.ReplaceResult, error) {
			refs = append(refs, in.ImageRef)
			return activities.ReplaceResult{Quarantined: in.Unit.Name + "-q", Replacement: incident.Replacement{
				ContainerID: "new-" + in.Unit.ContainerID[:4], ImageID: in.ImageID, ImageRef: in.ImageRef}}, nil
		})
	return &refs
}

func pushedOnce() activities.PushResult {
	return activities.PushResult{
		Pushed:     []incident.PushedImage{{Tag: "r.example/app:1", Ref: "r.example/app@" + cleanDigest, Digest: cleanDigest, Previous: badDigest}},
		Superseded: []string{"r.example/app@" + badDigest},
	}
}

func TestRegistryPushReplaceByDigestDeleteAndBlastRadius(t *testing.T) {
	f := registryFixture(t)
	pushed := f.pushes(pushedOnce())
	refs := f.replacedFrom()
	f.blasts(activities.BlastRadiusResult{Radius: &incident.BlastRadius{Base: "none found", OwnLayers: []string{"sha256:l1"}, Scanned: 4,
		Affected: []incident.AffectedImage{{Repository: "r.example/derived", Tags: []string{"2"}, Digest: "sha256:d", Shared: 1, BuiltOn: true}}}})
	var deleted activities.RegistryDeleteInput
	f.env.OnActivity(registryActs.DeleteFromRegistries, mock.Anything, mock.Anything).Return(
		func(_ context.Context, in activities.RegistryDeleteInput) (activities.RegistryDeleteResult, error) {
			deleted = in
			return activities.RegistryDeleteResult{Deleted: []incident.RegistryDeletion{{Repository: "r.example/app", Digest: badDigest, Tags: []string{"old"}}}}, nil
		}).Once()
	inc := f.run(playbook(t, registryPlaybook))

	check(t, "steps", statuses(inc), "contain=succeeded preserve=succeeded verify=succeeded find=succeeded rebuild=succeeded push=succeeded "+
		"replace=succeeded blast=succeeded unpublish=succeeded report=succeeded")
	if len(*pushed) != 1 || (*pushed)[0].ImageID != "sha256:clean" || !slices.Equal((*pushed)[0].Tags, []string{"example/app:1"}) ||
		(*pushed)[0].OldImageID != "sha256:bad" {
		t.Errorf("push inputs = %+v", *pushed)
	}
	check(t, "replaced from", strings.Join(*refs, " "), "r.example/app@"+cleanDigest+" r.example/app@"+cleanDigest)
	check(t, "push summary", inc.Steps[5].Summary, "pushed r.example/app:1 as "+cleanDigest)
	check(t, "delete known", strings.Join(deleted.Known, " "), "r.example/app@"+badDigest)
	check(t, "delete image", deleted.ImageID, "sha256:bad")
	check(t, "delete summary", inc.Steps[8].Summary, "deleted r.example/app@bad000000000 (tags old)")
	check(t, "blast summary", inc.Steps[7].Summary, "1 image(s) hold its 1 own layer(s): r.example/derived:2")
	img := inc.Image
	if img.PinnedRef() != "r.example/app@"+cleanDigest || len(img.RegistryDeleted) != 1 || img.BlastRadius == nil || len(img.BlastRadius.Affected) != 1 {
		t.Errorf("image = %+v", img)
	}
	if r := inc.Units[0].Replacement; r == nil || r.ImageRef != "r.example/app@"+cleanDigest || r.ImageID != "sha256:clean" {
		t.Errorf("replacement = %+v, want the clean image by digest", r)
	}
}

func TestRegistryRefusingDeletesCompletesTheIncident(t *testing.T) {
	f := registryFixture(t)
	f.pushes(pushedOnce())
	f.replacedFrom()
	f.blasts(activities.BlastRadiusResult{Note: "nothing to compare"})
	partial := activities.RegistryDeleteResult{
		Deleted: []incident.RegistryDeletion{{Repository: "a.example/app", Digest: badDigest}},
		Refused: []incident.RegistryRefusal{{Repository: "r.example/app", Digest: badDigest, Reason: "405 UNSUPPORTED"}},
	}
	msg := "registry refuses deletes: image sha256:bad survives in r.example/app@" + badDigest + " (405 UNSUPPORTED)"
	f.env.OnActivity(registryActs.DeleteFromRegistries, mock.Anything, mock.Anything).Return(activities.RegistryDeleteResult{},
		temporal.NewNonRetryableApplicationError(msg, activities.ErrTypeDeleteRefused, nil, partial)).Once()
	inc := f.run(playbook(t, registryPlaybook))

	check(t, "status", inc.Status, incident.StatusCompleted)
	check(t, "unpublish", inc.Steps[8].Status+": "+inc.Steps[8].Error, "failed: "+msg)
	check(t, "resolution", inc.Resolution, "every step ran; failed and continued: [unpublish]")
	if img := inc.Image; len(img.RegistryDeleted) != 1 || len(img.RegistryRefused) != 1 || img.RegistryRefused[0].Reason != "405 UNSUPPORTED" {
		t.Errorf("image = %+v, want the deletion and the refusal recorded", img)
	}
	if !slices.ContainsFunc(inc.Timeline, func(e incident.Event) bool {
		return e.Type == "step.failed" && e.Step == "unpublish" && e.Message == msg
	}) {
		t.Errorf("timeline lacks the refusal: %+v", inc.Timeline)
	}
}

func TestRegistryDeleteRefusedWithoutVerifiedEvidence(t *testing.T) {
	pb := playbook(t, `
name: hasty
match: {source: falco}
steps:
  - {id: contain, kind: docker:isolate}
  - {id: preserve, kind: evidence:snapshot}
  - {id: find, kind: docker:discover}
  - {id: unpublish, kind: registry:delete, on_failure: continue}
  - {id: report, kind: report:write}
`)
	f := registryFixture(t)
	inc := f.run(pb)
	check(t, "unpublish", inc.Steps[3].Error, "refused: unit victim ran the image and its snapshot has not verified")
	f.env.AssertNotCalled(t, "DeleteFromRegistries", mock.Anything, mock.Anything)
}

// TestRegistryStepsWithoutRegistry: with no registry configured each
// registry step says it has nothing to do and replace uses the image ID.
func TestRegistryStepsWithoutRegistry(t *testing.T) {
	f := registryFixture(t)
	f.pushes(activities.PushResult{Note: activities.NoRegistry})
	refs := f.replacedFrom()
	f.blasts(activities.BlastRadiusResult{Note: activities.NoRegistry})
	f.env.OnActivity(registryActs.DeleteFromRegistries, mock.Anything, mock.Anything).Return(activities.RegistryDeleteResult{Note: activities.NoRegistry}, nil)
	inc := f.run(playbook(t, registryPlaybook))

	for _, i := range []int{5, 7, 8} {
		check(t, inc.Steps[i].ID, inc.Steps[i].Status+": "+inc.Steps[i].Summary, "succeeded: nothing to do: no registry configured")
	}
	check(t, "replaced from", fmt.Sprintf("%q", *refs), `["" ""]`)
	if img := inc.Image; img.PinnedRef() != "" || img.BlastRadius != nil || img.RegistryDeleted != nil {
		t.Errorf("image = %+v, want nothing from the registries", img)
	}
}

// TestLibraryVulnerableImageThroughTheRegistry runs the built-in
// vulnerable-image playbook on a Trivy alert.
func TestLibraryVulnerableImageThroughTheRegistry(t *testing.T) {
	pbs, err := playbooks.LoadLibrary(registry(t))
	if err != nil {
		t.Fatal(err)
	}
	i := slices.IndexFunc(pbs, func(p playbooks.Playbook) bool { return p.Name == "vulnerable-image" })
	if i < 0 {
		t.Fatal("no vulnerable-image playbook")
	}
	f := newFixture(t)
	f.env.RegisterActivity(&activities.Registries{})
	f.env.OnActivity(recoveryActs.DiscoverContainers, mock.Anything, mock.Anything).Return(activities.DiscoverResult{
		Containers: []docker.Container{{ID: siblingID, Name: "app-a", ImageID: "sha256:bad"}}}, nil)
	f.env.OnActivity(recoveryActs.RebuildImage, mock.Anything, mock.Anything).Return(activities.RebuildResult{
		Image: incident.ImageChange{OldImageID: "sha256:bad", NewImageID: "sha256:clean", Ref: "r.example/app:1", Tags: []string{"r.example/app:1"}}}, nil)
	f.pushes(pushedOnce())
	refs := f.replacedFrom()
	f.env.OnActivity(recoveryActs.RemoveContainer, mock.Anything, mock.Anything).Return(activities.RemoveResult{Removed: "app-a-q"}, nil)
	f.blasts(activities.BlastRadiusResult{Radius: &incident.BlastRadius{Affected: []incident.AffectedImage{}}})
	f.env.OnActivity(registryActs.DeleteFromRegistries, mock.Anything, mock.Anything).Return(activities.RegistryDeleteResult{
		Deleted: []incident.RegistryDeletion{{Repository: "r.example/app", Digest: badDigest}}}, nil)
	f.env.OnActivity(recoveryActs.DeleteImage, mock.Anything, mock.Anything).Return(activities.DeleteImageResult{Removed: []string{"sha256:bad"}}, nil)
	f.reports()
	f.decide(time.Minute, incident.DecisionRequest{Step: "approve-recovery", Decision: incident.Approve, Approver: "carol"}, nil)
	a := testAlert()
	a.Source, a.Rule = "trivy", "vulnerable-image"
	a.Target = alert.Target{Kind: alert.KindImage, Image: "r.example/app:1", ImageID: "sha256:bad"}
	f.alerts(0, a)
	f.env.ExecuteWorkflow(incidentResponse(t), IncidentInput{Alert: a, Playbook: pbs[i], Approvers: []string{"carol"}})
	var inc incident.Incident
	if err := f.env.GetWorkflowResult(&inc); err != nil {
		t.Fatal(err)
	}
	check(t, "steps", statuses(inc), "find-containers=succeeded approve-recovery=succeeded rebuild=succeeded push=succeeded replace=succeeded "+
		"remove-old=succeeded blast-radius=succeeded delete-from-registry=succeeded delete-image=succeeded report=succeeded")
	check(t, "replaced from", fmt.Sprint(*refs), "[r.example/app@"+cleanDigest+"]")
}
