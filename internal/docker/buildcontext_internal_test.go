package docker

import (
	"archive/tar"
	"bytes"
	"errors"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

func TestIgnored(t *testing.T) {
	tests := []struct {
		patterns string
		path     string
		want     bool
	}{
		{"*.secret", "a.secret", true},
		{"*.secret", "dir/a.secret", false},
		{"**/*.secret", "dir/sub/a.secret", true},
		{"**/*.secret", "a.secret", true},
		{"build", "build/out/x.o", true},
		{"/build", "build", true},
		{"build/", "build/x", true},
		{"src/**", "src/a/b", true},
		{"src/**", "srcx", false},
		{"file?.txt", "file1.txt", true},
		{"file?.txt", "file10.txt", false},
		{"[ab].txt", "b.txt", true},
		{"[!ab].txt", "b.txt", false},
		{"[!ab].txt", "c.txt", true},
		{`\*.txt`, "*.txt", true},
		{`\*.txt`, "a.txt", false},
		{"*.log\n!keep.log", "keep.log", false},
		{"*.log\n!keep.log", "drop.log", true},
		{"!keep.log\n*.log", "keep.log", true},
		{"# comment\n\n  *.tmp  ", "x.tmp", true},
		{"a.b", "axb", false},
	}
	for _, tc := range tests {
		t.Run(strings.ReplaceAll(tc.patterns, "\n", ";")+" "+tc.path, func(t *testing.T) {
			var ps []ignorePattern
			for _, line := range strings.Split(tc.patterns, "\n") {
				line = strings.TrimSpace(line)
				if line == "" || strings.HasPrefix(line, "#") {
					continue
				}
				p, err := parseIgnorePattern(line)
				if err != nil {
					t.Fatal(err)
				}
				ps = append(ps, p)
			}
			if got := ignored(ps, tc.path); got != tc.want {
				t.Errorf("ignored(%q, %q) = %v, want %v", tc.patterns, tc.path, got, tc.want)
			}
		})
	}
}

func TestBuildContextTar(t *testing.T) {
	dir := t.TempDir()
	files := map[string]string{
		"Dockerfile":        "FROM scratch\n",
		".dockerignore":     "Dockerfile\n.dockerignore\n*.secret\nbuild\n!build/keep\nlogs\n",
		"app/main.sh":       "#!/bin/sh\n",
		"app/token.secret":  "x",
		"top.secret":        "x",
		"build/out.o":       "x",
		"build/keep":        "kept",
		"logs/today.log":    "x",
		"zeta/a/b/deep.txt": "deep",
	}
	for name, data := range files {
		p := filepath.Join(dir, name)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(data), 0o640); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.Symlink("app/main.sh", filepath.Join(dir, "link")); err != nil {
		t.Fatal(err)
	}
	bc, err := newBuildContext(dir, "")
	if err != nil {
		t.Fatalf("newBuildContext() = %v", err)
	}
	first, second := tarOf(t, bc), tarOf(t, bc)
	if !bytes.Equal(first, second) {
		t.Error("two tars of the same context differ")
	}
	got := tarNames(t, first)
	want := []string{
		".dockerignore", "Dockerfile", "app/", "app/main.sh", "app/token.secret", "build/keep", "link",
		"zeta/", "zeta/a/", "zeta/a/b/", "zeta/a/b/deep.txt",
	}
	if !slices.Equal(got, want) {
		t.Errorf("context entries = %q, want %q", got, want)
	}
}

func tarOf(t *testing.T, bc *buildContext) []byte {
	t.Helper()
	var buf bytes.Buffer
	if err := bc.write(&buf); err != nil {
		t.Fatalf("write() = %v", err)
	}
	return buf.Bytes()
}

func tarNames(t *testing.T, b []byte) []string {
	t.Helper()
	var names []string
	tr := tar.NewReader(bytes.NewReader(b))
	for {
		h, err := tr.Next()
		if errors.Is(err, io.EOF) {
			return names
		}
		if err != nil {
			t.Fatal(err)
		}
		if h.Uid != 0 || h.Gid != 0 || h.Uname != "" || h.ModTime.Nanosecond() != 0 {
			t.Errorf("%s: uid %d gid %d uname %q mtime %v, want root and whole seconds", h.Name, h.Uid, h.Gid, h.Uname, h.ModTime)
		}
		names = append(names, h.Name)
	}
}

func TestDockerfileOutsideContext(t *testing.T) {
	parent := t.TempDir()
	dir := filepath.Join(parent, "ctx")
	if err := os.MkdirAll(filepath.Join(dir, "sub"), 0o755); err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{filepath.Join(parent, "Dockerfile"), filepath.Join(dir, "sub", "Dockerfile")} {
		if err := os.WriteFile(name, []byte("FROM scratch\n"), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.Symlink(filepath.Join(parent, "Dockerfile"), filepath.Join(dir, "escape")); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		dockerfile string
		wantErr    string
	}{
		{"sub/Dockerfile", ""},
		{filepath.Join(dir, "sub", "Dockerfile"), ""},
		{"../Dockerfile", "outside the context directory"},
		{filepath.Join(parent, "Dockerfile"), "outside the context directory"},
		{"escape", "outside the context directory"},
		{"sub", "not a regular file"},
		{"missing", "no such file"},
	}
	for _, tc := range tests {
		t.Run(tc.dockerfile, func(t *testing.T) {
			bc, err := newBuildContext(dir, tc.dockerfile)
			switch {
			case tc.wantErr == "" && err != nil:
				t.Errorf("newBuildContext() = %v, want nil", err)
			case tc.wantErr == "" && bc.dockerfile != "sub/Dockerfile":
				t.Errorf("dockerfile = %q, want sub/Dockerfile", bc.dockerfile)
			case tc.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tc.wantErr)):
				t.Errorf("newBuildContext() = %v, want an error containing %q", err, tc.wantErr)
			}
		})
	}
}

func TestReadBuildOutput(t *testing.T) {
	tests := []struct {
		name    string
		stream  string
		wantID  string
		wantLog string
		wantErr string
	}{
		{
			name:    "success",
			stream:  `{"stream":"Step 1/2 : FROM scratch\n"}{"stream":" ---\u003e Running\n"}{"aux":{"ID":"sha256:abc"}}{"stream":"Successfully built abc\n"}`,
			wantID:  "sha256:abc",
			wantLog: "Step 1/2 : FROM scratch\n ---> Running\nSuccessfully built abc\n",
		},
		{
			name:    "error detail",
			stream:  `{"stream":"Step 2/2 : COPY x /\n"}{"errorDetail":{"message":"COPY failed: x not found"},"error":"COPY failed: x not found"}`,
			wantLog: "Step 2/2 : COPY x /\nCOPY failed: x not found\n",
			wantErr: "COPY failed: x not found",
		},
		{
			name:    "bare error",
			stream:  `{"error":"no space left"}`,
			wantLog: "no space left\n",
			wantErr: "no space left",
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var log strings.Builder
			id, err := readBuildOutput(strings.NewReader(tc.stream), &log)
			if id != tc.wantID || log.String() != tc.wantLog {
				t.Errorf("readBuildOutput() = %q, log %q, want %q, log %q", id, log.String(), tc.wantID, tc.wantLog)
			}
			if tc.wantErr == "" && err != nil || tc.wantErr != "" && (err == nil || err.Error() != tc.wantErr || !errors.Is(err, ErrBuildFailed)) {
				t.Errorf("readBuildOutput() error = %v, want %q matching ErrBuildFailed", err, tc.wantErr)
			}
		})
	}
}
