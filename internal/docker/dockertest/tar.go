package dockertest

import (
	"archive/tar"
	"io"
	"os"
	"strings"
	"testing"
)

// TarEntry returns the content of the file name in the tar at path, such as
// a container export, and fails the test when it is not there.
func TarEntry(t testing.TB, path, name string) string {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	tr := tar.NewReader(f)
	for {
		h, err := tr.Next()
		if err != nil {
			t.Fatalf("%s not in %s: %v", name, path, err)
		}
		if strings.TrimPrefix(h.Name, "/") == name {
			b, err := io.ReadAll(tr)
			if err != nil {
				t.Fatalf("read %s in %s: %v", name, path, err)
			}
			return string(b)
		}
	}
}
