package evidence

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"hash"
	"io"
	"os"
	"path/filepath"
)

// writeChunk is the size of the file writes of ReadFrom (and Folder.Write),
// each filled by as many reads as it takes: Docker sends an export in
// 32 KiB chunks.
//
// Not larger: on ext4 under Linux 6.18, 1 MiB writes to the page cache ran
// at anything from 5 GB/s down to 150 MiB/s, single writes stalling for up
// to 270 ms (probably large page-cache folios waiting for contiguous
// memory), while 64 and 128 KiB writes stayed above 1.9 GB/s on the same
// host. With 1 MiB writes, `make bench` measured quell's export at about
// 0.6x a raw export.
const writeChunk = 128 << 10

// Writer writes one artifact to a temporary file beside its final name,
// hashing it with SHA-256 and counting its bytes as they pass, so the stream
// is never read twice. The file is fsynced in the background as it grows
// (see flusher). Finish with Commit or Abort; a Writer is not safe for
// concurrent use.
//
// Hashing stays on the writing goroutine: an export arrives at 100 to 200
// MiB/s, SHA-256 runs at over 1 GB/s, and handing buffers to a hashing
// goroutine cost more CPU than it saved time on a loaded two-core host.
type Writer struct {
	folder     *Folder
	name       string
	file       *os.File
	tmp, final string
	hash       hash.Hash
	flush      flusher
	size       int64
	err        error // first write or background fsync error; Commit refuses after one
	closed     bool
}

func newWriter(f *Folder, name string, file *os.File, tmp, final string) *Writer {
	return &Writer{folder: f, name: name, file: file, tmp: tmp, final: final,
		hash: sha256.New(), flush: flusher{sync: file.Sync}}
}

// Write writes p to the artifact, hashing what reached the file.
func (w *Writer) Write(p []byte) (int, error) {
	if err := w.usable(); err != nil {
		return 0, err
	}
	n, err := w.file.Write(p)
	w.hash.Write(p[:n])
	w.size += int64(n)
	if ferr := w.flush.wrote(n); err == nil && ferr != nil {
		err = fmt.Errorf("background fsync: %w", ferr)
	}
	if err != nil {
		w.err = err
		return n, fmt.Errorf("artifact %q: %w", w.name, err)
	}
	return n, nil
}

// ReadFrom writes everything r yields to the artifact in writes of
// writeChunk bytes; it is what io.Copy uses. An error from r is returned
// wrapped as "read: ...".
func (w *Writer) ReadFrom(r io.Reader) (int64, error) {
	start := w.size
	err := w.readFrom(context.Background(), r, nil)
	return w.size - start, err
}

// readFrom is ReadFrom that stops when ctx is done, checked between
// writes, and calls progress (if not nil) with the bytes written so far
// about every MiB and at the end.
func (w *Writer) readFrom(ctx context.Context, r io.Reader, progress func(written int64)) error {
	buf := make([]byte, writeChunk)
	reported := w.size
	for {
		if err := ctx.Err(); err != nil {
			return err
		}
		n, rerr := fill(r, buf)
		if _, err := w.Write(buf[:n]); err != nil {
			return err
		}
		if progress != nil && w.size-reported >= progressEvery {
			reported = w.size
			progress(reported)
		}
		if rerr == io.EOF {
			if progress != nil && w.size != reported {
				progress(w.size)
			}
			return nil
		}
		if rerr != nil {
			return fmt.Errorf("read: %w", rerr)
		}
	}
}

// fill reads from r into buf until buf is full or r returns an error.
func fill(r io.Reader, buf []byte) (int, error) {
	n := 0
	for n < len(buf) {
		k, err := r.Read(buf[n:])
		n += k
		if err != nil {
			return n, err
		}
	}
	return n, nil
}

func (w *Writer) usable() error {
	if w.closed {
		return fmt.Errorf("artifact %q: writer closed", w.name)
	}
	if w.err != nil {
		return fmt.Errorf("artifact %q: %w", w.name, w.err)
	}
	return nil
}

// Size returns the number of bytes written so far.
func (w *Writer) Size() int64 {
	return w.size
}

// Commit completes the artifact: it fsyncs the file, makes it read-only
// (0440), renames it to its final name, fsyncs the directory, and appends
// it to the journal and a "collected" entry to the custody log, both
// fsynced. If only the custody append fails the artifact is still complete
// and the error says so; the next Open or Seal adds the missing entry.
func (w *Writer) Commit() (Artifact, error) {
	if w.closed {
		return Artifact{}, fmt.Errorf("artifact %q: writer closed", w.name)
	}
	w.closed = true
	w.settle()
	inc := w.folder.inc
	inc.mu.Lock()
	defer inc.mu.Unlock()
	defer delete(inc.inflight, w.name)
	if err := w.publish(); err != nil {
		return Artifact{}, fmt.Errorf("commit artifact %q: %w", w.name, err)
	}
	a := Artifact{
		Name:        w.name,
		Path:        w.name,
		Size:        w.size,
		SHA256:      hex.EncodeToString(w.hash.Sum(nil)),
		CollectedAt: w.folder.store.clock(),
	}
	if err := appendLine(filepath.Join(inc.dir, journalName), a); err != nil {
		os.Remove(w.final) // unrecorded; removing it now spares the retry a discard
		return Artifact{}, fmt.Errorf("commit artifact %q: %w", w.name, err)
	}
	inc.record(a)
	err := w.folder.appendCustody(CustodyEntry{Action: ActionCollected, Artifact: a.Name, SHA256: a.SHA256})
	if err != nil {
		return a, fmt.Errorf("artifact %q committed without custody entry: %w", w.name, err)
	}
	return a, nil
}

// settle waits for the background fsync, so that the file can be closed,
// and keeps its error.
func (w *Writer) settle() {
	if err := w.flush.wait(); err != nil && w.err == nil {
		w.err = fmt.Errorf("background fsync: %w", err)
	}
}

// publish makes the temporary file durable and read-only and renames it
// into place, or removes it; the caller holds inc.mu.
func (w *Writer) publish() error {
	// Another process working on the same folder could have replaced the
	// temporary file; then it is not ours to publish or remove.
	if err := w.stillOurs(); err != nil {
		w.file.Close()
		return err
	}
	if err := w.rename(); err != nil {
		os.Remove(w.tmp)
		return err
	}
	return w.syncDirs()
}

func (w *Writer) rename() error {
	err := w.err
	if err == nil {
		err = w.file.Sync()
	}
	if err == nil {
		err = w.file.Chmod(sealedMode)
	}
	if cerr := w.file.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return err
	}
	if _, err := os.Lstat(w.final); err == nil {
		return ErrExists // completed meanwhile by another process: never replace it
	}
	return os.Rename(w.tmp, w.final)
}

func (w *Writer) stillOurs() error {
	mine, err := w.file.Stat()
	if err != nil {
		return err
	}
	now, err := os.Lstat(w.tmp)
	if err != nil {
		return err
	}
	if !os.SameFile(mine, now) {
		return errors.New("temporary file replaced by another writer")
	}
	return nil
}

// syncDirs fsyncs every directory from the artifact's up to the incident
// folder, since Create may have made some of them.
func (w *Writer) syncDirs() error {
	root := w.folder.inc.dir
	for dir := filepath.Dir(w.final); ; dir = filepath.Dir(dir) {
		if err := syncDir(dir); err != nil {
			return err
		}
		if dir == root || len(dir) <= len(root) {
			return nil
		}
	}
}

// Abort abandons the artifact and removes the temporary file. After Commit
// it does nothing, so it can be deferred.
func (w *Writer) Abort() error {
	if w.closed {
		return nil
	}
	w.closed = true
	w.settle()
	inc := w.folder.inc
	inc.mu.Lock()
	defer inc.mu.Unlock()
	delete(inc.inflight, w.name)
	w.file.Close()
	if err := os.Remove(w.tmp); err != nil && !errors.Is(err, os.ErrNotExist) {
		return fmt.Errorf("abort artifact %q: %w", w.name, err)
	}
	return nil
}
