package evidence

import (
	"os"
	"path/filepath"
	"testing"
)

func TestAppendLineTrimsTornTail(t *testing.T) {
	long := make([]byte, 10000)
	for i := range long {
		long[i] = 'x'
	}
	tests := []struct {
		name    string
		content string
		want    string
	}{
		{"absent", "", `{"n":1}` + "\n"},
		{"complete", "a\n", "a\n" + `{"n":1}` + "\n"},
		{"torn after lines", "a\nb\n{\"n\":", "a\nb\n" + `{"n":1}` + "\n"},
		{"only torn", "{\"n", `{"n":1}` + "\n"},
		{"torn longer than a chunk", "a\n" + string(long), "a\n" + `{"n":1}` + "\n"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "log.jsonl")
			if tt.content != "" {
				if err := os.WriteFile(path, []byte(tt.content), 0o640); err != nil {
					t.Fatal(err)
				}
			}
			if err := appendLine(path, map[string]int{"n": 1}); err != nil {
				t.Fatal(err)
			}
			got, err := os.ReadFile(path)
			if err != nil {
				t.Fatal(err)
			}
			if string(got) != tt.want {
				t.Errorf("file = %q, want %q", got, tt.want)
			}
		})
	}
}

func TestReadLinesSkipsTornTail(t *testing.T) {
	path := filepath.Join(t.TempDir(), "log.jsonl")
	if err := os.WriteFile(path, []byte("a\n\nb\n{\"torn"), 0o640); err != nil {
		t.Fatal(err)
	}
	lines, err := readLines(path)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, l := range lines {
		got = append(got, string(l))
	}
	if want := []string{"a", "b"}; len(got) != 2 || got[0] != want[0] || got[1] != want[1] {
		t.Errorf("lines = %q, want %q", got, want)
	}
}
