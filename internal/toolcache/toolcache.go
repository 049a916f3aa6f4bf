// Package toolcache gives tests the binaries of other Go projects (a
// container registry, Alertmanager): each built once from the Go module
// proxy into the user's cache, $HOME/.cache/quell/<name>-<version>/<name>,
// outside the repository, so that quell's go.mod never carries their
// dependencies.
//
// When a binary cannot be built the test is skipped, unless CI=true, where
// it fails.
package toolcache

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io/fs"
	"maps"
	"os"
	"os/exec"
	"path"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"
)

// BuildTimeout bounds one build, downloads included.
const BuildTimeout = 20 * time.Minute

// Tool is a command of a Go module, built at one version.
type Tool struct {
	// Module is the module's path, e.g. github.com/prometheus/alertmanager.
	Module string
	// Package is the command's package in the module, e.g.
	// cmd/alertmanager; empty for the module's root.
	Package string
	// Version is the module's version, e.g. v0.35.0.
	Version string
	// Name is the binary's name; with Version it names the cache folder.
	Name string
	// Placeholders are files, by slash-separated path in the module, that
	// the module's zip lacks and its build needs, such as web assets built
	// by npm that a go:embed names. With any, the command is built from a
	// copy of the module's source with them added; without, by go install.
	Placeholders map[string]string
	// Staging, when set, builds the command in a module of quell's own
	// making that requires Module at Version and replaces each module that
	// Module's go.mod replaces by a folder of its own (Kubernetes' staging
	// modules) by that module's release at this version: k8s.io/kubernetes
	// cannot be go-installed, since its go.mod has replace directives.
	Staging string
	// Main, when set, is the source of a main package built in a module of
	// quell's own making that requires Module at Version: for a module that
	// offers its command as a package (etcd's etcdmain) and no main.
	Main string
}

// Build returns the tool's binary, building it when the cache lacks it,
// as Binary does, for programs that are not tests (make kube-up).
func Build(tool Tool, logf func(format string, args ...any)) (string, error) {
	if err := tool.check(); err != nil {
		return "", err
	}
	cache, err := os.UserCacheDir()
	if err != nil {
		return "", fmt.Errorf("%s binary: no cache directory: %w", tool.Name, err)
	}
	dir := filepath.Join(cache, "quell", tool.Name+"-"+tool.Version)
	bin := filepath.Join(dir, tool.Name)
	if _, err := os.Stat(bin); err == nil {
		return bin, nil
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return "", fmt.Errorf("%s binary: %w", tool.Name, err)
	}
	unlock, err := lock(filepath.Join(dir, ".lock"))
	if err != nil {
		return "", fmt.Errorf("%s binary: %w", tool.Name, err)
	}
	defer unlock()
	if _, err := os.Stat(bin); err == nil {
		return bin, nil
	}
	logf("building %s %s into %s (once)", tool.pkg(), tool.Version, dir)
	start := time.Now()
	if err := tool.build(dir, bin); err != nil {
		return "", fmt.Errorf("build %s %s: %w", tool.Name, tool.Version, err)
	}
	logf("built %s %s in %s", tool.Name, tool.Version, time.Since(start).Round(time.Second))
	return bin, nil
}

// Binary returns the tool's binary, building it when the cache lacks it.
// Builds run under a lock in the cache folder, so test binaries running
// in parallel build it once; the binary appears whole or not at all.
func Binary(t testing.TB, tool Tool) string {
	t.Helper()
	if err := tool.check(); err != nil {
		t.Fatalf("toolcache: %v", err)
	}
	bin, err := Build(tool, t.Logf)
	if err != nil {
		Unavailable(t, "%v", err)
	}
	return bin
}

// check reports a tool that names no module, version or plain file name,
// or a placeholder outside the module.
func (tool Tool) check() error {
	var problems []string
	if tool.Module == "" {
		problems = append(problems, "module empty")
	}
	if tool.Version == "" || strings.ContainsAny(tool.Version, `/\ `) || strings.HasPrefix(tool.Version, ".") {
		problems = append(problems, fmt.Sprintf("version %q: want a module version such as v1.2.3", tool.Version))
	}
	if tool.Name == "" || tool.Name != filepath.Base(tool.Name) || strings.HasPrefix(tool.Name, ".") {
		problems = append(problems, fmt.Sprintf("name %q: want a plain file name", tool.Name))
	}
	modes := 0
	for _, set := range []bool{len(tool.Placeholders) > 0, tool.Staging != "", tool.Main != ""} {
		if set {
			modes++
		}
	}
	if modes > 1 {
		problems = append(problems, "placeholders, staging and main are ways to build: choose one")
	}
	if tool.Staging != "" && (strings.ContainsAny(tool.Staging, `/\ `) || !strings.HasPrefix(tool.Staging, "v")) {
		problems = append(problems, fmt.Sprintf("staging version %q: want a module version such as v0.34.4", tool.Staging))
	}
	if tool.Main != "" && tool.Package != "" {
		problems = append(problems, "main replaces the package: leave the package empty")
	}
	for _, p := range slices.Sorted(maps.Keys(tool.Placeholders)) {
		if !fs.ValidPath(p) || p == "." {
			problems = append(problems, fmt.Sprintf("placeholder %q: want a path inside the module", p))
		}
	}
	if len(problems) > 0 {
		return fmt.Errorf("tool %s: %s", tool.Module, strings.Join(problems, "; "))
	}
	return nil
}

// pkg is the command's package path.
func (tool Tool) pkg() string {
	if tool.Package == "" {
		return tool.Module
	}
	return tool.Module + "/" + tool.Package
}

// build builds the binary into a folder of its own in dir and moves it to
// bin, so that no one sees it half written.
func (tool Tool) build(dir, bin string) error {
	ctx, cancel := context.WithTimeout(context.Background(), BuildTimeout)
	defer cancel()
	stage, err := os.MkdirTemp(dir, ".build-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(stage)
	out := filepath.Join(stage, tool.Name)
	switch {
	case len(tool.Placeholders) > 0:
		err = tool.buildCopy(ctx, stage, out)
	case tool.Staging != "" || tool.Main != "":
		err = tool.buildWrapped(ctx, stage, out)
	default:
		// Outside any module, so that quell's go.mod is neither read nor changed.
		_, err = goRun(ctx, dir, []string{"GOBIN=" + stage}, "install", tool.pkg()+"@"+tool.Version)
	}
	if err != nil {
		return err
	}
	if _, err := os.Stat(out); err != nil {
		return fmt.Errorf("no binary %s after the build: %w", tool.Name, err)
	}
	return os.Rename(out, bin)
}

// buildCopy downloads the module, copies its source into stage, adds the
// placeholders and builds the command there, in the module's own mode.
func (tool Tool) buildCopy(ctx context.Context, stage, out string) error {
	// go mod download prints the module's JSON, with an Error field when it
	// fails, and exits 1.
	var info struct{ Dir, Error string }
	raw, err := goRun(ctx, stage, nil, "mod", "download", "-json", tool.Module+"@"+tool.Version)
	if jerr := json.Unmarshal(raw, &info); jerr != nil || info.Dir == "" || info.Error != "" {
		return fmt.Errorf("download module %s@%s: %s (%v)", tool.Module, tool.Version, info.Error, err)
	}
	src := filepath.Join(stage, "src")
	if err := copyTree(info.Dir, src); err != nil {
		return fmt.Errorf("copy module %s: %w", tool.Module, err)
	}
	for _, p := range slices.Sorted(maps.Keys(tool.Placeholders)) {
		f := filepath.Join(src, filepath.FromSlash(p))
		if err := os.MkdirAll(filepath.Dir(f), 0o755); err != nil {
			return err
		}
		if err := os.WriteFile(f, []byte(tool.Placeholders[p]), 0o644); err != nil {
			return err
		}
	}
	_, err = goRun(ctx, src, nil, "build", "-trimpath", "-o", out, "./"+path.Clean(tool.Package))
	return err
}

// buildWrapped builds the command in a module of its own in stage that
// requires the tool's module, with the staging replacements or the main
// package the tool asks for.
func (tool Tool) buildWrapped(ctx context.Context, stage, out string) error {
	mod := filepath.Join(stage, "wrap")
	if err := os.MkdirAll(mod, 0o755); err != nil {
		return err
	}
	if _, err := goRun(ctx, mod, nil, "mod", "init", "quell.invalid/toolcache/"+tool.Name); err != nil {
		return err
	}
	edits := []string{"mod", "edit", "-require=" + tool.Module + "@" + tool.Version}
	if tool.Staging != "" {
		staged, err := tool.stagingModules(ctx, stage)
		if err != nil {
			return err
		}
		if len(staged) == 0 {
			return fmt.Errorf("staging %s: %s@%s replaces no module by a folder", tool.Staging, tool.Module, tool.Version)
		}
		for _, m := range staged {
			edits = append(edits, "-replace="+m+"="+m+"@"+tool.Staging)
		}
	}
	if _, err := goRun(ctx, mod, nil, edits...); err != nil {
		return err
	}
	target := tool.pkg()
	if tool.Main != "" {
		if err := os.WriteFile(filepath.Join(mod, "main.go"), []byte(tool.Main), 0o644); err != nil {
			return err
		}
		target = "."
	}
	// -mod=mod lets go build add what the module graph lacks.
	if _, err := goRun(ctx, mod, nil, "mod", "download", tool.Module+"@"+tool.Version); err != nil {
		return err
	}
	_, err := goRun(ctx, mod, nil, "build", "-trimpath", "-o", out, target)
	return err
}

// stagingModules are the modules that the tool's go.mod replaces by a
// folder inside it, sorted.
func (tool Tool) stagingModules(ctx context.Context, stage string) ([]string, error) {
	var info struct{ GoMod, Error string }
	raw, err := goRun(ctx, stage, nil, "mod", "download", "-json", tool.Module+"@"+tool.Version)
	if jerr := json.Unmarshal(raw, &info); jerr != nil || info.GoMod == "" || info.Error != "" {
		return nil, fmt.Errorf("download module %s@%s: %s (%v)", tool.Module, tool.Version, info.Error, err)
	}
	raw, err = goRun(ctx, stage, nil, "mod", "edit", "-json", info.GoMod)
	if err != nil {
		return nil, err
	}
	var gomod struct {
		Replace []struct {
			Old struct{ Path string }
			New struct{ Path, Version string }
		}
	}
	if err := json.Unmarshal(raw, &gomod); err != nil {
		return nil, fmt.Errorf("go.mod of %s@%s: %w", tool.Module, tool.Version, err)
	}
	var staged []string
	for _, r := range gomod.Replace {
		if r.New.Version == "" && (strings.HasPrefix(r.New.Path, "./") || strings.HasPrefix(r.New.Path, "../")) {
			staged = append(staged, r.Old.Path)
		}
	}
	slices.Sort(staged)
	return slices.Compact(staged), nil
}

// goRun runs the go command in dir (never inside quell's module) with
// module mode on, the module graph free to change and env added, and
// returns what it printed on its standard output; its error holds the
// tail of what it printed on its standard error.
func goRun(ctx context.Context, dir string, env []string, args ...string) ([]byte, error) {
	var stdout, stderr bytes.Buffer
	cmd := exec.CommandContext(ctx, "go", args...)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), "GO111MODULE=on", "GOWORK=off", "GOFLAGS="+goflags(os.Getenv("GOFLAGS")))
	cmd.Env = append(cmd.Env, env...)
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		return stdout.Bytes(), fmt.Errorf("go %s: %w\n%s", strings.Join(args, " "), err, tail(stderr.String(), 4000))
	}
	return stdout.Bytes(), nil
}

// goflags adds -mod=mod to the user's GOFLAGS, in place of any -mod.
func goflags(user string) string {
	flags := []string{"-mod=mod"}
	for _, f := range strings.Fields(user) {
		if !strings.HasPrefix(f, "-mod=") {
			flags = append(flags, f)
		}
	}
	return strings.Join(flags, " ")
}

// tail is the end of s, at most n bytes.
func tail(s string, n int) string {
	s = strings.TrimSpace(s)
	if len(s) <= n {
		return s
	}
	return "..." + s[len(s)-n:]
}

// copyTree copies the regular files under from (the module cache, where
// they are read-only) to a new tree to, writable.
func copyTree(from, to string) error {
	return filepath.WalkDir(from, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, err := filepath.Rel(from, p)
		if err != nil {
			return err
		}
		dst := filepath.Join(to, rel)
		switch {
		case d.IsDir():
			return os.MkdirAll(dst, 0o755)
		case !d.Type().IsRegular():
			return nil
		}
		b, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		return os.WriteFile(dst, b, 0o644)
	})
}

// lock takes an exclusive lock on the file at p, waiting for it, and
// returns its release.
func lock(p string) (func(), error) {
	f, err := os.OpenFile(p, os.O_CREATE|os.O_RDWR, 0o600)
	if err != nil {
		return nil, err
	}
	if err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX); err != nil {
		f.Close()
		return nil, fmt.Errorf("lock %s: %w", p, err)
	}
	return func() {
		_ = syscall.Flock(int(f.Fd()), syscall.LOCK_UN)
		f.Close()
	}, nil
}
