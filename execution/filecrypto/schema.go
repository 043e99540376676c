package filecrypto

import (
	"crypto/subtle"
	"encoding/hex"
	"fmt"
	"log/slog"
)

// Schema is a file crypto schema, by its wire string (§4.4).
type Schema string

// The four schemas of §4.4.
const (
	// SchemaAESGCM128 is one AES-128-GCM message: ciphertext ‖ 16-byte tag.
	SchemaAESGCM128 Schema = "aes-gcm-128"
	// SchemaAESGCM256 is one AES-256-GCM message: ciphertext ‖ 16-byte tag.
	SchemaAESGCM256 Schema = "aes-gcm-256"
	// SchemaTeaclaveFile128 is the SGX protected-file format (§15.2) under a
	// 16-byte user key.
	SchemaTeaclaveFile128 Schema = "teaclave-file-128"
	// SchemaRaw is plaintext, for inputs only.
	SchemaRaw Schema = "raw"
)

// Key and IV lengths of §4.4.
const (
	aesGCMIVSize   = 12
	aes128KeySize  = 16
	aes256KeySize  = 32
	pfsUserKeySize = 16
)

// ParseSchema returns the schema named by its wire string, or an error
// wrapping ErrInvalidCryptoInfo for any other string.
func ParseSchema(s string) (Schema, error) {
	switch sc := Schema(s); sc {
	case SchemaAESGCM128, SchemaAESGCM256, SchemaTeaclaveFile128, SchemaRaw:
		return sc, nil
	}
	return "", fmt.Errorf("%w: unknown schema %q", ErrInvalidCryptoInfo, s)
}

// CryptoInfo is the crypto info registered with a file (FileCryptoInfo):
// its schema, key and IV. Its fmt and slog forms never show the key or IV.
type CryptoInfo struct {
	Schema Schema
	Key    []byte
	IV     []byte
}

// Validate applies §4.4: aes-gcm-128 takes a 16-byte key and a 12-byte IV,
// aes-gcm-256 a 32-byte key and a 12-byte IV, teaclave-file-128 a 16-byte key
// and an empty IV, and raw ignores both. Any other schema or length is an
// error wrapping ErrInvalidCryptoInfo.
func (c CryptoInfo) Validate() error {
	switch c.Schema {
	case SchemaAESGCM128:
		return checkLengths(c, aes128KeySize, aesGCMIVSize)
	case SchemaAESGCM256:
		return checkLengths(c, aes256KeySize, aesGCMIVSize)
	case SchemaTeaclaveFile128:
		return checkLengths(c, pfsUserKeySize, 0)
	case SchemaRaw:
		return nil
	}
	_, err := ParseSchema(string(c.Schema))
	return err
}

func checkLengths(c CryptoInfo, keyLen, ivLen int) error {
	if len(c.Key) != keyLen {
		return fmt.Errorf("%w: %s needs a %d-byte key, got %d bytes", ErrInvalidCryptoInfo, c.Schema, keyLen, len(c.Key))
	}
	if len(c.IV) != ivLen {
		if ivLen == 0 {
			return fmt.Errorf("%w: %s takes no iv, got %d bytes", ErrInvalidCryptoInfo, c.Schema, len(c.IV))
		}
		return fmt.Errorf("%w: %s needs a %d-byte iv, got %d bytes", ErrInvalidCryptoInfo, c.Schema, ivLen, len(c.IV))
	}
	return nil
}

// Canonical returns the crypto info as the platform sends it back (§4.4):
// the IV dropped for teaclave-file-128, and key and IV dropped for raw. The
// result shares no memory with c.
func (c CryptoInfo) Canonical() CryptoInfo {
	out := CryptoInfo{Schema: c.Schema}
	switch c.Schema {
	case SchemaRaw:
	case SchemaTeaclaveFile128:
		out.Key = clone(c.Key)
	default:
		out.Key, out.IV = clone(c.Key), clone(c.IV)
	}
	return out
}

func clone(b []byte) []byte {
	if len(b) == 0 {
		return nil
	}
	return append([]byte(nil), b...)
}

// Format prints the schema and the key and IV lengths, never their bytes, for
// every verb, so crypto info can be logged or wrapped into errors safely.
func (c CryptoInfo) Format(f fmt.State, _ rune) {
	fmt.Fprintf(f, "CryptoInfo{Schema: %q, Key: [%d bytes redacted], IV: [%d bytes redacted]}", string(c.Schema), len(c.Key), len(c.IV))
}

// LogValue implements slog.LogValuer with the same redaction as Format.
func (c CryptoInfo) LogValue() slog.Value {
	return slog.GroupValue(
		slog.String("schema", string(c.Schema)),
		slog.Int("key_len", len(c.Key)),
		slog.Int("iv_len", len(c.IV)),
	)
}

// TagSize is the length of a file's cmac (§4.5).
const TagSize = 16

// Tag is a file's cmac (FileAuthTag, §4.5): the GCM tag of an aes-gcm file or
// the metadata-node GMAC of a teaclave-file-128 file. Despite the wire name it
// is not an AES-CMAC.
type Tag [TagSize]byte

// ParseTag parses the 32-hex-digit form of a tag (either case).
func ParseTag(s string) (Tag, error) {
	var t Tag
	if len(s) != 2*TagSize {
		return t, fmt.Errorf("filecrypto: a cmac is %d hex digits, got %d characters", 2*TagSize, len(s))
	}
	if _, err := hex.Decode(t[:], []byte(s)); err != nil {
		return Tag{}, fmt.Errorf("filecrypto: bad cmac hex: %w", err)
	}
	return t, nil
}

// TagFromBytes returns the tag in b, which must be exactly 16 bytes long.
func TagFromBytes(b []byte) (Tag, error) {
	var t Tag
	if len(b) != TagSize {
		return t, fmt.Errorf("filecrypto: a cmac is %d bytes, got %d", TagSize, len(b))
	}
	copy(t[:], b)
	return t, nil
}

// String returns the tag as 32 lowercase hex digits, the SDK and CLI form.
func (t Tag) String() string { return hex.EncodeToString(t[:]) }

// Bytes returns a copy of the tag's bytes, the wire form.
func (t Tag) Bytes() []byte { return append([]byte(nil), t[:]...) }

// Equal reports whether t and u are equal, in constant time.
func (t Tag) Equal(u Tag) bool { return subtle.ConstantTimeCompare(t[:], u[:]) == 1 }
