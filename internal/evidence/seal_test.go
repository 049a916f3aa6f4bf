package evidence

import (
	"encoding/json"
	"errors"
	"maps"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"
)

var testSubject = map[string]string{"container_id": "3f2a9c", "image": "shop/web:1.4"}

func TestSealShape(t *testing.T) {
	s := newTestStore(t)
	f := openFolder(t, s, "inc-shape")
	arts := []Artifact{
		mustWrite(t, f, "inspect.json", 1, 700),
		mustWrite(t, f, "logs/stdout.log", 2, 0),
		mustWrite(t, f, "fs/export.tar", 3, 70000),
	}
	if _, err := f.Seal(testSubject); err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(f.Dir(), ManifestName)
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var doc map[string]any
	if err := json.Unmarshal(data, &doc); err != nil {
		t.Fatal(err)
	}
	wantKeys := []string{"artifacts", "collected_by", "created_at", "custody", "incident_id", "subject"}
	if got := slices.Sorted(maps.Keys(doc)); !slices.Equal(got, wantKeys) {
		t.Errorf("manifest keys = %v, want %v", got, wantKeys)
	}
	if got, want := doc["incident_id"], "inc-shape"; got != want {
		t.Errorf("incident_id = %v, want %v", got, want)
	}
	list, _ := doc["artifacts"].([]any)
	if len(list) != len(arts) {
		t.Fatalf("%d artifacts in manifest, want %d", len(list), len(arts))
	}
	for i, item := range list {
		got, _ := item.(map[string]any)
		want := map[string]any{
			"name":         arts[i].Name,
			"path":         arts[i].Name,
			"size":         float64(arts[i].Size),
			"sha256":       arts[i].SHA256,
			"collected_at": arts[i].CollectedAt.Format("2006-01-02T15:04:05Z"),
		}
		if !reflect.DeepEqual(got, want) {
			t.Errorf("artifacts[%d] = %v, want %v", i, got, want)
		}
		if sum := got["sha256"].(string); len(sum) != 64 || strings.ToLower(sum) != sum {
			t.Errorf("artifacts[%d].sha256 = %q, want 64 lower-case hex digits", i, sum)
		}
	}
	custody, _ := doc["custody"].([]any)
	if len(custody) != len(arts) {
		t.Fatalf("%d custody entries in manifest, want %d (the collections)", len(custody), len(arts))
	}
	entry, _ := custody[0].(map[string]any)
	wantEntry := []string{"action", "artifact", "host", "prev", "sha256", "time", "version", "who"}
	if got := slices.Sorted(maps.Keys(entry)); !slices.Equal(got, wantEntry) {
		t.Errorf("custody entry keys = %v, want %v", got, wantEntry)
	}
	info, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	if got, want := info.Mode().Perm(), os.FileMode(0o440); got != want {
		t.Errorf("manifest mode = %v, want %v", got, want)
	}
}

func TestSealIdempotent(t *testing.T) {
	s := newTestStore(t)
	f := openFolder(t, s, "inc-idem")
	mustWrite(t, f, "a.log", 1, 100)
	first, err := f.Seal(testSubject)
	if err != nil {
		t.Fatal(err)
	}
	data, err := os.ReadFile(filepath.Join(f.Dir(), ManifestName))
	if err != nil {
		t.Fatal(err)
	}
	retry := openFolder(t, reopenStore(s.root), "inc-idem")
	for _, folder := range []*Folder{f, retry} {
		again, err := folder.Seal(map[string]string{"other": "subject"})
		if err != nil {
			t.Fatal(err)
		}
		if !reflect.DeepEqual(again, first) {
			t.Errorf("second Seal = %+v, want %+v", again, first)
		}
	}
	if stored, err := s.Manifest("inc-idem"); err != nil || !reflect.DeepEqual(stored, first) {
		t.Errorf("Manifest() = %+v, %v, want %+v", stored, err, first)
	}
	if after, _ := os.ReadFile(filepath.Join(f.Dir(), ManifestName)); string(after) != string(data) {
		t.Error("manifest.json changed on second Seal")
	}
	entries, err := s.Custody("inc-idem")
	if err != nil {
		t.Fatal(err)
	}
	want := []string{"collected a.log", "sealed manifest.json"}
	if got := actions(entries); !slices.Equal(got, want) {
		t.Errorf("custody = %v, want %v", got, want)
	}
	_, err = retry.Create("b.log")
	if !errors.Is(err, ErrSealed) || err.Error() != `artifact "b.log": incident sealed` {
		t.Errorf("Create after Seal: err = %v, want %q", err, `artifact "b.log": incident sealed`)
	}
}

func TestSealCompletesInterruptedSeal(t *testing.T) {
	s := newTestStore(t)
	f := openFolder(t, s, "inc-halfsealed")
	mustWrite(t, f, "a.log", 1, 100)
	want, err := f.Seal(nil)
	if err != nil {
		t.Fatal(err)
	}
	// Killed between renaming manifest.json into place and logging "sealed".
	custodyPath := filepath.Join(f.Dir(), CustodyName)
	entries := dropCustody(t, custodyPath, ActionSealed)

	retry := openFolder(t, reopenStore(s.root), "inc-halfsealed")
	got, err := retry.Seal(nil)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("Seal after crash = %+v, want %+v", got, want)
	}
	after, err := readCustody(f.Dir())
	if err != nil {
		t.Fatal(err)
	}
	if got, want := len(after), len(entries)+1; got != want {
		t.Fatalf("%d custody entries, want %d", got, want)
	}
	sealed := after[len(after)-1]
	if got, want := sealed.SHA256, fileSHA256(t, filepath.Join(f.Dir(), ManifestName)); sealed.Action != ActionSealed || got != want {
		t.Errorf("last entry = %+v, want sealed with sha256 %s", sealed, want)
	}
	if v, err := s.Verify(t.Context(), "inc-halfsealed", verifyActor, nil); err != nil || !v.OK() {
		t.Errorf("Verify = %+v, %v, want OK", v, err)
	}
}

func TestSealRefusesTamperedManifest(t *testing.T) {
	f := openFolder(t, newTestStore(t), "inc-forged")
	mustWrite(t, f, "a.log", 1, 100)
	if _, err := f.Seal(testSubject); err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(f.Dir(), ManifestName)
	if err := os.Chmod(path, 0o640); err != nil {
		t.Fatal(err)
	}
	appendRaw(t, path, " ")
	_, err := f.Seal(testSubject)
	if err == nil || !strings.Contains(err.Error(), `manifest of incident "inc-forged": sha256 `) {
		t.Errorf("Seal of a tampered manifest: err = %v, want a sha256 mismatch", err)
	}
}

func TestSealTidiesFolder(t *testing.T) {
	f := openFolder(t, newTestStore(t), "inc-tidy")
	keep := mustWrite(t, f, "logs/a.log", 1, 100)
	stray := map[string]string{
		"logs/.b.log.partial": "half",
		"logs/c.log":          "unrecorded",
	}
	for name, content := range stray {
		if err := os.WriteFile(filepath.Join(f.Dir(), filepath.FromSlash(name)), []byte(content), 0o440); err != nil {
			t.Fatal(err)
		}
	}
	m, err := f.Seal(nil)
	if err != nil {
		t.Fatal(err)
	}
	if got, want := m.Artifacts, []Artifact{keep}; !reflect.DeepEqual(got, want) {
		t.Errorf("manifest artifacts = %+v, want %+v", got, want)
	}
	for name := range stray {
		if _, err := os.Lstat(filepath.Join(f.Dir(), filepath.FromSlash(name))); !errors.Is(err, os.ErrNotExist) {
			t.Errorf("%s: err = %v, want removed", name, err)
		}
	}
	want := []string{"collected logs/a.log", "discarded logs/c.log"}
	if got := actions(m.Custody); !slices.Equal(got, want) {
		t.Errorf("manifest custody = %v, want %v", got, want)
	}
}

func TestSealRefusesMissingArtifact(t *testing.T) {
	f := openFolder(t, newTestStore(t), "inc-gone")
	mustWrite(t, f, "a.log", 1, 100)
	if err := os.Remove(filepath.Join(f.Dir(), "a.log")); err != nil {
		t.Fatal(err)
	}
	_, err := f.Seal(nil)
	if got, want := errString(err), `seal incident "inc-gone": artifact "a.log": file missing or resized since collection`; got != want {
		t.Errorf("err = %q, want %q", got, want)
	}
	if _, err := os.Lstat(filepath.Join(f.Dir(), ManifestName)); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("manifest written despite a missing artifact")
	}
}

func TestSealEmpty(t *testing.T) {
	f := openFolder(t, newTestStore(t), "inc-empty")
	m, err := f.Seal(nil)
	if err != nil {
		t.Fatal(err)
	}
	data, _ := os.ReadFile(filepath.Join(f.Dir(), ManifestName))
	if !strings.Contains(string(data), `"artifacts": []`) || !strings.Contains(string(data), `"custody": []`) {
		t.Errorf("manifest = %s, want empty artifacts and custody arrays", data)
	}
	if len(m.Artifacts) != 0 || m.Subject != nil {
		t.Errorf("manifest = %+v, want no artifacts and no subject", m)
	}
}

// dropCustody rewrites the custody log without its entries of action and
// returns what is left.
func dropCustody(t *testing.T, path, action string) []CustodyEntry {
	t.Helper()
	entries, err := readCustody(filepath.Dir(path))
	if err != nil {
		t.Fatal(err)
	}
	entries = slices.DeleteFunc(entries, func(e CustodyEntry) bool { return e.Action == action })
	var b strings.Builder
	for _, e := range entries {
		line, _ := json.Marshal(e)
		b.Write(append(line, '\n'))
	}
	if err := os.WriteFile(path, []byte(b.String()), 0o640); err != nil {
		t.Fatal(err)
	}
	return entries
}
