package sealfs

import (
	"crypto/cipher"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sync"

	"github.com/syndtr/goleveldb/leveldb/storage"
)

// diskFile is what a writer needs of its file; tests wrap it to record
// the writes.
type diskFile interface {
	WriteAt(p []byte, off int64) (int, error)
	Sync() error
	Close() error
}

// writer appends to a sealed file. Full chunks are sealed and written as
// they fill; the partial last chunk stays in memory and reaches the disk in
// a final record at Sync or Close. A final record never overwrites the slot
// of the last durable one, and every chunk it covers is synced before it
// is, so after a crash the newer slot authenticates or the older one still
// holds the previous sync.
type writer struct {
	s       *Storage
	fd      storage.FileDesc
	path    string
	f       diskFile
	aead    cipher.AEAD
	hdr     [headerSize]byte
	tracked bool

	mu        sync.Mutex
	part      []byte // the partial last chunk, len < chunkSize
	full      uint64 // full chunks written
	length    uint64 // bytes written
	seq       uint64 // sequence number of the last final record
	committed uint64 // length the last final record covers
	durable   bool   // the last final record and its chunks are synced
	unsynced  bool   // chunks written since the last sync
	dirSynced bool
	closed    bool
	err       error // sticky write error
	scratch   []byte
}

func (s *Storage) newWriter(path string, fd storage.FileDesc) (*writer, error) {
	ft, ok := fileType(fd.Type)
	if !ok {
		return nil, storage.ErrInvalidFile
	}
	h := newHeader(ft, uint64(fd.Num))
	aead, err := s.fileAEAD(&h)
	if err != nil {
		return nil, err
	}
	w := &writer{
		s:    s,
		fd:   fd,
		path: path,
		aead: aead,
		hdr:  h.marshal(),
		part: make([]byte, 0, chunkSize),
	}
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, 0o600)
	if err != nil {
		return nil, err
	}
	w.f = f
	if s.wrapFile != nil {
		w.f = s.wrapFile(f)
	}
	// The header and an empty final record (sequence 0) in one write, so
	// that even a file never synced reads back as empty, not as damage.
	buf := append([]byte(nil), w.hdr[:]...)
	buf = w.appendFinal(buf, 0)
	if _, err := w.f.WriteAt(buf, 0); err != nil {
		w.f.Close()
		os.Remove(path)
		return nil, fmt.Errorf("sealfs: create %s: %w", fileName(fd), err)
	}
	return w, nil
}

// appendFinal appends the final record of sequence seq for the current
// length: length prefix, chunk index, then the sealed (seq, length, partial
// chunk).
func (w *writer) appendFinal(dst []byte, seq uint64) []byte {
	idx := w.length / chunkSize
	start := len(dst)
	dst = append(dst, 0, 0)
	dst = binary.BigEndian.AppendUint64(dst, idx)
	plain := make([]byte, 0, finalPlainMin+len(w.part))
	plain = binary.BigEndian.AppendUint64(plain, seq)
	plain = binary.BigEndian.AppendUint64(plain, w.length)
	plain = append(plain, w.part...)
	dst = seal(w.aead, dst, plain, aad(&w.hdr, idx, kindFinal+byte(seq%2)))
	binary.BigEndian.PutUint16(dst[start:], uint16(len(dst)-start-2))
	return dst
}

func (w *writer) check() error {
	if w.closed {
		return storage.ErrClosed
	}
	return w.err
}

// Write implements io.Writer.
func (w *writer) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if err := w.check(); err != nil {
		return 0, err
	}
	if w.full+uint64(len(p))/chunkSize+1 >= maxChunks {
		return 0, fmt.Errorf("sealfs: %s: file too large", fileName(w.fd))
	}
	n := len(p)
	first := w.full
	out := w.scratch[:0]
	for len(p) > 0 {
		c := min(chunkSize-len(w.part), len(p))
		w.part = append(w.part, p[:c]...)
		p = p[c:]
		if len(w.part) == chunkSize {
			out = seal(w.aead, out, w.part, aad(&w.hdr, w.full, kindChunk))
			w.full++
			w.part = w.part[:0]
		}
	}
	if len(out) > 0 {
		if _, err := w.f.WriteAt(out, int64(dataOffset+first*recordSize)); err != nil {
			w.err = fmt.Errorf("sealfs: write %s: %w", fileName(w.fd), err)
			return 0, w.err
		}
		w.unsynced = true
	}
	if cap(out) <= 1<<20 {
		w.scratch = out[:0]
	}
	w.length += uint64(n)
	return n, nil
}

// Sync implements storage.Syncer: when it returns, everything written so
// far reads back after a crash.
func (w *writer) Sync() error {
	w.mu.Lock()
	defer w.mu.Unlock()
	if err := w.check(); err != nil {
		return err
	}
	return w.commit()
}

func (w *writer) commit() error {
	if w.durable && w.committed == w.length {
		return nil
	}
	fail := func(err error) error {
		w.err = fmt.Errorf("sealfs: sync %s: %w", fileName(w.fd), err)
		return w.err
	}
	// Chunks first: the final record must never reach the disk before
	// the chunks it covers.
	if w.unsynced {
		if err := w.f.Sync(); err != nil {
			return fail(err)
		}
		w.unsynced = false
	}
	// The new record goes to the slot the last durable one is not in.
	seq := w.seq + 1
	rec := w.appendFinal(nil, seq)
	if _, err := w.f.WriteAt(rec, int64(headerSize+(seq%2)*slotSize)); err != nil {
		return fail(err)
	}
	if err := w.f.Sync(); err != nil {
		return fail(err)
	}
	if !w.dirSynced {
		if err := syncDir(filepath.Dir(w.path)); err != nil {
			return fail(err)
		}
		w.dirSynced = true
	}
	w.seq, w.committed, w.durable = seq, w.length, true
	return nil
}

// Close implements io.Closer. It syncs what Sync has not, so a closed file
// always reads back whole.
func (w *writer) Close() error {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.closed {
		return storage.ErrClosed
	}
	err := w.err
	if err == nil {
		err = w.commit()
	}
	w.closed = true
	if cerr := w.f.Close(); err == nil {
		err = cerr
	}
	if w.tracked {
		w.s.untrack(w)
	}
	return err
}

// reader reads a sealed file as of its last final record.
type reader struct {
	fd     storage.FileDesc
	ra     io.ReaderAt
	closer io.Closer
	aead   cipher.AEAD
	hdr    [headerSize]byte
	length int64
	full   int64
	tail   []byte

	posMu sync.Mutex
	pos   int64

	cacheMu  sync.Mutex
	cacheIdx int64
	cache    []byte    // plaintext of chunk cacheIdx, inside cacheBuf
	cacheBuf *batchBuf // owned by the cache until replaced
}

func (s *Storage) openReader(path string, fd storage.FileDesc) (*reader, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	st, err := f.Stat()
	if err != nil {
		f.Close()
		return nil, err
	}
	r, err := s.newReader(f, st.Size(), fd)
	if err != nil {
		f.Close()
		return nil, err
	}
	r.closer = f
	return r, nil
}

// newReader authenticates the header and final record of the sealed file
// of the given size that ra reads, as fd.
func (s *Storage) newReader(ra io.ReaderAt, size int64, fd storage.FileDesc) (*reader, error) {
	r := &reader{fd: fd, ra: ra, cacheIdx: -1}
	if size < initialSize {
		// Shorter than the header and empty record that creation writes
		// at once: a crash interrupted the creation. It holds nothing.
		return r, nil
	}
	head := make([]byte, min(size, dataOffset))
	if _, err := ra.ReadAt(head, 0); err != nil && !errors.Is(err, io.EOF) {
		return nil, err
	}
	h, err := parseHeader(head)
	if err != nil {
		return nil, integrity(fd, "%s", err)
	}
	ft, _ := fileType(fd.Type)
	if h.ftype != ft || h.num != uint64(fd.Num) {
		return nil, integrity(fd, "header names file type %d number %d: renamed or swapped", h.ftype, h.num)
	}
	r.hdr = h.marshal()
	if r.aead, err = s.fileAEAD(&h); err != nil {
		return nil, err
	}

	found := false
	var best uint64
	for slot := range 2 {
		seq, length, tail, ok := r.parseFinal(head, slot)
		if ok && (!found || seq > best) {
			found, best = true, seq
			r.length, r.tail = int64(length), tail
		}
	}
	if !found {
		return nil, integrity(fd, "no final record authenticates")
	}
	r.full = r.length / chunkSize
	if need := dataOffset + r.full*recordSize; r.full > 0 && size < need {
		return nil, integrity(fd, "truncated: %d bytes of the %d its final record covers", size, need)
	}
	return r, nil
}

// parseFinal authenticates the final record in slot.
func (r *reader) parseFinal(head []byte, slot int) (seq, length uint64, tail []byte, ok bool) {
	off := headerSize + slot*slotSize
	if len(head) < off+finalPrefix {
		return 0, 0, nil, false
	}
	n := int(binary.BigEndian.Uint16(head[off:]))
	if n < 8+nonceSize+finalPlainMin+tagSize || n > finalMaxLen || len(head) < off+2+n {
		return 0, 0, nil, false
	}
	idx := binary.BigEndian.Uint64(head[off+2:])
	rec := append([]byte(nil), head[off+finalPrefix:off+2+n]...)
	plain, ok := open(r.aead, rec, aad(&r.hdr, idx, kindFinal+byte(slot)))
	if !ok {
		return 0, 0, nil, false
	}
	seq = binary.BigEndian.Uint64(plain[0:8])
	length = binary.BigEndian.Uint64(plain[8:16])
	tail = plain[16:]
	if seq%2 != uint64(slot) || length/chunkSize != idx || uint64(len(tail)) != length%chunkSize || idx >= maxChunks {
		return 0, 0, nil, false
	}
	return seq, length, tail, true
}

// ReadAt implements io.ReaderAt. It may be called concurrently. The
// chunks a call needs are read with one system call and each is
// authenticated before any of its bytes are used.
func (r *reader) ReadAt(p []byte, off int64) (int, error) {
	if off < 0 {
		return 0, errors.New("sealfs: negative offset")
	}
	n := 0
	for n < len(p) && off < r.length {
		idx, in := off/chunkSize, int(off%chunkSize)
		if idx >= r.full {
			c := copy(p[n:], r.tail[in:])
			n += c
			off += int64(c)
			continue
		}
		if c, ok := r.cached(idx, p[n:], in); ok {
			n += c
			off += int64(c)
			continue
		}
		// The full chunks from idx that p still needs, in one read.
		want := int64(in + len(p) - n)
		count := min((want+chunkSize-1)/chunkSize, r.full-idx, maxBatch)
		c, err := r.readChunks(idx, count, p[n:], in)
		n += c
		off += int64(c)
		if err != nil {
			return n, err
		}
	}
	if n < len(p) {
		return n, io.EOF
	}
	return n, nil
}

// maxBatch bounds the chunks one read system call fetches.
const maxBatch = 16

type batchBuf [maxBatch * recordSize]byte

var batchPool = sync.Pool{New: func() any { return new(batchBuf) }}

func (r *reader) cached(idx int64, dst []byte, in int) (int, bool) {
	r.cacheMu.Lock()
	defer r.cacheMu.Unlock()
	if r.cacheIdx != idx {
		return 0, false
	}
	return copy(dst, r.cache[in:]), true
}

// readChunks reads, authenticates and copies count chunks from idx,
// starting in bytes into the first, to dst.
func (r *reader) readChunks(idx, count int64, dst []byte, in int) (int, error) {
	buf := batchPool.Get().(*batchBuf)
	keep := false
	defer func() {
		if !keep {
			batchPool.Put(buf)
		}
	}()
	raw := buf[:count*recordSize]
	if k, err := r.ra.ReadAt(raw, dataOffset+idx*recordSize); err != nil {
		if !errors.Is(err, io.EOF) {
			return 0, err
		}
		missing := idx + int64(k)/recordSize
		return 0, integrity(r.fd, "chunk %d is missing", missing)
	}
	var ad [headerSize + 9]byte
	copy(ad[:], r.hdr[:])
	n := 0
	for i := range count {
		binary.BigEndian.PutUint64(ad[headerSize:], uint64(idx+i))
		ad[headerSize+8] = kindChunk
		rec := raw[i*recordSize : (i+1)*recordSize]
		plain, ok := open(r.aead, rec, ad[:])
		if !ok || len(plain) != chunkSize {
			return n, integrity(r.fd, "chunk %d does not authenticate", idx+i)
		}
		c := copy(dst[n:], plain[in:])
		n += c
		if in+c < chunkSize {
			// Only part of this chunk was wanted, so it is the last: keep
			// it (the buffer, not a copy) for the next read, which often
			// wants the rest.
			r.cacheMu.Lock()
			if r.cacheBuf != nil {
				batchPool.Put(r.cacheBuf)
			}
			r.cacheBuf, r.cache, r.cacheIdx = buf, plain, idx+i
			r.cacheMu.Unlock()
			keep = true
		}
		in = 0
	}
	return n, nil
}

// Read implements io.Reader.
func (r *reader) Read(p []byte) (int, error) {
	r.posMu.Lock()
	defer r.posMu.Unlock()
	if r.pos >= r.length {
		return 0, io.EOF
	}
	if rem := r.length - r.pos; int64(len(p)) > rem {
		p = p[:rem]
	}
	n, err := r.ReadAt(p, r.pos)
	r.pos += int64(n)
	if err == io.EOF && n > 0 {
		err = nil
	}
	return n, err
}

// Seek implements io.Seeker.
func (r *reader) Seek(offset int64, whence int) (int64, error) {
	r.posMu.Lock()
	defer r.posMu.Unlock()
	var abs int64
	switch whence {
	case io.SeekStart:
		abs = offset
	case io.SeekCurrent:
		abs = r.pos + offset
	case io.SeekEnd:
		abs = r.length + offset
	default:
		return 0, errors.New("sealfs: invalid whence")
	}
	if abs < 0 {
		return 0, errors.New("sealfs: negative position")
	}
	r.pos = abs
	return abs, nil
}

// Close implements io.Closer.
func (r *reader) Close() error {
	if r.closer == nil {
		return nil
	}
	return r.closer.Close()
}

func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	err = d.Sync()
	if cerr := d.Close(); err == nil {
		err = cerr
	}
	return err
}
