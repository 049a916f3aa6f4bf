package evidence

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"testing"
	"time"
)

// repeatReader yields n bytes cycling through block, cheaply, so the
// benchmark measures hashing and writing rather than generation. Each Read
// returns at most max bytes when max is set: Docker's export body arrives
// in 32 KiB chunks. With rate set it yields no faster than rate bytes per
// second, like a daemon busy making the tar. It records when it ended.
type repeatReader struct {
	block []byte
	off   int
	n     int64
	max   int
	rate  float64
	read  int64
	start time.Time
	ended time.Time
}

func (r *repeatReader) Read(p []byte) (int, error) {
	if r.n <= 0 {
		if r.ended.IsZero() {
			r.ended = time.Now()
		}
		return 0, io.EOF
	}
	if r.max > 0 && len(p) > r.max {
		p = p[:r.max]
	}
	p = p[:min(int64(len(p)), r.n)]
	r.throttle()
	k := 0
	for k < len(p) {
		c := copy(p[k:], r.block[r.off:])
		k += c
		r.off = (r.off + c) % len(r.block)
	}
	r.n -= int64(k)
	r.read += int64(k)
	return k, nil
}

// throttle sleeps until the bytes read so far are due, every MiB.
func (r *repeatReader) throttle() {
	if r.rate == 0 {
		return
	}
	if r.start.IsZero() {
		r.start = time.Now()
	}
	if r.read%(1<<20) < int64(r.max) {
		due := time.Duration(float64(r.read) / r.rate * float64(time.Second))
		time.Sleep(due - time.Since(r.start))
	}
}

// BenchmarkWrite measures Folder.Write, that is writing, hashing and
// committing an artifact, of a filesystem export as large as the one
// `make bench` measures. tail-ms/op is the time from the end of the stream
// to the committed artifact: the final fsync, the rename and the journal.
func BenchmarkWrite(b *testing.B) {
	const size = 384 << 20
	var block bytes.Buffer
	if _, err := io.Copy(&block, gen(42, 1<<20+13)); err != nil {
		b.Fatal(err)
	}
	shapes := []struct {
		name string
		max  int
		rate float64
	}{
		{"reads=1MiB", 1 << 20, 0},
		{"reads=32KiB", 32 << 10, 0},
		{"reads=32KiB,150MiB/s", 32 << 10, 150 << 20},
	}
	for _, shape := range shapes {
		b.Run(shape.name, func(b *testing.B) {
			f := openFolder(b, newTestStore(b), "inc-bench")
			b.SetBytes(size)
			var tail time.Duration
			for i := 0; b.Loop(); i++ {
				name := fmt.Sprintf("fs/export-%d.tar", i)
				r := &repeatReader{block: block.Bytes(), n: size, max: shape.max, rate: shape.rate}
				a, err := f.Write(context.Background(), name, r, nil)
				if err != nil {
					b.Fatal(err)
				}
				tail += time.Since(r.ended)
				if a.Size != size {
					b.Fatalf("size = %d, want %d", a.Size, size)
				}
				b.StopTimer()
				if err := os.Remove(filepath.Join(f.Dir(), filepath.FromSlash(name))); err != nil {
					b.Fatal(err)
				}
				b.StartTimer()
			}
			b.ReportMetric(float64(tail.Milliseconds())/float64(b.N), "tail-ms/op")
		})
	}
}
