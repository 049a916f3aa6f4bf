package chaos

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"

	enumspb "go.temporal.io/api/enums/v1"

	"github.com/quell-ir/quell/internal/bench/rig"
)

// trial is one durability trial: an incident on a fresh container, broken
// at a moment by a strike, then checked.
type trial struct {
	name string
	// dev runs the incident on a quell dev process of its own instead of
	// the shared serve and worker.
	dev bool
	// at waits for the moment to strike.
	at moment
	// strike breaks something and mends it.
	strike func(ctx context.Context, r *run, v *victim) error
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
	}
}

// victim is the container and incident a trial works on.
type victim struct {
	c       rig.Container
	since   time.Time // just before the alert
	id      string    // the incident
	api     *rig.API  // where the incident is read
	dataDir string    // where its evidence is written
	dev     *rig.Quell
	struck  string // the incident's steps when the strike came
}

// trialTimeout bounds one trial. Killed activities are retried after the
// 20 s heartbeat timeout, or the step's 30 s or 1 min start-to-close
// timeout when they do not heartbeat.
const trialTimeout = 6 * time.Minute

func (r *run) trial(ctx context.Context, t trial) error {
	ctx, cancel := context.WithTimeout(ctx, trialTimeout)
	defer cancel()
	cs, err := r.lab.Containers(ctx, 1, r.nets)
	if err != nil {
		return err
	}
	v := &victim{c: cs[0], api: r.serve.API, dataDir: r.dataDir}
	if err := r.lab.Fill(ctx, v.c.ID, "/loot.bin", r.dataMB); err != nil {
		return err
	}
	if t.dev {
		if err := r.startDev(ctx, v); err != nil {
			return err
		}
		defer func() { v.dev.Stop() }()
	}
	v.since = time.Now()
	o, _, err := v.api.PostAlert(ctx, r.alert.For(v.c.ID))
	if err != nil {
		return err
	}
	v.id = o.IncidentID
	if err := t.at(ctx, r, v); err != nil {
		return fmt.Errorf("waiting for the moment: %w", err)
	}
	if err := t.strike(ctx, r, v); err != nil {
		return fmt.Errorf("strike: %w", err)
	}
	r.logf("struck incident %s: %s", v.id, v.struck)
	if v.struck == reportWritten {
		return errors.New("not exercised: every step had run before the strike")
	}
	return r.check(ctx, v)
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

// stepDone is the moment Temporal records the step's activity completed:
// the step boundary, seen through a long poll on the workflow's history
// (polling the API's step statuses comes too late to find the report step
// still to run). Activity IDs are step IDs.
func stepDone(step string) moment {
	return func(ctx context.Context, r *run, v *victim) error {
		wfID, runID, _ := strings.Cut(v.id, ".")
		iter := r.history.GetWorkflowHistory(ctx, wfID, runID, true, enumspb.HISTORY_EVENT_FILTER_TYPE_ALL_EVENT)
		scheduled := map[int64]string{}
		for iter.HasNext() {
			e, err := iter.Next()
			if err != nil {
				return fmt.Errorf("history of %s: %w", v.id, err)
			}
			if a := e.GetActivityTaskScheduledEventAttributes(); a != nil {
				scheduled[e.GetEventId()] = a.GetActivityId()
			}
			if a := e.GetActivityTaskCompletedEventAttributes(); a != nil && scheduled[a.GetScheduledEventId()] == step {
				return nil
			}
		}
		return fmt.Errorf("history of %s ended before step %s completed", v.id, step)
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
