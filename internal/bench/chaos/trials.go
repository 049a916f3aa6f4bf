package chaos

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"github.com/quell-ir/quell/internal/bench/rig"
)

// trial is one durability trial: an incident on a fresh container, broken
// at a moment by a strike, then checked.
type trial struct {
	name string
	// dev runs the incident on a quell dev process of its own instead of
	// the shared serve and worker.
	dev bool
	// recovery runs the whole compromised-container playbook, approved
	// through the API, on a victim and a sibling of an image of their own.
	recovery bool
	// before, when set, breaks something before the alert.
	before func(ctx context.Context, r *run, v *victim) error
	// at waits for the moment to strike.
	at moment
	// strike breaks something and mends it.
	strike func(ctx context.Context, r *run, v *victim) error
	// checks, when set, adds checks of its own.
	checks func(ctx context.Context, r *run, v *victim) []error
}

// moment returns once the incident has reached it.
type moment func(ctx context.Context, r *run, v *victim) error

// trials is every trial, in the order they run.
func trials() []trial {
	return []trial{
		{name: "worker killed after contain", at: stepDone("contain"), strike: killWorker},
		{name: "worker killed after preserve", at: stepDone("preserve"), strike: killWorker},
		{name: "worker killed after verify", at: stepDone("verify"), strike: killWorker},
		{name: "worker killed mid-export", at: exporting, strike: killWorker},
		{name: "worker killed at the pause event", at: dockerEvent("pause"), strike: killWorker},
		{name: "worker killed at the commit event", at: dockerEvent("commit"), strike: killWorker},
		{name: "quell dev killed mid-export and restarted", dev: true, at: exporting, strike: killDev},
		{name: "docker unreachable mid-snapshot", at: exporting, strike: cutDocker},
		{name: "slack down during an incident", before: slackDown, at: dockerEvent("pause"), strike: slackBack,
			checks: checkSlackDown},
		{name: "recovery: worker killed after find-siblings", recovery: true, at: stepDone("find-siblings"), strike: killWorker},
		{name: "recovery: worker killed after approve-recovery, as rebuild starts", recovery: true, at: scheduled("rebuild"), strike: killWorker},
		{name: "recovery: worker killed mid-rebuild", recovery: true, at: building, strike: killWorker},
		{name: "recovery: worker killed after rebuild", recovery: true, at: stepDone("rebuild"), strike: killWorker},
		{name: "recovery: worker killed mid-replace, at a replacement's create", recovery: true, at: replacementCreated, strike: killWorker},
		{name: "recovery: worker killed after replace", recovery: true, at: stepDone("replace"), strike: killWorker},
		{name: "recovery: worker killed after remove-quarantined", recovery: true, at: stepDone("remove-quarantined"), strike: killWorker},
		{name: "recovery: worker killed after delete-image", recovery: true, at: stepDone("delete-image"), strike: killWorker},
	}
}

// victim is the container and incident a trial works on.
type victim struct {
	c       rig.Container
	alert   []byte
	since   time.Time // just before the alert
	id      string    // the incident
	api     *rig.API  // where the incident is read
	dataDir string    // where its evidence is written
	dev     *rig.Quell
	struck  string // the incident's steps when the strike came
	// app, units and approved are a recovery trial's image, the containers
	// that run it (the victim first) and the approval's outcome.
	app      *appImage
	units    []rig.Container
	approved <-chan error
	// slackDown and slackUp are when a trial took Slack down and brought
	// it back; slackCalls how many calls Slack had taken by then.
	slackDown, slackUp time.Time
	slackCalls         int
}

// trialTimeout bounds one trial. Killed activities are retried after the
// 20 s heartbeat timeout, or the step's start-to-close timeout when they
// do not heartbeat: 30 s to 5 min.
const trialTimeout = 6 * time.Minute

func (r *run) trial(ctx context.Context, t trial) error {
	ctx, cancel := context.WithTimeout(ctx, trialTimeout)
	defer cancel()
	v := &victim{api: r.serve.API, dataDir: r.dataDir}
	if err := r.prepare(ctx, t, v); err != nil {
		return err
	}
	if t.dev {
		if err := r.startDev(ctx, v); err != nil {
			return err
		}
		defer func() { v.dev.Stop() }()
	}
	if t.before != nil {
		if err := t.before(ctx, r, v); err != nil {
			return fmt.Errorf("before the alert: %w", err)
		}
	}
	v.since = time.Now()
	o, _, err := v.api.PostAlert(ctx, v.alert)
	if err != nil {
		return err
	}
	v.id = o.IncidentID
	if t.recovery {
		v.approved = approve(ctx, v)
	}
	defer r.unhold()
	if err := t.at(ctx, r, v); err != nil {
		return fmt.Errorf("waiting for the moment: %w", err)
	}
	if err := t.strike(ctx, r, v); err != nil {
		return fmt.Errorf("strike: %w", err)
	}
	r.unhold()
	r.logf("struck incident %s: %s", v.id, v.struck)
	if v.struck == reportWritten {
		return errors.New("not exercised: every step had run before the strike")
	}
	return r.check(ctx, t, v)
}

// unhold lets what Temporal and the daemon say reach the worker at once
// again: the moments that hold it back are past.
func (r *run) unhold() {
	r.lag.Hold(0)
	r.proxy.Hold(0)
}

// prepare makes the trial's containers and its alert.
func (r *run) prepare(ctx context.Context, t trial, v *victim) error {
	if t.recovery {
		return r.prepareRecovery(ctx, v)
	}
	cs, err := r.lab.Containers(ctx, 1, r.nets)
	if err != nil {
		return err
	}
	v.c, v.alert = cs[0], r.alert.For(cs[0].ID)
	return r.lab.Fill(ctx, v.c.ID, "/loot.bin", r.dataMB)
}

// toContain is the time from the alert to the victim's pause event.
func (v *victim) toContain(evs []rig.Event) (time.Duration, bool) {
	for _, e := range evs {
		if e.Action == "pause" && !e.Time.Before(v.since) {
			return e.Time.Sub(v.since), true
		}
	}
	return 0, false
}

func (r *run) startDev(ctx context.Context, v *victim) error {
	if v.dataDir == r.dataDir {
		v.dataDir = filepath.Join(r.dir, "dev-data")
	}
	dev, err := rig.StartDev(ctx, rig.DevOptions{Bin: r.bin, DataDir: v.dataDir, Playbooks: r.playbooks, LogDir: r.dir})
	if err != nil {
		return err
	}
	v.dev, v.api = dev, dev.API
	return nil
}

// boundaryLag is how long, once a step's activities are scheduled, what
// Temporal sends the worker is held (see Proxy): longer than the rig takes
// to learn the step completed and kill the worker, so that the worker has
// not started the next step.
const boundaryLag = 300 * time.Millisecond

// stepDone is the moment Temporal records the step's activities
// completed: the step boundary, seen through a long poll on the workflow's
// history (polling the API's step statuses comes too late to find the
// report step still to run). Activity IDs are step IDs, followed by
// "/<unit>" for a step that acts on each unit. From the step's start the
// worker hears from Temporal boundaryLag late, so the moment comes before
// it can start the next step.
func stepDone(step string) moment {
	return func(ctx context.Context, r *run, v *victim) error {
		return r.watchHistory(ctx, v, func(a activities) bool {
			if a.isScheduled(step) && v.dev == nil {
				r.lag.Hold(boundaryLag)
			}
			return a.done(step)
		})
	}
}

// scheduled is the moment Temporal schedules the step's first activity.
func scheduled(step string) moment {
	return func(ctx context.Context, r *run, v *victim) error {
		return r.watchHistory(ctx, v, func(a activities) bool { return a.isScheduled(step) })
	}
}

// exporting is the moment the filesystem export is being written.
func exporting(ctx context.Context, r *run, v *victim) error {
	partial := filepath.Join(rig.EvidenceDir(v.dataDir, v.id), "container", ".filesystem.tar.partial")
	for {
		if _, err := os.Stat(partial); err == nil {
			return nil
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("no export under way at %s: %w", partial, ctx.Err())
		case <-time.After(2 * time.Millisecond):
		}
	}
}

// dockerEvent is the moment the daemon reports the action on the victim.
func dockerEvent(action string) moment {
	return func(ctx context.Context, r *run, v *victim) error {
		_, err := r.lab.Events.Wait(ctx, v.c.ID, func(evs []rig.Event) bool {
			return rig.Count(evs, action, v.since) > 0
		})
		return err
	}
}

// killWorker kills the worker with SIGKILL and starts a new one.
func killWorker(ctx context.Context, r *run, v *victim) error {
	v.struck = r.state(v)
	r.worker.Kill()
	if v.app != nil && v.struck != reportWritten {
		v.struck = r.progress(ctx, v)
	}
	r.logf("left by the dead worker: %s", r.pending(ctx, v))
	return r.startWorker(ctx)
}

// killDev kills the victim's quell dev with SIGKILL and starts it again on
// the same data dir.
func killDev(ctx context.Context, r *run, v *victim) error {
	v.struck = r.state(v)
	v.dev.Kill()
	return r.startDev(ctx, v)
}

// cutDocker cuts the worker off the daemon for the outage, then restores it.
func cutDocker(ctx context.Context, r *run, v *victim) error {
	v.struck = r.state(v)
	r.proxy.Cut()
	select {
	case <-time.After(r.outage):
	case <-ctx.Done():
	}
	r.proxy.Restore()
	return ctx.Err()
}

// reportWritten is the state of an incident whose steps have all run.
const reportWritten = "report written"

// state describes how far the incident had got, from its evidence folder:
// the incident itself cannot be queried with the worker down.
func (r *run) state(v *victim) string {
	dir := rig.EvidenceDir(v.dataDir, v.id)
	switch {
	case exists(filepath.Join(v.dataDir, "reports", v.id+".md")):
		return reportWritten
	case exists(filepath.Join(dir, "manifest.json")):
		return "evidence sealed"
	case exists(filepath.Join(dir, "container", ".filesystem.tar.partial")):
		return "export under way"
	case exists(filepath.Join(dir, "container", "filesystem.tar")):
		return "export written, not sealed"
	case exists(dir):
		return "snapshot started"
	}
	return "before the snapshot"
}

func exists(path string) bool {
	_, err := os.Stat(path)
	return !errors.Is(err, os.ErrNotExist)
}
