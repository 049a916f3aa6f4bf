package workflows

import (
	"fmt"
	"slices"
	"strings"

	"go.temporal.io/sdk/workflow"

	"github.com/quell-ir/quell/activities"
	"github.com/quell-ir/quell/internal/incident"
	"github.com/quell-ir/quell/playbooks"
)

var recoveryActs *activities.Recovery

// committedImageArtifact is the evidence artifact that holds the committed
// image, which lets image:delete remove the image itself from the daemon.
const committedImageArtifact = "container/committed-image.tar"

// badImage is the image the incident is about.
func (r *response) badImage() string {
	if r.inc.Image != nil {
		return r.inc.Image.OldImageID
	}
	return r.inc.Target.ImageID
}

func (r *response) discover(ctx workflow.Context, s playbooks.Step) (string, error) {
	var res activities.DiscoverResult
	in := activities.DiscoverInput{IncidentID: r.inc.ID, ImageID: r.badImage()}
	if err := workflow.ExecuteActivity(options(ctx, s, false), recoveryActs.DiscoverContainers, in).Get(ctx, &res); err != nil {
		return "", err
	}
	added := 0
	for _, c := range res.Containers {
		if _, ok := r.inc.Unit(c.ID); !ok {
			r.inc.Units = append(r.inc.Units, incident.Unit{ContainerID: c.ID, Name: c.Name, ImageID: c.ImageID})
			added++
		}
	}
	return fmt.Sprintf("%d container(s) use image %s; %d unit(s) in all", len(res.Containers), shortImage(in.ImageID), len(r.inc.Units)), nil
}

func (r *response) rebuild(ctx workflow.Context, s playbooks.Step) (string, error) {
	var res activities.RebuildResult
	in := activities.RebuildInput{IncidentID: r.inc.ID, ImageID: r.badImage(), Ref: r.inc.Target.Image}
	if err := workflow.ExecuteActivity(options(ctx, s, true), recoveryActs.RebuildImage, in).Get(ctx, &res); err != nil {
		return "", err
	}
	r.inc.Image = &res.Image
	return fmt.Sprintf("built %s as %s from %s (revision %s)", shortImage(res.Image.NewImageID),
		strings.Join(res.Image.Tags, ", "), res.Image.Source, res.Image.Revision), nil
}

func (r *response) replace(ctx workflow.Context, s playbooks.Step) (string, error) {
	if r.inc.Image == nil || r.inc.Image.NewImageID == "" {
		return "", fmt.Errorf("no clean image to replace from: run image:rebuild first")
	}
	return r.eachUnit(ctx, s, func(u incident.Unit) bool { return u.Replacement == nil && !u.Removed },
		func(ctx workflow.Context, u *incident.Unit) (string, error) {
			in := activities.ReplaceInput{
				IncidentID: r.inc.ID, Unit: *u, ImageID: r.inc.Image.NewImageID, QuarantineSuffix: r.suffix(),
			}
			if iso := r.inc.Isolation; iso != nil && iso.ContainerID == u.ContainerID {
				in.Networks = iso.Networks
			}
			var res activities.ReplaceResult
			if err := workflow.ExecuteActivity(unitOptions(ctx, s, true, u.ContainerID), recoveryActs.ReplaceContainer, in).Get(ctx, &res); err != nil {
				return "", err
			}
			u.Quarantined, u.Replacement = res.Quarantined, &res.Replacement
			r.notifyReply(fmt.Sprintf(":recycle: *%s* replaced: image %s → %s", u.Name, shortImage(u.ImageID), shortImage(res.Replacement.ImageID)))
			return fmt.Sprintf("replaced by %s (%s, image %s); old one now %s", short(res.Replacement.ContainerID),
				res.Replacement.Name, shortImage(res.Replacement.ImageID), res.Quarantined), nil
		})
}

func (r *response) remove(ctx workflow.Context, s playbooks.Step) (string, error) {
	return r.eachUnit(ctx, s, func(u incident.Unit) bool { return u.Quarantined != "" && !u.Removed },
		func(ctx workflow.Context, u *incident.Unit) (string, error) {
			if u.Compromised && !u.EvidenceVerified {
				return "", fmt.Errorf("refused: the snapshot of %s has not verified", u.Name)
			}
			var res activities.RemoveResult
			in := activities.RemoveInput{IncidentID: r.inc.ID, Unit: *u}
			if err := workflow.ExecuteActivity(unitOptions(ctx, s, false, u.ContainerID), recoveryActs.RemoveContainer, in).Get(ctx, &res); err != nil {
				return "", err
			}
			u.Removed = true
			return "removed " + res.Removed, nil
		})
}

func (r *response) deleteImage(ctx workflow.Context, s playbooks.Step) (string, error) {
	for _, u := range r.inc.Units {
		if u.Compromised && !u.EvidenceVerified {
			return "", fmt.Errorf("refused: unit %s ran the image and its snapshot has not verified", u.Name)
		}
	}
	in := activities.DeleteImageInput{IncidentID: r.inc.ID, ImageID: r.badImage()}
	if ev := r.inc.Evidence; ev != nil && ev.Image != "" && slices.ContainsFunc(ev.Artifacts, func(a incident.Artifact) bool {
		return a.Name == committedImageArtifact
	}) {
		in.EvidenceImages = []string{ev.Image}
	}
	var res activities.DeleteImageResult
	if err := workflow.ExecuteActivity(options(ctx, s, false), recoveryActs.DeleteImage, in).Get(ctx, &res); err != nil {
		return "", err
	}
	if r.inc.Image == nil {
		r.inc.Image = &incident.ImageChange{OldImageID: in.ImageID}
	}
	r.inc.Image.Deleted, r.inc.Image.DeletedAt = res.Removed, timePtr(workflow.Now(ctx))
	return fmt.Sprintf("deleted image %s (%d object(s) removed)", shortImage(in.ImageID), len(res.Removed)), nil
}

// eachUnit runs act on every unit pick selects, at most the step's
// concurrency at once, recording each unit's result. One unit's failure
// does not stop or hide the others; the step fails when any unit failed.
func (r *response) eachUnit(ctx workflow.Context, s playbooks.Step, pick func(incident.Unit) bool,
	act func(workflow.Context, *incident.Unit) (string, error)) (string, error) {
	sem := workflow.NewSemaphore(ctx, int64(max(1, s.Int("concurrency"))))
	wg := workflow.NewWaitGroup(ctx)
	var failed, done []string
	for i := range r.inc.Units {
		if !pick(r.inc.Units[i]) {
			continue
		}
		wg.Add(1)
		workflow.Go(ctx, func(ctx workflow.Context) {
			defer wg.Done()
			if err := sem.Acquire(ctx, 1); err != nil {
				return
			}
			defer sem.Release(1)
			u := &r.inc.Units[i]
			res := incident.UnitResult{Step: s.ID, Status: incident.StepRunning, StartedAt: timePtr(workflow.Now(ctx))}
			summary, err := act(ctx, u)
			res.FinishedAt, res.Summary = timePtr(workflow.Now(ctx)), summary
			if err != nil {
				res.Status, res.Error = incident.StepFailed, message(err)
				failed = append(failed, u.Name)
				r.event(ctx, "unit.failed", s.ID, fmt.Sprintf("%s: %s", u.Name, res.Error))
			} else {
				res.Status = incident.StepSucceeded
				done = append(done, u.Name)
				r.event(ctx, "unit.succeeded", s.ID, fmt.Sprintf("%s: %s", u.Name, summary))
			}
			u.Results = append(u.Results, res)
		})
	}
	wg.Wait(ctx)
	if len(failed) > 0 {
		return "", fmt.Errorf("%d unit(s) failed: %s (%d succeeded)", len(failed), strings.Join(failed, ", "), len(done))
	}
	return fmt.Sprintf("%d unit(s): %s", len(done), strings.Join(done, ", ")), nil
}

// suffix names what an incident quarantines: the first characters of its run.
func (r *response) suffix() string {
	_, run, _ := strings.Cut(r.inc.ID, ".")
	return run[:min(8, len(run))]
}

func shortImage(id string) string {
	return short(strings.TrimPrefix(id, "sha256:"))
}
