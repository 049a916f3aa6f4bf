package evidence

import (
	"errors"
	"os"
	"strings"
	"testing"
)

func TestOpenInvalidIncidentID(t *testing.T) {
	tests := []struct {
		id   string
		want string
	}{
		{"", `incident id "": empty`},
		{"..", `incident id "..": contains ".."`},
		{"a..b", `incident id "a..b": contains ".."`},
		{"../etc", `incident id "../etc": contains ".."`},
		{".", `incident id ".": reserved`},
		{"a/b", `incident id "a/b": invalid character '/'`},
		{"/abs", `incident id "/abs": invalid character '/'`},
		{"a b", `incident id "a b": invalid character ' '`},
		{"inc\x00", `incident id "inc\x00": invalid character '\x00'`},
		{"événement", `incident id "événement": invalid character 'é'`},
		{strings.Repeat("x", 201), `incident id "` + strings.Repeat("x", 201) + `": too long`},
	}
	s := newTestStore(t)
	for _, tt := range tests {
		t.Run(tt.id, func(t *testing.T) {
			_, err := s.Open(tt.id, testActor)
			if got := errString(err); got != tt.want {
				t.Errorf("Open(%q): err = %q, want %q", tt.id, got, tt.want)
			}
			if !errors.Is(err, ErrInvalidName) {
				t.Errorf("Open(%q): err is not ErrInvalidName", tt.id)
			}
			if _, err := s.Manifest(tt.id); !errors.Is(err, ErrInvalidName) {
				t.Errorf("Manifest(%q): err = %v, want ErrInvalidName", tt.id, err)
			}
		})
	}
	if entries, err := os.ReadDir(s.root); err == nil && len(entries) != 0 {
		t.Errorf("root holds %d entries after invalid opens, want 0", len(entries))
	}
}

func TestOpenValidIncidentID(t *testing.T) {
	s := newTestStore(t)
	for _, id := range []string{"inc-1", "2026.03.01_abc-DEF", "a", "x.y"} {
		f, err := s.Open(id, testActor)
		if err != nil {
			t.Fatalf("Open(%q): %v", id, err)
		}
		if got, want := f.Dir(), s.Dir(id); got != want {
			t.Errorf("Dir() = %q, want %q", got, want)
		}
		info, err := os.Stat(f.Dir())
		if err != nil {
			t.Fatal(err)
		}
		if got, want := info.Mode().Perm(), os.FileMode(0o750); got != want {
			t.Errorf("folder mode = %v, want %v", got, want)
		}
	}
}

func TestCreateInvalidName(t *testing.T) {
	tests := []struct {
		name string
		want string
	}{
		{"", `artifact name "": empty`},
		{"/etc/passwd", `artifact name "/etc/passwd": absolute`},
		{"..", `artifact name "..": contains ".."`},
		{"../x.log", `artifact name "../x.log": contains ".."`},
		{"logs/../../x", `artifact name "logs/../../x": contains ".."`},
		{"logs//x", `artifact name "logs//x": not clean`},
		{"./x", `artifact name "./x": not clean`},
		{"logs/", `artifact name "logs/": not clean`},
		{`logs\x`, `artifact name "logs\\x": invalid character '\\'`},
		{"a\nb", `artifact name "a\nb": invalid character '\n'`},
		{"manifest.json", `artifact name "manifest.json": reserved`},
		{"custody.log", `artifact name "custody.log": reserved`},
		{".journal.jsonl", `artifact name ".journal.jsonl": reserved`},
		{"logs/.x.partial", `artifact name "logs/.x.partial": element ".x.partial" starts with "."`},
		{".hidden", `artifact name ".hidden": element ".hidden" starts with "."`},
	}
	f := openFolder(t, newTestStore(t), "inc-names")
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := f.Create(tt.name)
			if got := errString(err); got != tt.want {
				t.Errorf("Create(%q): err = %q, want %q", tt.name, got, tt.want)
			}
			if !errors.Is(err, ErrInvalidName) {
				t.Errorf("Create(%q): err is not ErrInvalidName", tt.name)
			}
			if _, ok := f.Artifact(tt.name); ok {
				t.Errorf("Artifact(%q) found", tt.name)
			}
		})
	}
}

func TestValidNames(t *testing.T) {
	for _, name := range []string{"a", "inspect.json", "logs/stdout.log", "fs/diff..txt", "a/b/c/d.tar", "manifest.json.bak", "logs/manifest.json"} {
		if err := validateName(name); err != nil {
			t.Errorf("validateName(%q) = %v, want nil", name, err)
		}
	}
}
