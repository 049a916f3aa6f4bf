package evidence

import (
	"errors"
	"runtime"
	"testing"
)

// fakeSync is a flusher's sync that blocks until released and counts calls.
type fakeSync struct {
	calls   int
	release chan error
}

func newFakeSync() *fakeSync { return &fakeSync{release: make(chan error)} }

func (s *fakeSync) sync() error {
	s.calls++ // one sync at a time: the flusher waits for each before the next
	return <-s.release
}

func TestFlusher(t *testing.T) {
	s := newFakeSync()
	f := flusher{sync: s.sync}
	if err := f.wrote(flushEvery - 1); err != nil || f.running != nil {
		t.Fatalf("below flushEvery: err = %v, running = %t, want nil, false", err, f.running != nil)
	}
	if err := f.wrote(1); err != nil || f.running == nil {
		t.Fatalf("at flushEvery: err = %v, running = %t, want nil, true", err, f.running != nil)
	}
	// While it runs, another flushEvery bytes start nothing.
	running := f.running
	if err := f.wrote(2 * flushEvery); err != nil || f.running != running {
		t.Fatalf("while running: err = %v, new fsync = %t, want nil, false", err, f.running != running)
	}
	s.release <- nil
	if err := f.wait(); err != nil {
		t.Fatalf("wait = %v, want nil", err)
	}
	// The bytes written meanwhile are due: the next write starts an fsync.
	if err := f.wrote(1); err != nil || f.running == nil {
		t.Fatalf("after wait: err = %v, running = %t, want nil, true", err, f.running != nil)
	}
	s.release <- nil
	if err := f.wait(); err != nil || s.calls != 2 {
		t.Fatalf("wait = %v with %d fsyncs, want nil with 2", err, s.calls)
	}
	if err := f.wait(); err != nil {
		t.Fatalf("second wait = %v, want nil", err)
	}
}

func TestFlusherError(t *testing.T) {
	s := newFakeSync()
	f := flusher{sync: s.sync}
	f.wrote(flushEvery)
	eio := errors.New("input/output error")
	s.release <- eio
	// The failed fsync is collected by the next write, at the latest.
	for f.running != nil {
		runtime.Gosched()
		f.wrote(0)
	}
	if err := f.wrote(flushEvery); !errors.Is(err, eio) {
		t.Fatalf("wrote after a failed fsync = %v, want %v", err, eio)
	}
	if f.running != nil {
		t.Error("fsync started after one failed")
	}
	if err := f.wait(); !errors.Is(err, eio) {
		t.Errorf("wait = %v, want %v", err, eio)
	}
}
