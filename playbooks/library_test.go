package playbooks

import (
	"encoding/json"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"testing"
	"testing/fstest"
	"time"

	"github.com/quell-ir/quell/internal/alert"
)

func TestLibrary(t *testing.T) {
	pbs, err := LoadLibrary(testRegistry(t))
	if err != nil {
		t.Fatalf("LoadLibrary: %v", err)
	}
	i := slices.IndexFunc(pbs, func(p Playbook) bool { return p.Name == "compromised-container" })
	if i < 0 {
		t.Fatalf("library has no compromised-container playbook")
	}
	p := pbs[i]
	if p.File != "library/compromised-container.yaml" {
		t.Errorf("File = %q", p.File)
	}
	want := Match{
		Source: "falco", Target: "docker", MinPriority: alert.Warning,
		Rules: []string{"*"}, RequiredFields: []string{"target.container_id"},
	}
	if !reflect.DeepEqual(p.Match, want) {
		t.Errorf("Match = %+v, want %+v", p.Match, want)
	}
	wantSteps := []Step{
		{ID: "contain", Kind: "docker:isolate", Timeout: Duration(30 * time.Second),
			Retry: &Retry{MaxAttempts: 5, InitialInterval: Duration(200 * time.Millisecond)}, OnFailure: OnFailureAbort},
		{ID: "preserve", Kind: "evidence:snapshot", Timeout: Duration(30 * time.Minute), Retry: &Retry{},
			With:      map[string]any{"export": true, "commit": true, "logs": true, "processes": true},
			OnFailure: OnFailureAbort},
		{ID: "verify", Kind: "evidence:verify", Timeout: Duration(10 * time.Minute), Retry: &Retry{}, OnFailure: OnFailureAbort},
		{ID: "report", Kind: "report:write", Timeout: Duration(DefaultStepTimeout), Retry: &Retry{}, OnFailure: OnFailureContinue},
	}
	if !reflect.DeepEqual(p.Steps, wantSteps) {
		t.Errorf("Steps = %+v\nwant %+v", p.Steps, wantSteps)
	}
}

// TestLibraryJSONRoundTrip checks that each validated library playbook, as
// the workflow receives it, survives encoding/json unchanged.
func TestLibraryJSONRoundTrip(t *testing.T) {
	pbs, err := LoadLibrary(testRegistry(t))
	if err != nil {
		t.Fatalf("LoadLibrary: %v", err)
	}
	for _, p := range pbs {
		b, err := json.Marshal(p)
		if err != nil {
			t.Fatalf("%s: marshal: %v", p.Name, err)
		}
		var got Playbook
		if err := json.Unmarshal(b, &got); err != nil {
			t.Fatalf("%s: unmarshal: %v", p.Name, err)
		}
		if !reflect.DeepEqual(got, p) {
			t.Errorf("%s: round trip changed the playbook\ngot:  %+v\nwant: %+v\njson: %s", p.Name, got, p, b)
		}
		for i, s := range p.Steps {
			checkGettersEqual(t, s, got.Steps[i])
		}
	}
}

// checkGettersEqual checks that every parameter reads the same from a and b.
func checkGettersEqual(t *testing.T, a, b Step) {
	t.Helper()
	for name := range a.With {
		if a.String(name) != b.String(name) || a.Bool(name) != b.Bool(name) || a.Int(name) != b.Int(name) ||
			a.Duration(name) != b.Duration(name) || !slices.Equal(a.Strings(name), b.Strings(name)) {
			t.Errorf("step %s: param %s reads differently after the round trip", a.ID, name)
		}
	}
}

const minimal = `
name: %s
match: {source: falco}
steps: [{id: report, kind: report:write}]
`

func TestLoadFSOrder(t *testing.T) {
	fsys := fstest.MapFS{
		"b.yaml":      {Data: fmtBytes(minimal, "bravo")},
		"a.yml":       {Data: fmtBytes(minimal, "alpha")},
		"c.yaml.bak":  {Data: []byte("not: [yaml")},
		".hidden.yml": {Data: []byte("not: [yaml")},
		"sub/d.yaml":  {Data: []byte("not: [yaml")},
	}
	pbs, err := LoadFS(fsys, testRegistry(t))
	if err != nil {
		t.Fatalf("LoadFS: %v", err)
	}
	var got []string
	for _, p := range pbs {
		got = append(got, p.Name+"@"+p.File)
	}
	if want := []string{"alpha@a.yml", "bravo@b.yaml"}; !slices.Equal(got, want) {
		t.Errorf("loaded %v, want %v", got, want)
	}
}

func TestLoadFSJoinsEveryFile(t *testing.T) {
	fsys := fstest.MapFS{
		"a.yaml": {Data: []byte("name: a\nmatch: {source: falco}\nsteps: []\nextra: 1\n")},
		"b.yaml": {Data: []byte("name: b\nmatch: {}\nsteps: [{id: x, kind: report:write}]\n")},
	}
	_, err := LoadFS(fsys, testRegistry(t))
	want := "a.yaml:4: unknown field \"extra\" in playbook\nb.yaml:2: match: source required"
	if err == nil || err.Error() != want {
		t.Errorf("LoadFS error:\n%v\nwant:\n%s", err, want)
	}
}

func TestLoadDirDuplicateNames(t *testing.T) {
	dir := t.TempDir()
	for _, f := range []string{"one.yaml", "two.yaml"} {
		if err := os.WriteFile(filepath.Join(dir, f), fmtBytes(minimal, "same"), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	_, err := LoadDir(dir, testRegistry(t))
	want := `playbook "same": defined in both ` + filepath.Join(dir, "one.yaml") + " and " + filepath.Join(dir, "two.yaml")
	if err == nil || err.Error() != want {
		t.Errorf("LoadDir error:\n%v\nwant:\n%s", err, want)
	}
}

func TestLoadDirMissing(t *testing.T) {
	if _, err := LoadDir(filepath.Join(t.TempDir(), "nope"), testRegistry(t)); err == nil {
		t.Error("LoadDir of a missing directory succeeded")
	}
}
