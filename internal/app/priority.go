package app

import (
	"cmp"
	"context"
	"sync"
	"time"

	"go.temporal.io/sdk/activity"
	"go.temporal.io/sdk/interceptor"

	"github.com/quell-ir/quell/workflows"
)

// Containment goes first. In a burst of incidents the worker contains many
// containers while the incidents contained first already preserve their
// evidence, and an export or a rebuild loads the Docker daemon and the disk
// the isolations and Temporal's commits wait on. The containers already
// contained are cut off and frozen: their evidence keeps, while an attacker
// in a container not yet contained does not wait. So this worker's heavy
// activities (snapshot, verify, rebuild) start only once its containments
// have been quiet for a moment, or after a bound so that a steady stream
// of containments cannot hold evidence back for ever.
const (
	// containQuiet is how long after the last containment heavy work
	// waits, so that the gaps inside a burst do not let it in.
	containQuiet = 300 * time.Millisecond
	// heavyMaxWait bounds how long heavy work waits for containment.
	heavyMaxWait = 2 * time.Minute
	// waitBeat is how often a waiting activity heartbeats.
	waitBeat = 5 * time.Second
)

// containGate counts the containments in flight and lets heavy work wait
// for them. Its zero value is ready, with the defaults above.
type containGate struct {
	quiet     time.Duration // default containQuiet
	maxWait   time.Duration // default heavyMaxWait
	beatEvery time.Duration // default waitBeat

	mu      sync.Mutex
	active  int
	ended   time.Time     // when the latest containment ended
	changed chan struct{} // closed when active or ended changes
}

// begin records a containment in flight; call the returned func when it
// ends.
func (g *containGate) begin() (end func()) {
	g.mu.Lock()
	g.active++
	g.notifyLocked()
	g.mu.Unlock()
	return func() {
		g.mu.Lock()
		g.active--
		g.ended = time.Now()
		g.notifyLocked()
		g.mu.Unlock()
	}
}

// wait returns once no containment has run for the quiet time, after the
// longest wait at most, or when ctx ends. It calls beat now and then while
// it waits and returns how long it waited.
func (g *containGate) wait(ctx context.Context, beat func()) (time.Duration, error) {
	quiet := cmp.Or(g.quiet, containQuiet)
	start := time.Now()
	deadline := time.NewTimer(cmp.Or(g.maxWait, heavyMaxWait))
	defer deadline.Stop()
	ticker := time.NewTicker(cmp.Or(g.beatEvery, waitBeat))
	defer ticker.Stop()
	quietEnds := time.NewTimer(quiet)
	defer quietEnds.Stop()
	for {
		g.mu.Lock()
		changed := g.changedLocked()
		active := g.active
		left := quiet - time.Since(g.ended)
		g.mu.Unlock()
		if active == 0 && left <= 0 {
			return time.Since(start), nil
		}
		// Since Go 1.23 a reset timer delivers nothing stale.
		quietEnds.Stop()
		if active == 0 {
			quietEnds.Reset(left)
		}
		select {
		case <-changed:
		case <-quietEnds.C:
		case <-ticker.C:
			beat()
		case <-deadline.C:
			return time.Since(start), nil
		case <-ctx.Done():
			return time.Since(start), ctx.Err()
		}
	}
}

func (g *containGate) changedLocked() chan struct{} {
	if g.changed == nil {
		g.changed = make(chan struct{})
	}
	return g.changed
}

func (g *containGate) notifyLocked() {
	if g.changed != nil {
		close(g.changed)
		g.changed = nil
	}
}

// containFirst is the worker interceptor that applies the gate: the
// activity's priority says what is containment (the registry schedules the
// activities of the kinds that contain at workflows.PriorityContain), its
// queue what is heavy.
type containFirst struct {
	interceptor.WorkerInterceptorBase
	gate *containGate
}

func (w *containFirst) InterceptActivity(ctx context.Context, next interceptor.ActivityInboundInterceptor) interceptor.ActivityInboundInterceptor {
	return &containFirstActivity{ActivityInboundInterceptorBase: interceptor.ActivityInboundInterceptorBase{Next: next}, gate: w.gate}
}

type containFirstActivity struct {
	interceptor.ActivityInboundInterceptorBase
	gate *containGate
}

func (a *containFirstActivity) ExecuteActivity(ctx context.Context, in *interceptor.ExecuteActivityInput) (any, error) {
	info := activity.GetInfo(ctx)
	switch {
	case workflows.IsContainment(info.TaskQueue, info.Priority):
		defer a.gate.begin()()
	case info.TaskQueue == workflows.HeavyQueue:
		waited, err := a.gate.wait(ctx, func() {
			activity.RecordHeartbeat(ctx, heavyWaiting{Waiting: "containment"})
		})
		if err != nil {
			return nil, err
		}
		if waited >= time.Millisecond {
			activity.GetLogger(ctx).Info("waited for containment", "activity", info.ActivityType.Name, "waited", waited)
		}
	}
	return a.Next.ExecuteActivity(ctx, in)
}

// heavyWaiting is the heartbeat of a heavy activity waiting for
// containment.
type heavyWaiting struct {
	Waiting string `json:"waiting"`
}
