package evidence

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"sync"
	"testing"
)

func appendRaw(t *testing.T, path, s string) {
	t.Helper()
	file, err := os.OpenFile(path, os.O_WRONLY|os.O_APPEND, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer file.Close()
	if _, err := file.WriteString(s); err != nil {
		t.Fatal(err)
	}
}

// simulateCrash leaves in dir what a killed attempt would: a half-written
// export, a log renamed into place but never journaled, and torn lines in
// the journal and the custody log.
func simulateCrash(t *testing.T, dir string) {
	t.Helper()
	crash := map[string]string{
		"fs/.export.tar.partial": "half an export",
		"logs/stderr.log":        "unrecorded",
	}
	for name, content := range crash {
		path := filepath.Join(dir, filepath.FromSlash(name))
		if err := os.MkdirAll(filepath.Dir(path), 0o750); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, []byte(content), 0o440); err != nil {
			t.Fatal(err)
		}
	}
	appendRaw(t, filepath.Join(dir, journalName), `{"name":"logs/stderr.log","pa`)
	appendRaw(t, filepath.Join(dir, CustodyName), `{"time":"2026-03-01T`)
}

func TestResumeAfterCrash(t *testing.T) {
	s := newTestStore(t)
	f := openFolder(t, s, "inc-crash")
	kept := []Artifact{
		mustWrite(t, f, "inspect.json", 1, 500),
		mustWrite(t, f, "logs/stdout.log", 2, 3<<20),
	}
	dir := f.Dir()
	simulateCrash(t, dir)

	retry := openFolder(t, reopenStore(s.root), "inc-crash")
	if got := retry.Artifacts(); !reflect.DeepEqual(got, kept) {
		t.Errorf("Artifacts() after crash = %+v, want %+v", got, kept)
	}
	if _, ok := retry.Artifact("logs/stderr.log"); ok {
		t.Error("Artifact reports the unjournaled file as completed")
	}
	if _, err := os.Lstat(filepath.Join(dir, "logs", "stderr.log")); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("unjournaled file: err = %v, want removed", err)
	}
	for _, a := range kept {
		if _, err := retry.Create(a.Name); !errors.Is(err, ErrExists) {
			t.Errorf("Create(%q): err = %v, want ErrExists", a.Name, err)
		}
	}
	redone := []Artifact{
		mustWrite(t, retry, "fs/export.tar", 3, 2<<20+1),
		mustWrite(t, retry, "logs/stderr.log", 4, 40),
	}
	for i, a := range redone {
		if got, want := a.SHA256, genSHA256(t, uint64(i+3), a.Size); got != want {
			t.Errorf("%s: sha256 = %s, want %s", a.Name, got, want)
		}
	}
	if p := partials(t, dir); len(p) != 0 {
		t.Errorf("partial files left: %v", p)
	}
	m, err := retry.Seal(nil)
	if err != nil {
		t.Fatal(err)
	}
	if got, want := m.Artifacts, append(kept, redone...); !reflect.DeepEqual(got, want) {
		t.Errorf("manifest artifacts = %+v, want %+v", got, want)
	}
	again := openFolder(t, reopenStore(s.root), "inc-crash")
	if got := again.Artifacts(); !reflect.DeepEqual(got, m.Artifacts) {
		t.Errorf("journal reread = %+v, want %+v", got, m.Artifacts)
	}
	wantCustody := []string{
		"collected inspect.json", "collected logs/stdout.log", "discarded logs/stderr.log",
		"collected fs/export.tar", "collected logs/stderr.log",
	}
	if got := actions(m.Custody); !slices.Equal(got, wantCustody) {
		t.Errorf("manifest custody = %v, want %v", got, wantCustody)
	}
	if v, err := s.Verify(context.Background(), "inc-crash", verifyActor, nil); err != nil || !v.OK() {
		t.Errorf("Verify = %+v, %v, want OK", v, err)
	}
}

func TestResumeJournaledFileResized(t *testing.T) {
	s := newTestStore(t)
	f := openFolder(t, s, "inc-resized")
	mustWrite(t, f, "a.log", 1, 100)
	path := filepath.Join(f.Dir(), "a.log")
	if err := os.Chmod(path, 0o640); err != nil {
		t.Fatal(err)
	}
	if err := os.Truncate(path, 50); err != nil {
		t.Fatal(err)
	}
	retry := openFolder(t, reopenStore(s.root), "inc-resized")
	if _, ok := retry.Artifact("a.log"); ok {
		t.Error("Artifact reports a resized file as completed")
	}
	a := mustWrite(t, retry, "a.log", 2, 60)
	if got := retry.Artifacts(); !reflect.DeepEqual(got, []Artifact{a}) {
		t.Errorf("Artifacts() = %+v, want only the redone one", got)
	}
	entries, err := s.Custody("inc-resized")
	if err != nil {
		t.Fatal(err)
	}
	discarded := entries[1]
	if discarded.Action != ActionDiscarded || !strings.Contains(discarded.Note, "does not match the journal (100 bytes)") {
		t.Errorf("custody entry = %+v, want the resized file discarded", discarded)
	}
}

func TestResumeAddsMissingCustodyEntry(t *testing.T) {
	s := newTestStore(t)
	f := openFolder(t, s, "inc-nocustody")
	a := mustWrite(t, f, "a.log", 1, 100)
	// Killed between the journal append and the custody append.
	dropCustody(t, filepath.Join(f.Dir(), CustodyName), ActionCollected)

	openFolder(t, reopenStore(s.root), "inc-nocustody")
	entries, err := s.Custody("inc-nocustody")
	if err != nil {
		t.Fatal(err)
	}
	if len(entries) != 1 {
		t.Fatalf("custody = %+v, want one entry", entries)
	}
	got := entries[0]
	if got.Action != ActionCollected || got.Artifact != a.Name || got.SHA256 != a.SHA256 || !strings.Contains(got.Note, "interrupted commit") {
		t.Errorf("custody entry = %+v, want collected %s %s after an interrupted commit", got, a.Name, a.SHA256)
	}
}

func TestConcurrentFolders(t *testing.T) {
	s := newTestStore(t)
	names := []string{"inspect.json", "logs/stdout.log", "logs/stderr.log", "ps.txt", "fs/export.tar"}
	var wg sync.WaitGroup
	for i, name := range names {
		f := openFolder(t, s, "inc-parallel")
		wg.Go(func() {
			if _, err := f.Write(context.Background(), name, gen(uint64(i), 300<<10), nil); err != nil {
				t.Errorf("Write(%q): %v", name, err)
			}
		})
	}
	wg.Wait()
	m, err := openFolder(t, s, "inc-parallel").Seal(nil)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, a := range m.Artifacts {
		got = append(got, a.Name)
	}
	slices.Sort(got)
	want := slices.Sorted(slices.Values(names))
	if !slices.Equal(got, want) {
		t.Errorf("sealed artifacts = %v, want %v", got, want)
	}
}
