package workflowclient

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"
	"testing"
	"time"
)

// recorder is a write that records its batches and holds each write until
// released, as a slow durable store would.
type recorder struct {
	mu      sync.Mutex
	batches map[string][][]int
	busy    map[string]bool
	overlap bool
	release chan struct{}
	err     error
}

func newRecorder() *recorder {
	return &recorder{batches: map[string][][]int{}, busy: map[string]bool{}, release: make(chan struct{})}
}

func (r *recorder) write(ctx context.Context, key string, batch []int) (batchOpened, error) {
	r.mu.Lock()
	if r.busy[key] {
		r.overlap = true
	}
	r.busy[key] = true
	first := len(r.batches[key]) == 0
	r.batches[key] = append(r.batches[key], slices.Clone(batch))
	r.mu.Unlock()
	select {
	case <-r.release:
	case <-ctx.Done():
		return batchOpened{}, ctx.Err()
	}
	r.mu.Lock()
	r.busy[key] = false
	r.mu.Unlock()
	return batchOpened{runID: "run-" + key, started: first}, r.err
}

// waitWrites waits until key has seen n writes begin.
func (r *recorder) waitWrites(t *testing.T, key string, n int) {
	t.Helper()
	waitFor(t, key+": writes begun", n, func() int {
		r.mu.Lock()
		defer r.mu.Unlock()
		return len(r.batches[key])
	})
}

// waitFor waits until count() reaches n.
func waitFor(t *testing.T, what string, n int, count func() int) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		got := count()
		if got >= n {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s: %d, want %d", what, got, n)
		}
		time.Sleep(time.Millisecond)
	}
}

type answer struct {
	v      int
	opened batchOpened
	err    error
}

func TestBatcherGroupsWhileAWriteIsOnItsWay(t *testing.T) {
	var b batcher[int]
	rec := newRecorder()
	answers := make(chan answer, 100)
	add := func(key string, v int) {
		go func() {
			o, err := b.add(context.Background(), key, v, 1, rec.write)
			answers <- answer{v, o, err}
		}()
	}
	add("u", 0)
	rec.waitWrites(t, "u", 1) // the first alert is written alone, at once
	for v := 1; v <= 50; v++ {
		add("u", v)
	}
	add("other", 100) // another unit does not wait for u
	rec.waitWrites(t, "other", 1)
	waitPending(t, &b, "u", 50)
	close(rec.release)

	got := map[int]answer{}
	for range 52 {
		a := <-answers
		got[a.v] = a
	}
	if a := got[0]; a.err != nil || !a.opened.started || a.opened.runID != "run-u" {
		t.Errorf("first alert: %+v, want started run-u", a)
	}
	for v := 1; v <= 50; v++ {
		if a := got[v]; a.err != nil || a.opened.started || a.opened.runID != "run-u" {
			t.Errorf("alert %d: %+v, want joined run-u", v, a)
		}
	}
	if a := got[100]; a.err != nil || !a.opened.started {
		t.Errorf("other unit: %+v, want started", a)
	}
	rec.mu.Lock()
	defer rec.mu.Unlock()
	if len(rec.batches["u"]) != 2 || len(rec.batches["u"][1]) != 50 {
		t.Errorf("u written as %v, want [0] then the 50 that waited", rec.batches["u"])
	}
	if rec.overlap {
		t.Error("two writes for one unit overlapped")
	}
	var all []int
	for _, batch := range rec.batches["u"] {
		all = append(all, batch...)
	}
	slices.Sort(all)
	if len(all) != 51 || all[0] != 0 || all[50] != 50 {
		t.Errorf("u wrote %v, want each of 0..50 once", all)
	}
}

// waitPending waits until n items wait for key's next write.
func waitPending(t *testing.T, b *batcher[int], key string, n int) {
	t.Helper()
	waitFor(t, key+": items waiting", n, func() int {
		b.mu.Lock()
		defer b.mu.Unlock()
		return len(b.pending[key])
	})
}

func TestBatcherSplitsAtItsLimits(t *testing.T) {
	for _, tc := range []struct {
		name  string
		n     int
		size  int
		sizes []int
	}{
		{"count", maxBatchAlerts + 11, 1, []int{1, maxBatchAlerts, 10}},
		{"bytes", 10, maxBatchBytes / 4, []int{1, 4, 4, 1}},
		{"one over the byte limit still goes", 3, maxBatchBytes * 2, []int{1, 1, 1}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var b batcher[int]
			rec := newRecorder()
			var wg sync.WaitGroup
			add := func(v int) {
				wg.Add(1)
				go func() {
					defer wg.Done()
					if _, err := b.add(context.Background(), "u", v, tc.size, rec.write); err != nil {
						t.Error(err)
					}
				}()
			}
			add(0)
			rec.waitWrites(t, "u", 1)
			for v := 1; v < tc.n; v++ {
				add(v)
			}
			waitPending(t, &b, "u", tc.n-1)
			close(rec.release)
			wg.Wait()
			var sizes []int
			for _, batch := range rec.batches["u"] {
				sizes = append(sizes, len(batch))
			}
			if !slices.Equal(sizes, tc.sizes) {
				t.Errorf("batch sizes %v, want %v", sizes, tc.sizes)
			}
		})
	}
}

func TestBatcherErrorReachesEveryAlertOfTheBatch(t *testing.T) {
	var b batcher[int]
	rec := newRecorder()
	rec.err = errors.New("temporal unavailable")
	close(rec.release)
	var wg sync.WaitGroup
	for v := range 20 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if _, err := b.add(context.Background(), "u", v, 1, rec.write); !errors.Is(err, rec.err) {
				t.Errorf("alert %d: error %v, want %v", v, err, rec.err)
			}
		}()
	}
	wg.Wait()
	b.mu.Lock()
	defer b.mu.Unlock()
	if len(b.pending) != 0 {
		t.Errorf("%d units still pending after every write", len(b.pending))
	}
}

func TestBatcherRequestGivesUpWithItsContext(t *testing.T) {
	var b batcher[int]
	rec := newRecorder()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error)
	go func() {
		_, err := b.add(ctx, "u", 1, 1, rec.write)
		done <- err
	}()
	rec.waitWrites(t, "u", 1)
	cancel()
	if err := <-done; !errors.Is(err, context.Canceled) {
		t.Errorf("error %v, want canceled", err)
	}
	// The write goes on for the others and the queue still drains.
	close(rec.release)
	if _, err := b.add(context.Background(), "u", 2, 1, rec.write); err != nil {
		t.Fatal(err)
	}
	if got := fmt.Sprint(rec.batches["u"]); got != "[[1] [2]]" {
		t.Errorf("batches %s, want [[1] [2]]", got)
	}
}
