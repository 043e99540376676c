package sdk

import (
	"bytes"
	"crypto/rand"
	"encoding/base64"
	"encoding/hex"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"

	"github.com/teaclave-go/teaclave"
	"github.com/teaclave-go/teaclave/execution/filecrypto"
	"github.com/teaclave-go/teaclave/rpc/pb/commonpb"
)

// File crypto schemas (protocol §4.4).
const (
	// SchemaAESGCM128 is one AES-128-GCM message: ciphertext ‖ 16-byte tag
	// (16-byte key, 12-byte IV, 8 zero bytes of AAD).
	SchemaAESGCM128 = "aes-gcm-128"
	// SchemaAESGCM256 is the same with AES-256 (32-byte key).
	SchemaAESGCM256 = "aes-gcm-256"
	// SchemaTeaclaveFile128 is the SGX protected-file format under a
	// 16-byte key, no IV. A file of this schema is bound to its file name.
	SchemaTeaclaveFile128 = "teaclave-file-128"
	// SchemaRaw is plaintext; for inputs only, it has no cmac.
	SchemaRaw = "raw"
)

// TagSize is the size of a file's cmac.
const TagSize = 16

// Tag is a file's cmac, the 16 bytes registered with an input file and
// reported for an output: the GCM tag of an aes-gcm file, the metadata
// GMAC of a teaclave-file-128 file. Its text form is 32 lowercase hex
// digits.
type Tag [TagSize]byte

// String returns the tag in hex.
func (t Tag) String() string { return hex.EncodeToString(t[:]) }

// ParseTag parses a tag from 32 hex digits.
func ParseTag(s string) (Tag, error) {
	ft, err := filecrypto.ParseTag(s)
	if err != nil {
		return Tag{}, teaclave.Errorf(teaclave.KindInvalidArgument, "sdk: cmac %q: want %d hex digits", s, 2*TagSize)
	}
	return Tag(ft), nil
}

// TagFromBytes returns the tag in b, which must be 16 bytes long.
func TagFromBytes(b []byte) (Tag, error) {
	ft, err := filecrypto.TagFromBytes(b)
	if err != nil {
		return Tag{}, teaclave.Errorf(teaclave.KindInvalidArgument, "sdk: cmac of %d bytes: want %d", len(b), TagSize)
	}
	return Tag(ft), nil
}

// CryptoInfo is the schema, key and IV a file is registered with. Its fmt
// and slog forms never show the key or IV.
type CryptoInfo struct {
	Schema string
	Key    []byte
	IV     []byte
}

// NewCryptoInfo draws a fresh random key (and, for aes-gcm, IV) for
// schema. Use each aes-gcm CryptoInfo to encrypt one file only: encrypting
// two files under the same key and IV exposes both.
func NewCryptoInfo(schema string) (CryptoInfo, error) {
	info := CryptoInfo{Schema: schema}
	switch schema {
	case SchemaAESGCM128:
		info.Key, info.IV = make([]byte, 16), make([]byte, 12)
	case SchemaAESGCM256:
		info.Key, info.IV = make([]byte, 32), make([]byte, 12)
	case SchemaTeaclaveFile128:
		info.Key = make([]byte, 16)
	case SchemaRaw:
		return info, nil
	default:
		return CryptoInfo{}, teaclave.Errorf(teaclave.KindInvalidArgument, "sdk: unknown crypto schema %q (want %s, %s, %s or %s)", schema, SchemaAESGCM128, SchemaAESGCM256, SchemaTeaclaveFile128, SchemaRaw)
	}
	if _, err := rand.Read(info.Key); err != nil {
		return CryptoInfo{}, fmt.Errorf("sdk: draw key: %w", err)
	}
	if _, err := rand.Read(info.IV); err != nil {
		return CryptoInfo{}, fmt.Errorf("sdk: draw iv: %w", err)
	}
	return info, nil
}

// ParseCryptoInfo builds a CryptoInfo from its text form: a schema and the
// key and IV in hex (the IV empty for teaclave-file-128), and validates it.
func ParseCryptoInfo(schema, keyHex, ivHex string) (CryptoInfo, error) {
	key, err := hex.DecodeString(keyHex)
	if err != nil {
		return CryptoInfo{}, teaclave.Errorf(teaclave.KindInvalidArgument, "sdk: key is not hex")
	}
	iv, err := hex.DecodeString(ivHex)
	if err != nil {
		return CryptoInfo{}, teaclave.Errorf(teaclave.KindInvalidArgument, "sdk: iv is not hex")
	}
	info := CryptoInfo{Schema: schema, Key: key, IV: iv}
	if err := info.Validate(); err != nil {
		return CryptoInfo{}, err
	}
	return info, nil
}

// Validate checks the key and IV lengths of §4.4.
func (c CryptoInfo) Validate() error {
	if err := c.fc().Validate(); err != nil {
		return teaclave.Errorf(teaclave.KindInvalidArgument, "sdk: %w", err)
	}
	return nil
}

// Format hides the key and IV from fmt.
func (c CryptoInfo) Format(f fmt.State, _ rune) {
	fmt.Fprintf(f, "{%s key:[%d bytes] iv:[%d bytes]}", c.Schema, len(c.Key), len(c.IV))
}

// LogValue hides the key and IV from slog.
func (c CryptoInfo) LogValue() slog.Value {
	return slog.GroupValue(slog.String("schema", c.Schema), slog.Int("key_len", len(c.Key)), slog.Int("iv_len", len(c.IV)))
}

func (c CryptoInfo) fc() filecrypto.CryptoInfo {
	return filecrypto.CryptoInfo{Schema: filecrypto.Schema(c.Schema), Key: c.Key, IV: c.IV}
}

func (c CryptoInfo) pb() *commonpb.FileCryptoInfo {
	return &commonpb.FileCryptoInfo{Schema: c.Schema, Key: c.Key, Iv: c.IV}
}

// memFile is an in-memory io.Writer and io.WriterAt.
type memFile struct{ buf []byte }

func (m *memFile) WriteAt(p []byte, off int64) (int, error) {
	if off < 0 || off > filecrypto.MaxTeaclaveFileSize {
		return 0, fmt.Errorf("sdk: write at offset %d", off)
	}
	if end := int(off) + len(p); end > len(m.buf) {
		m.buf = append(m.buf, make([]byte, end-len(m.buf))...)
	}
	return copy(m.buf[off:], p), nil
}

func (m *memFile) Write(p []byte) (int, error) {
	m.buf = append(m.buf, p...)
	return len(p), nil
}

// noNonceCheck is the ClaimNonce of a caller that drew the IV at random
// (NewCryptoInfo) or is responsible for not reusing it.
func noNonceCheck(_, _ []byte) error { return nil }

// Encrypt encrypts plaintext as info says and returns the file and its
// cmac. name is the file's base name, bound into a teaclave-file-128 file
// (the last path segment of the URL it will be stored under); the other
// schemas ignore it. Never encrypt two files with one aes-gcm key and IV.
func Encrypt(info CryptoInfo, name string, plaintext []byte) ([]byte, Tag, error) {
	var out memFile
	tag, err := encrypt(&out, info, name, bytes.NewReader(plaintext))
	if err != nil {
		return nil, Tag{}, err
	}
	return out.buf, tag, nil
}

func encrypt(dst io.Writer, info CryptoInfo, name string, src io.Reader) (Tag, error) {
	if err := info.Validate(); err != nil {
		return Tag{}, err
	}
	if info.Schema == SchemaRaw {
		return Tag{}, teaclave.Errorf(teaclave.KindInvalidArgument, "sdk: raw files are not encrypted and have no cmac")
	}
	if info.Schema == SchemaTeaclaveFile128 && name == "" {
		return Tag{}, teaclave.Errorf(teaclave.KindInvalidArgument, "sdk: a teaclave-file-128 file needs the name it will be stored under")
	}
	w, err := filecrypto.NewWriter(dst, info.fc(), filecrypto.WriterOptions{Name: name, ClaimNonce: noNonceCheck})
	if err != nil {
		return Tag{}, teaclave.Errorf(teaclave.KindInvalidArgument, "sdk: encrypt: %w", err)
	}
	if _, err := io.Copy(w, src); err != nil {
		return Tag{}, fmt.Errorf("sdk: encrypt: %w", err)
	}
	if err := w.Close(); err != nil {
		return Tag{}, fmt.Errorf("sdk: encrypt: %w", err)
	}
	t, err := w.Tag()
	if err != nil {
		return Tag{}, fmt.Errorf("sdk: encrypt: %w", err)
	}
	return Tag(t), nil
}

// Decrypt authenticates and decrypts a file encrypted as info says and
// returns the plaintext and the file's cmac. name is the file's base name
// (teaclave-file-128 only). If expected is not nil, a file with another
// cmac is refused. A raw file is returned as it is, with a zero cmac.
func Decrypt(info CryptoInfo, name string, file []byte, expected *Tag) ([]byte, Tag, error) {
	var out bytes.Buffer
	tag, err := decrypt(&out, info, name, bytes.NewReader(file), int64(len(file)), expected)
	if err != nil {
		return nil, Tag{}, err
	}
	return out.Bytes(), tag, nil
}

func decrypt(dst io.Writer, info CryptoInfo, name string, src io.ReaderAt, size int64, expected *Tag) (Tag, error) {
	if err := info.Validate(); err != nil {
		return Tag{}, err
	}
	opts := filecrypto.ReaderOptions{Name: name}
	if expected != nil && info.Schema != SchemaRaw {
		ft := filecrypto.Tag(*expected)
		opts.ExpectedTag = &ft
	}
	r, err := filecrypto.NewReader(src, size, info.fc(), opts)
	if err != nil {
		return Tag{}, teaclave.Errorf(teaclave.KindInvalidArgument, "sdk: decrypt: %w", err)
	}
	if _, err := io.Copy(dst, r); err != nil {
		return Tag{}, teaclave.Errorf(teaclave.KindInvalidArgument, "sdk: decrypt: %w", err)
	}
	t, _ := r.Tag()
	return Tag(t), nil
}

// ComputeTag authenticates an encrypted file and returns its cmac, as
// RegisterInputFile needs it. It decrypts the whole file to check it.
func ComputeTag(info CryptoInfo, name string, file []byte) (Tag, error) {
	if info.Schema == SchemaRaw {
		return Tag{}, teaclave.Errorf(teaclave.KindInvalidArgument, "sdk: raw files have no cmac")
	}
	return decrypt(io.Discard, info, name, bytes.NewReader(file), int64(len(file)), nil)
}

// EncryptFile encrypts the file at src into a new file at dst (mode 0600,
// replaced if it exists) and returns its cmac. A teaclave-file-128 file is
// bound to dst's base name. dst appears only once the whole file is
// written; src and dst must be different files.
func EncryptFile(info CryptoInfo, src, dst string) (Tag, error) {
	in, err := os.Open(src)
	if err != nil {
		return Tag{}, teaclave.Errorf(teaclave.KindInvalidArgument, "sdk: %w", err)
	}
	defer in.Close()
	return writeReplacing(in, dst, func(out io.Writer) (Tag, error) {
		return encrypt(out, info, filepath.Base(dst), in)
	})
}

// DecryptFile authenticates and decrypts the file at src into dst (mode
// 0600, replaced if it exists) and returns src's cmac. If expected is not
// nil, a file with another cmac is refused. The plaintext is written to a
// temporary file beside dst, which replaces dst only once the whole file
// has authenticated: a file that fails leaves dst as it was, and no
// unauthenticated plaintext under its name. src and dst must be different
// files.
func DecryptFile(info CryptoInfo, src, dst string, expected *Tag) (Tag, error) {
	in, err := os.Open(src)
	if err != nil {
		return Tag{}, teaclave.Errorf(teaclave.KindInvalidArgument, "sdk: %w", err)
	}
	defer in.Close()
	st, err := in.Stat()
	if err != nil {
		return Tag{}, fmt.Errorf("sdk: %w", err)
	}
	return writeReplacing(in, dst, func(out io.Writer) (Tag, error) {
		return decrypt(out, info, filepath.Base(src), in, st.Size(), expected)
	})
}

// writeReplacing runs write into a new temporary file (mode 0600) in dst's
// folder and, if it succeeds, renames that file over dst. in, the source,
// must not be dst itself (through a link or another path), which the
// truncation of dst would destroy.
func writeReplacing(in *os.File, dst string, write func(io.Writer) (Tag, error)) (tag Tag, err error) {
	inInfo, err := in.Stat()
	if err != nil {
		return Tag{}, fmt.Errorf("sdk: %w", err)
	}
	if dstInfo, err := os.Stat(dst); err == nil && os.SameFile(inInfo, dstInfo) {
		return Tag{}, teaclave.Errorf(teaclave.KindInvalidArgument, "sdk: source and destination are the same file")
	}
	tmp, err := os.CreateTemp(filepath.Dir(dst), "."+filepath.Base(dst)+".*.part")
	if err != nil {
		return Tag{}, teaclave.Errorf(teaclave.KindInvalidArgument, "sdk: %w", err)
	}
	defer func() {
		if err != nil {
			tmp.Close()
			os.Remove(tmp.Name())
		}
	}()
	if tag, err = write(tmp); err != nil {
		return Tag{}, err
	}
	if err = tmp.Sync(); err != nil {
		return Tag{}, fmt.Errorf("sdk: %w", err)
	}
	if err = tmp.Close(); err != nil {
		return Tag{}, fmt.Errorf("sdk: %w", err)
	}
	if err = os.Rename(tmp.Name(), dst); err != nil {
		return Tag{}, teaclave.Errorf(teaclave.KindInvalidArgument, "sdk: %w", err)
	}
	return tag, nil
}

// ComputeFileTag authenticates the encrypted file at path and returns its
// cmac. A teaclave-file-128 file is checked against path's base name.
func ComputeFileTag(info CryptoInfo, path string) (Tag, error) {
	if info.Schema == SchemaRaw {
		return Tag{}, teaclave.Errorf(teaclave.KindInvalidArgument, "sdk: raw files have no cmac")
	}
	in, err := os.Open(path)
	if err != nil {
		return Tag{}, teaclave.Errorf(teaclave.KindInvalidArgument, "sdk: %w", err)
	}
	defer in.Close()
	st, err := in.Stat()
	if err != nil {
		return Tag{}, fmt.Errorf("sdk: %w", err)
	}
	return decrypt(io.Discard, info, filepath.Base(path), in, st.Size(), nil)
}

// DataURL returns a data: URL holding file, which the platform accepts in
// place of an http URL for small inputs.
func DataURL(file []byte) string {
	return "data:application/octet-stream;base64," + base64.StdEncoding.EncodeToString(file)
}
