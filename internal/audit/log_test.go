package audit

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"
)

func openLog(t *testing.T, dir string) *Log {
	t.Helper()
	l, err := Open(Path(dir))
	if err != nil {
		t.Fatal(err)
	}
	l.now = func() time.Time { return time.Date(2026, 11, 23, 1, 0, 0, 0, time.UTC) }
	return l
}

func event(i int) Event {
	return Event{Principal: "alice", Role: "responder", Via: "token", Address: "127.0.0.1:5555",
		Action: "decision", Incident: fmt.Sprintf("docker-h-abc.%d", i), Step: "approve", Outcome: Accepted, Reason: "approve"}
}

// lines is the log's lines, each with its newline.
func lines(t *testing.T, dir string) [][]byte {
	t.Helper()
	data, err := os.ReadFile(Path(dir))
	if err != nil {
		t.Fatal(err)
	}
	ls := bytes.SplitAfter(data, []byte("\n"))
	return ls[:len(ls)-1] // after the last newline: nothing
}

func breakAt(t *testing.T, err error) (int, string) {
	t.Helper()
	var b *BreakError
	if !errors.As(err, &b) {
		t.Fatalf("err = %v, want a *BreakError", err)
	}
	return b.Line, b.Reason
}

func TestAppendVerifyResume(t *testing.T) {
	dir := t.TempDir()
	l := openLog(t, dir)
	var wg sync.WaitGroup
	for i := range 50 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if err := l.Append(event(i)); err != nil {
				t.Error(err)
			}
		}()
	}
	wg.Wait()
	// A restart resumes the chain from the last line.
	l2 := openLog(t, dir)
	if err := l2.Append(event(50)); err != nil {
		t.Fatal(err)
	}
	head, err := VerifyFile(Path(dir))
	if err != nil {
		t.Fatal(err)
	}
	if head.Seq != 51 {
		t.Errorf("head seq %d, want 51", head.Seq)
	}
	ls := lines(t, dir)
	if len(ls) != 51 {
		t.Fatalf("%d lines, want 51", len(ls))
	}
	first, err := decode(bytes.TrimSuffix(ls[0], []byte("\n")))
	if err != nil || first.Prev != Genesis || first.Seq != 1 {
		t.Errorf("first line: %+v, %v", first, err)
	}
	last, err := decode(bytes.TrimSuffix(ls[50], []byte("\n")))
	if err != nil || last.Incident != "docker-h-abc.50" || last.Prev != lineHash(bytes.TrimSuffix(ls[49], []byte("\n"))) {
		t.Errorf("last line: %+v, %v", last, err)
	}
	fi, _ := os.Stat(Path(dir))
	if fi.Mode().Perm() != 0o600 {
		t.Errorf("log mode %o, want 600", fi.Mode().Perm())
	}
}

func TestLineFormat(t *testing.T) {
	dir := t.TempDir()
	l := openLog(t, dir)
	if err := l.Append(event(1)); err != nil {
		t.Fatal(err)
	}
	got := string(lines(t, dir)[0])
	want := `{"seq":1,"prev":"` + Genesis + `","time":"2026-11-23T01:00:00Z","principal":"alice","role":"responder","via":"token",` +
		`"address":"127.0.0.1:5555","action":"decision","incident":"docker-h-abc.1","step":"approve","outcome":"accepted","reason":"approve","hash":"`
	if !strings.HasPrefix(got, want) || !strings.HasSuffix(got, "\"}\n") || len(got) != len(want)+64+3 {
		t.Errorf("line\n%s\nwant\n%s<64 hex digits>\"}", got, want)
	}
}

func TestEveryByteEditedFailsAtItsLine(t *testing.T) {
	dir := t.TempDir()
	l := openLog(t, dir)
	for i := range 4 {
		if err := l.Append(event(i)); err != nil {
			t.Fatal(err)
		}
	}
	ls := lines(t, dir)
	for n, line := range ls {
		for i := range line {
			for _, flip := range []byte{0x01, 0x20} {
				edited := make([][]byte, len(ls))
				copy(edited, ls)
				changed := bytes.Clone(line)
				changed[i] ^= flip
				edited[n] = changed
				err := Verify(bytes.NewReader(bytes.Join(edited, nil)))
				if err == nil {
					t.Fatalf("line %d byte %d ^ %#x: verified", n+1, i, flip)
				}
				if at, why := breakAt(t, err); at != n+1 {
					t.Fatalf("line %d byte %d ^ %#x: broke at line %d (%s)", n+1, i, flip, at, why)
				}
			}
		}
	}
}

func TestVerifyFinds(t *testing.T) {
	dir := t.TempDir()
	l := openLog(t, dir)
	for i := range 5 {
		if err := l.Append(event(i)); err != nil {
			t.Fatal(err)
		}
	}
	ls := lines(t, dir)
	join := func(parts ...[]byte) []byte { return bytes.Join(parts, nil) }
	cases := []struct {
		name string
		log  []byte
		line int
		why  string
	}{
		{"cut in a line", join(ls[0], ls[1], ls[2][:40]), 3, "unfinished: no newline at its end (the log was cut in this line)"},
		{"cut before a newline", join(ls[0], ls[1], bytes.TrimSuffix(ls[2], []byte("\n"))), 3, "unfinished: no newline at its end (the log was cut in this line)"},
		{"reordered", join(ls[0], ls[2], ls[1], ls[3]), 2, "seq 3, want 2: lines were removed or reordered"},
		{"a line removed", join(ls[0], ls[1], ls[3], ls[4]), 3, "seq 4, want 3: lines were removed or reordered"},
		{"first line removed", join(ls[1], ls[2]), 1, "seq 2, want 1: lines were removed or reordered"},
		{"a line doubled", join(ls[0], ls[1], ls[1], ls[2]), 3, "seq 2, want 3: lines were removed or reordered"},
		{"blank line", join(ls[0], []byte("\n"), ls[1]), 2, "no hash field at the end of the line"},
	}
	for _, tc := range cases {
		err := Verify(bytes.NewReader(tc.log))
		if err == nil {
			t.Errorf("%s: verified", tc.name)
			continue
		}
		if at, why := breakAt(t, err); at != tc.line || why != tc.why {
			t.Errorf("%s: line %d %q, want line %d %q", tc.name, at, why, tc.line, tc.why)
		}
	}
	if err := Verify(bytes.NewReader(join(ls...))); err != nil {
		t.Errorf("the whole log: %v", err)
	}
	if err := Verify(strings.NewReader("")); err != nil {
		t.Errorf("an empty log: %v", err)
	}
}

func TestVerifyFileFindsLinesCutOffTheEnd(t *testing.T) {
	dir := t.TempDir()
	l := openLog(t, dir)
	for i := range 5 {
		if err := l.Append(event(i)); err != nil {
			t.Fatal(err)
		}
	}
	ls := lines(t, dir)
	if err := os.WriteFile(Path(dir), bytes.Join(ls[:3], nil), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := Verify(bytes.NewReader(bytes.Join(ls[:3], nil))); err != nil {
		t.Fatalf("the chain of the first lines: %v", err)
	}
	_, err := VerifyFile(Path(dir))
	if at, why := breakAt(t, err); at != 4 || why != "missing: the log ends at line 3, but its head records line 5 (lines were cut off the end)" {
		t.Errorf("cut off: line %d %q", at, why)
	}
	// quell restarts on the cut log: it records the gap in the chain,
	// where verify finds it from then on.
	l2 := openLog(t, dir)
	if err := l2.Append(event(9)); err != nil {
		t.Fatal(err)
	}
	_, err = VerifyFile(Path(dir))
	if at, why := breakAt(t, err); at != 4 || why != "quell found lines missing when it reopened the log: the log ends at line 3 but its head recorded line 5: lines were cut off" {
		t.Errorf("after a restart: line %d %q", at, why)
	}
}

func TestVerifyFileFindsTheLastLineReplaced(t *testing.T) {
	dir := t.TempDir()
	l := openLog(t, dir)
	for i := range 3 {
		if err := l.Append(event(i)); err != nil {
			t.Fatal(err)
		}
	}
	// Rewrite the chain's last line consistently (seq, prev, own hash),
	// as someone who knows the format would: only the head tells.
	ls := lines(t, dir)
	r, err := decode(bytes.TrimSuffix(ls[2], []byte("\n")))
	if err != nil {
		t.Fatal(err)
	}
	r.Outcome = Refused
	forged, err := encode(r)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(Path(dir), bytes.Join([][]byte{ls[0], ls[1], forged, []byte("\n")}, nil), 0o600); err != nil {
		t.Fatal(err)
	}
	_, err = VerifyFile(Path(dir))
	if at, why := breakAt(t, err); at != 3 || !strings.HasPrefix(why, "hashes to ") || !strings.HasSuffix(why, "(the line was replaced)") {
		t.Errorf("forged last line: line %d %q", at, why)
	}
}

func TestOpenDropsAnUnfinishedLine(t *testing.T) {
	dir := t.TempDir()
	l := openLog(t, dir)
	for i := range 2 {
		if err := l.Append(event(i)); err != nil {
			t.Fatal(err)
		}
	}
	f, err := os.OpenFile(Path(dir), os.O_APPEND|os.O_WRONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	_, _ = f.WriteString(`{"seq":3,"prev":"ab`)
	f.Close()
	l2 := openLog(t, dir)
	if err := l2.Append(event(3)); err != nil {
		t.Fatal(err)
	}
	head, err := VerifyFile(Path(dir))
	if err != nil || head.Seq != 4 {
		t.Fatalf("after the repair: %+v, %v", head, err)
	}
	r, _ := decode(bytes.TrimSuffix(lines(t, dir)[2], []byte("\n")))
	if r.Action != ActionRepair || r.Reason != "dropped an unfinished last line of 19 bytes (a write cut short)" {
		t.Errorf("line 3 = %+v, want the repair recorded", r)
	}
}

func TestOpenRefusesACorruptLastLine(t *testing.T) {
	dir := t.TempDir()
	if err := os.WriteFile(Path(dir), []byte("not json\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	_, err := Open(Path(dir))
	if err == nil || !strings.Contains(err.Error(), "last line: no hash field at the end of the line; run quell audit verify") {
		t.Errorf("err = %v", err)
	}
}

func TestTwoWritersShareTheChain(t *testing.T) {
	dir := t.TempDir()
	a, b := openLog(t, dir), openLog(t, dir) // quell serve and quell token create
	var wg sync.WaitGroup
	for i := range 40 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			l := a
			if i%2 == 1 {
				l = b
			}
			if err := l.Append(event(i)); err != nil {
				t.Error(err)
			}
		}()
	}
	wg.Wait()
	head, err := VerifyFile(Path(dir))
	if err != nil || head.Seq != 40 {
		t.Errorf("two writers: %+v, %v", head, err)
	}
}

func TestFieldsAreBounded(t *testing.T) {
	dir := t.TempDir()
	l := openLog(t, dir)
	e := event(1)
	e.Reason = strings.Repeat("é", 2000)
	e.Incident = "x\x00\n\x1b[31m"
	if err := l.Append(e); err != nil {
		t.Fatal(err)
	}
	line := lines(t, dir)[0]
	r, err := decode(bytes.TrimSuffix(line, []byte("\n")))
	if err != nil {
		t.Fatal(err)
	}
	if len(r.Reason) > maxField || !strings.HasSuffix(r.Reason, "é...") {
		t.Errorf("reason of %d bytes, want at most %d ending in a whole character", len(r.Reason), maxField)
	}
	if bytes.ContainsAny(line[:len(line)-1], "\x00\n\x1b") || r.Incident != e.Incident {
		t.Errorf("control characters not escaped: %q", line)
	}
	if _, err := VerifyFile(filepath.Join(dir, FileName)); err != nil {
		t.Error(err)
	}
}

// BenchmarkAppend measures appends a second from many goroutines, each
// waiting for its event to be on disk (run with -cpu and -benchtime to
// taste; 64 goroutines per CPU).
func BenchmarkAppend(b *testing.B) {
	l, err := Open(Path(b.TempDir()))
	if err != nil {
		b.Fatal(err)
	}
	b.SetParallelism(64)
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			if err := l.Append(event(1)); err != nil {
				b.Error(err)
			}
		}
	})
}

// BenchmarkAppendOne measures appends a second from one goroutine: one
// fsync each.
func BenchmarkAppendOne(b *testing.B) {
	l, err := Open(Path(b.TempDir()))
	if err != nil {
		b.Fatal(err)
	}
	for b.Loop() {
		if err := l.Append(event(1)); err != nil {
			b.Fatal(err)
		}
	}
}
