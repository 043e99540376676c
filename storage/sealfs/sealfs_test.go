package sealfs

import (
	"bytes"
	"crypto/sha256"
	"encoding/binary"
	"errors"
	"io"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/syndtr/goleveldb/leveldb/storage"
)

var (
	testKey  = sha256.Sum256([]byte("teaclave-go sealfs test key"))
	otherKey = sha256.Sum256([]byte("teaclave-go sealfs other key"))
)

func openStor(t *testing.T, dir string, key []byte) *Storage {
	t.Helper()
	s, err := Open(dir, key, nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

func table(n int64) storage.FileDesc { return storage.FileDesc{Type: storage.TypeTable, Num: n} }

func journal(n int64) storage.FileDesc { return storage.FileDesc{Type: storage.TypeJournal, Num: n} }

// randomData is deterministic per seed.
func randomData(seed uint64, n int) []byte {
	r := rand.New(rand.NewPCG(seed, 1))
	b := make([]byte, n)
	for i := range b {
		b[i] = byte(r.Uint32())
	}
	return b
}

// writeFile creates fd holding data, written in pieces of random sizes
// with a Sync after some of them.
func writeFile(t *testing.T, s *Storage, fd storage.FileDesc, data []byte, seed uint64) {
	t.Helper()
	w, err := s.Create(fd)
	if err != nil {
		t.Fatal(err)
	}
	r := rand.New(rand.NewPCG(seed, 2))
	for p := data; len(p) > 0; {
		n := min(len(p), 1+r.IntN(9000))
		if _, err := w.Write(p[:n]); err != nil {
			t.Fatal(err)
		}
		p = p[n:]
		if r.IntN(3) == 0 {
			if err := w.Sync(); err != nil {
				t.Fatal(err)
			}
		}
	}
	if err := w.Sync(); err != nil {
		t.Fatal(err)
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
}

func readFile(s *Storage, fd storage.FileDesc) ([]byte, error) {
	r, err := s.Open(fd)
	if err != nil {
		return nil, err
	}
	defer r.Close()
	return io.ReadAll(r)
}

// wantIntegrity fails t unless err reports an integrity failure.
func wantIntegrity(t *testing.T, err error, what string) {
	t.Helper()
	if err == nil {
		t.Fatalf("%s: not detected", what)
	}
	var ce *storage.ErrCorrupted
	if !errors.As(err, &ce) || !errors.Is(ce.Err, ErrIntegrity) {
		t.Fatalf("%s: got %v, want an integrity error", what, err)
	}
}

func TestRoundTrip(t *testing.T) {
	s := openStor(t, t.TempDir(), testKey[:])
	for i, n := range []int{0, 1, 100, chunkSize - 1, chunkSize, chunkSize + 1, 3*chunkSize + 5, 100000} {
		fd := table(int64(i + 1))
		data := randomData(uint64(i), n)
		writeFile(t, s, fd, data, uint64(i))
		got, err := readFile(s, fd)
		if err != nil {
			t.Fatalf("size %d: %v", n, err)
		}
		if !bytes.Equal(got, data) {
			t.Fatalf("size %d: read back differs", n)
		}
		r, err := s.Open(fd)
		if err != nil {
			t.Fatal(err)
		}
		if end, _ := r.Seek(0, io.SeekEnd); end != int64(n) {
			t.Fatalf("size %d: Seek(0, end) = %d", n, end)
		}
		rnd := rand.New(rand.NewPCG(uint64(n), 3))
		for range 50 {
			off := rnd.IntN(n + 10)
			buf := make([]byte, rnd.IntN(10000))
			k, err := r.ReadAt(buf, int64(off))
			want := max(0, min(len(buf), n-off))
			if k != want || !bytes.Equal(buf[:k], data[min(off, n):min(off, n)+k]) {
				t.Fatalf("size %d: ReadAt(%d, %d) = %d, %v", n, len(buf), off, k, err)
			}
			if k < len(buf) && err != io.EOF {
				t.Fatalf("size %d: short ReadAt without io.EOF: %v", n, err)
			}
		}
		r.Close()
	}
	// The plaintext is not on disk.
	marker := bytes.Repeat([]byte("plaintext marker "), 1000)
	writeFile(t, s, table(99), marker, 9)
	raw, err := os.ReadFile(filepath.Join(s.dir, "000099.ldb"))
	if err != nil {
		t.Fatal(err)
	}
	if bytes.Contains(raw, []byte("plaintext marker")) {
		t.Fatal("plaintext found on disk")
	}
}

// recorder records a writer's disk operations, applying them as it goes.
type recorder struct {
	f   *os.File
	ops []diskOp
}

type diskOp struct {
	off  int64
	data []byte // nil for a sync
}

func (r *recorder) WriteAt(p []byte, off int64) (int, error) {
	r.ops = append(r.ops, diskOp{off: off, data: bytes.Clone(p)})
	return r.f.WriteAt(p, off)
}

func (r *recorder) Sync() error {
	r.ops = append(r.ops, diskOp{})
	return r.f.Sync()
}

func (r *recorder) Close() error { return r.f.Close() }

// image applies ops to an empty file; a torn last write applies only its
// first cut bytes.
func image(ops []diskOp, cut int) []byte {
	var img []byte
	for i, op := range ops {
		data := op.data
		if data == nil {
			continue
		}
		if i == len(ops)-1 && cut >= 0 {
			data = data[:cut]
		}
		if end := int(op.off) + len(data); end > len(img) {
			img = append(img, make([]byte, end-len(img))...)
		}
		copy(img[op.off:], data)
	}
	return img
}

// TestCrashAtEveryWrite replays a writer's disk writes and checks that a
// crash after any prefix of them, with the last write torn anywhere, reads
// back as the state of the last completed Sync or of the Sync under way,
// never as an error, never as anything else.
func TestCrashAtEveryWrite(t *testing.T) {
	s := openStor(t, t.TempDir(), testKey[:])
	rec := &recorder{}
	s.wrapFile = func(f *os.File) diskFile { rec.f = f; return rec }
	fd := journal(7)
	w, err := s.Create(fd)
	if err != nil {
		t.Fatal(err)
	}
	states := [][]byte{{}} // contents after each Sync; 0 is creation
	syncedAt := []int{1}   // len(rec.ops) when each state was complete
	var data []byte
	rnd := rand.New(rand.NewPCG(5, 5))
	for range 40 {
		p := randomData(rnd.Uint64(), 1+rnd.IntN(6000))
		if _, err := w.Write(p); err != nil {
			t.Fatal(err)
		}
		data = append(data, p...)
		if rnd.IntN(2) == 0 {
			if err := w.Sync(); err != nil {
				t.Fatal(err)
			}
			states = append(states, bytes.Clone(data))
			syncedAt = append(syncedAt, len(rec.ops))
		}
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	states = append(states, bytes.Clone(data))
	syncedAt = append(syncedAt, len(rec.ops))

	checked := 0
	for k := 0; k <= len(rec.ops); k++ {
		cuts := []int{-1}
		if k > 0 && rec.ops[k-1].data != nil {
			n := len(rec.ops[k-1].data)
			cuts = append(cuts, 0, 1, n/2, n-1)
		}
		// done: the states complete with the first k ops applied.
		done := 0
		for i, at := range syncedAt {
			if at <= k {
				done = i
			}
		}
		for _, cut := range cuts {
			img := image(rec.ops[:k], cut)
			if cut >= 0 && done > 0 && syncedAt[done] == k {
				// A torn last op belongs to the state after done.
				done--
			}
			r, err := s.newReader(bytes.NewReader(img), int64(len(img)), fd)
			if err != nil {
				t.Fatalf("crash after %d of %d writes (cut %d): %v", k, len(rec.ops), cut, err)
			}
			got := make([]byte, r.length)
			if _, err := r.ReadAt(got, 0); err != nil && err != io.EOF {
				t.Fatalf("crash after %d writes (cut %d): read: %v", k, cut, err)
			}
			ok := bytes.Equal(got, states[done]) || (done+1 < len(states) && bytes.Equal(got, states[done+1]))
			if !ok {
				t.Fatalf("crash after %d writes (cut %d): read %d bytes, want the %d of sync %d (or the next)",
					k, cut, len(got), len(states[done]), done)
			}
			checked++
		}
	}
	t.Logf("checked %d crash images over %d syncs", checked, len(states))
}

// TestRollbackOneSync documents what the two slots cannot tell apart: a
// destroyed newest final record reads as the previous Sync.
func TestRollbackOneSync(t *testing.T) {
	dir := t.TempDir()
	s := openStor(t, dir, testKey[:])
	w, err := s.Create(journal(1))
	if err != nil {
		t.Fatal(err)
	}
	w.Write([]byte("first"))
	w.Sync() // sequence 1, slot 1
	w.Write([]byte(" second"))
	w.Sync() // sequence 2, slot 0
	w.Close()
	path := filepath.Join(dir, "000001.log")
	raw, _ := os.ReadFile(path)
	raw[headerSize+20] ^= 1 // slot 0
	os.WriteFile(path, raw, 0o600)
	got, err := readFile(s, journal(1))
	if err != nil || string(got) != "first" {
		t.Fatalf("got %q, %v; want the previous sync, \"first\"", got, err)
	}
	raw[headerSize+slotSize+20] ^= 1 // slot 1 too
	os.WriteFile(path, raw, 0o600)
	_, err = readFile(s, journal(1))
	wantIntegrity(t, err, "both final records modified")

	// Cut shorter than what creation writes, a file reads as created and
	// never written: rollback to its creation.
	os.WriteFile(path, raw[:initialSize-1], 0o600)
	if got, err := readFile(s, journal(1)); err != nil || len(got) != 0 {
		t.Fatalf("file cut inside its creation write: %q, %v; want empty", got, err)
	}
}

// TestUnsyncedIgnored shows chunks written after the last Sync are not
// read: a crash between Syncs loses exactly the unsynced writes.
func TestUnsyncedIgnored(t *testing.T) {
	s := openStor(t, t.TempDir(), testKey[:])
	w, err := s.Create(journal(2))
	if err != nil {
		t.Fatal(err)
	}
	synced := randomData(1, 5000)
	w.Write(synced)
	w.Sync()
	w.Write(randomData(2, 3*chunkSize)) // full chunks hit the disk unsynced
	got, err := readFile(s, journal(2))
	if err != nil || !bytes.Equal(got, synced) {
		t.Fatalf("before the next Sync read %d bytes, %v; want the %d synced", len(got), err, len(synced))
	}
	w.Close()
	got, _ = readFile(s, journal(2))
	if len(got) != 5000+3*chunkSize {
		t.Fatalf("after Close read %d bytes", len(got))
	}
}

// TestFreshNonces checks no nonce repeats across final-record rewrites,
// chunks and files of the same content.
func TestFreshNonces(t *testing.T) {
	dir := t.TempDir()
	s := openStor(t, dir, testKey[:])
	seen := map[string]bool{}
	note := func(n []byte, what string) {
		if seen[string(n)] {
			t.Fatalf("nonce reused (%s)", what)
		}
		seen[string(n)] = true
	}
	for f := range 2 {
		w, err := s.Create(journal(int64(10 + f)))
		if err != nil {
			t.Fatal(err)
		}
		path := filepath.Join(dir, fileName(journal(int64(10+f))))
		for i := range 20 {
			w.Write([]byte("same bytes")) // the partial chunk is resealed each time
			w.Sync()
			raw, _ := os.ReadFile(path)
			slot := (i + 1) % 2
			off := headerSize + slot*slotSize + finalPrefix
			note(raw[off:off+nonceSize], "final record")
		}
		w.Write(bytes.Repeat([]byte{0}, 3*chunkSize))
		w.Close()
		raw, _ := os.ReadFile(path)
		for c := range 3 {
			off := dataOffset + c*recordSize
			note(raw[off:off+nonceSize], "chunk")
		}
	}
}

// TestTamper checks each detected case.
func TestTamper(t *testing.T) {
	data := randomData(42, 5*chunkSize+123)
	setup := func(t *testing.T) (*Storage, string) {
		dir := t.TempDir()
		s := openStor(t, dir, testKey[:])
		writeFile(t, s, table(1), data, 1)
		writeFile(t, s, table(2), randomData(43, len(data)), 2)
		return s, dir
	}
	chunkOff := func(i int) int { return dataOffset + i*recordSize }
	edit := func(t *testing.T, path string, f func([]byte) []byte) {
		t.Helper()
		raw, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, f(raw), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	readAll := func(s *Storage, fd storage.FileDesc) error {
		_, err := readFile(s, fd)
		return err
	}
	for _, c := range []struct {
		name   string
		tamper func(t *testing.T, s *Storage, dir string)
	}{
		{"modified chunk byte", func(t *testing.T, s *Storage, dir string) {
			edit(t, filepath.Join(dir, "000001.ldb"), func(b []byte) []byte { b[chunkOff(2)+100] ^= 0x20; return b })
		}},
		{"modified chunk nonce", func(t *testing.T, s *Storage, dir string) {
			edit(t, filepath.Join(dir, "000001.ldb"), func(b []byte) []byte { b[chunkOff(0)] ^= 1; return b })
		}},
		{"modified tag", func(t *testing.T, s *Storage, dir string) {
			edit(t, filepath.Join(dir, "000001.ldb"), func(b []byte) []byte { b[chunkOff(1)+recordSize-1] ^= 1; return b })
		}},
		{"modified header salt", func(t *testing.T, s *Storage, dir string) {
			edit(t, filepath.Join(dir, "000001.ldb"), func(b []byte) []byte { b[30] ^= 1; return b })
		}},
		{"modified header version", func(t *testing.T, s *Storage, dir string) {
			edit(t, filepath.Join(dir, "000001.ldb"), func(b []byte) []byte { b[9] = 2; return b })
		}},
		{"modified reserved byte", func(t *testing.T, s *Storage, dir string) {
			edit(t, filepath.Join(dir, "000001.ldb"), func(b []byte) []byte { b[60] = 1; return b })
		}},
		{"reordered chunks", func(t *testing.T, s *Storage, dir string) {
			edit(t, filepath.Join(dir, "000001.ldb"), func(b []byte) []byte {
				c1 := bytes.Clone(b[chunkOff(1):chunkOff(2)])
				copy(b[chunkOff(1):], b[chunkOff(3):chunkOff(4)])
				copy(b[chunkOff(3):], c1)
				return b
			})
		}},
		{"duplicated chunk", func(t *testing.T, s *Storage, dir string) {
			edit(t, filepath.Join(dir, "000001.ldb"), func(b []byte) []byte {
				copy(b[chunkOff(2):], b[chunkOff(1):chunkOff(2)])
				return b
			})
		}},
		{"chunk spliced from another file", func(t *testing.T, s *Storage, dir string) {
			other, _ := os.ReadFile(filepath.Join(dir, "000002.ldb"))
			edit(t, filepath.Join(dir, "000001.ldb"), func(b []byte) []byte {
				copy(b[chunkOff(2):], other[chunkOff(2):chunkOff(3)])
				return b
			})
		}},
		{"final record spliced from another file", func(t *testing.T, s *Storage, dir string) {
			other, _ := os.ReadFile(filepath.Join(dir, "000002.ldb"))
			edit(t, filepath.Join(dir, "000001.ldb"), func(b []byte) []byte {
				copy(b[headerSize:dataOffset], other[headerSize:dataOffset])
				return b
			})
		}},
		{"final slots swapped", func(t *testing.T, s *Storage, dir string) {
			edit(t, filepath.Join(dir, "000001.ldb"), func(b []byte) []byte {
				s0 := bytes.Clone(b[headerSize : headerSize+slotSize])
				copy(b[headerSize:], b[headerSize+slotSize:dataOffset])
				copy(b[headerSize+slotSize:], s0)
				return b
			})
		}},
		{"truncated below its length", func(t *testing.T, s *Storage, dir string) {
			edit(t, filepath.Join(dir, "000001.ldb"), func(b []byte) []byte { return b[:chunkOff(3)+10] })
		}},
		{"truncated into the final slots", func(t *testing.T, s *Storage, dir string) {
			edit(t, filepath.Join(dir, "000001.ldb"), func(b []byte) []byte { return b[:dataOffset+10] })
		}},
		{"files swapped", func(t *testing.T, s *Storage, dir string) {
			p1, p2 := filepath.Join(dir, "000001.ldb"), filepath.Join(dir, "000002.ldb")
			os.Rename(p1, p1+".x")
			os.Rename(p2, p1)
			os.Rename(p1+".x", p2)
		}},
		{"files swapped with headers patched", func(t *testing.T, s *Storage, dir string) {
			p1, p2 := filepath.Join(dir, "000001.ldb"), filepath.Join(dir, "000002.ldb")
			b1, _ := os.ReadFile(p1)
			b2, _ := os.ReadFile(p2)
			binary.BigEndian.PutUint64(b1[16:], 2)
			binary.BigEndian.PutUint64(b2[16:], 1)
			os.WriteFile(p1, b2, 0o600)
			os.WriteFile(p2, b1, 0o600)
		}},
		{"renamed file", func(t *testing.T, s *Storage, dir string) {
			os.Remove(filepath.Join(dir, "000001.ldb"))
			os.Rename(filepath.Join(dir, "000002.ldb"), filepath.Join(dir, "000001.ldb"))
		}},
		{"type changed", func(t *testing.T, s *Storage, dir string) {
			edit(t, filepath.Join(dir, "000001.ldb"), func(b []byte) []byte { b[10] = typeJournal; return b })
		}},
		{"foreign file, same key", func(t *testing.T, s *Storage, dir string) {
			odir := t.TempDir()
			o := openStor(t, odir, testKey[:])
			writeFile(t, o, table(1), data, 1)
			raw, _ := os.ReadFile(filepath.Join(odir, "000001.ldb"))
			os.WriteFile(filepath.Join(dir, "000001.ldb"), raw, 0o600)
		}},
		{"foreign file, other key", func(t *testing.T, s *Storage, dir string) {
			odir := t.TempDir()
			o := openStor(t, odir, otherKey[:])
			writeFile(t, o, table(1), data, 1)
			raw, _ := os.ReadFile(filepath.Join(odir, "000001.ldb"))
			os.WriteFile(filepath.Join(dir, "000001.ldb"), raw, 0o600)
		}},
		{"chunk of an earlier incarnation", func(t *testing.T, s *Storage, dir string) {
			old, _ := os.ReadFile(filepath.Join(dir, "000001.ldb"))
			writeFile(t, s, table(1), data, 1) // same name and content, new salt
			edit(t, filepath.Join(dir, "000001.ldb"), func(b []byte) []byte {
				copy(b[chunkOff(1):], old[chunkOff(1):chunkOff(2)])
				return b
			})
		}},
	} {
		t.Run(c.name, func(t *testing.T) {
			s, dir := setup(t)
			c.tamper(t, s, dir)
			wantIntegrity(t, readAll(s, table(1)), c.name)
		})
	}

	// Bytes past the authenticated length are ignored, not an error.
	s, dir := setup(t)
	edit(t, filepath.Join(dir, "000001.ldb"), func(b []byte) []byte { return append(b, "junk"...) })
	if got, err := readFile(s, table(1)); err != nil || !bytes.Equal(got, data) {
		t.Fatalf("appended junk: got %d bytes, %v", len(got), err)
	}
}

// TestCurrent covers CURRENT: round trip, the manifest synced first, and
// each tampering detected, without any fallback.
func TestCurrent(t *testing.T) {
	dir := t.TempDir()
	s := openStor(t, dir, testKey[:])
	if _, err := s.GetMeta(); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("GetMeta on a new folder: %v, want not exist", err)
	}
	m1 := storage.FileDesc{Type: storage.TypeManifest, Num: 1}
	w, err := s.Create(m1)
	if err != nil {
		t.Fatal(err)
	}
	w.Write([]byte("manifest one")) // not synced: SetMeta must sync it
	if err := s.SetMeta(m1); err != nil {
		t.Fatal(err)
	}
	if got, err := readFile(s, m1); err != nil || string(got) != "manifest one" {
		t.Fatalf("manifest named by SetMeta reads %q, %v", got, err)
	}
	w.Close()
	if fd, err := s.GetMeta(); err != nil || fd != m1 {
		t.Fatalf("GetMeta = %v, %v", fd, err)
	}
	oldCurrent, _ := os.ReadFile(filepath.Join(dir, "CURRENT"))
	m2 := storage.FileDesc{Type: storage.TypeManifest, Num: 2}
	writeFile(t, s, m2, []byte("manifest two"), 1)
	if err := s.SetMeta(m2); err != nil {
		t.Fatal(err)
	}
	if fd, err := s.GetMeta(); err != nil || fd != m2 {
		t.Fatalf("GetMeta = %v, %v", fd, err)
	}
	if names, _ := filepath.Glob(filepath.Join(dir, "CURRENT*")); len(names) != 1 {
		t.Fatalf("CURRENT has copies: %q", names)
	}
	cur := filepath.Join(dir, "CURRENT")
	good, _ := os.ReadFile(cur)

	// A replayed CURRENT naming a removed manifest.
	s.Remove(m1)
	os.WriteFile(cur, oldCurrent, 0o600)
	_, err = s.GetMeta()
	wantIntegrity(t, err, "old CURRENT naming a removed manifest")

	for i, bad := range [][]byte{
		func() []byte { b := bytes.Clone(good); b[len(b)-1] ^= 1; return b }(),
		func() []byte { b := bytes.Clone(good); b[headerSize+nonceSize] ^= 1; return b }(),
		good[:len(good)-1],
		good[:10],
		func() []byte { b := bytes.Clone(good); b[10] = typeManifest; return b }(),
	} {
		os.WriteFile(cur, bad, 0o600)
		_, err := s.GetMeta()
		wantIntegrity(t, err, "tampered CURRENT "+string(rune('0'+i)))
	}

	// A CURRENT from another database under the same key.
	odir := t.TempDir()
	o := openStor(t, odir, testKey[:])
	writeFile(t, o, m2, []byte("other"), 1)
	if err := o.SetMeta(m2); err != nil {
		t.Fatal(err)
	}
	foreign, _ := os.ReadFile(filepath.Join(odir, "CURRENT"))
	os.WriteFile(cur, foreign, 0o600)
	_, err = s.GetMeta()
	wantIntegrity(t, err, "foreign CURRENT")

	os.WriteFile(cur, good, 0o600)
	if fd, err := s.GetMeta(); err != nil || fd != m2 {
		t.Fatalf("restored CURRENT: %v, %v", fd, err)
	}
}

// TestIdentity covers the wrong key, a modified or missing identity, and
// key checks.
func TestIdentity(t *testing.T) {
	dir := t.TempDir()
	s, err := Open(dir, testKey[:], nil)
	if err != nil {
		t.Fatal(err)
	}
	writeFile(t, s, table(1), []byte("data"), 1)
	s.Close()

	_, err = Open(dir, otherKey[:], nil)
	if !errors.Is(err, ErrWrongKey) || !strings.Contains(err.Error(), "wrong key") {
		t.Fatalf("wrong key: %v", err)
	}
	if strings.Contains(err.Error(), string(otherKey[:4])) {
		t.Fatal("error shows key bytes")
	}
	id := filepath.Join(dir, identityName)
	good, _ := os.ReadFile(id)
	bad := bytes.Clone(good)
	bad[len(bad)-3] ^= 1
	os.WriteFile(id, bad, 0o600)
	if _, err := Open(dir, testKey[:], nil); !errors.Is(err, ErrWrongKey) {
		t.Fatalf("modified identity: %v", err)
	}
	os.Remove(id)
	if _, err := Open(dir, testKey[:], nil); err == nil || !strings.Contains(err.Error(), "no identity file") {
		t.Fatalf("missing identity: %v", err)
	}
	os.WriteFile(id, good, 0o600)
	s = openStor(t, dir, testKey[:])
	if got, err := readFile(s, table(1)); err != nil || string(got) != "data" {
		t.Fatalf("after restoring identity: %q, %v", got, err)
	}

	if _, err := Open(t.TempDir(), make([]byte, keySize), nil); err == nil {
		t.Fatal("all-zero key accepted")
	}
	if _, err := Open(t.TempDir(), testKey[:16], nil); err == nil {
		t.Fatal("short key accepted")
	}
	// An unsealed goleveldb folder is refused.
	plain := t.TempDir()
	os.WriteFile(filepath.Join(plain, "CURRENT"), []byte("MANIFEST-000001\n"), 0o600)
	if _, err := Open(plain, testKey[:], nil); err == nil {
		t.Fatal("opened a folder with files and no identity")
	}
}

func TestRename(t *testing.T) {
	dir := t.TempDir()
	s := openStor(t, dir, testKey[:])
	data := randomData(7, 3*chunkSize+7)
	tmp := storage.FileDesc{Type: storage.TypeTemp, Num: 5}
	writeFile(t, s, tmp, data, 3)
	before, _ := os.ReadFile(filepath.Join(dir, "000005.tmp"))
	if err := s.Rename(tmp, table(5)); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Open(tmp); !os.IsNotExist(err) {
		t.Fatalf("old name still opens: %v", err)
	}
	got, err := readFile(s, table(5))
	if err != nil || !bytes.Equal(got, data) {
		t.Fatalf("renamed file: %d bytes, %v", len(got), err)
	}
	after, _ := os.ReadFile(filepath.Join(dir, "000005.ldb"))
	if bytes.Equal(before[dataOffset:dataOffset+recordSize], after[dataOffset:dataOffset+recordSize]) {
		t.Fatal("rename did not re-encrypt")
	}
	// A tampered source is not laundered by a rename.
	writeFile(t, s, tmp, data, 3)
	p := filepath.Join(dir, "000005.tmp")
	raw, _ := os.ReadFile(p)
	raw[dataOffset+50] ^= 1
	os.WriteFile(p, raw, 0o600)
	wantIntegrity(t, s.Rename(tmp, table(6)), "rename of a tampered file")
	if _, err := s.Open(table(6)); !os.IsNotExist(err) {
		t.Fatalf("failed rename left a file: %v", err)
	}
}

func TestLockAndList(t *testing.T) {
	dir := t.TempDir()
	s := openStor(t, dir, testKey[:])
	if _, err := Open(dir, testKey[:], nil); err == nil {
		t.Fatal("a second Open of the same folder succeeded")
	}
	l, err := s.Lock()
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.Lock(); err != storage.ErrLocked {
		t.Fatalf("second Lock: %v", err)
	}
	l.Unlock()
	l2, err := s.Lock()
	if err != nil {
		t.Fatalf("Lock after Unlock: %v", err)
	}
	l2.Unlock()

	writeFile(t, s, table(3), []byte("t"), 1)
	writeFile(t, s, journal(4), []byte("j"), 1)
	writeFile(t, s, storage.FileDesc{Type: storage.TypeManifest, Num: 5}, []byte("m"), 1)
	os.WriteFile(filepath.Join(dir, "junk.ldb"), nil, 0o600)
	fds, err := s.List(storage.TypeTable | storage.TypeJournal)
	if err != nil {
		t.Fatal(err)
	}
	if len(fds) != 2 {
		t.Fatalf("List = %v", fds)
	}
	s.Close()
	if _, err := s.Open(table(3)); err != storage.ErrClosed {
		t.Fatalf("Open after Close: %v", err)
	}
	s2 := openStor(t, dir, testKey[:])
	if got, err := readFile(s2, table(3)); err != nil || string(got) != "t" {
		t.Fatalf("reopen: %q, %v", got, err)
	}
}

func TestParseName(t *testing.T) {
	for _, fd := range []storage.FileDesc{table(0), table(123456789), journal(1), {Type: storage.TypeManifest, Num: 7}, {Type: storage.TypeTemp, Num: 3}} {
		got, ok := parseName(fileName(fd))
		if !ok || got != fd {
			t.Fatalf("parseName(%q) = %v, %v", fileName(fd), got, ok)
		}
	}
	for _, n := range []string{"1.ldb", "00001.ldb", "abcdef.ldb", "MANIFEST-", "MANIFEST-00001x", "000001.sst", "CURRENT", "SEALFS", "LOCK", "-00001.log", "0000001.ldb"} {
		if fd, ok := parseName(n); ok {
			t.Fatalf("parseName(%q) accepted as %v", n, fd)
		}
	}
}

// FuzzReader feeds arbitrary bytes as a sealed file: opening and reading
// them must fail cleanly, never panic or hang.
func FuzzReader(f *testing.F) {
	dir := f.TempDir()
	s, err := Open(dir, testKey[:], nil)
	if err != nil {
		f.Fatal(err)
	}
	defer s.Close()
	w, _ := s.Create(table(1))
	w.Write(randomData(1, 2*chunkSize+10))
	w.Close()
	good, _ := os.ReadFile(filepath.Join(dir, "000001.ldb"))
	f.Add(good)
	f.Add(good[:dataOffset])
	f.Add([]byte(magic))
	f.Fuzz(func(t *testing.T, b []byte) {
		r, err := s.newReader(bytes.NewReader(b), int64(len(b)), table(1))
		if err != nil {
			return
		}
		buf := make([]byte, 3*chunkSize)
		r.ReadAt(buf, 0)
		r.ReadAt(buf, chunkSize-1)
	})
}
