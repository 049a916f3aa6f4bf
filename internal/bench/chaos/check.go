package chaos

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/quell-ir/quell/internal/bench/rig"
	"github.com/quell-ir/quell/internal/evidence"
	"github.com/quell-ir/quell/internal/incident"
)

// settle is how long the checks wait after the incident completes for any
// late Docker event to arrive.
const settle = 2 * time.Second

// check verifies the outcome of a trial: the incident completed with every
// step succeeded, the daemon saw each destructive action exactly once, the
// container is still contained, the isolation record can undo it, and the
// evidence verifies; for a recovery trial, that every unit was replaced
// once and removed once and the bad image deleted once (checkRecovery).
func (r *run) check(ctx context.Context, t trial, v *victim) error {
	inc, err := v.api.WaitIncident(ctx, v.id, 250*time.Millisecond, rig.Finished)
	if err != nil {
		return err
	}
	var errs []error
	if inc.Status != incident.StatusCompleted {
		errs = append(errs, fmt.Errorf("incident %s: %s", inc.Status, inc.Resolution))
	}
	for _, s := range inc.Steps {
		if s.Status != incident.StepSucceeded {
			errs = append(errs, fmt.Errorf("step %s %s %s", s.ID, s.Status, s.Error))
		}
	}
	if v.approved != nil {
		if err := <-v.approved; err != nil {
			errs = append(errs, err)
		}
	}
	time.Sleep(settle)
	r.logActions(v, inc)
	if ttc, ok := v.toContain(r.lab.Events.Events(v.c.ID)); ok && t.before == nil {
		r.toContain = append(r.toContain, ttc)
	}
	if v.app != nil {
		errs = append(errs, r.checkRecovery(ctx, v, inc)...)
	} else {
		errs = append(errs, r.checkActions(v)...)
		errs = append(errs, r.checkContained(ctx, v, inc)...)
	}
	errs = append(errs, r.checkEvidence(ctx, v)...)
	if t.checks != nil {
		errs = append(errs, t.checks(ctx, r, v)...)
	}
	return errors.Join(errs...)
}

// exactlyOnce are the destructive actions the incident must take once
// each; disconnect once per network.
var exactlyOnce = []string{"pause", "commit"}

// never are the actions the incident must not take.
var never = []string{"unpause", "connect", "kill", "die", "stop", "destroy"}

// checkActions counts the daemon's events about the victim since the alert.
func (r *run) checkActions(v *victim) []error {
	evs := r.lab.Events.Events(v.c.ID)
	var errs []error
	for _, nw := range v.c.Networks {
		at := rig.Disconnects(evs, nw, v.since)
		if len(at) != r.perDisconnect {
			errs = append(errs, fmt.Errorf("disconnect from %s happened %d/%d times, want 1 (%d events at %s)",
				nw, len(at), r.perDisconnect, len(at), times(at)))
		}
	}
	for _, action := range exactlyOnce {
		if n := rig.Count(evs, action, v.since); n != 1 {
			errs = append(errs, fmt.Errorf("%s happened %d times, want 1 (at %s)", action, n, times(when(evs, action, v.since))))
		}
	}
	for _, action := range never {
		if n := rig.Count(evs, action, v.since); n != 0 {
			errs = append(errs, fmt.Errorf("%s happened %d times, want none (at %s)", action, n, times(when(evs, action, v.since))))
		}
	}
	return errs
}

// logActions logs what the daemon saw and what the incident recorded.
func (r *run) logActions(v *victim, inc incident.Incident) {
	evs := r.lab.Events.Events(v.c.ID)
	counts := map[string]int{}
	for _, e := range evs {
		if !e.Time.Before(v.since) {
			counts[e.Action]++
		}
	}
	var nets []string
	var wasPaused, paused bool
	if iso := inc.Isolation; iso != nil {
		for _, a := range iso.Networks {
			nets = append(nets, a.Network)
		}
		wasPaused, paused = iso.WasPaused, iso.Paused
	}
	ttc := "never"
	if d, ok := v.toContain(evs); ok {
		ttc = d.Round(time.Millisecond).String()
	}
	r.logf("incident %s %s; daemon events since the alert %v (%d per disconnect), paused %s after it; isolation record: networks %v, was_paused %t, paused %t",
		inc.Status, rig.StepStatuses(inc), counts, r.perDisconnect, ttc, nets, wasPaused, paused)
	r.logf("steps, from the alert: %s", stepTimes(inc, v.since))
}

// stepTimes says when each step started after since and how long it took.
func stepTimes(inc incident.Incident, since time.Time) string {
	var b strings.Builder
	for _, s := range inc.Steps {
		if s.StartedAt == nil || s.FinishedAt == nil {
			continue
		}
		fmt.Fprintf(&b, "%s at %s for %s; ", s.ID, s.StartedAt.Sub(since).Round(100*time.Millisecond),
			s.FinishedAt.Sub(*s.StartedAt).Round(100*time.Millisecond))
	}
	return strings.TrimSuffix(b.String(), "; ")
}

// checkContained checks the container is still frozen and cut off, and
// that the incident recorded what undoing the isolation needs.
func (r *run) checkContained(ctx context.Context, v *victim, inc incident.Incident) []error {
	var errs []error
	c, err := r.lab.Docker.Container(ctx, v.c.ID)
	if err != nil {
		return []error{err}
	}
	if !c.Paused || !c.Running {
		errs = append(errs, fmt.Errorf("container running %t paused %t, want frozen and alive", c.Running, c.Paused))
	}
	if atts, err := r.lab.Docker.Attachments(ctx, v.c.ID); err != nil || len(atts) != 0 {
		errs = append(errs, fmt.Errorf("container still attached: %+v %v", atts, err))
	}
	iso := inc.Isolation
	if iso == nil {
		return append(errs, errors.New("incident has no isolation record"))
	}
	var recorded []string
	for _, a := range iso.Networks {
		recorded = append(recorded, a.Network)
	}
	slices.Sort(recorded)
	if want := slices.Sorted(slices.Values(v.c.Networks)); !slices.Equal(recorded, want) {
		errs = append(errs, fmt.Errorf("isolation record lists networks %v, want %v: undo would not reconnect them", recorded, want))
	}
	if iso.WasPaused || !iso.Paused {
		errs = append(errs, fmt.Errorf("isolation record says was_paused %t paused %t, want false and true: undo would not unpause", iso.WasPaused, iso.Paused))
	}
	return errs
}

// checkEvidence verifies every artifact's hash against the manifest and
// that the export holds the whole filesystem.
func (r *run) checkEvidence(ctx context.Context, v *victim) []error {
	store := evidence.NewStore(filepath.Join(v.dataDir, "evidence"))
	res, err := store.Verify(ctx, v.id, evidence.Actor{Who: "quell-chaos"}, nil)
	if err != nil {
		return []error{fmt.Errorf("verify evidence: %w", err)}
	}
	var errs []error
	if !res.OK() {
		errs = append(errs, fmt.Errorf("evidence does not verify: %+v", res.Problems))
	}
	m, err := store.Manifest(v.id)
	if err != nil {
		return append(errs, err)
	}
	var export int64 = -1
	for _, a := range m.Artifacts {
		if a.Name == "container/filesystem.tar" {
			export = a.Size
		}
	}
	if export < int64(r.dataMB)<<20 {
		errs = append(errs, fmt.Errorf("filesystem export is %d bytes, want the whole filesystem (over %d MiB)", export, r.dataMB))
	}
	if len(m.Artifacts) < 5 {
		errs = append(errs, fmt.Errorf("manifest lists %d artifacts, want at least 5", len(m.Artifacts)))
	}
	return errs
}

func when(evs []rig.Event, action string, since time.Time) []time.Time {
	var out []time.Time
	for _, e := range evs {
		if e.Action == action && !e.Time.Before(since) {
			out = append(out, e.Time)
		}
	}
	return out
}

func times(ts []time.Time) string {
	if len(ts) == 0 {
		return "never"
	}
	s := ""
	for i, t := range ts {
		if i > 0 {
			s += ", "
		}
		s += t.Format("15:04:05.000")
	}
	return s
}
