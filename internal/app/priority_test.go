package app

import (
	"context"
	"errors"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"go.temporal.io/sdk/activity"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/interceptor"
	"go.temporal.io/sdk/worker"
	"go.temporal.io/sdk/workflow"

	"github.com/quell-ir/quell/internal/devserver"
	"github.com/quell-ir/quell/internal/devserver/devservertest"
	"github.com/quell-ir/quell/workflows"
)

func TestGateLetsHeavyWorkGoWhenNothingWasContained(t *testing.T) {
	g := &containGate{quiet: time.Second}
	waited, err := g.wait(context.Background(), func() {})
	if err != nil || waited > 100*time.Millisecond {
		t.Fatalf("wait = %v, %v; want no wait", waited, err)
	}
}

func TestGateHoldsHeavyWorkUntilContainmentIsQuiet(t *testing.T) {
	const quiet = 80 * time.Millisecond
	g := &containGate{quiet: quiet}
	end := g.begin()
	var ended atomic.Int64
	go func() {
		time.Sleep(100 * time.Millisecond)
		// A second containment starts before the first ends: the gap
		// between them must not let heavy work in.
		end2 := g.begin()
		end()
		time.Sleep(50 * time.Millisecond)
		ended.Store(time.Now().UnixNano())
		end2()
	}()
	_, err := g.wait(context.Background(), func() {})
	released := time.Now()
	if err != nil {
		t.Fatal(err)
	}
	if ended.Load() == 0 {
		t.Fatal("heavy work went while containments were in flight")
	}
	if gap := released.Sub(time.Unix(0, ended.Load())); gap < quiet {
		t.Errorf("heavy work went %v after the last containment ended; want at least %v", gap, quiet)
	}
}

func TestGateWaitIsBounded(t *testing.T) {
	g := &containGate{maxWait: 100 * time.Millisecond, beatEvery: 20 * time.Millisecond}
	defer g.begin()() // a containment that never ends while we wait
	var beats int
	waited, err := g.wait(context.Background(), func() { beats++ })
	if err != nil {
		t.Fatal(err)
	}
	if waited < 100*time.Millisecond || waited > 2*time.Second {
		t.Errorf("waited %v; want about the 100ms bound", waited)
	}
	if beats < 2 {
		t.Errorf("%d heartbeats while waiting; want some", beats)
	}
}

func TestGateWaitEndsWithItsContext(t *testing.T) {
	g := &containGate{}
	defer g.begin()()
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	if _, err := g.wait(ctx, func() {}); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("wait = %v; want the context's error", err)
	}
}

// TestHeavyActivitiesStartAfterContainment runs the interceptor in a
// worker: an activity on the heavy queue scheduled while a containment
// runs starts only once it has ended and the quiet time has passed.
// TestHeavyActivitiesStartAfterContainment runs the interceptor in a worker
// of a real Temporal server: the SDK's test environment carries no
// activity priorities, and the priority is what says what contains.
func TestHeavyActivitiesStartAfterContainment(t *testing.T) {
	const quiet = 100 * time.Millisecond
	var (
		mu          sync.Mutex
		containEnd  time.Time
		heavyStart  time.Time
		containing  = make(chan struct{})
		containOnce sync.Once
	)
	contain := func(ctx context.Context) error {
		containOnce.Do(func() { close(containing) })
		time.Sleep(200 * time.Millisecond)
		mu.Lock()
		containEnd = time.Now()
		mu.Unlock()
		return nil
	}
	containStarted := func(ctx context.Context) error {
		select {
		case <-containing:
			return nil
		case <-ctx.Done():
			return ctx.Err()
		}
	}
	heavy := func(ctx context.Context) error {
		if q := activity.GetInfo(ctx).TaskQueue; q != workflows.HeavyQueue {
			return errors.New("heavy activity ran on " + q)
		}
		mu.Lock()
		heavyStart = time.Now()
		mu.Unlock()
		return nil
	}
	kinds, err := Kinds()
	if err != nil {
		t.Fatal(err)
	}
	wf := func(ctx workflow.Context) error {
		on := func(kind string) workflow.Context {
			return workflow.WithActivityOptions(ctx, workflow.ActivityOptions{
				TaskQueue: kinds.QueueOf(kind), Priority: kinds.PriorityOf(kind), StartToCloseTimeout: time.Minute,
			})
		}
		c := workflow.ExecuteActivity(on(workflows.KindIsolate), "Contain")
		if err := workflow.ExecuteActivity(on(workflows.KindReport), "ContainStarted").Get(ctx, nil); err != nil {
			return err
		}
		if err := workflow.ExecuteActivity(on(workflows.KindSnapshot), "Heavy").Get(ctx, nil); err != nil {
			return err
		}
		return c.Get(ctx, nil)
	}

	_, c := devservertest.Start(t, devserver.Options{})
	first := []interceptor.WorkerInterceptor{&containFirst{gate: &containGate{quiet: quiet}}}
	for _, q := range kinds.Queues() {
		w := worker.New(c, q, worker.Options{Interceptors: first})
		w.RegisterWorkflowWithOptions(wf, workflow.RegisterOptions{Name: "GateTest"})
		w.RegisterActivityWithOptions(contain, activity.RegisterOptions{Name: "Contain"})
		w.RegisterActivityWithOptions(containStarted, activity.RegisterOptions{Name: "ContainStarted"})
		w.RegisterActivityWithOptions(heavy, activity.RegisterOptions{Name: "Heavy"})
		if err := w.Start(); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(w.Stop)
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	run, err := c.ExecuteWorkflow(ctx, client.StartWorkflowOptions{TaskQueue: workflows.TaskQueue}, "GateTest")
	if err != nil {
		t.Fatal(err)
	}
	if err := run.Get(ctx, nil); err != nil {
		t.Fatal(err)
	}
	mu.Lock()
	defer mu.Unlock()
	if gap := heavyStart.Sub(containEnd); gap < quiet {
		t.Fatalf("heavy activity started %v after the containment ended; want at least %v", gap, quiet)
	}
}
