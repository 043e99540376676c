package sealfs

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/rand"
	"crypto/sha256"
	"encoding/binary"
	"errors"
	"fmt"
	"io"

	"github.com/syndtr/goleveldb/leveldb/storage"
	"golang.org/x/crypto/hkdf"
)

// Format constants; the package documentation describes the layout.
const (
	magic         = "TCLVSEAL"
	formatVersion = 1

	headerSize = 64
	saltSize   = 32
	keySize    = 32
	dbIDSize   = 16
	nonceSize  = 12
	tagSize    = 16

	chunkSize  = 4096
	recordSize = nonceSize + chunkSize + tagSize // a sealed full chunk

	// A final record: length u16, index u64, nonce, sealed (seq u64,
	// length u64, up to chunkSize-1 bytes), tag.
	finalPrefix   = 2 + 8
	finalPlainMin = 16
	finalMaxLen   = 8 + nonceSize + finalPlainMin + chunkSize - 1 + tagSize
	slotSize      = 4160
	// initialSize is what creation writes: the header and an empty
	// final record.
	initialSize = headerSize + finalPrefix + nonceSize + finalPlainMin + tagSize
	dataOffset  = headerSize + 2*slotSize

	// maxChunks bounds a file's length (16 TiB) so offsets never overflow.
	maxChunks = 1 << 32
)

// File types in the header. Data files use goleveldb's types; CURRENT and
// the identity file have their own.
const (
	typeManifest = 1
	typeJournal  = 2
	typeTable    = 3
	typeTemp     = 4
	typeCurrent  = 0x40
	typeIdentity = 0x41
)

// AAD kinds.
const (
	kindChunk = 0
	kindFinal = 1 // + slot
)

// HKDF labels. Each derived key has its own.
const (
	labelFile     = "teaclave-go/sealfs/v1/file"
	labelIdentity = "teaclave-go/sealfs/v1/identity"
)

// ErrIntegrity is wrapped by every error that reports sealed data failing
// its checks: a modified, truncated, reordered, spliced, renamed or foreign
// chunk or file. goleveldb sees these as *storage.ErrCorrupted.
var ErrIntegrity = errors.New("sealfs: integrity check failed")

// ErrWrongKey is wrapped by the error Open returns when the storage key does
// not open the database's identity file.
var ErrWrongKey = errors.New("sealfs: the storage key does not open this database")

func fileType(t storage.FileType) (byte, bool) {
	switch t {
	case storage.TypeManifest:
		return typeManifest, true
	case storage.TypeJournal:
		return typeJournal, true
	case storage.TypeTable:
		return typeTable, true
	case storage.TypeTemp:
		return typeTemp, true
	}
	return 0, false
}

// header is a sealed file's cleartext header. It is bound to every record
// of the file as additional data and to the file's key through the salt.
type header struct {
	ftype byte
	num   uint64
	salt  [saltSize]byte
}

func newHeader(ftype byte, num uint64) header {
	h := header{ftype: ftype, num: num}
	rand.Read(h.salt[:])
	return h
}

func (h *header) marshal() [headerSize]byte {
	var b [headerSize]byte
	copy(b[0:8], magic)
	binary.BigEndian.PutUint16(b[8:10], formatVersion)
	b[10] = h.ftype
	// b[11:16] reserved, zero.
	binary.BigEndian.PutUint64(b[16:24], h.num)
	copy(b[24:56], h.salt[:])
	// b[56:64] reserved, zero.
	return b
}

// parseHeader checks and decodes a header. Its errors name what is wrong
// but are not yet integrity errors: the caller decides.
func parseHeader(b []byte) (header, error) {
	var h header
	if len(b) < headerSize {
		return h, errors.New("shorter than a sealfs header")
	}
	if string(b[0:8]) != magic {
		return h, errors.New("not a sealfs file (bad magic)")
	}
	if v := binary.BigEndian.Uint16(b[8:10]); v != formatVersion {
		return h, fmt.Errorf("sealfs format version %d is not supported (want %d)", v, formatVersion)
	}
	for _, x := range b[11:16] {
		if x != 0 {
			return h, errors.New("reserved header bytes are set")
		}
	}
	for _, x := range b[56:64] {
		if x != 0 {
			return h, errors.New("reserved header bytes are set")
		}
	}
	h.ftype = b[10]
	h.num = binary.BigEndian.Uint64(b[16:24])
	copy(h.salt[:], b[24:56])
	return h, nil
}

func newGCM(key []byte) cipher.AEAD {
	block, err := aes.NewCipher(key)
	if err != nil {
		panic("sealfs: " + err.Error()) // key is always keySize bytes
	}
	aead, err := cipher.NewGCM(block)
	if err != nil {
		panic("sealfs: " + err.Error())
	}
	return aead
}

// derive returns keySize bytes from HKDF-SHA256 over the storage key.
func derive(secret, salt []byte, info ...[]byte) []byte {
	var in []byte
	for _, p := range info {
		in = append(in, p...)
	}
	r := hkdf.New(sha256.New, secret, salt, in)
	k := make([]byte, keySize)
	if _, err := io.ReadFull(r, k); err != nil {
		panic("sealfs: hkdf: " + err.Error()) // cannot happen for 32 bytes
	}
	return k
}

// fileKey returns the AEAD of a file: its key is bound to the storage key,
// the database id, the file's identity (type and number) and its salt.
func fileKey(storageKey []byte, dbID [dbIDSize]byte, h *header) cipher.AEAD {
	var ident [9]byte
	ident[0] = h.ftype
	binary.BigEndian.PutUint64(ident[1:], h.num)
	k := derive(storageKey, h.salt[:], []byte(labelFile), dbID[:], ident[:])
	defer clear(k)
	return newGCM(k)
}

func identityKey(storageKey []byte, h *header) cipher.AEAD {
	k := derive(storageKey, h.salt[:], []byte(labelIdentity))
	defer clear(k)
	return newGCM(k)
}

// aad returns the additional data of a record: the header, the chunk index
// and the kind (a full chunk, or a final record and its slot).
func aad(hdr *[headerSize]byte, index uint64, kind byte) []byte {
	a := make([]byte, 0, headerSize+9)
	a = append(a, hdr[:]...)
	a = binary.BigEndian.AppendUint64(a, index)
	return append(a, kind)
}

// seal appends nonce || ciphertext || tag of plain to dst, under a fresh
// random nonce.
func seal(aead cipher.AEAD, dst, plain, ad []byte) []byte {
	var nonce [nonceSize]byte
	rand.Read(nonce[:])
	dst = append(dst, nonce[:]...)
	return aead.Seal(dst, nonce[:], plain, ad)
}

// open authenticates and decrypts nonce || ciphertext || tag in place.
func open(aead cipher.AEAD, rec, ad []byte) ([]byte, bool) {
	if len(rec) < nonceSize+tagSize {
		return nil, false
	}
	p, err := aead.Open(rec[nonceSize:nonceSize], rec[:nonceSize], rec[nonceSize:], ad)
	return p, err == nil
}

// integrity returns the error goleveldb treats as corruption of fd.
func integrity(fd storage.FileDesc, format string, args ...any) error {
	return &storage.ErrCorrupted{Fd: fd, Err: fmt.Errorf("%w: %s: %s", ErrIntegrity, fileName(fd), fmt.Sprintf(format, args...))}
}
