package bench

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/quell-ir/quell/internal/bench/rig"
)

// simultaneous alerts many containers at once and measures the time until
// the last is contained, against the raw client isolating as many at once.
// It also samples quell dev's memory until every incident has ended.
func (b *bench) simultaneous(ctx context.Context) error {
	n := b.size.simultaneous
	nw, err := b.lab.Network(ctx)
	if err != nil {
		return err
	}
	b.logf("starting %d containers", 2*n)
	cs, err := b.lab.Containers(ctx, 2*n, []string{nw})
	defer b.remove(cs)
	if err != nil {
		return err
	}
	raw, alerted := cs[:n], cs[n:]
	api := b.lab.Docker.API()
	rawTime, err := b.allContained(ctx, raw, func(_ int, c rig.Container) error {
		return isolateRaw(ctx, api, c.ID)
	})
	if err != nil {
		return fmt.Errorf("raw: %w", err)
	}
	b.logf("raw: %d contained in %v", n, rawTime)

	rss := sampleRSS(b.dev.Proc, 100*time.Millisecond)
	ids := make([]string, n)
	start := time.Now()
	quellTime, err := b.allContained(ctx, alerted, func(i int, c rig.Container) error {
		o, _, err := b.dev.API.PostAlert(ctx, b.alert.For(c.ID))
		ids[i] = o.IncidentID
		return err
	})
	// Whatever happened, let the incidents rest before their containers go.
	b.logf("quell: %d contained in %v (%v); waiting for the incidents to rest", n, quellTime, err)
	failed := b.finishAll(ctx, ids)
	done := time.Since(start)
	peak := rss.stop()
	if err != nil {
		return fmt.Errorf("quell: %w", err)
	}
	name := fmt.Sprintf("%d simultaneous: all contained", n)
	b.add(compared(name, "ms", ms(quellTime), ms(rawTime), KindFloor, n, atMost(1.2, "≤ 1.2× floor")))
	b.lastStages(ctx, n, ids, start)
	b.add(info(fmt.Sprintf("%d simultaneous: all incidents at rest (evidence verified)", n), "s", done.Seconds(), n))
	b.add(info(fmt.Sprintf("footprint: quell dev RSS peak, %d simultaneous", n), "MiB", mib(peak), rss.samples()))
	if failed > 0 {
		b.problem("%d of %d simultaneous incidents failed", failed, n)
	}
	return nil
}

// allContained releases act on every container at once and returns the
// time from the release to the last containment the daemon reports.
func (b *bench) allContained(ctx context.Context, cs []rig.Container, act func(int, rig.Container) error) (time.Duration, error) {
	release := make(chan struct{})
	errs := make([]error, len(cs))
	var wg sync.WaitGroup
	for i, c := range cs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-release
			errs[i] = act(i, c)
		}()
	}
	start := time.Now()
	close(release)
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		return 0, err
	}
	var last time.Duration
	for _, c := range cs {
		s, err := b.waitContained(ctx, c, start, simultaneousTimeout)
		if err != nil {
			return 0, err
		}
		last = max(last, s.contained)
	}
	return last, nil
}

// finishAll waits for every incident to rest and returns how many failed.
func (b *bench) finishAll(ctx context.Context, ids []string) int {
	ctx, cancel := context.WithTimeout(ctx, 15*time.Minute)
	defer cancel()
	failed := 0
	for _, id := range ids {
		if id == "" {
			continue // its alert was refused
		}
		inc, err := b.dev.API.WaitIncident(ctx, id, 250*time.Millisecond, rig.Resting)
		if err != nil || !rig.Healthy(inc) {
			failed++
			b.logf("incident %s: %s %s %v", id, inc.Status, rig.StepStatuses(inc), err)
		}
	}
	return failed
}

// rssSampler records a process's peak resident memory.
type rssSampler struct {
	quit chan struct{}
	done chan struct{}
	peak int64
	n    int
}

func sampleRSS(p *rig.Proc, every time.Duration) *rssSampler {
	s := &rssSampler{quit: make(chan struct{}), done: make(chan struct{})}
	go func() {
		defer close(s.done)
		for {
			if rss, err := p.RSS(); err == nil {
				s.peak, s.n = max(s.peak, rss), s.n+1
			}
			select {
			case <-s.quit:
				return
			case <-time.After(every):
			}
		}
	}()
	return s
}

// stop ends the sampling and returns the peak in bytes.
func (s *rssSampler) stop() int64 {
	close(s.quit)
	<-s.done
	return s.peak
}

// samples is how many readings were taken; call after stop.
func (s *rssSampler) samples() int { return s.n }

// lastStages reports when the last incident workflow started and the last
// contain activity was scheduled and picked up, from the incidents' histories: whether the time to contain
// them all goes to Temporal and the worker, or to the daemon.
func (b *bench) lastStages(ctx context.Context, n int, ids []string, start time.Time) {
	var started, scheduled, picked time.Time
	for _, id := range ids {
		t, err := activityTimes(ctx, b.temporal, id, "contain")
		if err != nil {
			b.logf("history: %v", err)
			return
		}
		started, scheduled, picked = latest(started, t.started), latest(scheduled, t.scheduled), latest(picked, t.picked)
	}
	b.add(info(fmt.Sprintf("  %d simultaneous: last incident workflow started", n), "ms", ms(started.Sub(start)), n))
	b.add(info(fmt.Sprintf("  %d simultaneous: last contain activity scheduled", n), "ms", ms(scheduled.Sub(start)), n))
	b.add(info(fmt.Sprintf("  %d simultaneous: last contain activity picked up", n), "ms", ms(picked.Sub(start)), n))
}

func latest(a, b time.Time) time.Time {
	if b.After(a) {
		return b
	}
	return a
}
