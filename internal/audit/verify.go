package audit

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
)

// BreakError is where the chain breaks: the first line that is not what
// the writer made of it, in the place it put it.
type BreakError struct {
	// Line numbers the line from 1.
	Line int
	// Reason says what is wrong with it.
	Reason string
}

func (e *BreakError) Error() string { return fmt.Sprintf("audit log line %d: %s", e.Line, e.Reason) }

// Verify reads an audit log and checks its chain: every line a record with
// its own hash, in canonical form, numbered in order, whose prev is the
// hash of the line before (Genesis for the first), ending in a newline,
// and none recording a gap. It returns nil or a *BreakError naming the
// first line that breaks.
func Verify(r io.Reader) error {
	_, _, err := verify(r, 0)
	return err
}

// verify is Verify, returning the head (the last line's seq and hash) and
// the hash of line at.
func verify(r io.Reader, at uint64) (h Head, atHash string, err error) {
	br := bufio.NewReaderSize(r, maxLine)
	h = Head{Hash: Genesis}
	for n := 1; ; n++ {
		line, err := br.ReadSlice('\n')
		if errors.Is(err, bufio.ErrBufferFull) {
			return h, atHash, &BreakError{n, fmt.Sprintf("longer than %d bytes", maxLine)}
		}
		if errors.Is(err, io.EOF) {
			if len(line) > 0 {
				return h, atHash, &BreakError{n, "unfinished: no newline at its end (the log was cut in this line)"}
			}
			return h, atHash, nil
		}
		if err != nil {
			return h, atHash, fmt.Errorf("audit log line %d: %w", n, err)
		}
		line = bytes.TrimSuffix(line, []byte("\n"))
		rec, err := decode(line)
		if err != nil {
			return h, atHash, &BreakError{n, err.Error()}
		}
		switch {
		case rec.Seq != h.Seq+1:
			return h, atHash, &BreakError{n, fmt.Sprintf("seq %d, want %d: lines were removed or reordered", rec.Seq, h.Seq+1)}
		case rec.Prev != h.Hash:
			return h, atHash, &BreakError{n, fmt.Sprintf("prev %s, but line %d hashes to %s", short(rec.Prev), n-1, short(h.Hash))}
		case rec.Action == ActionGap:
			return h, atHash, &BreakError{n, "quell found lines missing when it reopened the log: " + rec.Reason}
		}
		h = Head{Seq: rec.Seq, Hash: lineHash(line)}
		if h.Seq == at {
			atHash = h.Hash
		}
	}
}

// VerifyFile verifies the log at path as Verify does, then compares it with
// the head file beside it, which finds whole lines cut off the end: the
// head must name a line of the log by its seq and hash. (A head behind the
// log is a crash between the log's write and the head's, and fine.) It
// returns the log's head: record it elsewhere, and a log rewritten whole
// from the start is found too.
func VerifyFile(path string) (Head, error) {
	want, herr := ReadHead(path)
	f, err := os.Open(path)
	if err != nil {
		return Head{}, fmt.Errorf("audit log: %w", err)
	}
	defer f.Close()
	got, atHash, err := verify(f, want.Seq)
	switch {
	case err != nil:
		return got, err
	case errors.Is(herr, os.ErrNotExist) && got.Seq == 0:
		return got, nil
	case errors.Is(herr, os.ErrNotExist):
		return got, fmt.Errorf("audit head %s: missing, so lines cut off the end cannot be ruled out", HeadName)
	case herr != nil:
		return got, herr
	case want.Seq > got.Seq:
		return got, &BreakError{int(got.Seq) + 1, fmt.Sprintf("missing: the log ends at line %d, but its head records line %d (lines were cut off the end)", got.Seq, want.Seq)}
	case want.Seq > 0 && want.Hash != atHash:
		return got, &BreakError{int(want.Seq), fmt.Sprintf("hashes to %s, but the head records %s (the line was replaced)", short(atHash), short(want.Hash))}
	}
	return got, nil
}
