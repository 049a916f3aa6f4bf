package evidence

import (
	"crypto/sha256"
	"hash"
)

// pipeChunk is the size of a hashPipe buffer, and so of the reads and file
// writes of Writer.ReadFrom; pipeBuffers is how many a pipe may hold.
const (
	pipeChunk   = 1 << 20
	pipeBuffers = 4
)

// hashPipe hashes the bytes of an artifact with SHA-256 on a goroutine of
// its own, one full buffer at a time, while the Writer reads and writes the
// next buffers: hashing and disk writes then overlap instead of taking
// turns. Only bytes already written to the file enter the pipe, so the sum
// is the hash of exactly the bytes on disk.
//
// The goroutine starts with the first full buffer; an artifact smaller than
// one buffer is hashed by sum on the caller's goroutine. Every pipe must be
// finished with sum or stop, which wait for the goroutine to exit. A
// hashPipe is not safe for concurrent use.
type hashPipe struct {
	h    hash.Hash
	cur  []byte        // written bytes not yet queued; nil when no buffer is held
	todo chan []byte   // full buffers for the goroutine to hash
	free chan []byte   // hashed buffers, ready to fill again
	done chan struct{} // closed when the goroutine exits; nil before it starts
	made int           // buffers allocated
}

func newHashPipe() *hashPipe {
	return &hashPipe{
		h:    sha256.New(),
		todo: make(chan []byte, pipeBuffers),
		free: make(chan []byte, pipeBuffers),
	}
}

// space returns the free tail of the buffer being filled; after writing up
// to len of it to the file, the caller reports how much with add.
func (p *hashPipe) space() []byte {
	if p.cur == nil {
		p.cur = p.buffer()
	}
	return p.cur[len(p.cur):cap(p.cur)]
}

// add takes the first n bytes of space, written to the file, into the
// hash; a full buffer goes to the goroutine.
func (p *hashPipe) add(n int) {
	p.cur = p.cur[:len(p.cur)+n]
	if len(p.cur) == cap(p.cur) {
		p.queue(p.cur)
		p.cur = nil
	}
}

// write copies b, bytes written to the file by the caller, into the pipe.
func (p *hashPipe) write(b []byte) {
	for len(b) > 0 {
		n := copy(p.space(), b)
		p.add(n)
		b = b[n:]
	}
}

// sum hashes what is left and returns the SHA-256 of every byte added. The
// pipe cannot be used afterwards.
func (p *hashPipe) sum() []byte {
	if len(p.cur) > 0 {
		if p.done != nil {
			p.queue(p.cur)
		} else {
			p.h.Write(p.cur)
		}
	}
	p.cur = nil
	p.stop()
	return p.h.Sum(nil)
}

// stop ends the goroutine, if it runs, and waits for it. It may be called
// more than once.
func (p *hashPipe) stop() {
	if p.done == nil || p.todo == nil {
		return
	}
	close(p.todo)
	p.todo = nil
	<-p.done
}

// buffer returns an empty buffer: a hashed one, a new one while fewer than
// pipeBuffers exist, or the next one the goroutine finishes.
func (p *hashPipe) buffer() []byte {
	select {
	case b := <-p.free:
		return b
	default:
	}
	if p.made < pipeBuffers {
		p.made++
		return make([]byte, 0, pipeChunk)
	}
	return <-p.free
}

func (p *hashPipe) queue(b []byte) {
	if p.done == nil {
		p.done = make(chan struct{})
		go p.run(p.todo)
	}
	p.todo <- b
}

// run hashes the buffers in order and hands each back for reuse.
func (p *hashPipe) run(todo <-chan []byte) {
	defer close(p.done)
	for b := range todo {
		p.h.Write(b)
		p.free <- b[:0]
	}
}
