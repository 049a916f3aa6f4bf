package evidence

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"testing"
)

// repeatReader yields n bytes cycling through block, cheaply, so the
// benchmark measures hashing and writing rather than generation.
type repeatReader struct {
	block []byte
	off   int
	n     int64
}

func (r *repeatReader) Read(p []byte) (int, error) {
	if r.n <= 0 {
		return 0, io.EOF
	}
	p = p[:min(int64(len(p)), r.n)]
	k := 0
	for k < len(p) {
		c := copy(p[k:], r.block[r.off:])
		k += c
		r.off = (r.off + c) % len(r.block)
	}
	r.n -= int64(k)
	return k, nil
}

func BenchmarkWrite(b *testing.B) {
	const size = 64 << 20
	var block bytes.Buffer
	if _, err := io.Copy(&block, gen(42, 1<<20+13)); err != nil {
		b.Fatal(err)
	}
	f := openFolder(b, newTestStore(b), "inc-bench")
	b.SetBytes(size)
	for i := 0; b.Loop(); i++ {
		name := fmt.Sprintf("fs/export-%d.tar", i)
		a, err := f.Write(context.Background(), name, &repeatReader{block: block.Bytes(), n: size}, nil)
		if err != nil {
			b.Fatal(err)
		}
		if a.Size != size {
			b.Fatalf("size = %d, want %d", a.Size, size)
		}
		b.StopTimer()
		if err := os.Remove(filepath.Join(f.Dir(), filepath.FromSlash(name))); err != nil {
			b.Fatal(err)
		}
		b.StartTimer()
	}
}
