package filecrypto

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"testing"
)

func newGCMInfo(schema Schema) CryptoInfo {
	keyLen := 16
	if schema == SchemaAESGCM256 {
		keyLen = 32
	}
	return CryptoInfo{Schema: schema, Key: randomBytes(keyLen), IV: randomBytes(12)}
}

func allowNonce([]byte, []byte) error { return nil }

func writeGCM(t testing.TB, info CryptoInfo, plain []byte) ([]byte, Tag) {
	t.Helper()
	var buf bytes.Buffer
	w, err := NewWriter(&buf, info, WriterOptions{ClaimNonce: allowNonce})
	if err != nil {
		t.Fatal(err)
	}
	for rest := plain; len(rest) > 0; {
		n := min(len(rest), 1+len(rest)/3)
		if _, err := w.Write(rest[:n]); err != nil {
			t.Fatal(err)
		}
		rest = rest[n:]
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	tag, err := w.Tag()
	if err != nil {
		t.Fatal(err)
	}
	return buf.Bytes(), tag
}

func readGCM(file []byte, info CryptoInfo, expected *Tag) ([]byte, error) {
	r, err := NewReader(bytes.NewReader(file), int64(len(file)), info, ReaderOptions{ExpectedTag: expected})
	if err != nil {
		return nil, err
	}
	return io.ReadAll(r)
}

// TestAESGCMRoundTrip: the writer's output is byte for byte crypto/cipher's
// AES-GCM with AAD = 8 zero bytes (ciphertext ‖ tag), and reads back, for
// sizes around the block and chunk boundaries.
func TestAESGCMRoundTrip(t *testing.T) {
	for _, schema := range []Schema{SchemaAESGCM128, SchemaAESGCM256} {
		for _, size := range []int{0, 1, 15, 16, 17, gcmChunkSize - 1, gcmChunkSize, gcmChunkSize + 1, 200000, 5 << 20} {
			t.Run(fmt.Sprint(schema, "/", size), func(t *testing.T) {
				info, plain := newGCMInfo(schema), randomBytes(size)
				file, tag := writeGCM(t, info, plain)
				want := mustGCM(t, info.Key).Seal(nil, info.IV, plain, make([]byte, 8))
				if !bytes.Equal(file, want) {
					t.Fatal("file differs from crypto/cipher's AES-GCM")
				}
				if !bytes.Equal(tag[:], want[size:]) {
					t.Fatal("tag differs")
				}
				got, err := readGCM(file, info, &tag)
				if err != nil || !bytes.Equal(got, plain) {
					t.Fatalf("read back: %v", err)
				}
			})
		}
	}
}

// TestAESGCMTamper: flipped bits anywhere, truncation, extension, a wrong key
// and a wrong cmac are each a clear error; a file of one chunk returns no
// plaintext at all before the error.
func TestAESGCMTamper(t *testing.T) {
	for _, size := range []int{100, gcmChunkSize, 3*gcmChunkSize + 5} {
		info, plain := newGCMInfo(SchemaAESGCM128), randomBytes(size)
		file, tag := writeGCM(t, info, plain)
		for _, pos := range []int{0, size / 2, size - 1, size, size + 15} {
			bad := bytes.Clone(file)
			bad[pos] ^= 0x04
			r, err := NewReader(bytes.NewReader(bad), int64(len(bad)), info, ReaderOptions{})
			if err != nil {
				t.Fatal(err)
			}
			first := make([]byte, 2*gcmChunkSize)
			n, err := r.Read(first)
			if size <= gcmChunkSize && (n != 0 || !errors.Is(err, ErrAuthentication)) {
				t.Fatalf("size %d, flip at %d: first Read = %d bytes, %v; want nothing and ErrAuthentication", size, pos, n, err)
			}
			if _, err := io.ReadAll(r); !errors.Is(err, ErrAuthentication) {
				t.Fatalf("size %d, flip at %d: err = %v, want ErrAuthentication", size, pos, err)
			}
		}
		for _, bad := range [][]byte{file[:len(file)-1], file[1:], append(bytes.Clone(file), 0)} {
			if _, err := readGCM(bad, info, nil); !errors.Is(err, ErrAuthentication) {
				t.Fatalf("size %d, length %d: err = %v, want ErrAuthentication", size, len(bad), err)
			}
		}
		wrongKey := info
		wrongKey.Key = randomBytes(16)
		if _, err := readGCM(file, wrongKey, nil); !errors.Is(err, ErrAuthentication) {
			t.Fatalf("wrong key: %v", err)
		}
		wrongIV := info
		wrongIV.IV = randomBytes(12)
		if _, err := readGCM(file, wrongIV, nil); !errors.Is(err, ErrAuthentication) {
			t.Fatalf("wrong iv: %v", err)
		}
		wrong := tag
		wrong[15] ^= 1
		if _, err := readGCM(file, info, &wrong); !errors.Is(err, ErrTagMismatch) {
			t.Fatalf("wrong cmac: %v", err)
		}
	}
	if _, err := readGCM(make([]byte, 15), newGCMInfo(SchemaAESGCM256), nil); !errors.Is(err, ErrMalformed) {
		t.Fatalf("15-byte file: %v", err)
	}
}

// TestAESGCMNonceReuse: a writer is refused a (key, iv) pair its check says
// was used, and without a check at all.
func TestAESGCMNonceReuse(t *testing.T) {
	info := newGCMInfo(SchemaAESGCM256)
	var seen NonceSet
	if _, err := NewWriter(io.Discard, info, WriterOptions{ClaimNonce: seen.Claim}); err != nil {
		t.Fatal(err)
	}
	if _, err := NewWriter(io.Discard, info, WriterOptions{ClaimNonce: seen.Claim}); !errors.Is(err, ErrNonceReused) {
		t.Fatalf("reused pair: err = %v, want ErrNonceReused", err)
	}
	other := info
	other.IV = randomBytes(12)
	if _, err := NewWriter(io.Discard, other, WriterOptions{ClaimNonce: seen.Claim}); err != nil {
		t.Fatalf("fresh iv under the same key: %v", err)
	}
	if _, err := NewWriter(io.Discard, info, WriterOptions{}); !errors.Is(err, ErrInvalidOptions) {
		t.Fatalf("no check: err = %v, want ErrInvalidOptions", err)
	}
	down := errors.New("storage unavailable")
	_, err := NewWriter(io.Discard, newGCMInfo(SchemaAESGCM128), WriterOptions{ClaimNonce: func([]byte, []byte) error { return down }})
	if !errors.Is(err, down) {
		t.Fatalf("failing check: err = %v, want it wrapped", err)
	}
}
