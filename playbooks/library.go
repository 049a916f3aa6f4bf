package playbooks

import (
	"embed"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"strings"
)

// Library holds quell's built-in playbooks as library/*.yaml. Load them
// with LoadLibrary: they sit under library/, so LoadFS(Library, reg) would
// find none.
//
//go:embed library/*.yaml
var Library embed.FS

// LoadLibrary loads and validates the built-in playbooks, as LoadFS does.
// Their File is "library/<name>.yaml".
func LoadLibrary(reg *Registry) ([]Playbook, error) {
	sub, err := fs.Sub(Library, "library")
	if err != nil {
		return nil, fmt.Errorf("playbook library: %w", err)
	}
	return load(sub, reg, func(name string) string { return "library/" + name })
}

// LoadFS loads and validates every *.yaml and *.yml file in the root of
// fsys (names starting with "." are skipped), in file-name order, and
// returns the playbooks in that order. Any problem, in any file, fails the
// whole load: the error joins every file's problems, and two playbooks with
// the same name are an error naming both files.
func LoadFS(fsys fs.FS, reg *Registry) ([]Playbook, error) {
	return load(fsys, reg, func(name string) string { return name })
}

// LoadDir loads the playbooks in directory dir, as LoadFS does; File and
// error messages carry dir in the file name.
func LoadDir(dir string, reg *Registry) ([]Playbook, error) {
	return load(os.DirFS(dir), reg, func(name string) string { return filepath.Join(dir, name) })
}

// load implements LoadFS; display turns a name in fsys into the name shown
// in File and in errors.
func load(fsys fs.FS, reg *Registry, display func(string) string) ([]Playbook, error) {
	entries, err := fs.ReadDir(fsys, ".")
	if err != nil {
		return nil, fmt.Errorf("read playbooks %s: %w", display("."), err)
	}
	var (
		pbs  []Playbook
		errs []error
		seen = map[string]string{} // playbook name -> file
	)
	for _, e := range entries {
		name := e.Name()
		if e.IsDir() || strings.HasPrefix(name, ".") || !isYAML(name) {
			continue
		}
		data, err := fs.ReadFile(fsys, name)
		if err != nil {
			errs = append(errs, fmt.Errorf("%s: %w", display(name), err))
			continue
		}
		p, err := Parse(display(name), data, reg)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		if prev, dup := seen[p.Name]; dup {
			errs = append(errs, fmt.Errorf("playbook %q: defined in both %s and %s", p.Name, prev, p.File))
			continue
		}
		seen[p.Name] = p.File
		pbs = append(pbs, p)
	}
	if err := errors.Join(errs...); err != nil {
		return nil, err
	}
	return pbs, nil
}

// isYAML reports whether a file name ends in .yaml or .yml.
func isYAML(name string) bool {
	ext := path.Ext(name)
	return ext == ".yaml" || ext == ".yml"
}
