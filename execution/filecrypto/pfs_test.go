package filecrypto

import (
	"bytes"
	"crypto/rand"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	mrand "math/rand/v2"
	"runtime"
	"strings"
	"testing"
	"testing/iotest"
)

func randomBytes(n int) []byte {
	b := make([]byte, n)
	rand.Read(b)
	return b
}

func newPFSInfo() CryptoInfo {
	return CryptoInfo{Schema: SchemaTeaclaveFile128, Key: randomBytes(16)}
}

// writePFS writes plain as a protected file, in writes of random sizes.
func writePFS(t testing.TB, info CryptoInfo, name string, plain []byte) ([]byte, Tag) {
	t.Helper()
	var f memFile
	w, err := NewWriter(&f, info, WriterOptions{Name: name})
	if err != nil {
		t.Fatal(err)
	}
	r := mrand.New(mrand.NewPCG(uint64(len(plain)), 7))
	for rest := plain; len(rest) > 0; {
		n := min(len(rest), 1+r.IntN(9000))
		if k, err := w.Write(rest[:n]); err != nil || k != n {
			t.Fatalf("Write = %d, %v", k, err)
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
	return f.data, tag
}

func readPFS(file []byte, info CryptoInfo, opts ReaderOptions) ([]byte, error) {
	r, err := NewReader(bytes.NewReader(file), int64(len(file)), info, opts)
	if err != nil {
		return nil, err
	}
	return io.ReadAll(r)
}

// specDecode decodes a protected file straight from the formulas of
// protocol.md §15.2 with crypto/cipher, sharing no code with the reader, and
// checks that the file has exactly the nodes its size needs.
func specDecode(t testing.TB, file, key []byte) (string, []byte) {
	t.Helper()
	node := func(n uint64) []byte {
		if (n+1)*4096 > uint64(len(file)) {
			t.Fatalf("node %d beyond the file", n)
		}
		return file[n*4096 : (n+1)*4096]
	}
	open := func(key, ct, tag []byte) []byte {
		p, err := mustGCM(t, key).Open(nil, make([]byte, 12), append(bytes.Clone(ct), tag...), nil)
		if err != nil {
			t.Fatalf("spec decode: %v", err)
		}
		return p
	}
	n0 := node(0)
	if binary.LittleEndian.Uint64(n0) != 0x5347585F46494C45 || n0[8] != 1 || n0[10] != 1 || n0[11] != 0 {
		t.Fatalf("metadata header %x", n0[:16])
	}
	for _, b := range n0[3468:] {
		if b != 0 {
			t.Fatal("metadata padding not zero")
		}
	}
	kdf := make([]byte, 120)
	kdf[0] = 1
	copy(kdf[4:], "SGX-PROTECTED-FS-METADATA-KEY")
	copy(kdf[80:], n0[16:48])
	kdf[112] = 0x80
	metaKey, _ := aesCMAC(key, kdf)
	meta := open(metaKey[:], n0[96:3468], n0[80:96])
	name := string(meta[:bytes.IndexByte(meta[:260], 0)])
	size := binary.LittleEndian.Uint64(meta[260:])
	out := bytes.Clone(meta[300:3372])[:min(size, 3072)]
	if size <= 3072 {
		if len(file) != 4096 {
			t.Fatalf("file of %d bytes for %d bytes of content", len(file), size)
		}
		return name, out
	}
	data := (size - 3072 + 4095) / 4096
	mhtCount := (data + 95) / 96
	if want := (1 + data + mhtCount) * 4096; uint64(len(file)) != want {
		t.Fatalf("file of %d bytes, want %d", len(file), want)
	}
	mhts := map[uint64][]byte{0: open(meta[268:284], node(1), meta[284:300])}
	var mht func(m uint64) []byte
	mht = func(m uint64) []byte {
		if p, ok := mhts[m]; ok {
			return p
		}
		parent := mht((m - 1) / 32)
		e := parent[(96+(m-1)%32)*32:]
		mhts[m] = open(e[:16], node(1+97*m), e[16:32])
		return mhts[m]
	}
	for d := uint64(0); d < data; d++ {
		e := mht(d / 96)[(d%96)*32:]
		out = append(out, open(e[:16], node(2+d+d/96), e[16:32])...)
	}
	if rest := out[size:]; bytes.Count(rest, []byte{0}) != len(rest) {
		t.Fatal("data padding not zero")
	}
	return name, out[:size]
}

// TestPFSRoundTrip writes and reads back files whose sizes cross the
// metadata/data boundary, one MHT node, a second (child) MHT node and, unless
// -short, the second MHT level, each under a fresh key. The files decode by
// the spec's formulas too, and the writer's cmac is the file's gmac.
func TestPFSRoundTrip(t *testing.T) {
	sizes := []int{0, 1, 3071, 3072, 3073, 4096, 393216, 397313, 5 << 20}
	if !testing.Short() {
		// 33 MHT nodes of data after the metadata: MHT 33 is the first
		// grandchild of the root.
		sizes = append(sizes, 3072+4096*96*33+1)
	}
	for _, size := range sizes {
		t.Run(fmt.Sprint(size), func(t *testing.T) {
			info := newPFSInfo()
			plain := randomBytes(size)
			file, tag := writePFS(t, info, "data.enc", plain)
			if !bytes.Equal(file[80:96], tag[:]) {
				t.Fatal("writer's tag is not the metadata gmac")
			}
			if want := pfsNodeCount(uint64(size)) * 4096; uint64(len(file)) != want {
				t.Fatalf("file is %d bytes, want %d", len(file), want)
			}
			got, err := readPFS(file, info, ReaderOptions{Name: "data.enc", ExpectedTag: &tag})
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(got, plain) {
				t.Fatal("round trip differs")
			}
			name, spec := specDecode(t, file, info.Key)
			if name != "data.enc" || !bytes.Equal(spec, plain) {
				t.Fatalf("spec decoding: name %q, content equal %v", name, bytes.Equal(spec, plain))
			}
			if size <= 400000 {
				r, err := NewReader(bytes.NewReader(file), int64(len(file)), info, ReaderOptions{Name: "data.enc"})
				if err != nil {
					t.Fatal(err)
				}
				if err := iotest.TestReader(r, plain); err != nil {
					t.Fatal(err)
				}
			}
		})
	}
}

// TestPFSFreshKeyID: writing the same content twice gives different files
// and cmacs (fresh key_id and node keys).
func TestPFSFreshKeyID(t *testing.T) {
	info, plain := newPFSInfo(), randomBytes(10000)
	f1, t1 := writePFS(t, info, "x", plain)
	f2, t2 := writePFS(t, info, "x", plain)
	if t1 == t2 || bytes.Equal(f1[16:48], f2[16:48]) || bytes.Equal(f1[4096:], f2[4096:]) {
		t.Fatal("two writes of the same content produced the same key_id, cmac or nodes")
	}
}

// TestPFSNameMismatch: a protected file read under another basename is
// refused, for our files and Teaclave's.
func TestPFSNameMismatch(t *testing.T) {
	info := newPFSInfo()
	file, _ := writePFS(t, info, "input.enc", randomBytes(5000))
	if _, err := readPFS(file, info, ReaderOptions{Name: "renamed.enc"}); !errors.Is(err, ErrNameMismatch) {
		t.Fatalf("renamed: err = %v, want ErrNameMismatch", err)
	}
	if !strings.Contains(fmt.Sprint(readPFSErr(file, info, "renamed.enc")), `"renamed.enc"`) {
		t.Error("the name mismatch error does not say which name was expected")
	}
	fx := readFixture(t, "ordered_set_intersect/psi0.txt.enc")
	if _, err := readPFS(fx, zeroKeyPFS, ReaderOptions{Name: "psi1.txt.enc"}); !errors.Is(err, ErrNameMismatch) {
		t.Fatalf("renamed fixture: err = %v, want ErrNameMismatch", err)
	}
	if _, err := readPFS(fx, zeroKeyPFS, ReaderOptions{}); !errors.Is(err, ErrInvalidOptions) {
		t.Fatalf("no name: err = %v, want ErrInvalidOptions", err)
	}
}

func readPFSErr(file []byte, info CryptoInfo, name string) error {
	_, err := readPFS(file, info, ReaderOptions{Name: name})
	return err
}

// TestPFSNames: the writer takes basenames of up to 258 bytes and refuses
// what the SDK could not open.
func TestPFSNames(t *testing.T) {
	info := newPFSInfo()
	long := strings.Repeat("n", 258)
	file, _ := writePFS(t, info, long, []byte("hi"))
	if got, err := readPFS(file, info, ReaderOptions{Name: long}); err != nil || string(got) != "hi" {
		t.Fatalf("258-byte name: %q, %v", got, err)
	}
	for _, bad := range []string{"", strings.Repeat("n", 259), "a/b", "a\x00b", "\xff.enc"} {
		if _, err := NewWriter(&memFile{}, info, WriterOptions{Name: bad}); !errors.Is(err, ErrInvalidOptions) {
			t.Errorf("name %q: err = %v, want ErrInvalidOptions", bad, err)
		}
	}
	if _, err := NewWriter(&bytes.Buffer{}, info, WriterOptions{Name: "x"}); !errors.Is(err, ErrInvalidOptions) {
		t.Errorf("writer without WriteAt: err = %v, want ErrInvalidOptions", err)
	}
}

// unauthenticatedMeta reports whether byte i of the metadata node is outside
// what the format authenticates (and what a user-key reader looks at): the
// minor version, key_policy, isv_svn, cpu_svn, attribute_mask and padding.
func unauthenticatedMeta(i int) bool {
	return i == 9 || (i >= 12 && i < 16) || (i >= 48 && i < 80) || i >= 3468
}

// TestPFSTamperMetadata flips one bit in every byte of a one-node file: each
// flip is an error, except in the bytes the format does not authenticate,
// where the content still reads back exactly.
func TestPFSTamperMetadata(t *testing.T) {
	info, plain := newPFSInfo(), randomBytes(1000)
	file, tag := writePFS(t, info, "m.enc", plain)
	for i := 0; i < 4096; i++ {
		bad := bytes.Clone(file)
		bad[i] ^= 1 << (i % 8)
		got, err := readPFS(bad, info, ReaderOptions{Name: "m.enc"})
		switch {
		case unauthenticatedMeta(i):
			if err != nil || !bytes.Equal(got, plain) {
				t.Fatalf("flip in unauthenticated byte %d: %v", i, err)
			}
		case err == nil:
			t.Fatalf("flip in byte %d went unnoticed", i)
		case i == 11 && !errors.Is(err, ErrRecoveryNeeded):
			t.Fatalf("flip in the update flag: %v, want ErrRecoveryNeeded", err)
		case i >= 16 && i < 48 || i >= 80 && i < 3468:
			if !errors.Is(err, ErrAuthentication) {
				t.Fatalf("flip in byte %d: %v, want ErrAuthentication", i, err)
			}
		}
		if i >= 80 && i < 96 {
			if _, err := readPFS(bad, info, ReaderOptions{Name: "m.enc", ExpectedTag: &tag}); !errors.Is(err, ErrTagMismatch) {
				t.Fatalf("flip in gmac byte %d with expected cmac: %v, want ErrTagMismatch", i, err)
			}
		}
	}
}

// TestPFSTamperNodes flips a random bit in every node of a file with two MHT
// nodes, and reorders, splices, truncates and extends it.
func TestPFSTamperNodes(t *testing.T) {
	info := newPFSInfo()
	plain := randomBytes(397313) // metadata, root MHT, 96 data, MHT 1, 1 data
	file, tag := writePFS(t, info, "t.enc", plain)
	nodes := len(file) / 4096
	if nodes != 100 {
		t.Fatalf("%d nodes", nodes)
	}
	expectErr := func(t *testing.T, what string, bad []byte, want error) {
		t.Helper()
		got, err := readPFS(bad, info, ReaderOptions{Name: "t.enc", ExpectedTag: &tag})
		if err == nil {
			t.Fatalf("%s went unnoticed (content equal: %v)", what, bytes.Equal(got, plain))
		}
		if !errors.Is(err, want) {
			t.Fatalf("%s: err = %v, want %v", what, err, want)
		}
	}
	r := mrand.New(mrand.NewPCG(5, 6))
	for n := 1; n < nodes; n++ { // root MHT, data nodes, MHT 1
		bad := bytes.Clone(file)
		bad[n*4096+r.IntN(4096)] ^= 1 << r.IntN(8)
		expectErr(t, fmt.Sprintf("bit flip in node %d", n), bad, ErrAuthentication)
	}
	swap := func(a, b int) []byte {
		bad := bytes.Clone(file)
		copy(bad[a*4096:(a+1)*4096], file[b*4096:(b+1)*4096])
		copy(bad[b*4096:(b+1)*4096], file[a*4096:(a+1)*4096])
		return bad
	}
	expectErr(t, "swapped data nodes 0 and 1", swap(2, 3), ErrAuthentication)
	expectErr(t, "swapped data nodes 0 and 96", swap(2, 99), ErrAuthentication)
	expectErr(t, "swapped root MHT and MHT 1", swap(1, 98), ErrAuthentication)
	expectErr(t, "swapped MHT 1 and a data node", swap(98, 50), ErrAuthentication)

	// A node of another file under the same key and name.
	other, _ := writePFS(t, info, "t.enc", plain)
	for _, n := range []int{1, 5, 98, 99} {
		bad := bytes.Clone(file)
		copy(bad[n*4096:], other[n*4096:(n+1)*4096])
		expectErr(t, fmt.Sprintf("node %d spliced from another file", n), bad, ErrAuthentication)
	}
	bad := bytes.Clone(file)
	copy(bad, other[:4096])
	expectErr(t, "metadata of another file", bad, ErrTagMismatch)

	for _, n := range []int{len(file) - 1, len(file) - 4096, len(file) - 8192, 4096, 100, 0} {
		expectErr(t, fmt.Sprintf("truncation to %d bytes", n), file[:n], ErrMalformed)
	}

	if _, err := readPFS(file, newPFSInfo(), ReaderOptions{Name: "t.enc"}); !errors.Is(err, ErrAuthentication) {
		t.Fatalf("wrong key: err = %v, want ErrAuthentication", err)
	}
	wrong := tag
	wrong[0] ^= 1
	if _, err := readPFS(file, info, ReaderOptions{Name: "t.enc", ExpectedTag: &wrong}); !errors.Is(err, ErrTagMismatch) {
		t.Fatalf("wrong cmac: err = %v, want ErrTagMismatch", err)
	}

	// Trailing whole nodes are ignored, as Teaclave's SDK ignores them (it
	// can leave some behind after recovery); the content is unchanged.
	got, err := readPFS(append(bytes.Clone(file), make([]byte, 4096)...), info, ReaderOptions{Name: "t.enc", ExpectedTag: &tag})
	if err != nil || !bytes.Equal(got, plain) {
		t.Fatalf("extra trailing node: %v", err)
	}
}

// TestPFSReadStopsAtBadNode: bytes before a corrupted data node are returned,
// then the error, and it stays.
func TestPFSReadStopsAtBadNode(t *testing.T) {
	info := newPFSInfo()
	plain := randomBytes(3072 + 4096*3)
	file, _ := writePFS(t, info, "s.enc", plain)
	file[pfsDataPhys(2)*4096+7] ^= 0x10
	r, err := NewReader(bytes.NewReader(file), int64(len(file)), info, ReaderOptions{Name: "s.enc"})
	if err != nil {
		t.Fatal(err)
	}
	got, err := io.ReadAll(r)
	if !errors.Is(err, ErrAuthentication) {
		t.Fatalf("err = %v, want ErrAuthentication", err)
	}
	if !bytes.Equal(got, plain[:3072+4096*2]) {
		t.Fatalf("returned %d bytes before the bad node, want exactly the %d authentic ones", len(got), 3072+4096*2)
	}
	if n, err2 := r.Read(make([]byte, 10)); n != 0 || !errors.Is(err2, ErrAuthentication) {
		t.Fatalf("Read after the error = %d, %v", n, err2)
	}

	// Read whole nodes straight into the caller's buffer: the bad node's
	// bytes must not be left behind in it either.
	r, err = NewReader(bytes.NewReader(file), int64(len(file)), info, ReaderOptions{Name: "s.enc"})
	if err != nil {
		t.Fatal(err)
	}
	buf := make([]byte, len(plain))
	n, err := io.ReadFull(r, buf)
	if n != 3072+4096*2 || !errors.Is(err, ErrAuthentication) {
		t.Fatalf("ReadFull = %d, %v", n, err)
	}
	if bad := buf[n : n+4096]; bytes.Equal(bad[100:], plain[n+100:n+4096]) || !bytes.Equal(bad, make([]byte, 4096)) {
		t.Fatal("the unauthenticated node was left in the caller's buffer")
	}
}

// recoveryFile builds a recovery file of the given nodes of file.
func recoveryFile(file []byte, nodes ...int) []byte {
	var rec []byte
	for _, n := range nodes {
		rec = binary.LittleEndian.AppendUint64(rec, uint64(n))
		rec = append(rec, file[n*4096:(n+1)*4096]...)
	}
	return rec
}

// TestPFSRecovery simulates Teaclave's SDK interrupted mid-flush: the file
// has its old metadata with update_flag = 1 and a mix of new and old nodes,
// and the recovery file holds the old nodes. With it the old content reads
// back; without it, or with a bad one, a clear error.
func TestPFSRecovery(t *testing.T) {
	info := newPFSInfo()
	oldPlain, newPlain := randomBytes(397313), randomBytes(397313)
	oldFile, oldTag := writePFS(t, info, "r.enc", oldPlain)
	newFile, _ := writePFS(t, info, "r.enc", newPlain)

	crashed := bytes.Clone(oldFile)
	crashed[11] = 1
	copy(crashed[4096:51*4096], newFile[4096:51*4096]) // nodes 1–50 rewritten
	all := make([]int, 0, 100)
	for n := 1; n < 100; n++ {
		all = append(all, n)
	}
	rec := recoveryFile(oldFile, append(all, 0)...)

	read := func(recovery []byte) ([]byte, error) {
		opts := ReaderOptions{Name: "r.enc", ExpectedTag: &oldTag}
		if recovery != nil {
			opts.Recovery, opts.RecoverySize = bytes.NewReader(recovery), int64(len(recovery))
		}
		return readPFS(crashed, info, opts)
	}
	if _, err := read(nil); !errors.Is(err, ErrRecoveryNeeded) || !strings.Contains(err.Error(), "r.enc_recovery") {
		t.Fatalf("without recovery: err = %v, want ErrRecoveryNeeded naming r.enc_recovery", err)
	}
	got, err := read(rec)
	if err != nil || !bytes.Equal(got, oldPlain) {
		t.Fatalf("with recovery: %v (content equal %v)", err, bytes.Equal(got, oldPlain))
	}

	// A later record for the same node wins, as in the SDK's replay.
	dup := append(recoveryFile(newFile, 5), rec...)
	if got, err := read(dup); err != nil || !bytes.Equal(got, oldPlain) {
		t.Fatalf("with a superseded record: %v", err)
	}

	for _, tc := range []struct {
		name string
		rec  []byte
		want error
	}{
		{"empty", []byte{}, ErrMalformed},
		{"odd length", rec[:len(rec)-1], ErrMalformed},
		{"record for a node beyond the file", recoveryFile(append(bytes.Clone(oldFile), make([]byte, 4096)...), 100), ErrMalformed},
		{"metadata with the flag", recoveryFile(crashed, 0), ErrMalformed},
		{"metadata only", recoveryFile(oldFile, 0), ErrAuthentication},
		{"the new nodes", append(recoveryFile(newFile, all...), recoveryFile(oldFile, 0)...), ErrAuthentication},
	} {
		got, err := read(tc.rec)
		if !errors.Is(err, tc.want) {
			t.Errorf("recovery %s: err = %v (content equal %v), want %v", tc.name, err, bytes.Equal(got, oldPlain), tc.want)
		}
	}
}

// resealMeta decrypts a file's metadata, lets mutate change its plaintext,
// and encrypts it again under the same key: a file a key holder could forge.
func resealMeta(t testing.TB, file, key []byte, mutate func(enc []byte)) []byte {
	t.Helper()
	file = bytes.Clone(file)
	metaKey, err := pfsMetadataKey(key, file[16:48])
	if err != nil {
		t.Fatal(err)
	}
	aead := mustGCM(t, metaKey[:])
	enc, err := aead.Open(nil, make([]byte, 12), append(bytes.Clone(file[96:3468]), file[80:96]...), nil)
	if err != nil {
		t.Fatal(err)
	}
	mutate(enc)
	out := aead.Seal(nil, make([]byte, 12), enc, nil)
	copy(file[96:3468], out)
	copy(file[80:96], out[3372:])
	return file
}

// TestPFSForgedMetadata: a correctly encrypted metadata node that lies about
// the size or the name is refused without allocating by its size field.
func TestPFSForgedMetadata(t *testing.T) {
	info := newPFSInfo()
	file, _ := writePFS(t, info, "f.enc", randomBytes(10000))
	for _, tc := range []struct {
		name   string
		mutate func([]byte)
		want   error
	}{
		{"size beyond the nodes", func(e []byte) { binary.LittleEndian.PutUint64(e[260:], 1<<30) }, ErrMalformed},
		{"size at the limit", func(e []byte) { binary.LittleEndian.PutUint64(e[260:], MaxTeaclaveFileSize) }, ErrMalformed},
		{"size beyond the limit", func(e []byte) { binary.LittleEndian.PutUint64(e[260:], 1<<63) }, ErrTooLarge},
		{"size all ones", func(e []byte) { binary.LittleEndian.PutUint64(e[260:], ^uint64(0)) }, ErrTooLarge},
		{"unterminated name", func(e []byte) { copy(e[:260], bytes.Repeat([]byte{'a'}, 260)) }, ErrMalformed},
		{"wrong root MHT key", func(e []byte) { e[268] ^= 1 }, ErrAuthentication},
	} {
		bad := resealMeta(t, file, info.Key, tc.mutate)
		var before, after runtime.MemStats
		runtime.ReadMemStats(&before)
		_, err := readPFS(bad, info, ReaderOptions{Name: "f.enc"})
		runtime.ReadMemStats(&after)
		if !errors.Is(err, tc.want) {
			t.Errorf("%s: err = %v, want %v", tc.name, err, tc.want)
		}
		if alloc := after.TotalAlloc - before.TotalAlloc; alloc > 1<<20 {
			t.Errorf("%s: allocated %d bytes", tc.name, alloc)
		}
	}
	// A smaller size than the nodes hold is consistent (the SDK never
	// shrinks files, but trailing nodes are ignored): content is cut there.
	short := resealMeta(t, file, info.Key, func(e []byte) { binary.LittleEndian.PutUint64(e[260:], 5) })
	if got, err := readPFS(short, info, ReaderOptions{Name: "f.enc"}); err != nil || len(got) != 5 {
		t.Errorf("size 5: %d bytes, %v", len(got), err)
	}
}
