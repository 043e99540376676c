package filecrypto

import (
	"crypto/aes"
	"crypto/cipher"
	"encoding/binary"
	"fmt"
	"strings"
	"unicode/utf8"
)

// The teaclave-file-128 layout (§15.2): the protected-file format of the
// Teaclave SGX SDK 2.0 (sgx_protected_fs), opened with a user key. All
// integers are little-endian. Every AES-GCM operation in the format uses a
// 16-byte key, an all-zero 12-byte nonce, no AAD and a 16-byte tag; each key
// is used for exactly one node, so the fixed nonce never repeats under a key.
const (
	pfsNodeSize     = 4096
	pfsMetaDataSize = 3072 // content bytes held in the metadata node
	pfsDataPerMHT   = 96   // data-node entries of an MHT node
	pfsChildMHTs    = 32   // child-MHT entries of an MHT node
	pfsEntrySize    = 32   // key[16] ‖ tag[16]

	pfsFileID        = 0x5347585F46494C45 // "SGX_FILE"
	pfsMajorVersion  = 1
	pfsFlagsUserKey  = 1
	pfsMetaPlainSize = 96
	pfsNameField     = 260
	pfsMetaEncSize   = pfsNameField + 8 + 16 + 16 + pfsMetaDataSize // 3372

	// Offsets in the metadata node's plain part.
	pfsOffMajor    = 8
	pfsOffFlags    = 10
	pfsOffUpdate   = 11
	pfsOffKeyID    = 16
	pfsOffGMAC     = 80
	pfsKeyIDSize   = 32
	pfsOffEncStart = pfsMetaPlainSize

	// Offsets in the metadata node's encrypted part, once decrypted.
	pfsOffSize    = pfsNameField
	pfsOffMHTKey  = pfsOffSize + 8
	pfsOffMHTGMAC = pfsOffMHTKey + 16
	pfsOffData    = pfsOffMHTGMAC + 16

	// pfsMaxNameLen is the longest basename the SDK accepts (its limit is
	// len < FILENAME_MAX_LEN − 1 = 259).
	pfsMaxNameLen = 258

	// A recovery record: the node's physical number (u64) and its old
	// 4096 bytes.
	pfsRecoveryRecord = 8 + pfsNodeSize
	// pfsMaxRecoveryRecords bounds the records a recovery file may hold. The
	// SDK writes one per dirty cached node (its cache holds 48 nodes by
	// default) plus the root MHT and the metadata node; this cap is far above
	// that and keeps the index of a hostile recovery file small.
	pfsMaxRecoveryRecords = 1 << 16

	pfsMetaKeyLabel = "SGX-PROTECTED-FS-METADATA-KEY"
)

// MaxTeaclaveFileSize is the largest content a teaclave-file-128 file may
// hold here (64 GiB). Readers refuse larger size fields and writers larger
// content with ErrTooLarge. It bounds the arithmetic on untrusted size fields
// and the writer's per-MHT bookkeeping (32 bytes per 384 KiB of content).
const MaxTeaclaveFileSize = 1 << 36

var pfsZeroNonce [12]byte

// pfsDataPhys is the physical node number of data node d.
func pfsDataPhys(d uint64) uint64 { return 2 + d + d/pfsDataPerMHT }

// pfsMHTPhys is the physical node number of MHT node m (the root is m = 0).
func pfsMHTPhys(m uint64) uint64 { return 1 + (pfsDataPerMHT+1)*m }

// pfsParentMHT returns the parent MHT of MHT m ≥ 1 and m's entry index in it.
func pfsParentMHT(m uint64) (parent uint64, entry int) {
	return (m - 1) / pfsChildMHTs, pfsDataPerMHT + int((m-1)%pfsChildMHTs)
}

// pfsDataNodes is the number of data nodes of size bytes of content.
func pfsDataNodes(size uint64) uint64 {
	if size <= pfsMetaDataSize {
		return 0
	}
	return (size - pfsMetaDataSize + pfsNodeSize - 1) / pfsNodeSize
}

// pfsNodeCount is the number of 4096-byte nodes of a file holding size bytes
// (size ≤ MaxTeaclaveFileSize, so nothing overflows).
func pfsNodeCount(size uint64) uint64 {
	d := pfsDataNodes(size)
	if d == 0 {
		return 1
	}
	return 1 + d + (d+pfsDataPerMHT-1)/pfsDataPerMHT
}

// pfsMetadataKey derives the metadata node's key from the user key and the
// node's key_id: AES-CMAC over the SDK's 120-byte KDF input (index = 1,
// label, pad, node_number = 0, nonce = key_id, output_len = 0x80, pad).
func pfsMetadataKey(userKey []byte, keyID []byte) ([16]byte, error) {
	var kdf [120]byte
	binary.LittleEndian.PutUint32(kdf[0:], 1)
	copy(kdf[4:68], pfsMetaKeyLabel)
	// kdf[68:72] padding, kdf[72:80] node_number = 0
	copy(kdf[80:112], keyID)
	binary.LittleEndian.PutUint32(kdf[112:], 0x80)
	return aesCMAC(userKey, kdf[:])
}

// pfsGCM returns the AEAD for one node key.
func pfsGCM(key []byte) (cipher.AEAD, error) {
	block, err := aes.NewCipher(key)
	if err != nil {
		return nil, err
	}
	return cipher.NewGCM(block)
}

// checkPFSName checks a basename a protected file can carry: non-empty, at
// most 258 bytes, valid UTF-8 (the SDK reads it as a Rust string), and with
// neither a NUL (it ends the field) nor a slash (it is a basename).
func checkPFSName(name string) error {
	switch {
	case name == "":
		return fmt.Errorf("%w: teaclave-file-128 needs the file's basename", ErrInvalidOptions)
	case len(name) > pfsMaxNameLen:
		return fmt.Errorf("%w: basename of %d bytes exceeds %d", ErrInvalidOptions, len(name), pfsMaxNameLen)
	case !utf8.ValidString(name):
		return fmt.Errorf("%w: basename is not valid UTF-8", ErrInvalidOptions)
	case strings.ContainsAny(name, "/\x00"):
		return fmt.Errorf("%w: basename %q contains '/' or NUL", ErrInvalidOptions, name)
	}
	return nil
}
