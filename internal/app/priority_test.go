package app

import (
	"context"
	"errors"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"go.temporal.io/sdk/activity"
	"go.temporal.io/sdk/interceptor"
	"go.temporal.io/sdk/testsuite"
	"go.temporal.io/sdk/worker"
	"go.temporal.io/sdk/workflow"

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
	wf := func(ctx workflow.Context) error {
		on := func(queue string, kind string) workflow.Context {
			return workflow.WithActivityOptions(ctx, workflow.ActivityOptions{
				TaskQueue: queue, Priority: workflows.PriorityOf(kind), StartToCloseTimeout: time.Minute,
			})
		}
		c := workflow.ExecuteActivity(on(workflows.TaskQueue, workflows.KindIsolate), workflows.ActivityIsolate)
		if err := workflow.ExecuteActivity(on(workflows.TaskQueue, ""), containStarted).Get(ctx, nil); err != nil {
			return err
		}
		if err := workflow.ExecuteActivity(on(workflows.HeavyQueue, workflows.KindSnapshot), heavy).Get(ctx, nil); err != nil {
			return err
		}
		return c.Get(ctx, nil)
	}

	var s testsuite.WorkflowTestSuite
	env := s.NewTestWorkflowEnvironment()
	env.SetWorkerOptions(worker.Options{Interceptors: []interceptor.WorkerInterceptor{
		&containFirst{gate: &containGate{quiet: quiet}},
	}})
	env.RegisterWorkflow(wf)
	env.RegisterActivityWithOptions(contain, activity.RegisterOptions{Name: workflows.ActivityIsolate})
	env.RegisterActivity(containStarted)
	env.RegisterActivity(heavy)
	env.ExecuteWorkflow(wf)
	if err := env.GetWorkflowError(); err != nil {
		t.Fatal(err)
	}
	mu.Lock()
	defer mu.Unlock()
	if gap := heavyStart.Sub(containEnd); gap < quiet {
		t.Fatalf("heavy activity started %v after the containment ended; want at least %v", gap, quiet)
	}
}
