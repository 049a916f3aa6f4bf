package evidence

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"io/fs"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"testing"
)

func TestCustodyChain(t *testing.T) {
	s := newTestStore(t)
	f := openFolder(t, s, "inc-chain")
	a := mustWrite(t, f, "inspect.json", 1, 100)
	b := mustWrite(t, f, "logs/stdout.log", 2, 200)
	if _, err := f.Seal(testSubject); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Verify(context.Background(), "inc-chain", verifyActor, nil); err != nil {
		t.Fatal(err)
	}
	entries, err := s.Custody("inc-chain")
	if err != nil {
		t.Fatal(err)
	}
	manifestSum := fileSHA256(t, filepath.Join(f.Dir(), ManifestName))
	want := []CustodyEntry{
		{Action: ActionCollected, Artifact: a.Name, SHA256: a.SHA256, Actor: testActor},
		{Action: ActionCollected, Artifact: b.Name, SHA256: b.SHA256, Actor: testActor},
		{Action: ActionSealed, Artifact: ManifestName, SHA256: manifestSum, Actor: testActor, Note: "2 artifacts"},
		{Action: ActionVerified, Artifact: ManifestName, SHA256: manifestSum, Actor: verifyActor, Note: "2 artifacts intact"},
	}
	if len(entries) != len(want) {
		t.Fatalf("custody = %v, want %d entries", actions(entries), len(want))
	}
	for i, got := range entries {
		if got.Time.IsZero() || got.Time.Location().String() != "UTC" {
			t.Errorf("entry %d time = %v, want a UTC time", i, got.Time)
		}
		if i > 0 && !got.Time.After(entries[i-1].Time) {
			t.Errorf("entry %d time %v not after %v", i, got.Time, entries[i-1].Time)
		}
		if got.Prev == "" {
			t.Errorf("entry %d has no link to the line before", i)
		}
		got.Time, got.Prev = want[i].Time, ""
		if got != want[i] {
			t.Errorf("entry %d = %+v, want %+v", i, got, want[i])
		}
	}
}

func TestCustodyLogLines(t *testing.T) {
	s := newTestStore(t)
	f := openFolder(t, s, "inc-lines")
	mustWrite(t, f, "a.log", 1, 10)
	file, err := os.Open(filepath.Join(f.Dir(), CustodyName))
	if err != nil {
		t.Fatal(err)
	}
	defer file.Close()
	sc := bufio.NewScanner(file)
	if !sc.Scan() {
		t.Fatal("custody.log is empty")
	}
	var line map[string]any
	if err := json.Unmarshal(sc.Bytes(), &line); err != nil {
		t.Fatal(err)
	}
	want := []string{"action", "artifact", "host", "prev", "sha256", "time", "version", "who"}
	if got := slices.Sorted(maps.Keys(line)); !slices.Equal(got, want) {
		t.Errorf("custody line keys = %v, want %v", got, want)
	}
	if got, want := line["who"], testActor.Who; got != want {
		t.Errorf("who = %v, want %v", got, want)
	}
}

func TestCustodyUnknownIncident(t *testing.T) {
	s := newTestStore(t)
	if _, err := s.Custody("inc-none"); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("err = %v, want fs.ErrNotExist", err)
	}
	if _, err := s.Custody("../x"); !errors.Is(err, ErrInvalidName) {
		t.Errorf("err = %v, want ErrInvalidName", err)
	}
}
