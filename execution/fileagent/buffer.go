package fileagent

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/rand"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"os"
	"sync"
)

// chunkSize is the plaintext size of one sealed chunk of a spilled buffer.
const chunkSize = 64 << 10

// sealedChunkSize is a chunk's size on disk: ciphertext and GCM tag.
const sealedChunkSize = chunkSize + 16

// Scratch holds the files of one task: plaintext of inputs and outputs and
// their ciphertext in transit. Buffers stay in memory while the task's
// memory budget allows; beyond it a buffer moves to a scratch file on the
// host's disk, sealed with AES-256-GCM under a key drawn for this Scratch
// and never stored, in 64 KiB chunks whose nonces are kept in memory. The
// host sees only ciphertext, and a chunk it modifies, moves, swaps or
// rolls back fails authentication when read (ErrScratchTampered). Scratch
// files are unlinked as soon as they are created, so nothing remains on
// disk once the task's process ends, however it ends.
type Scratch struct {
	dir       string
	memBudget int64
	diskLimit int64
	aead      cipher.AEAD

	mu      sync.Mutex
	mem     int64 // memory reserved by buffers
	disk    int64 // bytes of scratch files
	counter uint64
	nextID  uint32
	bufs    map[*Buffer]bool
	closed  bool
}

// NewScratch returns a scratch space that keeps up to memBudget bytes in
// memory and spills at most diskLimit bytes to sealed files in dir (the
// system's temporary folder if empty).
func NewScratch(dir string, memBudget, diskLimit int64) (*Scratch, error) {
	if memBudget < 0 || diskLimit < 0 {
		return nil, errors.New("fileagent: negative scratch limits")
	}
	if dir == "" {
		dir = os.TempDir()
	}
	key := make([]byte, 32)
	if _, err := rand.Read(key); err != nil {
		return nil, fmt.Errorf("fileagent: scratch key: %w", err)
	}
	block, err := aes.NewCipher(key)
	clear(key)
	if err != nil {
		return nil, fmt.Errorf("fileagent: scratch key: %w", err)
	}
	aead, err := cipher.NewGCM(block)
	if err != nil {
		return nil, fmt.Errorf("fileagent: scratch key: %w", err)
	}
	return &Scratch{dir: dir, memBudget: memBudget, diskLimit: diskLimit, aead: aead, bufs: map[*Buffer]bool{}}, nil
}

// NewBuffer returns an empty buffer that holds at most maxSize bytes.
func (s *Scratch) NewBuffer(maxSize int64) *Buffer {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.nextID++
	b := &Buffer{s: s, id: s.nextID, max: maxSize, cacheIdx: -1}
	if s.closed {
		b.err = ErrScratchClosed
	}
	s.bufs[b] = true
	return b
}

// MemoryInUse returns the bytes of memory the buffers hold.
func (s *Scratch) MemoryInUse() int64 {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.mem
}

// DiskInUse returns the bytes of sealed scratch files.
func (s *Scratch) DiskInUse() int64 {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.disk
}

// Close releases every buffer.
func (s *Scratch) Close() error {
	s.mu.Lock()
	s.closed = true
	bufs := make([]*Buffer, 0, len(s.bufs))
	for b := range s.bufs {
		bufs = append(bufs, b)
	}
	s.mu.Unlock()
	var errs []error
	for _, b := range bufs {
		errs = append(errs, b.Close())
	}
	return errors.Join(errs...)
}

func (s *Scratch) reserve(n int64) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed || s.mem+n > s.memBudget {
		return false
	}
	s.mem += n
	return true
}

func (s *Scratch) release(n int64) {
	s.mu.Lock()
	s.mem -= n
	s.mu.Unlock()
}

func (s *Scratch) growDisk(n int64) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.disk+n > s.diskLimit {
		return fmt.Errorf("%w: the task's files need more than %d bytes of scratch space", ErrScratchFull, s.diskLimit)
	}
	s.disk += n
	return nil
}

func (s *Scratch) nonce() uint64 {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.counter++
	return s.counter
}

// Buffer is one file of a task: written (Write appends, WriteAt anywhere)
// and read (ReadAt) as the task goes. It is safe for concurrent use.
type Buffer struct {
	s   *Scratch
	id  uint32
	max int64

	mu       sync.Mutex
	size     int64
	mem      []byte // the content while in memory
	reserved int64  // memory budget held for mem
	f        *os.File
	nonces   []uint64 // per chunk: the nonce counter it was sealed under; 0 = never written
	cache    []byte   // one plaintext chunk of a spilled buffer
	cacheIdx int64
	dirty    bool
	err      error // sticky
	closed   bool
}

// Size returns the bytes written so far (the highest offset written).
func (b *Buffer) Size() int64 {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.size
}

// Spilled reports whether the buffer moved to a sealed scratch file.
func (b *Buffer) Spilled() bool {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.f != nil
}

// Grow makes room in memory for n more bytes if the task's budget allows,
// so that a file whose size is known is not copied again and again as it
// grows. Beyond the budget, or for a spilled buffer, it does nothing:
// writes spill as usual.
func (b *Buffer) Grow(n int64) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.err != nil || b.closed || b.f != nil || n <= 0 {
		return
	}
	want := b.max
	if n < b.max-b.size {
		want = b.size + n
	}
	if want <= int64(cap(b.mem)) || !b.s.reserve(want-b.reserved) {
		return
	}
	m := make([]byte, len(b.mem), want)
	copy(m, b.mem)
	b.mem = m
	b.reserved = want
}

// ReadFrom appends what r yields until io.EOF (io.Copy uses it). If r
// tells its size (filecrypto.Reader, strings.Reader, io.SectionReader do),
// the buffer grows once to hold it.
func (b *Buffer) ReadFrom(r io.Reader) (int64, error) {
	if s, ok := r.(interface{ Size() int64 }); ok {
		b.Grow(s.Size())
	}
	// Chunk-sized reads: a reader that decrypts whole chunks does so
	// straight into buf.
	buf := make([]byte, chunkSize)
	var total int64
	for {
		n, err := r.Read(buf)
		if n > 0 {
			w, werr := b.Write(buf[:n])
			total += int64(w)
			if werr != nil {
				return total, werr
			}
		}
		switch {
		case err == io.EOF:
			return total, nil
		case err != nil:
			return total, err
		}
	}
}

// Write appends p.
func (b *Buffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.writeAt(p, b.size)
}

// WriteAt writes p at off; a gap reads as zeros.
func (b *Buffer) WriteAt(p []byte, off int64) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.writeAt(p, off)
}

func (b *Buffer) writeAt(p []byte, off int64) (int, error) {
	switch {
	case b.err != nil:
		return 0, b.err
	case b.closed:
		return 0, ErrScratchClosed
	case off < 0:
		return 0, errors.New("fileagent: negative offset")
	case off+int64(len(p)) > b.max || off+int64(len(p)) < off:
		return 0, fmt.Errorf("%w: larger than %d bytes", ErrTooLarge, b.max)
	}
	end := off + int64(len(p))
	if b.f == nil {
		if end > int64(cap(b.mem)) {
			newCap := max(end, 2*int64(cap(b.mem)), 4096)
			newCap = min(newCap, b.max)
			if b.s.reserve(newCap - b.reserved) {
				m := make([]byte, len(b.mem), newCap)
				copy(m, b.mem)
				b.mem = m
				b.reserved = newCap
			} else if err := b.spill(); err != nil {
				b.err = err
				return 0, err
			}
		}
		if b.f == nil {
			if end > int64(len(b.mem)) {
				b.mem = b.mem[:end]
			}
			copy(b.mem[off:], p)
			b.size = max(b.size, end)
			return len(p), nil
		}
	}
	n := 0
	for n < len(p) {
		pos := off + int64(n)
		idx, in := pos/chunkSize, pos%chunkSize
		if err := b.load(idx); err != nil {
			b.err = err
			return n, err
		}
		c := copy(b.cache[in:], p[n:])
		b.dirty = true
		n += c
	}
	b.size = max(b.size, end)
	return n, nil
}

// spill moves the in-memory content to a sealed scratch file.
func (b *Buffer) spill() error {
	f, err := os.CreateTemp(b.s.dir, "teaclave-scratch-*")
	if err != nil {
		return fmt.Errorf("fileagent: scratch file: %w", err)
	}
	// Unlinked at once: the data dies with the process.
	_ = os.Remove(f.Name())
	b.f = f
	b.cache = make([]byte, chunkSize)
	mem := b.mem
	b.mem = nil
	for off := int64(0); off < int64(len(mem)); off += chunkSize {
		idx := off / chunkSize
		clear(b.cache)
		copy(b.cache, mem[off:])
		b.cacheIdx, b.dirty = idx, true
		if err := b.flush(); err != nil {
			return err
		}
	}
	clear(mem)
	b.s.release(b.reserved)
	b.reserved = 0
	return nil
}

// load makes chunk idx the cached one.
func (b *Buffer) load(idx int64) error {
	if b.cacheIdx == idx {
		return nil
	}
	if err := b.flush(); err != nil {
		return err
	}
	b.cacheIdx = idx
	if idx >= int64(len(b.nonces)) || b.nonces[idx] == 0 {
		clear(b.cache)
		return nil
	}
	sealed := make([]byte, sealedChunkSize)
	if _, err := b.f.ReadAt(sealed, idx*sealedChunkSize); err != nil {
		b.cacheIdx = -1
		return fmt.Errorf("%w: %v", ErrScratchTampered, err)
	}
	if _, err := b.s.aead.Open(b.cache[:0], b.nonceBytes(b.nonces[idx]), sealed, b.aad(idx)); err != nil {
		b.cacheIdx = -1
		return ErrScratchTampered
	}
	return nil
}

// flush seals the cached chunk if it changed, under a fresh nonce.
func (b *Buffer) flush() error {
	if !b.dirty || b.cacheIdx < 0 {
		return nil
	}
	idx := b.cacheIdx
	if idx >= int64(len(b.nonces)) {
		grow := (idx + 1 - int64(len(b.nonces))) * sealedChunkSize
		if err := b.s.growDisk(grow); err != nil {
			return err
		}
		b.nonces = append(b.nonces, make([]uint64, idx+1-int64(len(b.nonces)))...)
	}
	n := b.s.nonce()
	sealed := b.s.aead.Seal(make([]byte, 0, sealedChunkSize), b.nonceBytes(n), b.cache, b.aad(idx))
	if _, err := b.f.WriteAt(sealed, idx*sealedChunkSize); err != nil {
		return fmt.Errorf("fileagent: write scratch file: %w", err)
	}
	b.nonces[idx] = n
	b.dirty = false
	return nil
}

func (b *Buffer) nonceBytes(n uint64) []byte {
	var nonce [12]byte
	binary.BigEndian.PutUint64(nonce[4:], n)
	return nonce[:]
}

// aad binds a chunk to its buffer and position.
func (b *Buffer) aad(idx int64) []byte {
	var a [12]byte
	binary.BigEndian.PutUint32(a[:4], b.id)
	binary.BigEndian.PutUint64(a[4:], uint64(idx))
	return a[:]
}

// ReadAt reads len(p) bytes at off.
func (b *Buffer) ReadAt(p []byte, off int64) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	switch {
	case b.err != nil:
		return 0, b.err
	case b.closed:
		return 0, ErrScratchClosed
	case off < 0:
		return 0, errors.New("fileagent: negative offset")
	case off >= b.size:
		return 0, io.EOF
	}
	want := p
	if rest := b.size - off; int64(len(want)) > rest {
		want = want[:rest]
	}
	if b.f == nil {
		n := copy(want, b.mem[off:])
		if n < len(p) {
			return n, io.EOF
		}
		return n, nil
	}
	n := 0
	for n < len(want) {
		pos := off + int64(n)
		idx, in := pos/chunkSize, pos%chunkSize
		if err := b.load(idx); err != nil {
			b.err = err
			return n, err
		}
		n += copy(want[n:], b.cache[in:])
	}
	if n < len(p) {
		return n, io.EOF
	}
	return n, nil
}

// Reader returns a reader of the whole content written so far.
func (b *Buffer) Reader() *io.SectionReader { return io.NewSectionReader(b, 0, b.Size()) }

// Close releases the buffer's memory and scratch file. Reads and writes
// fail afterwards.
func (b *Buffer) Close() error {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.closed {
		return nil
	}
	b.closed = true
	clear(b.mem)
	b.mem = nil
	clear(b.cache)
	b.s.release(b.reserved)
	b.reserved = 0
	var err error
	if b.f != nil {
		err = b.f.Close()
		b.s.mu.Lock()
		b.s.disk -= int64(len(b.nonces)) * sealedChunkSize
		b.s.mu.Unlock()
		b.f = nil
	}
	b.s.mu.Lock()
	delete(b.s.bufs, b)
	b.s.mu.Unlock()
	return err
}
