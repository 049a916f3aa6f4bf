package evidence

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"syscall"
	"testing"
	"time"
)

// TestWriterMixed writes one artifact by Write and by ReadFrom in turn,
// across buffer boundaries, and checks the recorded hash against the file.
func TestWriterMixed(t *testing.T) {
	f := openFolder(t, newTestStore(t), "inc-mixed")
	w, err := f.Create("fs/export.tar")
	if err != nil {
		t.Fatal(err)
	}
	var want int64
	for i, n := range []int64{100, 3*writeChunk + 5, writeChunk - 1, 7, 5 * writeChunk} {
		var got int64
		if i%2 == 0 {
			k, err := w.Write(make([]byte, n))
			got = int64(k)
			if err != nil {
				t.Fatal(err)
			}
		} else if got, err = io.Copy(w, gen(uint64(i), n)); err != nil {
			t.Fatal(err)
		}
		if got != n {
			t.Errorf("part %d: wrote %d bytes, want %d", i, got, n)
		}
		want += n
	}
	a, err := w.Commit()
	if err != nil {
		t.Fatal(err)
	}
	if a.Size != want {
		t.Errorf("size = %d, want %d", a.Size, want)
	}
	if got, want := a.SHA256, fileSHA256(t, filepath.Join(f.Dir(), "fs", "export.tar")); got != want {
		t.Errorf("sha256 = %s, want sha256 of the file %s", got, want)
	}
}

// truncated yields n bytes of gen then fails as a cut HTTP body does.
func truncated(n int64) io.Reader {
	return io.MultiReader(gen(1, n), errorReader{io.ErrUnexpectedEOF})
}

type errorReader struct{ err error }

func (r errorReader) Read([]byte) (int, error) { return 0, r.err }

// TestWriteTruncatedStream checks that a stream cut short, even within a
// write, is an error and never a complete artifact.
func TestWriteTruncatedStream(t *testing.T) {
	f := openFolder(t, newTestStore(t), "inc-truncated")
	for _, n := range []int64{0, 10, writeChunk, 3*writeChunk + 10} {
		_, err := f.Write(context.Background(), "fs/export.tar", truncated(n), nil)
		if got, want := errString(err), `artifact "fs/export.tar": read: unexpected EOF`; got != want {
			t.Errorf("%d bytes then cut: err = %q, want %q", n, got, want)
		}
	}
	if got := f.Artifacts(); len(got) != 0 {
		t.Errorf("Artifacts() = %+v, want none", got)
	}
	if p := partials(t, f.Dir()); len(p) != 0 {
		t.Errorf("partial files left: %v", p)
	}
}

// TestWriteFileError checks that a failed file write ends the copy, fails
// Commit, and leaves nothing behind.
func TestWriteFileError(t *testing.T) {
	f := openFolder(t, newTestStore(t), "inc-write-error")
	w, err := f.Create("fs/export.tar")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := io.Copy(w, gen(1, 3*writeChunk)); err != nil {
		t.Fatal(err)
	}
	// From now on every write to the file fails.
	ro, err := os.Open(w.tmp)
	if err != nil {
		t.Fatal(err)
	}
	w.file.Close()
	w.file, w.flush.sync = ro, ro.Sync
	_, err = io.Copy(w, gen(2, 2*writeChunk))
	if !errors.Is(err, syscall.EBADF) || !strings.HasPrefix(err.Error(), `artifact "fs/export.tar": write `) {
		t.Errorf("ReadFrom after the file failed = %v, want the write error", err)
	}
	if _, err := w.Write([]byte("x")); !errors.Is(err, syscall.EBADF) {
		t.Errorf("Write after the file failed = %v, want the write error", err)
	}
	if _, err := w.Commit(); !errors.Is(err, syscall.EBADF) {
		t.Errorf("Commit after the file failed = %v, want the write error", err)
	}
	if got := f.Artifacts(); len(got) != 0 {
		t.Errorf("Artifacts() = %+v, want none", got)
	}
	if p := partials(t, f.Dir()); len(p) != 0 {
		t.Errorf("partial files left: %v", p)
	}
}

// TestWriteBackgroundFsync checks that a large artifact is fsynced as it
// streams, and that a failed background fsync fails the artifact even if
// Commit's own fsync would succeed.
func TestWriteBackgroundFsync(t *testing.T) {
	before := runtime.NumGoroutine()
	f := openFolder(t, newTestStore(t), "inc-fsync")
	const size = 2*flushEvery + 5
	for _, fail := range []bool{false, true} {
		w, err := f.Create(fmt.Sprintf("fs/export-%t.tar", fail))
		if err != nil {
			t.Fatal(err)
		}
		syncs := 0
		w.flush.sync = func() error {
			syncs++
			if fail {
				return errors.New("input/output error")
			}
			return w.file.Sync()
		}
		err = w.readFrom(context.Background(), gen(3, size), nil)
		if err == nil {
			_, err = w.Commit()
		}
		w.Abort()
		if syncs == 0 {
			t.Errorf("fail=%t: no background fsync while writing %d bytes", fail, size)
		}
		if got, want := err != nil, fail; got != want {
			t.Errorf("fail=%t: err = %v", fail, err)
		}
		if fail && !strings.Contains(errString(err), "background fsync: input/output error") {
			t.Errorf("fail=%t: err = %v, want the background fsync's", fail, err)
		}
	}
	if got := len(f.Artifacts()); got != 1 {
		t.Errorf("%d artifacts, want the one whose fsyncs succeeded", got)
	}
	if p := partials(t, f.Dir()); len(p) != 0 {
		t.Errorf("partial files left: %v", p)
	}
	waitGoroutines(t, before)
}

// waitGoroutines fails t unless the number of goroutines drops to at most
// n: a goroutine that sent its last result may take a moment to exit.
func waitGoroutines(t *testing.T, n int) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for runtime.NumGoroutine() > n {
		if time.Now().After(deadline) {
			buf := make([]byte, 1<<16)
			t.Fatalf("%d goroutines, want at most %d:\n%s", runtime.NumGoroutine(), n, buf[:runtime.Stack(buf, true)])
		}
		time.Sleep(10 * time.Millisecond)
	}
}
