package filecrypto

import (
	"bytes"
	"crypto/sha256"
	"fmt"
	"io"
	"sync"
)

// ReaderOptions are what a reader needs beyond the file and its crypto info.
type ReaderOptions struct {
	// Name is the basename the file is stored under (for a downloaded file,
	// the last segment of its URL's path). A teaclave-file-128 file must
	// have been created under this name (ErrNameMismatch otherwise);
	// required for that schema, ignored by the others.
	Name string

	// ExpectedTag, if set, is the cmac registered for the file; a file with
	// another cmac is refused before any decryption (ErrTagMismatch). Raw
	// files have no cmac, so setting it for raw is an error (ErrNoTag).
	ExpectedTag *Tag

	// Recovery, if set, is the "<Name>_recovery" file found beside a
	// teaclave-file-128 file, of RecoverySize bytes. It is used only when
	// the file's update flag says Teaclave's SDK was interrupted while
	// rewriting it; such a file without its recovery file is refused
	// (ErrRecoveryNeeded). Ignored by the other schemas.
	Recovery     io.ReaderAt
	RecoverySize int64
}

// Reader is the plaintext of an encrypted file; see the package
// documentation for when its bytes can be trusted.
type Reader struct {
	r      io.Reader
	size   int64
	tag    Tag
	hasTag bool
}

// NewReader returns a reader of the plaintext of the file src, of size bytes,
// encrypted as info says. It checks the file's structure, its cmac against
// opts.ExpectedTag and, for teaclave-file-128, the key, the embedded name and
// the recovery state before returning. Readers accept files of up to
// MaxAESGCMSize (aes-gcm) or MaxTeaclaveFileSize (teaclave-file-128) bytes of
// plaintext, and their memory never depends on what a file says: 128 KiB for
// aes-gcm (two 64 KiB chunk buffers), a few nodes for teaclave-file-128 (plus
// an index of at most 65,536 records for a recovery file).
func NewReader(src io.ReaderAt, size int64, info CryptoInfo, opts ReaderOptions) (*Reader, error) {
	if err := info.Validate(); err != nil {
		return nil, err
	}
	if size < 0 {
		return nil, fmt.Errorf("%w: negative file size", ErrInvalidOptions)
	}
	switch info.Schema {
	case SchemaAESGCM128, SchemaAESGCM256:
		g, err := openGCM(src, size, info, gcmFileAAD, opts.ExpectedTag)
		if err != nil {
			return nil, err
		}
		return &Reader{r: g, size: g.ctLen, tag: g.fileTag, hasTag: true}, nil
	case SchemaTeaclaveFile128:
		p, err := openPFS(src, size, info.Key, opts)
		if err != nil {
			return nil, err
		}
		return &Reader{r: p, size: int64(p.size), tag: p.tag, hasTag: true}, nil
	default: // raw
		if opts.ExpectedTag != nil {
			return nil, fmt.Errorf("%w: cannot check the expected cmac", ErrNoTag)
		}
		return &Reader{r: io.NewSectionReader(src, 0, size), size: size}, nil
	}
}

// Read reads plaintext. Errors are sticky: after one, every Read returns it.
func (r *Reader) Read(p []byte) (int, error) { return r.r.Read(p) }

// Size returns the plaintext length.
func (r *Reader) Size() int64 { return r.size }

// Tag returns the file's cmac, as stored in the file, and false for raw
// files. For teaclave-file-128 it is authenticated once NewReader returns;
// for aes-gcm only once Read has returned io.EOF.
func (r *Reader) Tag() (Tag, bool) { return r.tag, r.hasTag }

// WriterOptions are what a writer needs beyond the destination and the
// crypto info.
type WriterOptions struct {
	// Name is the basename the file will be stored under, embedded in a
	// teaclave-file-128 file (readers refuse it under any other name).
	// Required for that schema, ignored by the others.
	Name string

	// ClaimNonce guards aes-gcm writers against nonce reuse, which would
	// expose plaintext and the authentication key. It is called once with
	// the key and IV before anything is written, and must atomically record
	// the pair and return an error (wrapping ErrNonceReused) if it was
	// recorded before; any error refuses the writer. Required for aes-gcm;
	// a caller that just drew the IV at random may pass a function that
	// returns nil. See NonceSet.
	ClaimNonce func(key, iv []byte) error
}

// Writer encrypts a stream into a new file. Close completes the file; the
// file's cmac is then available from Tag. Close does not close the
// destination.
type Writer struct {
	impl interface {
		write(p []byte) (int, error)
		close() (Tag, error)
	}
	tag    Tag
	closed bool
	err    error
}

// NewWriter returns a writer of a new file encrypted as info says, into dst,
// which must be empty. teaclave-file-128 writes nodes out of order, so for
// that schema dst must also implement io.WriterAt (an *os.File does); the
// file gets a fresh random key_id and node keys, so its cmac is new at every
// write. aes-gcm writers need opts.ClaimNonce. Raw is an input-only schema
// (§4.4) and is refused.
func NewWriter(dst io.Writer, info CryptoInfo, opts WriterOptions) (*Writer, error) {
	if err := info.Validate(); err != nil {
		return nil, err
	}
	switch info.Schema {
	case SchemaAESGCM128, SchemaAESGCM256:
		if opts.ClaimNonce == nil {
			return nil, fmt.Errorf("%w: aes-gcm writers need a ClaimNonce check", ErrInvalidOptions)
		}
		if err := opts.ClaimNonce(bytes.Clone(info.Key), bytes.Clone(info.IV)); err != nil {
			return nil, fmt.Errorf("filecrypto: aes-gcm key and iv refused: %w", err)
		}
		g, err := newGCMWriter(dst, info)
		if err != nil {
			return nil, err
		}
		return &Writer{impl: g}, nil
	case SchemaTeaclaveFile128:
		wa, ok := dst.(io.WriterAt)
		if !ok {
			return nil, fmt.Errorf("%w: teaclave-file-128 needs a destination that implements io.WriterAt", ErrInvalidOptions)
		}
		p, err := newPFSWriter(wa, info.Key, opts.Name)
		if err != nil {
			return nil, err
		}
		return &Writer{impl: p}, nil
	default: // raw
		return nil, fmt.Errorf("%w: raw is an input-only schema; nothing to encrypt", ErrInvalidOptions)
	}
}

// Write encrypts p. Errors are sticky.
func (w *Writer) Write(p []byte) (int, error) {
	if w.closed {
		return 0, ErrClosed
	}
	if w.err != nil {
		return 0, w.err
	}
	n, err := w.impl.write(p)
	if err != nil {
		w.err = err
	}
	return n, err
}

// Close completes the file. Calling it again returns the first result.
func (w *Writer) Close() error {
	if w.closed {
		return w.err
	}
	w.closed = true
	if w.err != nil {
		return w.err
	}
	w.tag, w.err = w.impl.close()
	return w.err
}

// Tag returns the new file's cmac after a successful Close.
func (w *Writer) Tag() (Tag, error) {
	if !w.closed || w.err != nil {
		return Tag{}, ErrNotClosed
	}
	return w.tag, nil
}

// NonceSet is an in-memory ClaimNonce for one process: it remembers a
// SHA-256 digest of every (key, iv) pair it is asked to claim (not the key).
// Services that outlive a process persist claims instead (execution records
// them in storage). The zero value is ready to use.
type NonceSet struct {
	mu   sync.Mutex
	seen map[[sha256.Size]byte]struct{}
}

// Claim records (key, iv) and returns an error wrapping ErrNonceReused if it
// was recorded before.
func (s *NonceSet) Claim(key, iv []byte) error {
	h := sha256.New()
	h.Write([]byte{byte(len(key))})
	h.Write(key)
	h.Write(iv)
	var d [sha256.Size]byte
	h.Sum(d[:0])

	s.mu.Lock()
	defer s.mu.Unlock()
	if _, ok := s.seen[d]; ok {
		return ErrNonceReused
	}
	if s.seen == nil {
		s.seen = make(map[[sha256.Size]byte]struct{})
	}
	s.seen[d] = struct{}{}
	return nil
}
