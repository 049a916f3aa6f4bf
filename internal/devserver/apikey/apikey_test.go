package apikey_test

import (
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"sync"
	"testing"

	"github.com/quell-ir/quell/internal/devserver/apikey"
)

func TestLoadCreatesPrivateKeyOnce(t *testing.T) {
	path := apikey.Path(filepath.Join(t.TempDir(), "data"))
	if _, err := apikey.Read(path); !errors.Is(err, fs.ErrNotExist) {
		t.Fatalf("Read before Load = %v, want fs.ErrNotExist", err)
	}
	first, err := apikey.Load(path)
	if err != nil {
		t.Fatal(err)
	}
	if got, want := len(first), 64; got != want {
		t.Errorf("key length = %d, want %d", got, want)
	}
	st, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	if got, want := st.Mode().Perm(), fs.FileMode(0o600); got != want {
		t.Errorf("mode = %#o, want %#o", got, want)
	}
	again, err := apikey.Load(path)
	if err != nil || again != first {
		t.Errorf("second Load = %q, %v; want the first key", again, err)
	}
	if other := apikey.New(); other == first || len(other) != 64 {
		t.Errorf("New = %q, want a fresh 64-character key", other)
	}
	leftovers, _ := filepath.Glob(filepath.Join(filepath.Dir(path), ".temporal.key.*"))
	if len(leftovers) != 0 {
		t.Errorf("temporary files left: %v", leftovers)
	}
}

func TestLoadAtOnceAgrees(t *testing.T) {
	path := apikey.Path(t.TempDir())
	keys := make([]string, 8)
	errs := make([]error, 8)
	var wg sync.WaitGroup
	for i := range keys {
		wg.Go(func() { keys[i], errs[i] = apikey.Load(path) })
	}
	wg.Wait()
	for i := range keys {
		if errs[i] != nil || keys[i] != keys[0] {
			t.Errorf("Load %d = %q, %v; want %q", i, keys[i], errs[i], keys[0])
		}
	}
}

func TestReadRefuses(t *testing.T) {
	dir := t.TempDir()
	for _, tc := range []struct {
		name, content string
		mode          fs.FileMode
		want          string
	}{
		{"readable by others", apikey.New() + "\n", 0o644, "mode 0644, want 0600"},
		{"readable by group", apikey.New(), 0o640, "mode 0640, want 0600"},
		{"empty", "", 0o600, "not a key"},
		{"short", "abcd\n", 0o600, "not a key"},
		{"long", apikey.New() + "00\n", 0o600, "not a key"},
		{"not hex", string(make([]byte, 64)), 0o600, "not a key"},
	} {
		path := filepath.Join(dir, tc.name)
		if err := os.WriteFile(path, []byte(tc.content), tc.mode); err != nil {
			t.Fatal(err)
		}
		if err := os.Chmod(path, tc.mode); err != nil {
			t.Fatal(err)
		}
		_, err := apikey.Read(path)
		if got, want := errString(err), "temporal key "+path+": "+tc.want; got != want {
			t.Errorf("%s: Read = %q, want %q", tc.name, got, want)
		}
		// Load never replaces a bad key file.
		if _, err := apikey.Load(path); err == nil {
			t.Errorf("%s: Load succeeded, want the same error", tc.name)
		}
	}
	if _, err := apikey.Read(dir); errString(err) != "temporal key "+dir+": not a regular file" {
		t.Errorf("Read(dir) = %v", err)
	}
}

func errString(err error) string {
	if err == nil {
		return ""
	}
	return err.Error()
}
