package evidence

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"syscall"
)

// The custody log is a hash chain: every line carries, in its "prev" field,
// the hex SHA-256 of the line before it (its bytes without the newline), and
// the first line the SHA-256 of nothing. Deleting or editing a line breaks
// the link of the line after it; the digest of the line that records the
// seal goes into the signed statement, so the lines up to it cannot be cut
// off or rewritten together either. Logs written before the chain (no
// "prev" on their first line) are read as version 1 and reported unchained.

// emptyDigest is the SHA-256 of no bytes: the "prev" of a log's first line.
var emptyDigest = lineDigest(nil)

// lineDigest is the hex SHA-256 of one custody line without its newline.
func lineDigest(line []byte) string {
	sum := sha256.Sum256(line)
	return hex.EncodeToString(sum[:])
}

// Chain is the custody log as read back and checked link by link.
type Chain struct {
	// Entries are the parsed lines, oldest first.
	Entries []CustodyEntry
	// Digests are the lineDigest of each line, in the same order.
	Digests []string
	// Unchained counts the leading lines written before the log was chained.
	Unchained int
}

// Head is the digest of the last line, or emptyDigest for an empty log.
func (c Chain) Head() string {
	if len(c.Digests) == 0 {
		return emptyDigest
	}
	return c.Digests[len(c.Digests)-1]
}

// Find returns the 1-based line whose digest is digest, or 0.
func (c Chain) Find(digest string) int {
	for i, d := range c.Digests {
		if d == digest {
			return i + 1
		}
	}
	return 0
}

// ChainError is a custody log whose hash chain is broken at Line.
type ChainError struct {
	// Path is the custody log's path.
	Path string
	// Line is the 1-based line whose link does not hold.
	Line int
	// Reason says what is wrong.
	Reason string
}

func (e *ChainError) Error() string {
	return fmt.Sprintf("custody log %s line %d: %s", e.Path, e.Line, e.Reason)
}

// parseChain parses and checks the lines of the custody log at path.
func parseChain(path string, lines [][]byte) (Chain, error) {
	c := Chain{Entries: make([]CustodyEntry, 0, len(lines)), Digests: make([]string, 0, len(lines))}
	prev := emptyDigest
	for i, line := range lines {
		var e CustodyEntry
		if err := json.Unmarshal(line, &e); err != nil {
			return c, &ChainError{Path: path, Line: i + 1, Reason: "not a custody entry: " + err.Error()}
		}
		switch {
		case e.Prev == "" && i == c.Unchained:
			c.Unchained++ // version 1, before the chain
		case e.Prev == "":
			return c, &ChainError{Path: path, Line: i + 1, Reason: "no link to the line before (edited, or inserted)"}
		case e.Prev != prev:
			return c, brokenLink(path, i+1)
		}
		c.Entries = append(c.Entries, e)
		prev = lineDigest(line)
		c.Digests = append(c.Digests, prev)
	}
	return c, nil
}

// brokenLink reports line n, whose "prev" is not the digest of line n-1.
func brokenLink(path string, n int) *ChainError {
	if n == 1 {
		return &ChainError{Path: path, Line: 1, Reason: "does not start the chain: a line before it was removed"}
	}
	return &ChainError{Path: path, Line: n, Reason: fmt.Sprintf(
		"chain broken: its prev is not the sha256 of line %d, so line %d was edited or a line between %d and %d was removed", n-1, n-1, n-1, n)}
}

// readChain reads and checks the custody log in dir; a missing log is an
// empty chain.
func readChain(dir string) (Chain, error) {
	path := filepath.Join(dir, CustodyName)
	lines, err := readLines(path)
	if errors.Is(err, fs.ErrNotExist) {
		return Chain{}, nil
	}
	if err != nil {
		return Chain{}, err
	}
	return parseChain(path, lines)
}

// appendChained links e to the last line of the custody log in dir and
// appends it. A log whose chain is broken is still appended to (the break
// stays visible to every verification), linked to its last line as found.
// The folder is locked meanwhile, so the worker and the quell command
// (a bundle, a hold) never link two lines to the same one.
func appendChained(dir string, e CustodyEntry) error {
	unlock, err := lockFolder(dir)
	if err != nil {
		return err
	}
	defer unlock()
	path := filepath.Join(dir, CustodyName)
	lines, err := readLines(path)
	if err != nil && !errors.Is(err, fs.ErrNotExist) {
		return err
	}
	e.Prev = emptyDigest
	if len(lines) > 0 {
		e.Prev = lineDigest(lines[len(lines)-1])
	}
	return appendLine(path, e)
}

// lockFolder takes an exclusive flock on the folder dir across processes
// and returns its release.
func lockFolder(dir string) (func(), error) {
	f, err := os.Open(dir)
	if err != nil {
		return nil, err
	}
	if err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX); err != nil {
		f.Close()
		return nil, fmt.Errorf("lock %s: %w", dir, err)
	}
	return func() {
		_ = syscall.Flock(int(f.Fd()), syscall.LOCK_UN)
		f.Close()
	}, nil
}
