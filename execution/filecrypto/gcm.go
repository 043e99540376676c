package filecrypto

import (
	"fmt"
	"io"
)

// gcmFileAAD is the length of the additional data of aes-gcm files: 8 zero
// bytes (§15.1), not empty.
const gcmFileAAD = 8

// gcmReader decrypts an aes-gcm file (ciphertext ‖ tag) chunk by chunk. It
// holds back each chunk until it is decrypted and the last chunk until the
// tag has been checked; see the package documentation for what that means
// for files larger than one chunk.
type gcmReader struct {
	src     io.ReaderAt
	ctLen   int64
	fileTag Tag
	s       *gcmStream
	off     int64 // next ciphertext offset
	buf     []byte
	r, w    int // buf[r:w] is plaintext not yet returned
	done    bool
	err     error
}

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
			// The whole chunk fits: decrypt it in p, saving a copy. On
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

// decryptChunk reads the next len(chunk) bytes of ciphertext into chunk and
// decrypts them in place, checking the tag after the last chunk.
func (r *gcmReader) decryptChunk(chunk []byte) error {
	if err := readFullAt(r.src, chunk, r.off); err != nil {
		return err
	}
	r.s.openChunk(chunk)
	r.off += int64(len(chunk))
	if r.off == r.ctLen {
		if t := r.s.tag(); !t.Equal(r.fileTag) {
			clear(chunk)
			return fmt.Errorf("%w: aes-gcm tag does not verify", ErrAuthentication)
		}
		r.done = true
	}
	return nil
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
