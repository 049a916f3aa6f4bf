package bench

import (
	"context"
	"fmt"
	"time"

	"github.com/moby/moby/client"

	"github.com/quell-ir/quell/internal/bench/rig"
	"github.com/quell-ir/quell/internal/incident"
)

// containTimeout bounds the wait for one containment, and for the last of
// the simultaneous ones.
const (
	containTimeout      = time.Minute
	simultaneousTimeout = 15 * time.Minute
)

// sample is one measured containment, every duration from its start (the
// alert's POST, or the first API call of the floor).
type sample struct {
	contained time.Duration // both disconnect and pause events seen
	firstOp   time.Duration // the first disconnect event
	answered  time.Duration // quell: the POST's answer
	history   stepTimes     // quell: the contain activity in the workflow history
	start     time.Time
}

// contain measures alert → contained for quell, the raw API floor and the
// script peer, interleaved so that drift on the host hits all three alike.
// After each quell sample the incident runs to its end before the next
// sample, so evidence collection does not load the next measurement.
func (b *bench) contain(ctx context.Context) error {
	n := b.size.incidents
	nw, err := b.lab.Network(ctx)
	if err != nil {
		return err
	}
	b.logf("starting %d containers", 3*n)
	cs, err := b.lab.Containers(ctx, 3*n, []string{nw})
	defer b.remove(cs)
	if err != nil {
		return err
	}
	peer, err := startScript()
	if err != nil {
		return err
	}
	defer peer.Close()
	var quell, floor, script []sample
	for i := range n {
		q, err := b.quellContain(ctx, cs[3*i])
		if err != nil {
			return err
		}
		f, err := b.floorContain(ctx, cs[3*i+1])
		if err != nil {
			return err
		}
		s, err := b.scriptContain(ctx, peer, cs[3*i+2])
		if err != nil {
			return err
		}
		quell, floor, script = append(quell, q), append(floor, f), append(script, s)
		b.logf("sample %d/%d: quell %v, floor %v, script %v", i+1, n, q.contained, f.contained, s.contained)
	}
	b.containResults(quell, floor, script)
	return nil
}

func (b *bench) containResults(quell, floor, script []sample) {
	q, f, s := contained(quell), contained(floor), contained(script)
	n := len(quell)
	name := "alert → contained"
	b.add(compared(name+" p50", "ms", q.median(), f.median(), KindFloor, n, atMost(1.5, "≤ 1.5× floor")))
	b.add(compared(name+" p95", "ms", q.percentile(95), f.percentile(95), KindFloor, n, goal{}))
	b.add(compared(name+" p99", "ms", q.percentile(99), f.percentile(99), KindFloor, n, atMost(2.5, "≤ 2.5× floor")))
	b.add(compared(name+" p50 vs script", "ms", q.median(), s.median(), KindPeer, n, below(1, "< 1× (faster)")))
	b.add(compared(name+" p99 vs script", "ms", q.percentile(99), s.percentile(99), KindPeer, n, below(1, "< 1× (faster)")))
	stages := []struct {
		name string
		at   func(sample) time.Duration
	}{
		{"alert recorded (workflow started)", func(s sample) time.Duration { return s.history.started.Sub(s.start) }},
		{"POST answered 202", func(s sample) time.Duration { return s.answered }},
		{"contain activity scheduled", func(s sample) time.Duration { return s.history.scheduled.Sub(s.start) }},
		{"activity picked up by the worker", func(s sample) time.Duration { return s.history.picked.Sub(s.start) }},
		{"first disconnect (daemon event)", func(s sample) time.Duration { return s.firstOp }},
		{"contained (daemon events)", func(s sample) time.Duration { return s.contained }},
		{"activity reported done", func(s sample) time.Duration { return s.history.completed.Sub(s.start) }},
	}
	for _, st := range stages {
		ds := make(durations, len(quell))
		for i, s := range quell {
			ds[i] = st.at(s)
		}
		b.add(info("  quell p50 from POST: "+st.name, "ms", ds.median(), n))
	}
	firstOps := make(durations, len(floor))
	for i, s := range floor {
		firstOps[i] = s.firstOp
	}
	b.add(info("  floor p50: first disconnect (daemon event)", "ms", firstOps.median(), n))
}

func contained(ss []sample) durations {
	out := make(durations, len(ss))
	for i, s := range ss {
		out[i] = s.contained
	}
	return out
}

// quellContain posts an alert about c and waits for the daemon to report
// it contained; then it lets the incident finish.
func (b *bench) quellContain(ctx context.Context, c rig.Container) (sample, error) {
	start := time.Now()
	o, _, err := b.dev.API.PostAlert(ctx, b.alert.For(c.ID))
	if err != nil {
		return sample{}, err
	}
	answered := time.Since(start)
	s, err := b.waitContained(ctx, c, start, containTimeout)
	if err != nil {
		return s, err
	}
	s.answered = answered
	if _, err := b.finish(ctx, o.IncidentID); err != nil {
		return s, err
	}
	s.history, err = activityTimes(ctx, b.temporal, o.IncidentID, "contain")
	return s, err
}

// finish waits for the incident to rest (the built-in playbook waits for a
// responder's approval after verifying the evidence) and checks that every
// step so far succeeded.
func (b *bench) finish(ctx context.Context, id string) (incident.Incident, error) {
	ctx, cancel := context.WithTimeout(ctx, 2*time.Minute)
	defer cancel()
	inc, err := b.dev.API.WaitIncident(ctx, id, 50*time.Millisecond, rig.Resting)
	if err != nil {
		return inc, err
	}
	if !rig.Healthy(inc) {
		return inc, fmt.Errorf("incident %s %s: %s", id, inc.Status, rig.StepStatuses(inc))
	}
	return inc, nil
}

// floorContain isolates c straight through the Docker API.
func (b *bench) floorContain(ctx context.Context, c rig.Container) (sample, error) {
	start := time.Now()
	if err := isolateRaw(ctx, b.lab.Docker.API(), c.ID); err != nil {
		return sample{}, err
	}
	return b.waitContained(ctx, c, start, containTimeout)
}

// isolateRaw is the least a responder that knows only a container ID must
// do: look up its networks, cut each (forced, as a paused container needs)
// and pause it.
func isolateRaw(ctx context.Context, api *client.Client, id string) error {
	res, err := api.ContainerInspect(ctx, id, client.ContainerInspectOptions{})
	if err != nil {
		return fmt.Errorf("inspect container %s: %w", id, err)
	}
	if ns := res.Container.NetworkSettings; ns != nil {
		for name := range ns.Networks {
			if _, err := api.NetworkDisconnect(ctx, name, client.NetworkDisconnectOptions{Container: id, Force: true}); err != nil {
				return fmt.Errorf("disconnect container %s from %s: %w", id, name, err)
			}
		}
	}
	if _, err := api.ContainerPause(ctx, id, client.ContainerPauseOptions{}); err != nil {
		return fmt.Errorf("pause container %s: %w", id, err)
	}
	return nil
}

// scriptContain posts the alert to the script responder.
func (b *bench) scriptContain(ctx context.Context, s *script, c rig.Container) (sample, error) {
	start := time.Now()
	if err := s.post(ctx, b.alert.For(c.ID)); err != nil {
		return sample{}, err
	}
	return b.waitContained(ctx, c, start, containTimeout)
}

// waitContained waits up to timeout for the daemon's events to show c cut
// off its networks and paused, and measures from start.
func (b *bench) waitContained(ctx context.Context, c rig.Container, start time.Time, timeout time.Duration) (sample, error) {
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	var at time.Time
	evs, err := b.lab.Events.Wait(ctx, c.ID, func(evs []rig.Event) bool {
		var ok bool
		at, ok = rig.Contained(evs, c.Networks, b.perDisconnect, start)
		return ok
	})
	if err != nil {
		return sample{}, fmt.Errorf("container %s not contained: %w (events %+v)", c.Name, err, evs)
	}
	s := sample{contained: at.Sub(start), start: start}
	for _, e := range evs {
		if e.Action == "disconnect" && !e.Time.Before(start) {
			s.firstOp = e.Time.Sub(start)
			break
		}
	}
	return s, nil
}

// remove removes containers, logging a failure: Lab.Close sweeps again.
func (b *bench) remove(cs []rig.Container) {
	if err := b.lab.Remove(context.Background(), cs); err != nil {
		b.logf("remove containers: %v", err)
	}
}
