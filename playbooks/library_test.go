package playbooks

import (
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"testing"
	"testing/fstest"
)

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

// checkGettersEqual checks that every parameter has the same value and
// type in a and b.
func checkGettersEqual(t *testing.T, a, b Step) {
	t.Helper()
	for name := range a.With {
		if !reflect.DeepEqual(a.With[name], b.With[name]) {
			t.Errorf("step %s: param %s is %#v after the round trip, want %#v", a.ID, name, b.With[name], a.With[name])
		}
	}
}

// CheckGettersEqual lets the external tests use checkGettersEqual.
var CheckGettersEqual = checkGettersEqual
