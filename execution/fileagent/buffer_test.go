package fileagent

import (
	"bytes"
	"context"
	"errors"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"testing/iotest"
	"time"
)

// marker makes plaintext recognisable wherever it lands.
const marker = "PLAINTEXT-MARKER-"

// plaintext returns n bytes of recognisable plaintext.
func plaintext(n int) []byte {
	var b bytes.Buffer
	for i := 0; b.Len() < n; i++ {
		b.WriteString(marker)
		b.WriteString(strings.Repeat(string(rune('a'+i%26)), 15))
	}
	return b.Bytes()[:n]
}

// sealedFile returns the bytes the host sees of a spilled buffer.
func sealedFile(t *testing.T, b *Buffer) []byte {
	t.Helper()
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.f == nil {
		t.Fatal("not spilled")
	}
	// Flush the cached chunk, as any later read of another chunk would.
	if err := b.flush(); err != nil {
		t.Fatal(err)
	}
	fi, err := b.f.Stat()
	if err != nil {
		t.Fatal(err)
	}
	out := make([]byte, fi.Size())
	if _, err := b.f.ReadAt(out, 0); err != nil && err != io.EOF {
		t.Fatal(err)
	}
	return out
}

func newTestScratch(t *testing.T, dir string, mem, disk int64) *Scratch {
	t.Helper()
	s, err := NewScratch(dir, mem, disk)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

// TestSpillSealed: a buffer that outgrows the task's memory budget moves
// to a scratch file that is unlinked at once (nothing is left in the
// folder, even while the buffer is open), holds no plaintext, and reads
// back exactly what was written, appended or written at an offset.
func TestSpillSealed(t *testing.T) {
	dir := t.TempDir()
	s := newTestScratch(t, dir, 16<<10, 1<<30)
	b := s.NewBuffer(1 << 30)
	want := plaintext(300 << 10)
	for off := 0; off < len(want); off += 10000 {
		if _, err := b.Write(want[off:min(off+10000, len(want))]); err != nil {
			t.Fatal(err)
		}
	}
	if !b.Spilled() || s.MemoryInUse() != 0 || s.DiskInUse() == 0 {
		t.Fatalf("spilled %v, memory %d, disk %d", b.Spilled(), s.MemoryInUse(), s.DiskInUse())
	}
	if entries, _ := os.ReadDir(dir); len(entries) != 0 {
		t.Fatalf("scratch folder holds %v", entries)
	}
	// Overwrite across a chunk boundary, and extend with a gap.
	patch := []byte(marker + "patched across the boundary")
	copy(want[chunkSize-10:], patch)
	if _, err := b.WriteAt(patch, chunkSize-10); err != nil {
		t.Fatal(err)
	}
	tail := []byte(marker + "after a gap")
	gapAt := int64(len(want)) + 3*chunkSize + 7
	if _, err := b.WriteAt(tail, gapAt); err != nil {
		t.Fatal(err)
	}
	want = append(want, make([]byte, gapAt-int64(len(want)))...)
	want = append(want, tail...)

	got, err := io.ReadAll(b.Reader())
	if err != nil || !bytes.Equal(got, want) {
		t.Fatalf("read back %d bytes (%v), want %d equal bytes", len(got), err, len(want))
	}
	file := sealedFile(t, b)
	if int64(len(file)) < int64(len(want)) {
		t.Fatalf("scratch file of %d bytes for %d", len(file), len(want))
	}
	if bytes.Contains(file, []byte(marker)) || bytes.Contains(file, want[100:132]) {
		t.Fatal("plaintext in the scratch file")
	}
	// Same content, another scratch: another key, other bytes.
	s2 := newTestScratch(t, t.TempDir(), 0, 1<<30)
	b2 := s2.NewBuffer(1 << 30)
	if _, err := b2.Write(want); err != nil {
		t.Fatal(err)
	}
	if bytes.Equal(sealedFile(t, b2)[:chunkSize], file[:chunkSize]) {
		t.Fatal("two scratches sealed a chunk alike")
	}
	if err := b.Close(); err != nil {
		t.Fatal(err)
	}
	if s.DiskInUse() != 0 || s.MemoryInUse() != 0 {
		t.Fatalf("after close: memory %d, disk %d", s.MemoryInUse(), s.DiskInUse())
	}
	if _, err := b.ReadAt(make([]byte, 1), 0); !errors.Is(err, ErrScratchClosed) {
		t.Fatalf("read after close: %v", err)
	}
}

// TestSpillTampering: the host can change the scratch file but not what
// the task reads from it: a modified chunk, a chunk moved to another
// position or another buffer's file, and an older version of a chunk all
// fail to read with ErrScratchTampered, and the failure sticks.
func TestSpillTampering(t *testing.T) {
	setup := func(t *testing.T) (*Scratch, *Buffer, *Buffer) {
		s := newTestScratch(t, t.TempDir(), 0, 1<<30)
		a, b := s.NewBuffer(1<<30), s.NewBuffer(1<<30)
		for _, x := range []*Buffer{a, b} {
			if _, err := x.Write(plaintext(4 * chunkSize)); err != nil {
				t.Fatal(err)
			}
			sealedFile(t, x) // flush
		}
		return s, a, b
	}
	readChunk := func(b *Buffer, idx int64) error {
		_, err := b.ReadAt(make([]byte, 100), idx*chunkSize+5)
		return err
	}
	writeSealed := func(t *testing.T, b *Buffer, idx int64, data []byte) {
		if _, err := b.f.WriteAt(data, idx*sealedChunkSize); err != nil {
			t.Fatal(err)
		}
	}
	sealedChunk := func(t *testing.T, b *Buffer, idx int64) []byte {
		return sealedFile(t, b)[idx*sealedChunkSize : (idx+1)*sealedChunkSize]
	}

	t.Run("modified", func(t *testing.T) {
		_, a, _ := setup(t)
		c := sealedChunk(t, a, 1)
		c[7] ^= 1
		writeSealed(t, a, 1, c)
		if err := readChunk(a, 1); !errors.Is(err, ErrScratchTampered) {
			t.Fatalf("read: %v", err)
		}
		if err := readChunk(a, 0); !errors.Is(err, ErrScratchTampered) {
			t.Fatalf("the failure did not stick: %v", err)
		}
	})
	t.Run("swapped", func(t *testing.T) {
		_, a, _ := setup(t)
		writeSealed(t, a, 2, sealedChunk(t, a, 0))
		if err := readChunk(a, 2); !errors.Is(err, ErrScratchTampered) {
			t.Fatalf("read: %v", err)
		}
	})
	t.Run("from another buffer", func(t *testing.T) {
		_, a, b := setup(t)
		writeSealed(t, a, 1, sealedChunk(t, b, 1))
		if err := readChunk(a, 1); !errors.Is(err, ErrScratchTampered) {
			t.Fatalf("read: %v", err)
		}
	})
	t.Run("rolled back", func(t *testing.T) {
		_, a, _ := setup(t)
		old := sealedChunk(t, a, 1)
		if _, err := a.WriteAt([]byte("new content"), chunkSize+3); err != nil {
			t.Fatal(err)
		}
		sealedFile(t, a)                        // flush the new version
		if err := readChunk(a, 0); err != nil { // and stop caching it
			t.Fatal(err)
		}
		writeSealed(t, a, 1, old)
		if err := readChunk(a, 1); !errors.Is(err, ErrScratchTampered) {
			t.Fatalf("read: %v", err)
		}
	})
	t.Run("truncated", func(t *testing.T) {
		_, a, _ := setup(t)
		if err := a.f.Truncate(sealedChunkSize + 10); err != nil {
			t.Fatal(err)
		}
		if err := readChunk(a, 2); !errors.Is(err, ErrScratchTampered) {
			t.Fatalf("read: %v", err)
		}
	})
}

// TestMemoryBudget: the budget is shared by a task's buffers: those that
// fit stay in memory, the one that does not spills, and closing a buffer
// returns its share.
func TestMemoryBudget(t *testing.T) {
	s := newTestScratch(t, t.TempDir(), 64<<10, 1<<30)
	a, b := s.NewBuffer(1<<20), s.NewBuffer(1<<20)
	if _, err := a.Write(plaintext(40 << 10)); err != nil {
		t.Fatal(err)
	}
	if _, err := b.Write(plaintext(40 << 10)); err != nil {
		t.Fatal(err)
	}
	if a.Spilled() || !b.Spilled() || s.MemoryInUse() != 40<<10 {
		t.Fatalf("a spilled %v, b spilled %v, memory %d", a.Spilled(), b.Spilled(), s.MemoryInUse())
	}
	a.Close()
	c := s.NewBuffer(1 << 20)
	if _, err := c.Write(plaintext(60 << 10)); err != nil || c.Spilled() {
		t.Fatalf("after a closed: %v, spilled %v", err, c.Spilled())
	}
	// A buffer's own size limit holds in memory and spilled.
	small := s.NewBuffer(100)
	if _, err := small.Write(make([]byte, 101)); !errors.Is(err, ErrTooLarge) {
		t.Fatalf("over the buffer's size: %v", err)
	}
	if _, err := b.WriteAt([]byte("x"), 1<<20); !errors.Is(err, ErrTooLarge) {
		t.Fatalf("over the spilled buffer's size: %v", err)
	}
}

// TestScratchLimit: the scratch files of a task are bounded; a download
// that outgrows them fails saying so, not that the file is too large.
func TestScratchLimit(t *testing.T) {
	// The chunk being written is sealed when the next one starts, so the
	// limit bites at most one chunk late.
	s := newTestScratch(t, t.TempDir(), 0, 2*sealedChunkSize)
	b := s.NewBuffer(1 << 30)
	_, err := b.Write(make([]byte, 4*chunkSize))
	if !errors.Is(err, ErrScratchFull) || !errors.Is(err, ErrTooLarge) {
		t.Fatalf("write past the limit: %v", err)
	}
	root := t.TempDir()
	if err := os.WriteFile(filepath.Join(root, "in.bin"), make([]byte, 4*chunkSize), 0o600); err != nil {
		t.Fatal(err)
	}
	a, err := New(Config{FileRoots: []string{root}}.Defaults(), Deps{})
	if err != nil {
		t.Fatal(err)
	}
	defer a.Close()
	s2 := newTestScratch(t, t.TempDir(), 0, 2*sealedChunkSize)
	err = a.Download(context.Background(), "file://"+root+"/in.bin", s2.NewBuffer(1<<30))
	if err == nil || err.Error() != "download failed: the task's files exceed the node's scratch space" {
		t.Fatalf("download past the scratch limit: %v", err)
	}
}

// TestFileUploadFailureLeavesNothing: a file:// output whose source fails
// midway (here a scratch chunk the host modified) leaves neither the
// output's name nor a temporary file behind: the name appears only once
// the whole file is written.
func TestFileUploadFailureLeavesNothing(t *testing.T) {
	root := t.TempDir()
	a, err := New(Config{FileRoots: []string{root}}.Defaults(), Deps{})
	if err != nil {
		t.Fatal(err)
	}
	defer a.Close()
	s := newTestScratch(t, t.TempDir(), 0, 1<<30)
	src := s.NewBuffer(1 << 30)
	if _, err := src.Write(plaintext(4 * chunkSize)); err != nil {
		t.Fatal(err)
	}
	sealed := sealedFile(t, src)
	sealed[2*sealedChunkSize+1] ^= 1
	if _, err := src.f.WriteAt(sealed[2*sealedChunkSize:3*sealedChunkSize], 2*sealedChunkSize); err != nil {
		t.Fatal(err)
	}
	err = a.Upload(context.Background(), "file://"+root+"/out.bin", src)
	if err == nil || err.Error() != "upload failed: cannot write file" || !errors.Is(err, ErrScratchTampered) {
		t.Fatalf("upload: %v", err)
	}
	if entries, _ := os.ReadDir(root); len(entries) != 0 {
		t.Fatalf("left behind: %v", entries)
	}
	if _, err := os.Stat(filepath.Join(root, "out.bin")); !errors.Is(err, os.ErrNotExist) {
		t.Fatal("the output's name exists")
	}
}

// TestFileUploadTempName: while a file:// output is being written, only a
// temporary name exists in its folder; the output's name appears once the
// file is complete. The test holds the scratch lock so that the upload
// stops after creating its file and before writing its first byte.
func TestFileUploadTempName(t *testing.T) {
	root := t.TempDir()
	a, err := New(Config{FileRoots: []string{root}}.Defaults(), Deps{})
	if err != nil {
		t.Fatal(err)
	}
	defer a.Close()
	s := newTestScratch(t, t.TempDir(), 0, 1<<30)
	src := s.NewBuffer(1 << 30)
	want := plaintext(4 * chunkSize)
	if _, err := src.Write(want); err != nil {
		t.Fatal(err)
	}
	// The last chunk is cached and not yet sealed: reading the first one
	// seals it, which needs s.mu.
	s.mu.Lock()
	done := make(chan error, 1)
	go func() { done <- a.Upload(context.Background(), "file://"+root+"/out.bin", src) }()
	var names []string
	for deadline := time.Now().Add(30 * time.Second); len(names) == 0; time.Sleep(time.Millisecond) {
		if time.Now().After(deadline) {
			s.mu.Unlock()
			t.Fatal("the upload created no file")
		}
		entries, _ := os.ReadDir(root)
		for _, e := range entries {
			names = append(names, e.Name())
		}
	}
	s.mu.Unlock()
	if len(names) != 1 || names[0] == "out.bin" || !strings.HasPrefix(names[0], ".out.bin.tmp-") {
		t.Fatalf("while writing, the folder holds %q", names)
	}
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	got, err := os.ReadFile(filepath.Join(root, "out.bin"))
	if err != nil || !bytes.Equal(got, want) {
		t.Fatalf("output %d bytes, %v", len(got), err)
	}
	if entries, _ := os.ReadDir(root); len(entries) != 1 {
		t.Fatalf("after writing, the folder holds %v", entries)
	}
}

// onlyReader hides every method but Read.
type onlyReader struct{ r io.Reader }

func (o onlyReader) Read(p []byte) (int, error) { return o.r.Read(p) }

// TestGrowAndReadFrom: a reader that tells its size fills a buffer grown
// once to exactly that size; a size beyond the budget or the buffer's
// limit reserves nothing more than allowed; reads past the budget still
// spill, and errors come through.
func TestGrowAndReadFrom(t *testing.T) {
	s := newTestScratch(t, t.TempDir(), 1<<20, 1<<30)
	want := plaintext(600 << 10)
	b := s.NewBuffer(2 << 20)
	if n, err := b.ReadFrom(bytes.NewReader(want)); err != nil || n != int64(len(want)) {
		t.Fatalf("ReadFrom: %d, %v", n, err)
	}
	if got, _ := io.ReadAll(b.Reader()); !bytes.Equal(got, want) || b.Spilled() {
		t.Fatalf("read back %d bytes, spilled %v", len(got), b.Spilled())
	}
	// Grown once, to the size: doubling from 4 KiB would hold 1 MiB.
	if m := s.MemoryInUse(); m != int64(len(want)) {
		t.Fatalf("memory in use %d, want %d", m, len(want))
	}

	big := s.NewBuffer(1 << 30)
	big.Grow(10 << 20) // more than the budget's rest: nothing reserved
	if m := s.MemoryInUse(); m != int64(len(want)) {
		t.Fatalf("a grow past the budget reserved memory: %d", m)
	}
	more := plaintext(700 << 10)
	if _, err := io.Copy(big, onlyReader{bytes.NewReader(more)}); err != nil {
		t.Fatal(err)
	}
	if got, _ := io.ReadAll(big.Reader()); !bytes.Equal(got, more) || !big.Spilled() {
		t.Fatalf("read back %d bytes, spilled %v", len(got), big.Spilled())
	}

	small := s.NewBuffer(1000)
	small.Grow(1 << 40)
	if m := s.MemoryInUse(); m != int64(len(want))+1000 {
		t.Fatalf("a grow past the buffer's limit reserved %d", m-int64(len(want)))
	}
	if _, err := small.ReadFrom(bytes.NewReader(make([]byte, 1001))); !errors.Is(err, ErrTooLarge) {
		t.Fatalf("ReadFrom past the limit: %v", err)
	}
	failing := io.MultiReader(bytes.NewReader([]byte("abc")), iotest.ErrReader(errTestRead))
	if _, err := s.NewBuffer(1000).ReadFrom(failing); !errors.Is(err, errTestRead) {
		t.Fatalf("ReadFrom of a failing reader: %v", err)
	}
}

var errTestRead = errors.New("test read error")
