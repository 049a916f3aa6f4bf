package app

import (
	"context"
	"sync"
	"time"

	"go.temporal.io/sdk/activity"
	"go.temporal.io/sdk/interceptor"
)

// Every step's activity has a heartbeat timeout, so that an attempt whose
// worker died is retried within seconds rather than at the end of its
// start-to-close timeout (five minutes for an image delete). The
// activities that report progress heartbeat on their own; keepAlive
// heartbeats for all of them while they run, repeating the progress an
// activity last recorded so that a retry still finds it.
type keepAlive struct {
	interceptor.WorkerInterceptorBase
}

func (*keepAlive) InterceptActivity(ctx context.Context, next interceptor.ActivityInboundInterceptor) interceptor.ActivityInboundInterceptor {
	return &keepAliveActivity{ActivityInboundInterceptorBase: interceptor.ActivityInboundInterceptorBase{Next: next}}
}

type keepAliveActivity struct {
	interceptor.ActivityInboundInterceptorBase
	out *lastBeat
}

func (a *keepAliveActivity) Init(outbound interceptor.ActivityOutboundInterceptor) error {
	a.out = &lastBeat{ActivityOutboundInterceptorBase: interceptor.ActivityOutboundInterceptorBase{Next: outbound}}
	return a.Next.Init(a.out)
}

func (a *keepAliveActivity) ExecuteActivity(ctx context.Context, in *interceptor.ExecuteActivityInput) (any, error) {
	if every := activity.GetInfo(ctx).HeartbeatTimeout / 4; every > 0 {
		stop := make(chan struct{})
		var done sync.WaitGroup
		done.Go(func() { a.out.repeat(ctx, every, stop) })
		defer done.Wait()
		defer close(stop)
	}
	return a.Next.ExecuteActivity(ctx, in)
}

// lastBeat passes an activity's heartbeats on and remembers the details of
// the latest.
type lastBeat struct {
	interceptor.ActivityOutboundInterceptorBase

	mu      sync.Mutex
	details []any
}

func (b *lastBeat) RecordHeartbeat(ctx context.Context, details ...any) {
	b.mu.Lock()
	b.details = details
	b.mu.Unlock()
	b.Next.RecordHeartbeat(ctx, details...)
}

// repeat heartbeats with the latest details every so often until stop is
// closed or ctx ends. The SDK throttles what reaches the server.
func (b *lastBeat) repeat(ctx context.Context, every time.Duration, stop <-chan struct{}) {
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		select {
		case <-t.C:
			b.mu.Lock()
			details := b.details
			b.mu.Unlock()
			b.Next.RecordHeartbeat(ctx, details...)
		case <-stop:
			return
		case <-ctx.Done():
			return
		}
	}
}
