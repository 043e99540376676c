package filecrypto

import (
	"bytes"
	"errors"
	"io"
	"testing"
)

// fuzzPlain is deterministic content for files built inside fuzz targets.
func fuzzPlain(n int) []byte {
	b := make([]byte, n)
	for i := range b {
		b[i] = byte(i*7 + i>>8)
	}
	return b
}

// FuzzTeaclaveFileReader reads arbitrary bytes as a protected file under the
// all-zero key. It must never panic, and whatever it accepts reads to exactly
// the size its authenticated metadata states.
func FuzzTeaclaveFileReader(f *testing.F) {
	for _, size := range []int{0, 1000, 3072 + 4096*3} {
		file, _ := writePFS(f, zeroKeyPFS, "f.enc", fuzzPlain(size))
		f.Add(file)
	}
	psi := readFixture(f, "ordered_set_intersect/psi0.txt.enc")
	f.Add(psi)
	f.Fuzz(func(t *testing.T, data []byte) {
		r, err := NewReader(bytes.NewReader(data), int64(len(data)), zeroKeyPFS, ReaderOptions{Name: "f.enc"})
		if err != nil {
			return
		}
		got, err := io.ReadAll(r)
		if err == nil && int64(len(got)) != r.Size() {
			t.Fatalf("read %d bytes of a %d-byte file", len(got), r.Size())
		}
	})
}

// FuzzTeaclaveFileTamper writes a protected file, changes or truncates it,
// and reads it back: the result is an error or exactly the content written.
func FuzzTeaclaveFileTamper(f *testing.F) {
	f.Add(uint32(5000), uint32(100), byte(1), uint32(0))
	f.Add(uint32(3072+4096*97), uint32(4096*98+5), byte(0x80), uint32(0))
	f.Add(uint32(3073), uint32(4096), byte(0), uint32(4096))
	f.Add(uint32(20000), uint32(11), byte(1), uint32(0))
	f.Fuzz(func(t *testing.T, size, pos uint32, mask byte, cut uint32) {
		size %= 3072 + 4096*100
		plain := fuzzPlain(int(size))
		file, _ := writePFS(t, zeroKeyPFS, "f.enc", plain)
		file[int(pos)%len(file)] ^= mask
		file = file[:len(file)-int(cut)%len(file)]
		got, err := readPFS(file, zeroKeyPFS, ReaderOptions{Name: "f.enc"})
		if err == nil && !bytes.Equal(got, plain) {
			t.Fatalf("tampered file (xor %#x at %d, cut %d) read as other content", mask, int(pos)%len(file), cut)
		}
	})
}

// FuzzTeaclaveFileRecovery opens an interrupted file with an arbitrary
// recovery file: the result is an error or exactly the old content.
func FuzzTeaclaveFileRecovery(f *testing.F) {
	oldPlain := fuzzPlain(3072 + 4096*2)
	newPlain := bytes.Repeat([]byte{0x5a}, len(oldPlain))
	oldFile, _ := writePFS(f, zeroKeyPFS, "f.enc", oldPlain)
	newFile, _ := writePFS(f, zeroKeyPFS, "f.enc", newPlain)
	crashed := bytes.Clone(oldFile)
	crashed[11] = 1
	copy(crashed[4096:2*4096], newFile[4096:2*4096])
	f.Add(recoveryFile(oldFile, 1, 2, 3, 0))
	f.Add(recoveryFile(oldFile, 1, 0))
	f.Add(recoveryFile(newFile, 2, 0))
	f.Fuzz(func(t *testing.T, rec []byte) {
		got, err := readPFS(crashed, zeroKeyPFS, ReaderOptions{
			Name: "f.enc", Recovery: bytes.NewReader(rec), RecoverySize: int64(len(rec)),
		})
		if err == nil && !bytes.Equal(got, oldPlain) {
			t.Fatal("recovered file read as other content")
		}
	})
}

var fuzzGCMInfo = CryptoInfo{Schema: SchemaAESGCM128, Key: make([]byte, 16), IV: bytes.Repeat([]byte{1}, 12)}

// FuzzAESGCMReader reads arbitrary bytes as an aes-gcm file: never a panic,
// and anything but a genuine file fails authentication.
func FuzzAESGCMReader(f *testing.F) {
	f.Add(readFixture(f, "gbdt_training/train.aes_gcm_128"))
	f.Add([]byte{})
	f.Add(make([]byte, 16))
	f.Fuzz(func(t *testing.T, data []byte) {
		got, err := readGCM(data, fuzzGCMInfo, nil)
		if err != nil {
			return
		}
		want, err := mustGCM(t, fuzzGCMInfo.Key).Open(nil, fuzzGCMInfo.IV, data, make([]byte, 8))
		if err != nil || !bytes.Equal(got, want) {
			t.Fatalf("accepted a file crypto/cipher rejects (%v) or read it differently", err)
		}
	})
}

// FuzzAESGCMTamper changes one byte of an aes-gcm file of up to three chunks:
// any change is ErrAuthentication.
func FuzzAESGCMTamper(f *testing.F) {
	f.Add(uint32(100), uint32(3), byte(1))
	f.Add(uint32(gcmChunkSize+1), uint32(gcmChunkSize+16), byte(0x80))
	f.Fuzz(func(t *testing.T, size, pos uint32, mask byte) {
		if mask == 0 {
			return
		}
		plain := fuzzPlain(int(size % (3 * gcmChunkSize)))
		file := mustGCM(t, fuzzGCMInfo.Key).Seal(nil, fuzzGCMInfo.IV, plain, make([]byte, 8))
		file[int(pos)%len(file)] ^= mask
		if _, err := readGCM(file, fuzzGCMInfo, nil); !errors.Is(err, ErrAuthentication) {
			t.Fatalf("xor %#x at %d: err = %v, want ErrAuthentication", mask, int(pos)%len(file), err)
		}
	})
}
