package audit

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sync"
	"syscall"
	"time"
)

// HeadName is the file beside the log that records its last line's number
// and hash, so that cutting whole lines off the end is found too.
const HeadName = "audit.head"

// Head is the last line of the log as the writer left it.
type Head struct {
	Seq  uint64 `json:"seq"`
	Hash string `json:"hash"`
}

// Log appends events to the audit log. Appends from any number of
// goroutines are committed in groups: one write and one fsync for all the
// events that arrived while the previous group was being written. Other
// processes (quell token create) may append to the same file: each group
// is written under an exclusive lock, after reading the tail again if the
// file grew.
type Log struct {
	path string
	now  func() time.Time

	mu      sync.Mutex
	queue   []pending
	writing bool

	// Touched only by the goroutine writing a group.
	size int64  // the file's size after the last line this Log knows of
	seq  uint64 // the last line's seq
	prev string // the SHA-256 of the last line
}

type pending struct {
	e    Event
	done chan error    // the group's outcome
	lead chan struct{} // told to write the next group
}

// Path returns the audit log's path under dataDir.
func Path(dataDir string) string { return filepath.Join(dataDir, FileName) }

// Open opens (creating it, 0600) the log at path and resumes its chain
// from the last line. An unfinished last line (a write cut by a crash, so
// never acknowledged) is dropped and the dropping logged as an event; a
// last line that is not a valid record is an error.
func Open(path string) (*Log, error) {
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return nil, fmt.Errorf("audit log: %w", err)
	}
	l := &Log{path: path, now: time.Now, prev: Genesis}
	var dropped int64
	err := l.locked(func(f *os.File) error {
		var err error
		dropped, err = l.resume(f, true)
		return err
	})
	if err != nil {
		return nil, err
	}
	if gap := l.checkHead(); gap != "" {
		if err := l.Append(Event{Action: ActionGap, Outcome: Failed, Reason: gap}); err != nil {
			return nil, err
		}
	}
	if dropped > 0 {
		err := l.Append(Event{Action: ActionRepair, Outcome: Accepted,
			Reason: fmt.Sprintf("dropped an unfinished last line of %d bytes (a write cut short)", dropped)})
		if err != nil {
			return nil, err
		}
	}
	return l, nil
}

// Events the log writes about itself.
const (
	// ActionGap records, as the log is opened, that lines the head file
	// recorded are gone: Verify fails at it.
	ActionGap = "audit.gap"
	// ActionRepair records that an unfinished last line was dropped.
	ActionRepair = "audit.repair"
)

// checkHead compares the log's last line with the head file and says what
// is missing, if anything. A head behind the log is a crash between the
// log's fsync and the head's write, and fine.
func (l *Log) checkHead() string {
	h, err := ReadHead(l.path)
	switch {
	case errors.Is(err, os.ErrNotExist) && l.seq == 0:
		return ""
	case errors.Is(err, os.ErrNotExist):
		return fmt.Sprintf("the log has %d lines but no head file", l.seq)
	case err != nil:
		return err.Error()
	case h.Seq > l.seq:
		return fmt.Sprintf("the log ends at line %d but its head recorded line %d: lines were cut off", l.seq, h.Seq)
	case h.Seq == l.seq && h.Hash != l.prev:
		return fmt.Sprintf("line %d is not the line the head recorded: it was replaced", l.seq)
	}
	return ""
}

// ReadHead reads the head file beside the log at logPath.
func ReadHead(logPath string) (Head, error) {
	data, err := os.ReadFile(filepath.Join(filepath.Dir(logPath), HeadName))
	if err != nil {
		return Head{}, err
	}
	var h Head
	if len(bytes.TrimSpace(bytes.Trim(data, "\x00"))) == 0 {
		return h, nil // made, then a crash before it reached the disk: behind
	}
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&h); err != nil {
		return Head{}, fmt.Errorf("audit head: %v", err)
	}
	return h, nil
}

// Append writes e to the log and returns once it is on disk. The first
// caller to find no group being written writes one: its own event and
// every event queued by then; when it is done, the first caller queued
// meanwhile writes the next group, so no caller waits for more than two.
func (l *Log) Append(e Event) error {
	if e.Time.IsZero() {
		e.Time = l.now()
	}
	p := pending{e: e.bounded(), done: make(chan error, 1), lead: make(chan struct{}, 1)}
	l.mu.Lock()
	l.queue = append(l.queue, p)
	if l.writing {
		l.mu.Unlock()
		select {
		case err := <-p.done:
			return err
		case <-p.lead:
		}
		l.mu.Lock()
	}
	l.writing = true
	group := l.queue
	l.queue = nil
	l.mu.Unlock()

	err := l.write(group)
	for _, g := range group {
		g.done <- err
	}
	l.mu.Lock()
	if len(l.queue) > 0 {
		l.queue[0].lead <- struct{}{}
	} else {
		l.writing = false
	}
	l.mu.Unlock()
	return <-p.done
}

// write commits one group: lock, catch up with other writers, append the
// lines, fsync, record the head.
func (l *Log) write(group []pending) error {
	return l.locked(func(f *os.File) error {
		fi, err := f.Stat()
		if err != nil {
			return fmt.Errorf("audit log %s: %w", l.path, err)
		}
		if fi.Size() != l.size {
			if _, err := l.resume(f, false); err != nil {
				return err
			}
		}
		var buf bytes.Buffer
		seq, prev := l.seq, l.prev
		for _, p := range group {
			seq++
			line, err := encode(Record{Seq: seq, Prev: prev, Event: p.e})
			if err != nil {
				return err
			}
			prev = lineHash(line)
			buf.Write(line)
			buf.WriteByte('\n')
		}
		if _, err := f.WriteAt(buf.Bytes(), l.size); err != nil {
			// A partial line is dropped by the next Open.
			return fmt.Errorf("audit log %s: %w", l.path, err)
		}
		if err := f.Sync(); err != nil {
			return fmt.Errorf("audit log %s: %w", l.path, err)
		}
		l.size += int64(buf.Len())
		l.seq, l.prev = seq, prev
		return writeHead(l.path, Head{Seq: seq, Hash: prev})
	})
}

// locked runs fn with the log open and exclusively locked.
func (l *Log) locked(fn func(*os.File) error) error {
	f, err := os.OpenFile(l.path, os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		return fmt.Errorf("audit log: %w", err)
	}
	defer f.Close()
	if err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX); err != nil {
		return fmt.Errorf("audit log %s: lock: %w", l.path, err)
	}
	return fn(f)
}

// resume reads the last line of f to continue the chain after it. With
// repair, an unfinished last line is cut off and its length returned;
// without, it is an error (the lock rules out another writer mid-line, so
// the file was cut).
func (l *Log) resume(f *os.File, repair bool) (int64, error) {
	fi, err := f.Stat()
	if err != nil {
		return 0, fmt.Errorf("audit log %s: %w", l.path, err)
	}
	size := fi.Size()
	last, complete, err := lastLine(f, size)
	if err != nil {
		return 0, fmt.Errorf("audit log %s: %w", l.path, err)
	}
	dropped := size - complete
	if dropped > 0 {
		if !repair {
			return 0, fmt.Errorf("audit log %s: ends in an unfinished line", l.path)
		}
		if err := f.Truncate(complete); err != nil {
			return 0, fmt.Errorf("audit log %s: %w", l.path, err)
		}
		if err := f.Sync(); err != nil {
			return 0, fmt.Errorf("audit log %s: %w", l.path, err)
		}
	}
	l.size, l.seq, l.prev = complete, 0, Genesis
	if last == nil {
		return dropped, nil
	}
	r, err := decode(last)
	if err != nil {
		return 0, fmt.Errorf("audit log %s: last line: %v; run quell audit verify", l.path, err)
	}
	l.seq, l.prev = r.Seq, lineHash(last)
	return dropped, nil
}

// maxLine bounds a line: ten fields of 512 bytes, JSON-escaped at worst
// six bytes a byte, and the rest.
const maxLine = 64 << 10

// lastLine returns the last complete line of f (without its newline, nil
// when there is none) and where the complete lines end: any bytes after
// that are an unfinished line.
func lastLine(f *os.File, size int64) ([]byte, int64, error) {
	if size == 0 {
		return nil, 0, nil
	}
	n := min(size, maxLine)
	buf := make([]byte, n)
	if _, err := f.ReadAt(buf, size-n); err != nil && !errors.Is(err, io.EOF) {
		return nil, 0, err
	}
	end := bytes.LastIndexByte(buf, '\n')
	if end < 0 {
		if n < size {
			return nil, 0, fmt.Errorf("last %d bytes hold no line end", n)
		}
		return nil, 0, nil // one unfinished line
	}
	begin := bytes.LastIndexByte(buf[:end], '\n') + 1
	if begin == 0 && n < size {
		return nil, 0, fmt.Errorf("last line longer than %d bytes", maxLine)
	}
	return buf[begin:end], size - n + int64(end) + 1, nil
}

// headSize is the head file's fixed size: it is overwritten in place.
const headSize = 128

// writeHead records h in the head file beside the log, in place and
// without fsync: the log's lines are on disk before it, so after a crash
// the head is at worst behind the log (or empty), never ahead of it, and a
// head behind the log is fine.
func writeHead(logPath string, h Head) error {
	data, _ := json.Marshal(h)
	rec := bytes.Repeat([]byte(" "), headSize)
	copy(rec, data)
	rec[headSize-1] = '\n'
	f, err := os.OpenFile(filepath.Join(filepath.Dir(logPath), HeadName), os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		return fmt.Errorf("audit head: %w", err)
	}
	_, err = f.WriteAt(rec, 0)
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return fmt.Errorf("audit head: %w", err)
	}
	return nil
}
