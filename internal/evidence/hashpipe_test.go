package evidence

import (
	"bytes"
	"crypto/sha256"
	"io"
	"runtime"
	"testing"
	"time"
)

func TestHashPipe(t *testing.T) {
	tests := []struct {
		name  string
		size  int
		write int // bytes per write; 0 fills space and calls add, as ReadFrom does
	}{
		{"empty", 0, 100},
		{"one byte", 1, 100},
		{"under one buffer", pipeChunk - 1, 4096},
		{"one buffer", pipeChunk, 0},
		{"one buffer and a byte", pipeChunk + 1, 0},
		{"more buffers than the pipe holds", (2*pipeBuffers+1)*pipeChunk + 7, 0},
		{"odd writes across buffers", 3*pipeChunk + 11, 32<<10 + 3},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			data, err := io.ReadAll(gen(uint64(tt.size), int64(tt.size)))
			if err != nil {
				t.Fatal(err)
			}
			p := newHashPipe()
			feed(p, data, tt.write)
			if got, want := p.sum(), sha256.Sum256(data); !bytes.Equal(got, want[:]) {
				t.Errorf("sum = %x, want %x", got, want)
			}
			if tt.size < pipeChunk && p.done != nil {
				t.Error("hashing goroutine started for less than one buffer")
			}
		})
	}
}

// feed puts data into p by writes of n bytes, or through space and add
// when n is 0.
func feed(p *hashPipe, data []byte, n int) {
	for len(data) > 0 {
		if n > 0 {
			k := min(n, len(data))
			p.write(data[:k])
			data = data[k:]
			continue
		}
		k := copy(p.space(), data)
		p.add(k)
		data = data[k:]
	}
}

func TestHashPipeStop(t *testing.T) {
	p := newHashPipe()
	feed(p, make([]byte, 3*pipeChunk+5), 0)
	p.stop()
	select {
	case <-p.done:
	default:
		t.Fatal("goroutine still running after stop")
	}
	p.stop() // Abort after a failed Commit, say
}

func TestHashPipeNoLeak(t *testing.T) {
	before := runtime.NumGoroutine()
	for i := range 20 {
		p := newHashPipe()
		feed(p, make([]byte, 2*pipeChunk+i), 0)
		if i%2 == 0 {
			p.sum()
		} else {
			p.stop()
		}
	}
	waitGoroutines(t, before)
}

// waitGoroutines fails t unless the number of goroutines drops to at most
// n: a goroutine that closed its done channel may take a moment to exit.
func waitGoroutines(t *testing.T, n int) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for runtime.NumGoroutine() > n {
		if time.Now().After(deadline) {
			buf := make([]byte, 1<<16)
			t.Fatalf("%d goroutines, want at most %d:\n%s", runtime.NumGoroutine(), n, buf[:runtime.Stack(buf, true)])
		}
		time.Sleep(10 * time.Millisecond)
	}
}
