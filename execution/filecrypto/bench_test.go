package filecrypto

import (
	"bytes"
	"crypto/cipher"
	"crypto/rand"
	"io"
	"testing"
	"time"
)

// benchSize is the plaintext size of the benchmarks: large enough that
// per-file costs (key setup, metadata) do not dominate.
const benchSize = 4 << 20

// benchCase is one schema with what its benchmarks need, and crypto/cipher's
// AES-GCM with the same key size as the baseline.
type benchCase struct {
	name  string
	info  CryptoInfo
	plain []byte
	file  []byte    // the plaintext encrypted in this schema
	buf   []byte    // read buffer
	std   stdlibGCM // the baseline
}

type stdlibGCM struct {
	aead       cipher.AEAD
	nonce, aad []byte
	ct, dst    []byte
}

func (s *stdlibGCM) seal() { s.dst = s.aead.Seal(s.dst[:0], s.nonce, s.ct[:benchSize], s.aad) }

func (s *stdlibGCM) open(b *testing.B) {
	var err error
	if s.dst, err = s.aead.Open(s.dst[:0], s.nonce, s.ct, s.aad); err != nil {
		b.Fatal(err)
	}
}

func newBenchCases(b *testing.B) []*benchCase {
	plain := make([]byte, benchSize)
	rand.Read(plain)
	var cases []*benchCase
	for _, info := range []CryptoInfo{newGCMInfo(SchemaAESGCM128), newGCMInfo(SchemaAESGCM256), newPFSInfo()} {
		bc := &benchCase{name: string(info.Schema), info: info, plain: plain, buf: make([]byte, 64<<10)}
		if info.Schema == SchemaTeaclaveFile128 {
			bc.file, _ = writePFS(b, info, "bench.enc", plain)
		} else {
			bc.file, _ = writeGCM(b, info, plain)
		}
		keyLen := 16
		if info.Schema == SchemaAESGCM256 {
			keyLen = 32
		}
		bc.std = stdlibGCM{aead: mustGCM(b, randomBytes(keyLen)), nonce: randomBytes(12), aad: make([]byte, 8)}
		bc.std.ct = bc.std.aead.Seal(nil, bc.std.nonce, plain, bc.std.aad)
		bc.std.dst = make([]byte, 0, len(bc.std.ct))
		cases = append(cases, bc)
	}
	return cases
}

// discardAt is a destination that keeps nothing, so that the encryption
// benchmarks measure the writers and not copying into a test buffer.
type discardAt struct{}

func (discardAt) Write(p []byte) (int, error)            { return len(p), nil }
func (discardAt) WriteAt(p []byte, _ int64) (int, error) { return len(p), nil }

// encrypt writes the plaintext with one Write.
func (bc *benchCase) encrypt(b *testing.B) {
	w, err := NewWriter(discardAt{}, bc.info, WriterOptions{Name: "bench.enc", ClaimNonce: allowNonce})
	if err != nil {
		b.Fatal(err)
	}
	if _, err := w.Write(bc.plain); err != nil {
		b.Fatal(err)
	}
	if err := w.Close(); err != nil {
		b.Fatal(err)
	}
}

// decrypt reads the file through in 64 KiB reads.
func (bc *benchCase) decrypt(b *testing.B) {
	r, err := NewReader(bytes.NewReader(bc.file), int64(len(bc.file)), bc.info, ReaderOptions{Name: "bench.enc"})
	if err != nil {
		b.Fatal(err)
	}
	for {
		if _, err := r.Read(bc.buf); err == io.EOF {
			return
		} else if err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkEncrypt measures each writer (MB/s of plaintext).
func BenchmarkEncrypt(b *testing.B) {
	for _, bc := range newBenchCases(b) {
		b.Run(bc.name, func(b *testing.B) {
			b.SetBytes(benchSize)
			for b.Loop() {
				bc.encrypt(b)
			}
		})
		b.Run("stdlib-"+bc.name, func(b *testing.B) {
			b.SetBytes(benchSize)
			for b.Loop() {
				bc.std.seal()
			}
		})
	}
}

// BenchmarkDecrypt measures each reader (MB/s of plaintext), including the
// copy out of the source that a file read implies.
func BenchmarkDecrypt(b *testing.B) {
	for _, bc := range newBenchCases(b) {
		b.Run(bc.name, func(b *testing.B) {
			b.SetBytes(benchSize)
			for b.Loop() {
				bc.decrypt(b)
			}
		})
		b.Run("stdlib-"+bc.name, func(b *testing.B) {
			b.SetBytes(benchSize)
			for b.Loop() {
				bc.std.open(b)
			}
		})
	}
}

// BenchmarkVsStdlib alternates each reader and writer with crypto/cipher's
// one-shot AES-GCM (Seal or Open) of the same 4 MiB under the same key size,
// and reports our throughput as a fraction of the standard library's
// (speed/stdlib), from the fastest run of each. Alternating and taking the
// fastest runs keep the ratio meaningful on a shared, loaded machine, where
// separate MB/s figures drift with the load.
func BenchmarkVsStdlib(b *testing.B) {
	for _, bc := range newBenchCases(b) {
		for _, dir := range []string{"encrypt", "decrypt"} {
			b.Run(bc.name+"/"+dir, func(b *testing.B) {
				std, ours := time.Duration(1<<62), time.Duration(1<<62)
				for b.Loop() {
					t0 := time.Now()
					if dir == "encrypt" {
						bc.std.seal()
					} else {
						bc.std.open(b)
					}
					t1 := time.Now()
					if dir == "encrypt" {
						bc.encrypt(b)
					} else {
						bc.decrypt(b)
					}
					std, ours = min(std, t1.Sub(t0)), min(ours, time.Since(t1))
				}
				b.ReportMetric(float64(std)/float64(ours), "speed/stdlib")
				b.ReportMetric(benchSize/ours.Seconds()/1e6, "MB/s")
				b.ReportMetric(benchSize/std.Seconds()/1e6, "stdlib-MB/s")
			})
		}
	}
}
