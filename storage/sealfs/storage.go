package sealfs

import (
	"crypto/cipher"
	"crypto/rand"
	"crypto/subtle"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"sync"

	"github.com/syndtr/goleveldb/leveldb/storage"
)

// Names of the files sealfs keeps beside goleveldb's.
const (
	identityName = "SEALFS"
	currentName  = "CURRENT"
	lockName     = "LOCK"
	tmpSuffix    = ".sealing"
)

// Options tune a Storage. The zero value is the default.
type Options struct {
	// Log receives goleveldb's log lines. They can include fragments of
	// keys, so route them only to a sink inside the trust boundary. Nil
	// discards them.
	Log func(string)
}

// Storage is goleveldb's storage.Storage over a folder of sealed files. It
// is safe for concurrent use.
type Storage struct {
	dir  string
	log  func(string)
	dbID [dbIDSize]byte

	// keyMu guards key, which Close clears.
	keyMu   sync.RWMutex
	key     [keySize]byte
	keyGone bool

	mu      sync.Mutex
	closed  bool
	locked  bool
	flock   *os.File
	writers map[storage.FileDesc]*writer

	// wrapFile, when set (by tests), wraps every file a writer opens.
	wrapFile func(*os.File) diskFile
}

var _ storage.Storage = (*Storage)(nil)

// Open opens the sealed storage in dir, creating dir and a new database
// identity if dir is empty, and locks it against other processes. key is
// the 32-byte storage key; Open keeps a copy and the caller may clear its
// own. A key that does not open the folder's identity file fails with an
// error wrapping ErrWrongKey; a folder that holds files but no identity
// file (an unsealed database, or a deleted identity) is refused.
func Open(dir string, key []byte, o *Options) (*Storage, error) {
	if len(key) != keySize {
		return nil, fmt.Errorf("sealfs: storage key is %d bytes, want %d", len(key), keySize)
	}
	var zero [keySize]byte
	if subtle.ConstantTimeCompare(key, zero[:]) == 1 {
		// EGo returns an all-zero seal key outside an enclave.
		return nil, errors.New("sealfs: refusing an all-zero storage key")
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("sealfs: %w", err)
	}
	s := &Storage{dir: dir, writers: make(map[storage.FileDesc]*writer)}
	if o != nil {
		s.log = o.Log
	}
	copy(s.key[:], key)
	fl, err := lockFile(filepath.Join(dir, lockName))
	if err != nil {
		return nil, fmt.Errorf("sealfs: lock %s: %w", dir, err)
	}
	s.flock = fl
	if err := s.openIdentity(); err != nil {
		s.release()
		return nil, err
	}
	s.removeTemps()
	return s, nil
}

func (s *Storage) release() {
	if s.flock != nil {
		unlockFile(s.flock)
		s.flock = nil
	}
	s.keyMu.Lock()
	clear(s.key[:])
	s.keyGone = true
	s.keyMu.Unlock()
}

// fileAEAD returns the AEAD of the file with header h, or ErrClosed once
// Close has cleared the key.
func (s *Storage) fileAEAD(h *header) (cipher.AEAD, error) {
	s.keyMu.RLock()
	defer s.keyMu.RUnlock()
	if s.keyGone {
		return nil, storage.ErrClosed
	}
	return fileKey(s.key[:], s.dbID, h), nil
}

func (s *Storage) path(name string) string { return filepath.Join(s.dir, name) }

// openIdentity reads the identity file, or creates one in an empty folder.
func (s *Storage) openIdentity() error {
	b, err := os.ReadFile(s.path(identityName))
	if errors.Is(err, os.ErrNotExist) {
		return s.createIdentity()
	}
	if err != nil {
		return fmt.Errorf("sealfs: read identity: %w", err)
	}
	h, err := parseHeader(b)
	if err != nil {
		return fmt.Errorf("sealfs: identity file %s: %s", s.path(identityName), err)
	}
	if h.ftype != typeIdentity || h.num != 0 {
		return fmt.Errorf("sealfs: identity file %s: %w: header names another file", s.path(identityName), ErrIntegrity)
	}
	hdr := h.marshal()
	plain, ok := open(identityKey(s.key[:], &h), b[headerSize:], hdr[:])
	if !ok || len(plain) != dbIDSize {
		return fmt.Errorf("%w in %s: wrong key, or the identity file %s was modified", ErrWrongKey, s.dir, identityName)
	}
	copy(s.dbID[:], plain)
	return nil
}

func (s *Storage) createIdentity() error {
	names, err := s.dirNames()
	if err != nil {
		return err
	}
	for _, n := range names {
		if n != lockName && !strings.HasSuffix(n, tmpSuffix) {
			return fmt.Errorf("sealfs: %s holds %s but no identity file: not a sealed database, or its identity was deleted", s.dir, n)
		}
	}
	rand.Read(s.dbID[:])
	h := newHeader(typeIdentity, 0)
	hdr := h.marshal()
	rec := seal(identityKey(s.key[:], &h), hdr[:], s.dbID[:], hdr[:])
	return s.writeSmallFile(identityName, rec)
}

// writeSmallFile replaces name atomically and durably: write a temporary
// file, sync it, rename it over name, sync the folder.
func (s *Storage) writeSmallFile(name string, data []byte) error {
	tmp := s.path(name + tmpSuffix)
	f, err := os.OpenFile(tmp, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, 0o600)
	if err != nil {
		return fmt.Errorf("sealfs: %w", err)
	}
	_, err = f.Write(data)
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(tmp, s.path(name))
	}
	if err == nil {
		err = syncDir(s.dir)
	}
	if err != nil {
		os.Remove(tmp)
		return fmt.Errorf("sealfs: write %s: %w", name, err)
	}
	return nil
}

func (s *Storage) dirNames() ([]string, error) {
	d, err := os.Open(s.dir)
	if err != nil {
		return nil, fmt.Errorf("sealfs: %w", err)
	}
	defer d.Close()
	names, err := d.Readdirnames(-1)
	if err != nil {
		return nil, fmt.Errorf("sealfs: %w", err)
	}
	return names, nil
}

// removeTemps deletes temporaries an interrupted write left behind.
func (s *Storage) removeTemps() {
	names, err := s.dirNames()
	if err != nil {
		return
	}
	for _, n := range names {
		if strings.HasSuffix(n, tmpSuffix) {
			os.Remove(s.path(n))
		}
	}
}

type storageLock struct {
	s    *Storage
	once sync.Once
}

func (l *storageLock) Unlock() {
	l.once.Do(func() {
		l.s.mu.Lock()
		l.s.locked = false
		l.s.mu.Unlock()
	})
}

// Lock implements storage.Storage: one holder at a time in this process;
// Open holds the lock against other processes.
func (s *Storage) Lock() (storage.Locker, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return nil, storage.ErrClosed
	}
	if s.locked {
		return nil, storage.ErrLocked
	}
	s.locked = true
	return &storageLock{s: s}, nil
}

// Log implements storage.Storage.
func (s *Storage) Log(str string) {
	if s.log != nil {
		s.log(str)
	}
}

// SetMeta implements storage.Storage: it makes fd's contents durable, then
// replaces CURRENT with one authenticated record naming fd. There is no
// backup copy and GetMeta never falls back to an older one.
func (s *Storage) SetMeta(fd storage.FileDesc) error {
	if !storage.FileDescOk(fd) {
		return storage.ErrInvalidFile
	}
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return storage.ErrClosed
	}
	w := s.writers[fd]
	s.mu.Unlock()
	// goleveldb names a new manifest in CURRENT without syncing it first.
	if w != nil {
		if err := w.Sync(); err != nil {
			return err
		}
	}
	ft, _ := fileType(fd.Type)
	h := newHeader(typeCurrent, 0)
	hdr := h.marshal()
	var plain [9]byte
	plain[0] = ft
	binary.BigEndian.PutUint64(plain[1:], uint64(fd.Num))
	aead, err := s.fileAEAD(&h)
	if err != nil {
		return err
	}
	rec := seal(aead, hdr[:], plain[:], hdr[:])
	return s.writeSmallFile(currentName, rec)
}

// GetMeta implements storage.Storage. It returns os.ErrNotExist only when
// there is no CURRENT; a CURRENT that fails authentication or names a
// missing file is an integrity error.
func (s *Storage) GetMeta() (storage.FileDesc, error) {
	s.mu.Lock()
	closed := s.closed
	s.mu.Unlock()
	if closed {
		return storage.FileDesc{}, storage.ErrClosed
	}
	var meta storage.FileDesc // CURRENT is no goleveldb file
	b, err := os.ReadFile(s.path(currentName))
	if errors.Is(err, os.ErrNotExist) {
		return storage.FileDesc{}, os.ErrNotExist
	}
	if err != nil {
		return storage.FileDesc{}, err
	}
	h, err := parseHeader(b)
	if err != nil {
		return storage.FileDesc{}, &storage.ErrCorrupted{Fd: meta, Err: fmt.Errorf("%w: CURRENT: %s", ErrIntegrity, err)}
	}
	if h.ftype != typeCurrent || h.num != 0 {
		return storage.FileDesc{}, &storage.ErrCorrupted{Fd: meta, Err: fmt.Errorf("%w: CURRENT: header names another file", ErrIntegrity)}
	}
	hdr := h.marshal()
	aead, err := s.fileAEAD(&h)
	if err != nil {
		return storage.FileDesc{}, err
	}
	plain, ok := open(aead, b[headerSize:], hdr[:])
	if !ok || len(plain) != 9 {
		return storage.FileDesc{}, &storage.ErrCorrupted{Fd: meta, Err: fmt.Errorf("%w: CURRENT does not authenticate", ErrIntegrity)}
	}
	fd := storage.FileDesc{Num: int64(binary.BigEndian.Uint64(plain[1:]))}
	switch plain[0] {
	case typeManifest:
		fd.Type = storage.TypeManifest
	default:
		return storage.FileDesc{}, &storage.ErrCorrupted{Fd: meta, Err: fmt.Errorf("%w: CURRENT names a file of type %d", ErrIntegrity, plain[0])}
	}
	if fd.Num < 0 {
		return storage.FileDesc{}, &storage.ErrCorrupted{Fd: meta, Err: fmt.Errorf("%w: CURRENT names a negative file number", ErrIntegrity)}
	}
	if _, err := os.Stat(s.path(fileName(fd))); err != nil {
		if errors.Is(err, os.ErrNotExist) {
			return storage.FileDesc{}, integrity(fd, "CURRENT names it but it is missing")
		}
		return storage.FileDesc{}, err
	}
	return fd, nil
}

// List implements storage.Storage.
func (s *Storage) List(ft storage.FileType) ([]storage.FileDesc, error) {
	s.mu.Lock()
	closed := s.closed
	s.mu.Unlock()
	if closed {
		return nil, storage.ErrClosed
	}
	names, err := s.dirNames()
	if err != nil {
		return nil, err
	}
	var fds []storage.FileDesc
	for _, n := range names {
		if fd, ok := parseName(n); ok && fd.Type&ft != 0 {
			fds = append(fds, fd)
		}
	}
	return fds, nil
}

// Open implements storage.Storage. The file's header, its final record and
// every chunk it reads are authenticated; a file that does not exist gives
// an error satisfying os.IsNotExist.
func (s *Storage) Open(fd storage.FileDesc) (storage.Reader, error) {
	if !storage.FileDescOk(fd) {
		return nil, storage.ErrInvalidFile
	}
	s.mu.Lock()
	closed := s.closed
	s.mu.Unlock()
	if closed {
		return nil, storage.ErrClosed
	}
	return s.openReader(s.path(fileName(fd)), fd)
}

// Create implements storage.Storage: a new sealed file with a fresh salt,
// hence a fresh key, replacing any file of the same name.
func (s *Storage) Create(fd storage.FileDesc) (storage.Writer, error) {
	if !storage.FileDescOk(fd) {
		return nil, storage.ErrInvalidFile
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return nil, storage.ErrClosed
	}
	if old := s.writers[fd]; old != nil {
		return nil, fmt.Errorf("sealfs: %s is already open for writing", fileName(fd))
	}
	w, err := s.newWriter(s.path(fileName(fd)), fd)
	if err != nil {
		return nil, err
	}
	w.tracked = true
	s.writers[fd] = w
	return w, nil
}

func (s *Storage) untrack(w *writer) {
	s.mu.Lock()
	if s.writers[w.fd] == w {
		delete(s.writers, w.fd)
	}
	s.mu.Unlock()
}

// Remove implements storage.Storage.
func (s *Storage) Remove(fd storage.FileDesc) error {
	if !storage.FileDescOk(fd) {
		return storage.ErrInvalidFile
	}
	s.mu.Lock()
	closed := s.closed
	s.mu.Unlock()
	if closed {
		return storage.ErrClosed
	}
	return os.Remove(s.path(fileName(fd)))
}

// Rename implements storage.Storage. A file's identity is part of its key
// and additional data, so Rename re-encrypts: it authenticates the whole of
// oldfd, writes it sealed as newfd under a temporary name, syncs it, moves
// it into place and only then removes oldfd.
func (s *Storage) Rename(oldfd, newfd storage.FileDesc) error {
	if !storage.FileDescOk(oldfd) || !storage.FileDescOk(newfd) {
		return storage.ErrInvalidFile
	}
	if oldfd == newfd {
		return nil
	}
	s.mu.Lock()
	closed := s.closed
	busy := s.writers[oldfd] != nil || s.writers[newfd] != nil
	s.mu.Unlock()
	if closed {
		return storage.ErrClosed
	}
	if busy {
		return fmt.Errorf("sealfs: rename %s to %s: a file is open for writing", fileName(oldfd), fileName(newfd))
	}
	r, err := s.openReader(s.path(fileName(oldfd)), oldfd)
	if err != nil {
		return err
	}
	defer r.Close()
	tmp := s.path(fileName(newfd) + tmpSuffix)
	w, err := s.newWriter(tmp, newfd)
	if err != nil {
		return err
	}
	_, err = io.Copy(w, io.NewSectionReader(r, 0, r.length))
	if err == nil {
		err = w.Sync()
	}
	if cerr := w.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(tmp, s.path(fileName(newfd)))
	}
	if err == nil {
		err = syncDir(s.dir)
	}
	if err != nil {
		os.Remove(tmp)
		return fmt.Errorf("sealfs: rename %s to %s: %w", fileName(oldfd), fileName(newfd), err)
	}
	if err := os.Remove(s.path(fileName(oldfd))); err != nil {
		return fmt.Errorf("sealfs: rename %s to %s: %w", fileName(oldfd), fileName(newfd), err)
	}
	return syncDir(s.dir)
}

// Close implements storage.Storage: it releases the folder lock and clears
// the key. Files still open stay usable until closed.
func (s *Storage) Close() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return storage.ErrClosed
	}
	s.closed = true
	s.release()
	return nil
}

// fileName is goleveldb's name for fd.
func fileName(fd storage.FileDesc) string {
	switch fd.Type {
	case storage.TypeManifest:
		return fmt.Sprintf("MANIFEST-%06d", fd.Num)
	case storage.TypeJournal:
		return fmt.Sprintf("%06d.log", fd.Num)
	case storage.TypeTable:
		return fmt.Sprintf("%06d.ldb", fd.Num)
	case storage.TypeTemp:
		return fmt.Sprintf("%06d.tmp", fd.Num)
	}
	return fmt.Sprintf("%#x-%d", fd.Type, fd.Num)
}

// parseName is the inverse of fileName; it accepts only the names fileName
// makes.
func parseName(name string) (storage.FileDesc, bool) {
	var fd storage.FileDesc
	var num string
	switch {
	case strings.HasPrefix(name, "MANIFEST-"):
		fd.Type, num = storage.TypeManifest, name[len("MANIFEST-"):]
	case strings.HasSuffix(name, ".log"):
		fd.Type, num = storage.TypeJournal, strings.TrimSuffix(name, ".log")
	case strings.HasSuffix(name, ".ldb"):
		fd.Type, num = storage.TypeTable, strings.TrimSuffix(name, ".ldb")
	case strings.HasSuffix(name, ".tmp"):
		fd.Type, num = storage.TypeTemp, strings.TrimSuffix(name, ".tmp")
	default:
		return fd, false
	}
	if len(num) < 6 {
		return fd, false
	}
	var n int64
	for _, c := range num {
		if c < '0' || c > '9' || n > (1<<62)/10 {
			return fd, false
		}
		n = n*10 + int64(c-'0')
	}
	fd.Num = n
	return fd, fileName(fd) == name
}
