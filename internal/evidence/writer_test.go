package evidence

import (
	"context"
	"errors"
	"io"
	"os"
	"path/filepath"
	"testing"
)

func TestWriteSizes(t *testing.T) {
	s := newTestStore(t)
	f := openFolder(t, s, "inc-sizes")
	tests := []struct {
		name string
		size int64
	}{
		{"empty.txt", 0},
		{"one.bin", 1},
		{"inspect.json", 4096},
		{"logs/stdout.log", 1<<20 + 3},
		{"fs/export.tar", 9<<20 + 7},
	}
	for i, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			seed := uint64(i + 1)
			got := mustWrite(t, f, tt.name, seed, tt.size)
			want := genSHA256(t, seed, tt.size)
			if got.Name != tt.name || got.Path != tt.name {
				t.Errorf("name, path = %q, %q, want %q", got.Name, got.Path, tt.name)
			}
			if got.Size != tt.size {
				t.Errorf("size = %d, want %d", got.Size, tt.size)
			}
			if got.SHA256 != want {
				t.Errorf("sha256 = %s, want %s", got.SHA256, want)
			}
			path := filepath.Join(f.Dir(), filepath.FromSlash(tt.name))
			if disk := fileSHA256(t, path); disk != want {
				t.Errorf("sha256 on disk = %s, want %s", disk, want)
			}
			if loc := got.CollectedAt.Location(); loc.String() != "UTC" {
				t.Errorf("collected_at location = %s, want UTC", loc)
			}
			if stored, ok := f.Artifact(tt.name); !ok || stored != got {
				t.Errorf("Artifact(%q) = %+v, %t, want %+v, true", tt.name, stored, ok, got)
			}
		})
	}
	if got, want := len(f.Artifacts()), len(tests); got != want {
		t.Errorf("len(Artifacts()) = %d, want %d", got, want)
	}
	if p := partials(t, f.Dir()); len(p) != 0 {
		t.Errorf("partial files left: %v", p)
	}
}

func TestWriterCommit(t *testing.T) {
	f := openFolder(t, newTestStore(t), "inc-writer")
	w, err := f.Create("ps.txt")
	if err != nil {
		t.Fatal(err)
	}
	for i := range 3 {
		if _, err := io.Copy(w, gen(uint64(i), 1000)); err != nil {
			t.Fatal(err)
		}
	}
	if got, want := w.Size(), int64(3000); got != want {
		t.Errorf("Size() = %d, want %d", got, want)
	}
	a, err := w.Commit()
	if err != nil {
		t.Fatal(err)
	}
	if got, want := a.SHA256, fileSHA256(t, filepath.Join(f.Dir(), "ps.txt")); got != want {
		t.Errorf("sha256 = %s, want %s", got, want)
	}
	if err := w.Abort(); err != nil {
		t.Errorf("Abort after Commit = %v, want nil", err)
	}
	if _, err := w.Write([]byte("x")); err == nil {
		t.Error("Write after Commit succeeded")
	}
}

func TestCreateWriteOnce(t *testing.T) {
	s := newTestStore(t)
	f := openFolder(t, s, "inc-once")
	a := mustWrite(t, f, "logs/stdout.log", 7, 5000)

	info, err := os.Stat(filepath.Join(f.Dir(), "logs", "stdout.log"))
	if err != nil {
		t.Fatal(err)
	}
	if got, want := info.Mode().Perm(), os.FileMode(0o440); got != want {
		t.Errorf("mode = %v, want %v", got, want)
	}
	retry := openFolder(t, reopenStore(filepath.Dir(f.Dir())), "inc-once")
	for _, folder := range []*Folder{f, retry} {
		_, err := folder.Create("logs/stdout.log")
		if !errors.Is(err, ErrExists) {
			t.Fatalf("Create again: err = %v, want ErrExists", err)
		}
		if got, want := err.Error(), `artifact "logs/stdout.log": already collected`; got != want {
			t.Errorf("err = %q, want %q", got, want)
		}
		if _, err := folder.Write(context.Background(), "logs/stdout.log", gen(8, 10), nil); !errors.Is(err, ErrExists) {
			t.Errorf("Write again: err = %v, want ErrExists", err)
		}
	}
	if got, _ := retry.Artifact("logs/stdout.log"); got != a {
		t.Errorf("after retry Artifact = %+v, want %+v", got, a)
	}
	if got := fileSHA256(t, filepath.Join(f.Dir(), "logs", "stdout.log")); got != a.SHA256 {
		t.Errorf("file changed: sha256 %s, want %s", got, a.SHA256)
	}
}

func TestCreateInProgress(t *testing.T) {
	f := openFolder(t, newTestStore(t), "inc-busy")
	w, err := f.Create("a.log")
	if err != nil {
		t.Fatal(err)
	}
	_, err = f.Create("a.log")
	if got, want := errString(err), `artifact "a.log": write in progress`; got != want {
		t.Errorf("second Create: err = %q, want %q", got, want)
	}
	if _, err := f.Seal(nil); err == nil {
		t.Error("Seal with an open Writer succeeded")
	}
	if err := w.Abort(); err != nil {
		t.Fatal(err)
	}
	if p := partials(t, f.Dir()); len(p) != 0 {
		t.Errorf("partial files left after Abort: %v", p)
	}
	mustWrite(t, f, "a.log", 1, 10)
}

// cancelAfter reads like r and cancels after n bytes have been read.
type cancelAfter struct {
	r      io.Reader
	n      int64
	cancel context.CancelFunc
}

func (c *cancelAfter) Read(p []byte) (int, error) {
	k, err := c.r.Read(p)
	if c.n -= int64(k); c.n <= 0 {
		c.cancel()
	}
	return k, err
}

func TestWriteCancel(t *testing.T) {
	f := openFolder(t, newTestStore(t), "inc-cancel")
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	r := &cancelAfter{r: gen(1, 64<<20), n: 3 << 20, cancel: cancel}
	var last int64
	_, err := f.Write(ctx, "fs/export.tar", r, func(n int64) { last = n })
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("err = %v, want context.Canceled", err)
	}
	if last > 4<<20 {
		t.Errorf("progress reached %d bytes, want it stopped near 3 MiB", last)
	}
	if p := partials(t, f.Dir()); len(p) != 0 {
		t.Errorf("partial files left: %v", p)
	}
	if _, err := os.Lstat(filepath.Join(f.Dir(), "fs", "export.tar")); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("final file: err = %v, want not exist", err)
	}
	if _, ok := f.Artifact("fs/export.tar"); ok {
		t.Error("Artifact reports the cancelled artifact")
	}
	mustWrite(t, f, "fs/export.tar", 1, 100)
}

type failingReader struct{}

func (failingReader) Read([]byte) (int, error) { return 0, errors.New("stream reset") }

func TestWriteReaderError(t *testing.T) {
	f := openFolder(t, newTestStore(t), "inc-readerr")
	_, err := f.Write(context.Background(), "logs/stderr.log", io.MultiReader(gen(1, 5000), failingReader{}), nil)
	if got, want := errString(err), `artifact "logs/stderr.log": read: stream reset`; got != want {
		t.Errorf("err = %q, want %q", got, want)
	}
	if p := partials(t, f.Dir()); len(p) != 0 {
		t.Errorf("partial files left: %v", p)
	}
	if got := f.Artifacts(); len(got) != 0 {
		t.Errorf("Artifacts() = %+v, want none", got)
	}
}

func TestWriteProgress(t *testing.T) {
	f := openFolder(t, newTestStore(t), "inc-progress")
	const size = 5<<20 + 1
	var calls []int64
	if _, err := f.Write(context.Background(), "big.bin", gen(3, size), func(n int64) { calls = append(calls, n) }); err != nil {
		t.Fatal(err)
	}
	if len(calls) == 0 || calls[len(calls)-1] != size {
		t.Fatalf("progress calls = %v, want last %d", calls, size)
	}
	if len(calls) > 7 {
		t.Errorf("%d progress calls for 5 MiB, want about one per MiB", len(calls))
	}
	for i := 1; i < len(calls); i++ {
		if calls[i] <= calls[i-1] {
			t.Errorf("progress went from %d to %d", calls[i-1], calls[i])
		}
	}
}

func errString(err error) string {
	if err == nil {
		return "<nil>"
	}
	return err.Error()
}
