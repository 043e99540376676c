package filecrypto

import (
	"bytes"
	"crypto/aes"
	"crypto/cipher"
	"crypto/rand"
	mrand "math/rand/v2"
	"testing"
)

func randElement(r *mrand.Rand) gfElement { return gfElement{r.Uint64(), r.Uint64()} }

// TestGFTableMatchesReference checks the 4-bit table product against the
// bit-at-a-time product of SP 800-38D, and the field laws pow relies on.
func TestGFTableMatchesReference(t *testing.T) {
	r := mrand.New(mrand.NewPCG(1, 2))
	one := gfElement{hi: 1 << 63}
	for i := 0; i < 2000; i++ {
		x, y := randElement(r), randElement(r)
		if got, want := gfMul(x, y), gfMulSlow(x, y); got != want {
			t.Fatalf("gfMul(%x, %x) = %x, want %x", x, y, got, want)
		}
		if got := gfMul(x, one); got != x {
			t.Fatalf("x·1 = %x, want %x", got, x)
		}
	}
	for i := 0; i < 20; i++ {
		x := randElement(r)
		if got := gfMul(x, gfInverse(x)); got != one {
			t.Fatalf("x·x^-1 = %x for x = %x", got, x)
		}
	}
	h := randElement(r)
	p := one
	for n := uint64(1); n <= 300; n++ {
		p = gfMulSlow(p, h)
		if got := gfPow(h, n); got != p {
			t.Fatalf("h^%d = %x, want %x", n, got, p)
		}
	}
}

// TestGFReduceTable derives the reduction table from mulX.
func TestGFReduceTable(t *testing.T) {
	for r := uint64(0); r < 16; r++ {
		// The element with coefficients x^124..x^127 from r, times x^4.
		e := gfElement{lo: r}
		for i := 0; i < 4; i++ {
			e = e.mulX()
		}
		if e.lo != 0 || e.hi != gfReduce4[r] {
			t.Errorf("reduction of %x = %x, table has %x", r, e, gfReduce4[r])
		}
	}
}

// ghashBlocks continues GHASH's Horner evaluation y ← (y ⊕ X)·h over the
// 16-byte blocks of data, the last one zero-padded.
func (t *gfTable) ghashBlocks(y gfElement, data []byte) gfElement {
	for len(data) >= 16 {
		y = t.mul(y.xor(gfLoad(data)))
		data = data[16:]
	}
	if len(data) > 0 {
		var last [16]byte
		copy(last[:], data)
		y = t.mul(y.xor(gfLoad(last[:])))
	}
	return y
}

// TestGHASHComputesGCMTags computes GCM tags from the field arithmetic
// alone (GHASH by Horner's rule) and compares them with crypto/cipher's.
func TestGHASHComputesGCMTags(t *testing.T) {
	for _, n := range []int{0, 1, 16, 33, 1000} {
		key, nonce, aad, plain := randomBytes(16), randomBytes(12), randomBytes(n/3), randomBytes(n)
		sealed := mustGCM(t, key).Seal(nil, nonce, plain, aad)
		block, _ := aes.NewCipher(key)
		var b [16]byte
		block.Encrypt(b[:], b[:])
		h := newGFTable(gfLoad(b[:]))
		y := h.ghashBlocks(gfElement{}, aad)
		y = h.ghashBlocks(y, sealed[:n])
		y = h.mul(y.xor(gcmLengths(uint64(len(aad)), uint64(n))))
		copy(b[:], nonce)
		b[12], b[13], b[14], b[15] = 0, 0, 0, 1
		block.Encrypt(b[:], b[:])
		var tag [16]byte
		y.xor(gfLoad(b[:])).put(tag[:])
		if !bytes.Equal(tag[:], sealed[n:]) {
			t.Fatalf("length %d: GHASH tag %x, crypto/cipher %x", n, tag, sealed[n:])
		}
	}
}

// TestGCMStreamMatchesStdlib checks the chunked GCM against the standard
// library's one-shot GCM, for lengths around every boundary it has (blocks,
// chunks), both AAD lengths, and random keys, nonces and split points.
func TestGCMStreamMatchesStdlib(t *testing.T) {
	r := mrand.New(mrand.NewPCG(3, 4))
	lengths := []int{0, 1, 15, 16, 17, 31, 32, 100, 4095, 4096,
		gcmChunkSize - 1, gcmChunkSize, gcmChunkSize + 1, 2*gcmChunkSize + 17, 3 * gcmChunkSize}
	for i := 0; i < 20; i++ {
		lengths = append(lengths, r.IntN(5*gcmChunkSize))
	}
	for _, keyLen := range []int{16, 32} {
		for _, aadLen := range []int{0, 8} {
			for _, n := range lengths {
				key, nonce := make([]byte, keyLen), make([]byte, 12)
				rand.Read(key)
				rand.Read(nonce)
				plain := make([]byte, n)
				rand.Read(plain)
				block, _ := aes.NewCipher(key)
				aead, _ := cipher.NewGCM(block)
				want := aead.Seal(nil, nonce, plain, make([]byte, aadLen))

				s, err := newGCMStream(key, nonce, uint64(aadLen), true)
				if err != nil {
					t.Fatal(err)
				}
				var got []byte
				scratch := make([]byte, 0, gcmChunkSize+16)
				for off := 0; off < n; off += gcmChunkSize {
					got = append(got, s.sealChunk(scratch, plain[off:min(n, off+gcmChunkSize)])...)
				}
				tag := s.tag()
				got = append(got, tag[:]...)
				if !bytes.Equal(got, want) {
					t.Fatalf("key %d, aad %d, length %d: chunked GCM differs from crypto/cipher", keyLen, aadLen, n)
				}

				d, _ := newGCMStream(key, nonce, uint64(aadLen), false)
				back := bytes.Clone(want[:n])
				for off := 0; off < n; off += gcmChunkSize {
					d.openChunk(back[off:min(n, off+gcmChunkSize)])
				}
				if tag := d.tag(); !bytes.Equal(back, plain) || !bytes.Equal(tag[:], want[n:]) {
					t.Fatalf("key %d, aad %d, length %d: chunked decryption differs", keyLen, aadLen, n)
				}
			}
		}
	}
}

// TestMHTPartsMatchStdlib checks the writer's two-part MHT encryption against
// crypto/cipher's GCM over the assembled node.
func TestMHTPartsMatchStdlib(t *testing.T) {
	for i := 0; i < 20; i++ {
		var plain [pfsNodeSize]byte
		rand.Read(plain[:])
		if i%2 == 1 {
			clear(plain[3072+32*(i%32):]) // trailing empty child slots
		}
		key := make([]byte, 16)
		rand.Read(key)
		want := mustGCM(t, key).Seal(nil, pfsZeroNonce[:], plain[:], nil)

		var file memFile
		w := &pfsWriter{dst: &file}
		w.mhts = []pfsMHTState{{}}
		copy(w.mhts[0].key[:], key)
		copy(w.curMHT[:], plain[:3072])
		if err := w.finishMHTData(); err != nil {
			t.Fatal(err)
		}
		// finalizeMHT takes child entries from the children's state: build
		// 32 children whose key ‖ tag are the plaintext's child entries.
		for j := 0; j < pfsChildMHTs; j++ {
			var st pfsMHTState
			copy(st.key[:], plain[3072+32*j:])
			copy(st.sum[:], plain[3072+32*j+16:])
			w.mhts = append(w.mhts, st)
		}
		if err := w.finalizeMHT(0); err != nil {
			t.Fatal(err)
		}
		got := file.data[pfsMHTPhys(0)*pfsNodeSize:]
		if !bytes.Equal(got[:pfsNodeSize], want[:pfsNodeSize]) {
			t.Fatal("MHT ciphertext differs from crypto/cipher's GCM")
		}
		if !bytes.Equal(w.mhts[0].sum[:], want[pfsNodeSize:]) {
			t.Fatal("MHT tag differs from crypto/cipher's GCM")
		}
	}
}

func mustGCM(t testing.TB, key []byte) cipher.AEAD {
	t.Helper()
	block, err := aes.NewCipher(key)
	if err != nil {
		t.Fatal(err)
	}
	aead, err := cipher.NewGCM(block)
	if err != nil {
		t.Fatal(err)
	}
	return aead
}

// memFile is an in-memory io.Writer and io.WriterAt, like an empty file.
type memFile struct{ data []byte }

func (f *memFile) WriteAt(p []byte, off int64) (int, error) {
	if end := int(off) + len(p); end > len(f.data) {
		if end <= cap(f.data) { // benchmarks reuse a buffer the writer overwrites whole
			f.data = f.data[:end]
		} else {
			f.data = append(f.data, make([]byte, end-len(f.data))...)
		}
	}
	return copy(f.data[off:], p), nil
}

func (f *memFile) Write(p []byte) (int, error) { return f.WriteAt(p, int64(len(f.data))) }
