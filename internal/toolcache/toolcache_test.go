package toolcache

import (
	"archive/zip"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"testing"
)

// modules are the modules the test's proxy serves, by path: their files
// at v1.0.0.
var modules = map[string]map[string]string{
	"example.com/hello": {
		"go.mod":            "module example.com/hello\n\ngo 1.22\n",
		"cmd/hello/main.go": "package main\n\nimport \"fmt\"\n\nfunc main() { fmt.Print(\"hello from the proxy\") }\n",
	},
	// webapp embeds assets its zip lacks, as Alertmanager's UI.
	"example.com/webapp": {
		"go.mod": "module example.com/webapp\n\ngo 1.22\n",
		"cmd/webapp/main.go": "package main\n\nimport (\n\t\"embed\"\n\t\"fmt\"\n)\n\n//go:embed assets\nvar assets embed.FS\n\n" +
			"func main() {\n\tb, err := assets.ReadFile(\"assets/index.html\")\n\tfmt.Print(string(b), err)\n}\n",
	},
}

// proxy serves modules from a folder laid out as GOPROXY=file:// reads
// it, and points the go command and the user's cache at the test's own
// folders.
func proxy(t *testing.T) (cache string) {
	t.Helper()
	dir := t.TempDir()
	for mod, files := range modules {
		at := filepath.Join(dir, filepath.FromSlash(mod), "@v")
		if err := os.MkdirAll(at, 0o755); err != nil {
			t.Fatal(err)
		}
		put := func(name, body string) {
			if err := os.WriteFile(filepath.Join(at, name), []byte(body), 0o644); err != nil {
				t.Fatal(err)
			}
		}
		put("list", "v1.0.0\n")
		put("v1.0.0.info", `{"Version":"v1.0.0","Time":"2026-01-01T00:00:00Z"}`)
		put("v1.0.0.mod", files["go.mod"])
		f, err := os.Create(filepath.Join(at, "v1.0.0.zip"))
		if err != nil {
			t.Fatal(err)
		}
		z := zip.NewWriter(f)
		for name, body := range files {
			w, err := z.Create(mod + "@v1.0.0/" + name)
			if err != nil {
				t.Fatal(err)
			}
			if _, err := w.Write([]byte(body)); err != nil {
				t.Fatal(err)
			}
		}
		if err := z.Close(); err != nil {
			t.Fatal(err)
		}
		f.Close()
	}
	cache = t.TempDir()
	t.Setenv("XDG_CACHE_HOME", cache)
	t.Setenv("GOPROXY", "file://"+filepath.ToSlash(dir))
	t.Setenv("GOSUMDB", "off")
	t.Setenv("GOMODCACHE", t.TempDir())
	// The module cache is read-only unless told; TempDir must remove it.
	t.Setenv("GOFLAGS", "-modcacherw -mod=readonly")
	t.Setenv("CI", "")
	return cache
}

// recorder is a testing.TB that keeps what a call logged and how it
// ended, so that skips and failures can be checked.
type recorder struct {
	testing.TB
	mu      sync.Mutex
	logs    []string
	skipped string
	failed  string
}

func (r *recorder) Helper() {}

func (r *recorder) Logf(format string, args ...any) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.logs = append(r.logs, fmt.Sprintf(format, args...))
}

func (r *recorder) Skipf(format string, args ...any) {
	r.mu.Lock()
	r.skipped = fmt.Sprintf(format, args...)
	r.mu.Unlock()
	runtime.Goexit()
}

func (r *recorder) Fatalf(format string, args ...any) {
	r.mu.Lock()
	r.failed = fmt.Sprintf(format, args...)
	r.mu.Unlock()
	runtime.Goexit()
}

// builds counts the builds the recorder logged.
func (r *recorder) builds() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	n := 0
	for _, l := range r.logs {
		if strings.HasPrefix(l, "building ") {
			n++
		}
	}
	return n
}

// call runs Binary with a recorder, in a goroutine of its own so that a
// skip or a failure ends only it.
func call(t *testing.T, tool Tool) (string, *recorder) {
	r := &recorder{TB: t}
	var bin string
	done := make(chan struct{})
	go func() {
		defer close(done)
		bin = Binary(r, tool)
	}()
	<-done
	return bin, r
}

func output(t *testing.T, bin string) string {
	t.Helper()
	out, err := exec.Command(bin).CombinedOutput()
	if err != nil {
		t.Fatalf("run %s: %v\n%s", bin, err, out)
	}
	return string(out)
}

var hello = Tool{Module: "example.com/hello", Package: "cmd/hello", Version: "v1.0.0", Name: "hello"}

func TestBinaryInstallsOnce(t *testing.T) {
	cache := proxy(t)
	const callers = 4
	bins := make([]string, callers)
	recs := make([]*recorder, callers)
	var wg sync.WaitGroup
	for i := range callers {
		wg.Go(func() { bins[i], recs[i] = call(t, hello) })
	}
	wg.Wait()
	want := filepath.Join(cache, "quell", "hello-v1.0.0", "hello")
	builds := 0
	for i := range callers {
		if bins[i] != want || recs[i].skipped != "" || recs[i].failed != "" {
			t.Errorf("caller %d: %q (skipped %q, failed %q), want %q", i, bins[i], recs[i].skipped, recs[i].failed, want)
		}
		builds += recs[i].builds()
	}
	if builds != 1 {
		t.Errorf("%d builds by %d callers at once, want 1", builds, callers)
	}
	if got, want := output(t, want), "hello from the proxy"; got != want {
		t.Errorf("binary printed %q, want %q", got, want)
	}
	if _, r := call(t, hello); r.builds() != 0 {
		t.Errorf("a cached binary was built again: %q", r.logs)
	}
	left, _ := filepath.Glob(filepath.Join(cache, "quell", "hello-v1.0.0", ".build-*"))
	if len(left) != 0 {
		t.Errorf("build folders left behind: %q", left)
	}
}

func TestBinaryPlaceholders(t *testing.T) {
	proxy(t)
	webapp := Tool{Module: "example.com/webapp", Package: "cmd/webapp", Version: "v1.0.0", Name: "webapp"}
	if bin, r := call(t, webapp); bin != "" || !strings.Contains(r.skipped, "pattern assets: no matching files found") {
		t.Fatalf("without placeholders: %q, skipped %q, want a skip naming the missing assets", bin, r.skipped)
	}
	webapp.Placeholders = map[string]string{"cmd/webapp/assets/index.html": "placeholder page"}
	bin, r := call(t, webapp)
	if bin == "" {
		t.Fatalf("with placeholders: skipped %q, failed %q", r.skipped, r.failed)
	}
	if got, want := output(t, bin), "placeholder page<nil>"; got != want {
		t.Errorf("binary printed %q, want %q", got, want)
	}
}

func TestBinaryUnavailable(t *testing.T) {
	missing := Tool{Module: "example.com/missing", Version: "v1.0.0", Name: "missing"}
	for _, ci := range []string{"", "true"} {
		t.Run("CI="+ci, func(t *testing.T) {
			proxy(t)
			t.Setenv("CI", ci)
			for _, tool := range []Tool{missing, {Module: missing.Module, Version: "v1.0.0", Name: "missing", Placeholders: map[string]string{"a": ""}}} {
				bin, r := call(t, tool)
				got := r.skipped
				if ci == "true" {
					got = r.failed
				}
				if bin != "" || !strings.Contains(got, "build missing v1.0.0: ") || !strings.Contains(got, "example.com/missing") {
					t.Errorf("placeholders %v: %q, skipped %q, failed %q", tool.Placeholders, bin, r.skipped, r.failed)
				}
			}
		})
	}
}

func TestToolCheck(t *testing.T) {
	cases := []struct {
		tool Tool
		want string
	}{
		{hello, ""},
		{Tool{Module: "m", Version: "v1", Name: "../x"}, `tool m: name "../x": want a plain file name`},
		{Tool{Version: "v1/../..", Name: "x"}, `tool : module empty; version "v1/../..": want a module version such as v1.2.3`},
		{Tool{Module: "m", Version: "v1", Name: "x", Placeholders: map[string]string{"../go.mod": "", "ok/file": ""}},
			`tool m: placeholder "../go.mod": want a path inside the module`},
	}
	for _, tc := range cases {
		got := ""
		if err := tc.tool.check(); err != nil {
			got = err.Error()
		}
		if got != tc.want {
			t.Errorf("check(%+v) = %q, want %q", tc.tool, got, tc.want)
		}
	}
}
