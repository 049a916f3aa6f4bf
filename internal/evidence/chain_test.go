package evidence

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// custodyLines returns the lines of dir's custody log.
func custodyLines(t *testing.T, dir string) [][]byte {
	t.Helper()
	data, err := os.ReadFile(filepath.Join(dir, CustodyName))
	if err != nil {
		t.Fatal(err)
	}
	return bytes.SplitAfter(bytes.TrimSuffix(data, []byte("\n")), []byte("\n"))
}

// writeCustody replaces dir's custody log by lines.
func writeCustody(t *testing.T, dir string, lines [][]byte) {
	t.Helper()
	data := bytes.Join(lines, nil)
	if !bytes.HasSuffix(data, []byte("\n")) {
		data = append(data, '\n')
	}
	if err := os.WriteFile(filepath.Join(dir, CustodyName), data, 0o640); err != nil {
		t.Fatal(err)
	}
}

func TestChainTampered(t *testing.T) {
	tests := []struct {
		name   string
		tamper func(lines [][]byte) [][]byte
		want   string // the custody problem's reason
	}{
		{"intact", func(l [][]byte) [][]byte { return l }, ""},
		{"second line deleted", func(l [][]byte) [][]byte {
			return append(l[:1:1], l[2:]...)
		}, "line 2: chain broken: its prev is not the sha256 of line 1, so line 1 was edited or a line between 1 and 2 was removed"},
		{"first line deleted", func(l [][]byte) [][]byte {
			return l[1:]
		}, "line 1: does not start the chain: a line before it was removed"},
		{"second line edited", func(l [][]byte) [][]byte {
			l[1] = bytes.Replace(l[1], []byte(`"who":"quell-worker"`), []byte(`"who":"mallory"`), 1)
			return l
		}, "line 3: chain broken: its prev is not the sha256 of line 2, so line 2 was edited or a line between 2 and 3 was removed"},
		{"link removed", func(l [][]byte) [][]byte {
			l[2] = []byte(strings.Split(string(l[2]), `,"prev"`)[0] + "}\n")
			return l
		}, "line 3: no link to the line before (edited, or inserted)"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s, f, _ := sealedIncident(t, "inc-chain")
			writeCustody(t, f.Dir(), tt.tamper(custodyLines(t, f.Dir())))
			v, err := s.Verify(context.Background(), "inc-chain", verifyActor, nil)
			if err != nil {
				t.Fatal(err)
			}
			var got string
			for _, p := range v.Problems {
				if p.Artifact == CustodyName {
					got = p.Reason
				}
			}
			if got != tt.want {
				t.Errorf("custody problem = %q, want %q", got, tt.want)
			}
		})
	}
}

func TestChainLinks(t *testing.T) {
	_, f, _ := sealedIncident(t, "inc-links")
	chain, err := readChain(f.Dir())
	if err != nil {
		t.Fatal(err)
	}
	lines := custodyLines(t, f.Dir())
	if got, want := chain.Entries[0].Prev, emptyDigest; got != want {
		t.Errorf("line 1 prev = %s, want the sha256 of nothing %s", got, want)
	}
	for i := 1; i < len(lines); i++ {
		if got, want := chain.Entries[i].Prev, lineDigest(bytes.TrimSuffix(lines[i-1], []byte("\n"))); got != want {
			t.Errorf("line %d prev = %s, want %s", i+1, got, want)
		}
	}
	if got, want := chain.Head(), lineDigest(bytes.TrimSuffix(lines[len(lines)-1], []byte("\n"))); got != want {
		t.Errorf("head = %s, want %s", got, want)
	}
}

// TestChainVersion1 reads a log written before the chain: its lines are
// unchained, and lines appended after them link on to the last one.
func TestChainVersion1(t *testing.T) {
	dir := t.TempDir()
	old := `{"time":"2026-01-01T00:00:00Z","action":"collected","artifact":"a.log","sha256":"00","who":"w","host":"h","version":"v"}` + "\n"
	if err := os.WriteFile(filepath.Join(dir, CustodyName), []byte(old+strings.Replace(old, "a.log", "b.log", 1)), 0o640); err != nil {
		t.Fatal(err)
	}
	if err := appendChained(dir, CustodyEntry{Action: ActionVerified}); err != nil {
		t.Fatal(err)
	}
	chain, err := readChain(dir)
	if err != nil {
		t.Fatal(err)
	}
	if got, want := chain.Unchained, 2; got != want {
		t.Errorf("unchained = %d, want %d", got, want)
	}
	if got, want := len(chain.Entries), 3; got != want {
		t.Errorf("%d entries, want %d", got, want)
	}
	lines := custodyLines(t, dir)
	writeCustody(t, dir, [][]byte{lines[0], lines[2]})
	if _, err := readChain(dir); err == nil || !strings.Contains(err.Error(), "line 2: chain broken") {
		t.Errorf("err = %v, want the chain broken at line 2", err)
	}
}
