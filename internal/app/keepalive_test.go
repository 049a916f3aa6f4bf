package app

import (
	"context"
	"errors"
	"testing"
	"time"

	"go.temporal.io/sdk/activity"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/interceptor"
	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/worker"
	"go.temporal.io/sdk/workflow"

	"github.com/quell-ir/quell/internal/devserver"
	"github.com/quell-ir/quell/internal/devserver/devservertest"
)

// TestKeepAliveHeartbeatsForQuietActivities runs an activity that never
// heartbeats for three times its heartbeat timeout, and one that records
// its progress and then fails: under keepAlive the first completes and the
// second's retry finds the progress its first attempt recorded; without
// it the first times out.
func TestKeepAliveHeartbeatsForQuietActivities(t *testing.T) {
	const beat = time.Second
	quiet := func(ctx context.Context) error {
		select {
		case <-time.After(3 * beat):
			return nil
		case <-ctx.Done():
			return ctx.Err()
		}
	}
	progress := func(ctx context.Context) (string, error) {
		if activity.GetInfo(ctx).Attempt > 1 {
			var got string
			if activity.HasHeartbeatDetails(ctx) {
				if err := activity.GetHeartbeatDetails(ctx, &got); err != nil {
					return "", err
				}
			}
			return got, nil
		}
		activity.RecordHeartbeat(ctx, "copied 2 of 3")
		time.Sleep(3 * beat)
		return "", errors.New("the daemon went away")
	}
	wf := func(ctx workflow.Context, name string) (string, error) {
		ctx = workflow.WithActivityOptions(ctx, workflow.ActivityOptions{
			StartToCloseTimeout: time.Minute, HeartbeatTimeout: beat,
			RetryPolicy: &temporal.RetryPolicy{InitialInterval: 100 * time.Millisecond, MaximumAttempts: 2},
		})
		var out string
		err := workflow.ExecuteActivity(ctx, name).Get(ctx, &out)
		return out, err
	}

	_, c := devservertest.Start(t, devserver.Options{})
	run := func(t *testing.T, interceptors []interceptor.WorkerInterceptor, name string) (string, error) {
		q := "keepalive-" + t.Name()
		w := worker.New(c, q, worker.Options{Interceptors: interceptors})
		w.RegisterWorkflowWithOptions(wf, workflow.RegisterOptions{Name: "KeepAliveTest"})
		w.RegisterActivityWithOptions(quiet, activity.RegisterOptions{Name: "Quiet"})
		w.RegisterActivityWithOptions(progress, activity.RegisterOptions{Name: "Progress"})
		if err := w.Start(); err != nil {
			t.Fatal(err)
		}
		defer w.Stop()
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		defer cancel()
		r, err := c.ExecuteWorkflow(ctx, client.StartWorkflowOptions{TaskQueue: q}, "KeepAliveTest", name)
		if err != nil {
			t.Fatal(err)
		}
		var out string
		err = r.Get(ctx, &out)
		return out, err
	}

	t.Run("quiet", func(t *testing.T) {
		if _, err := run(t, []interceptor.WorkerInterceptor{&keepAlive{}}, "Quiet"); err != nil {
			t.Fatalf("a quiet activity under keepAlive: %v", err)
		}
	})
	t.Run("progress", func(t *testing.T) {
		got, err := run(t, []interceptor.WorkerInterceptor{&keepAlive{}}, "Progress")
		if err != nil || got != "copied 2 of 3" {
			t.Fatalf("the retry found %q, %v; want the first attempt's progress", got, err)
		}
	})
	t.Run("without", func(t *testing.T) {
		_, err := run(t, nil, "Quiet")
		var timeout *temporal.TimeoutError
		if !errors.As(err, &timeout) {
			t.Fatalf("a quiet activity with no keepAlive: %v; want a heartbeat timeout", err)
		}
	})
}
