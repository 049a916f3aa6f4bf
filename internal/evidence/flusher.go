package evidence

// flushEvery is how many bytes a Writer writes between background fsyncs.
const flushEvery = 16 << 20

// flusher fsyncs an artifact's temporary file in the background while it is
// being written, each time flushEvery more bytes were written and no fsync
// is running, so the data reaches the disk as it streams in. Commit's fsync
// still makes the file durable, but it only has the last few MiB left: on
// our virtual disks one fsync of a whole 384 MiB export takes 150 to 300 ms,
// against under a millisecond after background fsyncs. (sync_file_range
// only halves it: most of the time goes to the disk flushing its cache,
// which only fsync asks for.)
//
// A failed background fsync fails the artifact: Linux reports a failed
// writeback to one fsync only, so a later fsync may succeed although data
// was lost. A flusher is not safe for concurrent use; the fsync runs on a
// goroutine of its own, which wait waits for.
type flusher struct {
	sync     func() error // fsyncs the file; os.File's Sync may run alongside its Write
	unsynced int64        // bytes written since the last fsync started
	running  chan error   // receives the running fsync's result; nil when none runs
	err      error        // the first fsync error
}

// wrote counts n bytes written, collects a finished fsync and starts the
// next one when due. It returns the first error of any fsync.
func (f *flusher) wrote(n int) error {
	f.unsynced += int64(n)
	if f.running != nil {
		select {
		case err := <-f.running:
			f.finished(err)
		default:
			return f.err
		}
	}
	if f.err == nil && f.unsynced >= flushEvery {
		f.unsynced = 0
		f.running = make(chan error, 1)
		go func(sync func() error, result chan<- error) { result <- sync() }(f.sync, f.running)
	}
	return f.err
}

// wait waits for the running fsync, if any, and returns the first error of
// any fsync. The file must not be closed before wait returns.
func (f *flusher) wait() error {
	if f.running != nil {
		f.finished(<-f.running)
	}
	return f.err
}

func (f *flusher) finished(err error) {
	f.running = nil
	if f.err == nil && err != nil {
		f.err = err
	}
}
