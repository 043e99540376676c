package filecrypto

import (
	"fmt"
	"io"
	"runtime"
	"sync/atomic"
	"time"
)

// gcmFileAAD is the length of the additional data of aes-gcm files: 8 zero
// bytes (§15.1), not empty.
const gcmFileAAD = 8

// gcmReader decrypts an aes-gcm file (ciphertext ‖ tag) chunk by chunk. It
// holds back each chunk until it is decrypted and the last chunk until the
// tag has been checked; see the package documentation for what that means
// for files larger than one chunk.
//
// With two or more processors, a chunk of at least gcmParallelMin bytes is
// read into a second buffer, ct, and the GHASH of its ciphertext is shared
// with a helper goroutine (gcmHelper), which starts on it while the calling
// goroutine decrypts the chunk with AES-CTR. The chunk is released, and the
// tag checked, only once both passes are over, so what a Read returns and
// when are the same either way.
type gcmReader struct {
	src      io.ReaderAt
	ctLen    int64
	fileTag  Tag
	s        *gcmStream
	off      int64 // next ciphertext offset
	buf      []byte
	r, w     int    // buf[r:w] is plaintext not yet returned
	parallel bool   // share GHASH with the helper
	ct       []byte // ciphertext of the chunk, when parallel
	helper   gcmHelper
	done     bool
	err      error
}

// gcmParallelMin is the smallest chunk whose GHASH is worth handing to the
// helper.
const gcmParallelMin = 16 << 10

func openGCM(src io.ReaderAt, size int64, info CryptoInfo, aadLen uint64, expected *Tag) (*gcmReader, error) {
	if size < TagSize {
		return nil, fmt.Errorf("%w: an %s file is at least its %d-byte tag, got %d bytes", ErrMalformed, info.Schema, TagSize, size)
	}
	ctLen := size - TagSize
	if ctLen > MaxAESGCMSize {
		return nil, fmt.Errorf("%w: %s plaintext is limited to %d bytes", ErrTooLarge, info.Schema, int64(MaxAESGCMSize))
	}
	r := &gcmReader{src: src, ctLen: ctLen}
	if err := readFullAt(src, r.fileTag[:], ctLen); err != nil {
		return nil, err
	}
	if expected != nil && !r.fileTag.Equal(*expected) {
		return nil, fmt.Errorf("%w (%s tag)", ErrTagMismatch, info.Schema)
	}
	s, err := newGCMStream(info.Key, info.IV, aadLen, false)
	if err != nil {
		return nil, err
	}
	r.s = s
	r.buf = make([]byte, min(int64(gcmChunkSize), ctLen))
	r.parallel = ctLen >= gcmParallelMin && runtime.GOMAXPROCS(0) > 1
	return r, nil
}

func (r *gcmReader) Read(p []byte) (int, error) {
	for {
		if r.err != nil {
			return 0, r.err
		}
		if r.r < r.w {
			n := copy(p, r.buf[r.r:r.w])
			r.r += n
			return n, nil
		}
		if r.done {
			return 0, io.EOF
		}
		if len(p) == 0 {
			return 0, nil
		}
		n := int(min(int64(len(r.buf)), r.ctLen-r.off))
		if len(p) >= n {
			// The whole chunk fits: decrypt it into p, saving a copy. On
			// failure p is cleared and nothing is returned.
			if err := r.decryptChunk(p[:n]); err != nil {
				r.err = err
				return 0, err
			}
			return n, nil
		}
		if err := r.decryptChunk(r.buf[:n]); err != nil {
			r.err = err
			return 0, err
		}
		r.r, r.w = 0, n
	}
}

// decryptChunk decrypts the next len(dst) bytes of ciphertext into dst,
// checking the tag after the last chunk. A small chunk, or any chunk on a
// single processor, is read into dst and decrypted in place; otherwise the
// ciphertext is read into r.ct, and its GHASH runs on the helper while
// AES-CTR decrypts it into dst. Either way both passes are over when
// decryptChunk returns.
func (r *gcmReader) decryptChunk(dst []byte) error {
	if !r.parallel || len(dst) < gcmParallelMin {
		if err := readFullAt(r.src, dst, r.off); err != nil {
			return err
		}
		r.s.openChunk(dst)
	} else {
		if r.ct == nil {
			r.ct = make([]byte, len(r.buf))
		}
		ct := r.ct[:len(dst)]
		if err := readFullAt(r.src, ct, r.off); err != nil {
			return err
		}
		// The helper hashes pieces from the front while AES-CTR runs here,
		// then this goroutine hashes them from the back, so that the two
		// share the work whichever pass is faster on this machine.
		j := &gcmJob{s: r.s, ct: ct, done: make(chan struct{})}
		j.pieces = uint32((len(ct) + gcmPieceSize - 1) / gcmPieceSize)
		r.helper.submit(j)
		r.s.ctr.XORKeyStream(dst, ct)
		for {
			i, ok := j.claim(false)
			if !ok {
				break
			}
			j.hash(i)
		}
		j.wait()
		r.s.combine(r.s.joinPieces(j.hg[:j.pieces], len(ct)), len(ct))
	}
	r.off += int64(len(dst))
	if r.off == r.ctLen {
		if t := r.s.tag(); !t.Equal(r.fileTag) {
			clear(dst)
			return fmt.Errorf("%w: aes-gcm tag does not verify", ErrAuthentication)
		}
		r.done = true
	}
	return nil
}

// gcmJob is the GHASH of one chunk, shared by the reader and its helper in
// pieces of gcmPieceSize bytes: the helper claims them from the front, the
// reader from the back.
type gcmJob struct {
	s      *gcmStream
	ct     []byte
	pieces uint32
	hg     [gcmChunkSize / gcmPieceSize]gfElement
	claims atomic.Uint64 // pieces claimed from the front (low half) and back
	hashed atomic.Uint32 // pieces from the front that the helper has hashed
	done   chan struct{} // closed when the helper stops working on the job
}

// claim claims the next piece from the front or the back, if any is left.
func (j *gcmJob) claim(front bool) (uint32, bool) {
	for {
		c := j.claims.Load()
		f, b := uint32(c), uint32(c>>32)
		if f+b >= j.pieces {
			return 0, false
		}
		next, i := c+1<<32, j.pieces-1-b
		if front {
			next, i = c+1, f
		}
		if j.claims.CompareAndSwap(c, next) {
			return i, true
		}
	}
}

// hash computes the GHASH of piece i.
func (j *gcmJob) hash(i uint32) {
	lo := int(i) * gcmPieceSize
	j.hg[i] = j.s.chunkGHASH(j.ct[lo:min(lo+gcmPieceSize, len(j.ct))])
}

// help is the helper's share of the job.
func (j *gcmJob) help() {
	defer close(j.done)
	for {
		i, ok := j.claim(true)
		if !ok {
			return
		}
		j.hash(i)
		j.hashed.Add(1)
	}
}

// wait returns once every piece is claimed and the pieces that the helper
// claimed are hashed. Only the reader calls it, after claiming the rest.
func (j *gcmJob) wait() {
	front := uint32(j.claims.Load())
	if j.hashed.Load() == front {
		return
	}
	// The helper is hashing its last piece and normally finishes within
	// microseconds, sooner than a parked goroutine would be woken, so poll
	// for a while before blocking (the helper's thread may have been
	// descheduled by a loaded machine).
	for start := time.Now(); time.Since(start) < gcmSpinWait; {
		if j.hashed.Load() == front {
			return
		}
		runtime.Gosched()
	}
	<-j.done
}

// gcmSpinWait is how long a reader polls for its helper's last piece before
// blocking: many times what a piece's GHASH takes.
const gcmSpinWait = 50 * time.Microsecond

// gcmHelper runs a reader's offered GHASH jobs on a goroutine of its own.
// Waking a parked goroutine on an idle processor takes tens of microseconds
// on a virtual machine, longer than a chunk's GHASH, so between the jobs of a
// run of Reads the goroutine keeps polling (yielding its processor) rather
// than parking, and exits once it has seen no job for gcmHelperLinger. It
// never blocks, so a reader that is abandoned or fails mid-file leaves no
// goroutine behind for longer than that.
type gcmHelper struct {
	job     atomic.Pointer[gcmJob]
	running atomic.Bool
}

// gcmHelperLinger is how long a helper polls for the next job.
const gcmHelperLinger = 100 * time.Microsecond

// submit offers j to the helper, starting one if none is running.
func (h *gcmHelper) submit(j *gcmJob) {
	h.job.Store(j)
	if h.running.CompareAndSwap(false, true) {
		go h.loop()
	}
}

func (h *gcmHelper) loop() {
	last := time.Now()
	for {
		if j := h.job.Swap(nil); j != nil {
			j.help()
			last = time.Now()
			continue
		}
		if time.Since(last) < gcmHelperLinger {
			runtime.Gosched()
			continue
		}
		h.running.Store(false)
		// A job offered just before running was cleared started no
		// helper: keep going for it, unless a new helper has started.
		if h.job.Load() == nil || !h.running.CompareAndSwap(false, true) {
			return
		}
	}
}

// gcmWriter encrypts into ciphertext ‖ tag, a chunk at a time.
type gcmWriter struct {
	dst   io.Writer
	s     *gcmStream
	buf   []byte
	n     int
	total uint64
}

func newGCMWriter(dst io.Writer, info CryptoInfo) (*gcmWriter, error) {
	s, err := newGCMStream(info.Key, info.IV, gcmFileAAD, true)
	if err != nil {
		return nil, err
	}
	// buf has room for the tag sealChunk appends.
	return &gcmWriter{dst: dst, s: s, buf: make([]byte, gcmChunkSize, gcmChunkSize+TagSize)}, nil
}

func (w *gcmWriter) write(p []byte) (int, error) {
	if uint64(len(p)) > MaxAESGCMSize-w.total {
		return 0, fmt.Errorf("%w: aes-gcm plaintext is limited to %d bytes", ErrTooLarge, int64(MaxAESGCMSize))
	}
	written := 0
	for written < len(p) {
		if w.n == 0 && len(p)-written >= len(w.buf) {
			// A whole chunk: encrypt straight from p, saving a copy.
			chunk := w.s.sealChunk(w.buf[:0], p[written:written+len(w.buf)])
			written += len(chunk)
			w.total += uint64(len(chunk))
			if err := writeAll(w.dst, chunk); err != nil {
				return written, err
			}
			continue
		}
		c := copy(w.buf[w.n:], p[written:])
		w.n += c
		written += c
		w.total += uint64(c)
		if w.n == len(w.buf) {
			if err := w.flush(); err != nil {
				return written, err
			}
		}
	}
	return written, nil
}

func (w *gcmWriter) flush() error {
	chunk := w.s.sealChunk(w.buf[:0], w.buf[:w.n])
	w.n = 0
	return writeAll(w.dst, chunk)
}

func (w *gcmWriter) close() (Tag, error) {
	if w.n > 0 {
		if err := w.flush(); err != nil {
			return Tag{}, err
		}
	}
	t := w.s.tag()
	if err := writeAll(w.dst, t[:]); err != nil {
		return Tag{}, err
	}
	return t, nil
}

func writeAll(w io.Writer, b []byte) error {
	n, err := w.Write(b)
	if err == nil && n != len(b) {
		err = io.ErrShortWrite
	}
	if err != nil {
		return fmt.Errorf("filecrypto: writing: %w", err)
	}
	return nil
}
