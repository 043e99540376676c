package filecrypto

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"runtime"
	"testing"
	"time"
)

// openGCMMode opens an aes-gcm file with the helper goroutine on or off,
// whatever GOMAXPROCS is.
func openGCMMode(t *testing.T, src io.ReaderAt, size int64, info CryptoInfo, parallel bool) *gcmReader {
	t.Helper()
	r, err := openGCM(src, size, info, gcmFileAAD, nil)
	if err != nil {
		t.Fatal(err)
	}
	r.parallel = parallel
	return r
}

// readEvents reads r to its end or first error in reads of step bytes and
// describes every Read's result, so that two readers can be compared.
func readEvents(r io.Reader, step int) (plain []byte, events []string) {
	p := make([]byte, step)
	for range 1 << 20 {
		n, err := r.Read(p)
		plain = append(plain, p[:n]...)
		events = append(events, fmt.Sprintf("%d %v", n, err))
		if err != nil {
			return plain, events
		}
	}
	return plain, append(events, "no end")
}

// failingAt is an aes-gcm file whose ciphertext cannot be read from byte
// offset at on (its tag can): reads fail with err.
type failingAt struct {
	b   []byte
	at  int64
	err error
}

var errFailingSource = errors.New("disk on fire")

func (f failingAt) ReadAt(p []byte, off int64) (int, error) {
	if off < int64(len(f.b)-TagSize) && off+int64(len(p)) > f.at {
		n := 0
		if off < f.at {
			n = copy(p, f.b[off:f.at])
		}
		return n, f.err
	}
	n := copy(p, f.b[off:])
	if n < len(p) {
		return n, io.EOF
	}
	return n, nil
}

// TestAESGCMReaderHelper: with and without the helper goroutine, readers
// return the same plaintext and the same sequence of Read results (bytes and
// errors) for intact, tampered and truncated files and for sources that fail
// mid-file, for reads smaller and larger than a chunk.
func TestAESGCMReaderHelper(t *testing.T) {
	sizes := []int{gcmParallelMin - 1, gcmParallelMin, gcmChunkSize - 16, gcmChunkSize, gcmChunkSize + 1, 2 * gcmChunkSize, 2*gcmChunkSize + 20000, 3*gcmChunkSize + 17}
	for _, size := range sizes {
		for _, schema := range []Schema{SchemaAESGCM128, SchemaAESGCM256} {
			info, plain := newGCMInfo(schema), randomBytes(size)
			file, _ := writeGCM(t, info, plain)
			type source struct {
				name string
				src  io.ReaderAt
				size int64
			}
			flipped := func(pos int) []byte {
				b := bytes.Clone(file)
				b[pos] ^= 1
				return b
			}
			sources := []source{
				{"intact", bytes.NewReader(file), int64(len(file))},
				{"flip first", bytes.NewReader(flipped(0)), int64(len(file))},
				{"flip last", bytes.NewReader(flipped(size - 1)), int64(len(file))},
				{"flip tag", bytes.NewReader(flipped(size)), int64(len(file))},
				{"truncated source", failingAt{file, int64(size / 2), io.EOF}, int64(len(file))},
				{"failing source", failingAt{file, int64(size / 2), errFailingSource}, int64(len(file))},
			}
			for _, src := range sources {
				for _, step := range []int{1000, gcmChunkSize, 2 * gcmChunkSize} {
					name := fmt.Sprintf("%s/%d/%s/read%d", schema, size, src.name, step)
					seqPlain, seq := readEvents(openGCMMode(t, src.src, src.size, info, false), step)
					parPlain, par := readEvents(openGCMMode(t, src.src, src.size, info, true), step)
					if fmt.Sprint(seq) != fmt.Sprint(par) || !bytes.Equal(seqPlain, parPlain) {
						t.Fatalf("%s: without helper %v, with helper %v", name, seq, par)
					}
					last := seq[len(seq)-1]
					switch {
					case src.name == "intact":
						if last != "0 EOF" || !bytes.Equal(parPlain, plain) {
							t.Fatalf("%s: ends with %q or wrong plaintext", name, last)
						}
					case len(parPlain) > (size-1)/gcmChunkSize*gcmChunkSize:
						t.Fatalf("%s: %d bytes returned, some of the last chunk", name, len(parPlain))
					}
				}
			}
		}
	}
}

// TestAESGCMReaderGoroutines: a reader's helper goroutine never outlives it
// for long: not after a file is read to its end, nor after a failure, nor
// when the reader is abandoned mid-file.
func TestAESGCMReaderGoroutines(t *testing.T) {
	info := newGCMInfo(SchemaAESGCM128)
	plain := randomBytes(5*gcmChunkSize + 3)
	file, _ := writeGCM(t, info, plain)
	bad := bytes.Clone(file)
	bad[len(bad)-1] ^= 1
	base := runtime.NumGoroutine()
	started := false
	for _, tc := range []struct {
		name  string
		src   io.ReaderAt
		reads int // -1: to the end
	}{
		{"read to the end", bytes.NewReader(file), -1},
		{"abandoned after one chunk", bytes.NewReader(file), 1},
		{"abandoned after three chunks", bytes.NewReader(file), 3},
		{"tampered", bytes.NewReader(bad), -1},
		{"failing source", failingAt{file, 3 * gcmChunkSize, errFailingSource}, -1},
	} {
		r := openGCMMode(t, tc.src, int64(len(file)), info, true)
		p := make([]byte, gcmChunkSize)
		for i := 0; tc.reads < 0 || i < tc.reads; i++ {
			if _, err := r.Read(p); err != nil {
				break
			}
			started = started || r.helper.running.Load()
		}
		deadline := time.Now().Add(10 * time.Second)
		for runtime.NumGoroutine() > base {
			if time.Now().After(deadline) {
				t.Fatalf("%s: %d goroutines, %d before", tc.name, runtime.NumGoroutine(), base)
			}
			time.Sleep(time.Millisecond)
		}
	}
	if !started {
		t.Error("no helper goroutine was ever seen running")
	}
}

// TestAESGCMReaderOneProcessor: with GOMAXPROCS=1 readers decrypt on the
// calling goroutine alone.
func TestAESGCMReaderOneProcessor(t *testing.T) {
	defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(1))
	info := newGCMInfo(SchemaAESGCM256)
	plain := randomBytes(2*gcmChunkSize + 5)
	file, tag := writeGCM(t, info, plain)
	r, err := openGCM(bytes.NewReader(file), int64(len(file)), info, gcmFileAAD, &tag)
	if err != nil {
		t.Fatal(err)
	}
	if r.parallel {
		t.Fatal("helper enabled on one processor")
	}
	got, err := io.ReadAll(r)
	if err != nil || !bytes.Equal(got, plain) {
		t.Fatalf("read %d bytes, %v", len(got), err)
	}
}
