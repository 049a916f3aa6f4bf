package workflowclient

import (
	"context"
	"sync"
	"time"
)

// Group commit. Alerts about one unit go to one workflow, and Temporal
// records each signal in a write of its own. Under a storm, a signal per
// alert makes every request wait on a queue of writes to the same
// workflow. So the alerts of a unit that arrive while a write for that
// unit is on its way wait for it to finish and then go together, in one
// signal: the first alert never waits for company, and the batches grow
// only as fast as the writes are slow. Every request is answered after the
// write that carries its alert.

// Batch limits: a signal's payload stays well under Temporal's 2 MiB blob
// limit, and a storm cannot grow an incident's history by more at once.
const (
	maxBatchAlerts = 512
	maxBatchBytes  = 256 << 10
	// flushTimeout bounds one durable write; a request gives up sooner if
	// its own context ends.
	flushTimeout = 30 * time.Second
)

// item is one alert waiting for its unit's next write.
type item[T any] struct {
	value T
	size  int
	done  chan result
}

type result struct {
	opened batchOpened
	err    error
}

// batchOpened is what one write tells the alerts it carried.
type batchOpened struct {
	runID   string
	started bool
}

// writeFunc records a batch durably; it runs for one key at a time.
type writeFunc[T any] func(ctx context.Context, key string, batch []T) (batchOpened, error)

// batcher groups items by key into sequential writes. Its zero value is
// ready.
type batcher[T any] struct {
	mu      sync.Mutex
	pending map[string][]*item[T] // key → items waiting; present while a writer runs
}

// add queues v for key and waits until a write carried it. Only the first
// of a batch learns that its write started the workflow; the others joined.
func (b *batcher[T]) add(ctx context.Context, key string, v T, size int, write writeFunc[T]) (batchOpened, error) {
	it := &item[T]{value: v, size: size, done: make(chan result, 1)}
	b.mu.Lock()
	if b.pending == nil {
		b.pending = map[string][]*item[T]{}
	}
	queue, writing := b.pending[key]
	b.pending[key] = append(queue, it)
	b.mu.Unlock()
	if !writing {
		go b.drain(key, write)
	}
	select {
	case r := <-it.done:
		return r.opened, r.err
	case <-ctx.Done():
		// The write may still carry the alert: the sender will retry and
		// its alert be counted twice rather than never.
		return batchOpened{}, ctx.Err()
	}
}

// drain writes key's queue in batches until it is empty.
func (b *batcher[T]) drain(key string, write writeFunc[T]) {
	for {
		b.mu.Lock()
		queue := b.pending[key]
		if len(queue) == 0 {
			delete(b.pending, key)
			b.mu.Unlock()
			return
		}
		n, bytes := 0, 0
		for n < len(queue) && n < maxBatchAlerts && (n == 0 || bytes+queue[n].size <= maxBatchBytes) {
			bytes += queue[n].size
			n++
		}
		batch := queue[:n:n]
		b.pending[key] = queue[n:]
		b.mu.Unlock()

		values := make([]T, len(batch))
		for i, it := range batch {
			values[i] = it.value
		}
		ctx, cancel := context.WithTimeout(context.Background(), flushTimeout)
		opened, err := write(ctx, key, values)
		cancel()
		for i, it := range batch {
			r := result{opened: opened, err: err}
			if i > 0 {
				r.opened.started = false
			}
			it.done <- r
		}
	}
}
