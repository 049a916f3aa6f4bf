package docker

import (
	"archive/tar"
	"bufio"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"regexp"
	"strings"
	"time"
)

// buildContext is a directory about to be sent as a build context.
type buildContext struct {
	root       string
	dockerfile string // slash-separated, relative to root
	ignore     []ignorePattern
}

// newBuildContext checks that dir is a directory holding dockerfile (default
// "Dockerfile") and reads its .dockerignore.
func newBuildContext(dir, dockerfile string) (*buildContext, error) {
	if dir == "" {
		return nil, errors.New("no context directory")
	}
	root, err := filepath.Abs(dir)
	if err != nil {
		return nil, err
	}
	if root, err = filepath.EvalSymlinks(root); err != nil {
		return nil, err
	}
	if info, err := os.Stat(root); err != nil {
		return nil, err
	} else if !info.IsDir() {
		return nil, fmt.Errorf("context %s is not a directory", dir)
	}
	rel, err := dockerfileIn(root, dockerfile)
	if err != nil {
		return nil, err
	}
	ignore, err := readDockerignore(filepath.Join(root, ".dockerignore"))
	if err != nil {
		return nil, err
	}
	return &buildContext{root: root, dockerfile: rel, ignore: ignore}, nil
}

// dockerfileIn returns the Dockerfile's slash-separated path relative to
// root, refusing one that is missing, not a regular file, or lies (or links)
// outside root.
func dockerfileIn(root, dockerfile string) (string, error) {
	if dockerfile == "" {
		dockerfile = "Dockerfile"
	}
	p := dockerfile
	if !filepath.IsAbs(p) {
		p = filepath.Join(root, p)
	}
	p = filepath.Clean(p)
	if !inside(root, p) {
		return "", fmt.Errorf("dockerfile %s is outside the context directory", dockerfile)
	}
	real, err := filepath.EvalSymlinks(p)
	if err != nil {
		return "", fmt.Errorf("dockerfile %s: %w", dockerfile, err)
	}
	if !inside(root, real) {
		return "", fmt.Errorf("dockerfile %s links outside the context directory", dockerfile)
	}
	if info, err := os.Stat(real); err != nil {
		return "", fmt.Errorf("dockerfile %s: %w", dockerfile, err)
	} else if !info.Mode().IsRegular() {
		return "", fmt.Errorf("dockerfile %s is not a regular file", dockerfile)
	}
	rel, _ := filepath.Rel(root, p)
	return filepath.ToSlash(rel), nil
}

// inside reports whether p lies below root.
func inside(root, p string) bool {
	rel, err := filepath.Rel(root, p)
	return err == nil && rel != "." && rel != ".." && !strings.HasPrefix(rel, ".."+string(filepath.Separator))
}

// write sends the context as a tar archive to w.
func (bc *buildContext) write(w io.Writer) error {
	tw := tar.NewWriter(w)
	err := filepath.WalkDir(bc.root, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if p == bc.root {
			return nil
		}
		rel, err := filepath.Rel(bc.root, p)
		if err != nil {
			return err
		}
		rel = filepath.ToSlash(rel)
		if bc.excluded(rel) {
			if d.IsDir() && !bc.mayReinclude(rel) {
				return filepath.SkipDir
			}
			return nil
		}
		return addToTar(tw, p, rel, d)
	})
	if err != nil {
		return fmt.Errorf("build context %s: %w", bc.root, err)
	}
	return tw.Close()
}

// excluded reports whether the .dockerignore leaves rel out. The Dockerfile
// and .dockerignore are always sent, as the docker CLI does.
func (bc *buildContext) excluded(rel string) bool {
	if rel == bc.dockerfile || rel == ".dockerignore" {
		return false
	}
	return ignored(bc.ignore, rel)
}

// mayReinclude reports whether something under the excluded directory rel
// may still be sent: the Dockerfile, or a file an exception names.
func (bc *buildContext) mayReinclude(rel string) bool {
	if strings.HasPrefix(bc.dockerfile, rel+"/") {
		return true
	}
	for _, p := range bc.ignore {
		if p.exception {
			return true
		}
	}
	return false
}

func addToTar(tw *tar.Writer, p, rel string, d fs.DirEntry) error {
	info, err := d.Info()
	if err != nil {
		return err
	}
	var link string
	switch mode := info.Mode(); {
	case mode&fs.ModeSymlink != 0:
		if link, err = os.Readlink(p); err != nil {
			return err
		}
	case !mode.IsRegular() && !mode.IsDir():
		return nil
	}
	hdr, err := tar.FileInfoHeader(info, link)
	if err != nil {
		return err
	}
	hdr.Name = rel
	if info.IsDir() {
		hdr.Name += "/"
	}
	hdr.Uid, hdr.Gid, hdr.Uname, hdr.Gname = 0, 0, "", ""
	hdr.ModTime = info.ModTime().Truncate(time.Second)
	hdr.AccessTime, hdr.ChangeTime = time.Time{}, time.Time{}
	hdr.Format = tar.FormatPAX
	if err := tw.WriteHeader(hdr); err != nil {
		return err
	}
	if !info.Mode().IsRegular() {
		return nil
	}
	f, err := os.Open(p)
	if err != nil {
		return err
	}
	defer f.Close()
	_, err = io.Copy(tw, f)
	return err
}

// ignorePattern is one line of a .dockerignore.
type ignorePattern struct {
	re        *regexp.Regexp
	exception bool // the line began with "!"
}

// readDockerignore reads the patterns of a .dockerignore; a missing file has
// none.
func readDockerignore(name string) ([]ignorePattern, error) {
	f, err := os.Open(name)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	defer f.Close()
	var out []ignorePattern
	sc := bufio.NewScanner(f)
	for line := 1; sc.Scan(); line++ {
		text := strings.TrimSpace(sc.Text())
		if text == "" || strings.HasPrefix(text, "#") {
			continue
		}
		p, err := parseIgnorePattern(text)
		if err != nil {
			return nil, fmt.Errorf(".dockerignore line %d: %w", line, err)
		}
		out = append(out, p)
	}
	return out, sc.Err()
}

func parseIgnorePattern(text string) (ignorePattern, error) {
	var p ignorePattern
	if strings.HasPrefix(text, "!") {
		p.exception = true
		text = strings.TrimSpace(text[1:])
	}
	text = path.Clean(filepath.ToSlash(text))
	if len(text) > 1 {
		text = strings.TrimPrefix(text, "/")
	}
	re, err := regexp.Compile(globRegexp(text))
	if err != nil {
		return p, fmt.Errorf("pattern %q: %w", text, err)
	}
	p.re = re
	return p, nil
}

// globRegexp turns a .dockerignore glob into an anchored regular
// expression: "*" and "?" stay within one path element, "**" spans any
// number of them, "[...]" is a class ("[!...]" negated) and "\" escapes.
func globRegexp(glob string) string {
	var b strings.Builder
	b.WriteByte('^')
	for i := 0; i < len(glob); i++ {
		switch ch := glob[i]; ch {
		case '*':
			if i+1 < len(glob) && glob[i+1] == '*' {
				i++
				if i+1 < len(glob) && glob[i+1] == '/' {
					i++
					b.WriteString("(.*/)?")
				} else {
					b.WriteString(".*")
				}
			} else {
				b.WriteString("[^/]*")
			}
		case '?':
			b.WriteString("[^/]")
		case '\\':
			if i+1 < len(glob) {
				i++
				b.WriteString(regexp.QuoteMeta(glob[i : i+1]))
			} else {
				b.WriteString(`\\`)
			}
		case '[':
			end := strings.IndexByte(glob[i+1:], ']')
			if end < 0 {
				b.WriteString(`\[`)
				continue
			}
			class := glob[i+1 : i+1+end]
			if strings.HasPrefix(class, "!") {
				class = "^" + class[1:]
			}
			b.WriteString("[" + class + "]")
			i += end + 1
		default:
			b.WriteString(regexp.QuoteMeta(string(ch)))
		}
	}
	b.WriteByte('$')
	return b.String()
}

// ignored applies the patterns in order, the last match winning: a path is
// matched when a pattern matches it or one of its parent directories.
func ignored(patterns []ignorePattern, rel string) bool {
	out := false
	for _, p := range patterns {
		if p.matches(rel) {
			out = !p.exception
		}
	}
	return out
}

func (p ignorePattern) matches(rel string) bool {
	for q := rel; q != "." && q != "/" && q != ""; q = path.Dir(q) {
		if p.re.MatchString(q) {
			return true
		}
	}
	return false
}
