package filecrypto

import "encoding/binary"

// GHASH arithmetic in GF(2^128) with GCM's bit order (NIST SP 800-38D §6.3).
//
// The standard library's GCM is fast but all-at-once: it cannot authenticate
// a message fed in pieces, nor one whose blocks are produced out of order.
// GHASH is linear, though, so this file supplies the little field arithmetic
// needed to combine partial GHASH values: the aes-gcm stream (gcmstream.go)
// combines per-chunk GHASH values that the standard library computes, and the
// protected-file writer (pfs_writer.go) assembles each MHT node's tag from
// parts produced at different times. Throughput-critical hashing stays in the
// standard library's assembly; this code runs a few hundred times per MiB.

// gfElement is an element of GF(2^128): hi holds block bytes 0–7 and lo bytes
// 8–15, both big-endian, so the coefficient of x^0 is the top bit of hi and
// that of x^127 the bottom bit of lo.
type gfElement struct{ hi, lo uint64 }

func gfLoad(b []byte) gfElement {
	return gfElement{binary.BigEndian.Uint64(b[:8]), binary.BigEndian.Uint64(b[8:16])}
}

func (e gfElement) put(b []byte) {
	binary.BigEndian.PutUint64(b[:8], e.hi)
	binary.BigEndian.PutUint64(b[8:16], e.lo)
}

func (e gfElement) xor(f gfElement) gfElement { return gfElement{e.hi ^ f.hi, e.lo ^ f.lo} }

// gcmR is x^128 reduced (x^7 + x^2 + x + 1) in this representation.
const gcmR = 0xe1 << 56

// mulX returns e·x.
func (e gfElement) mulX() gfElement {
	carry := e.lo & 1
	return gfElement{e.hi>>1 ^ gcmR&-carry, e.lo>>1 | e.hi<<63}
}

// gfMulSlow is the bit-at-a-time product of SP 800-38D Algorithm 1, kept as
// the reference the table product is tested against.
func gfMulSlow(x, y gfElement) gfElement {
	var z gfElement
	v := y
	for i := 0; i < 128; i++ {
		var bit uint64
		if i < 64 {
			bit = x.hi >> (63 - i) & 1
		} else {
			bit = x.lo >> (127 - i) & 1
		}
		z.hi ^= v.hi & -bit
		z.lo ^= v.lo & -bit
		v = v.mulX()
	}
	return z
}

// gfTable holds the products of a fixed element h with every 4-bit
// polynomial, indexed so that a nibble of a block (top bit = lowest degree)
// indexes it directly.
type gfTable [16]gfElement

func newGFTable(h gfElement) *gfTable {
	t := new(gfTable)
	t.init(h)
	return t
}

func (t *gfTable) init(h gfElement) {
	t[8] = h
	t[4] = t[8].mulX()
	t[2] = t[4].mulX()
	t[1] = t[2].mulX()
	for i := 3; i < 16; i++ {
		if i&(i-1) != 0 { // not a power of two: sum of its bits
			t[i] = t[i&(i-1)].xor(t[i&-i])
		}
	}
}

// gfReduce4[r] is the reduction of the four coefficients x^124..x^127 (the
// low nibble r of lo) once multiplied by x^4: bit 3 of r is x^124 → x^128 = R,
// bit 0 is x^127 → x^131 = R·x^3.
var gfReduce4 = [16]uint64{
	0x0000000000000000, 0x1c20000000000000, 0x3840000000000000, 0x2460000000000000,
	0x7080000000000000, 0x6ca0000000000000, 0x48c0000000000000, 0x54e0000000000000,
	0xe100000000000000, 0xfd20000000000000, 0xd940000000000000, 0xc560000000000000,
	0x9180000000000000, 0x8da0000000000000, 0xa9c0000000000000, 0xb5e0000000000000,
}

// mul returns x·h, four bits of x at a time from its highest degree down.
func (t *gfTable) mul(x gfElement) gfElement {
	var z gfElement
	for w := 0; w < 2; w++ {
		word := x.lo
		if w == 1 {
			word = x.hi
		}
		for i := 0; i < 16; i++ { // nibbles of word, highest degree (lowest bits) first
			r := z.lo & 0xf
			z.lo = z.lo>>4 | z.hi<<60
			z.hi = z.hi>>4 ^ gfReduce4[r]
			z = z.xor(t[word&0xf])
			word >>= 4
		}
	}
	return z
}

// gfMul returns x·y.
func gfMul(x, y gfElement) gfElement {
	var t gfTable
	t.init(y)
	return t.mul(x)
}

// gfPow returns h^n (n ≥ 1).
func gfPow(h gfElement, n uint64) gfElement {
	result := gfElement{hi: 1 << 63} // the field's 1
	base := h
	for n > 0 {
		if n&1 == 1 {
			result = gfMul(result, base)
		}
		base = gfMul(base, base)
		n >>= 1
	}
	return result
}

// gfInverse returns h^-1 = h^(2^128 − 2) for h ≠ 0.
func gfInverse(h gfElement) gfElement {
	x := h // x = h^(2^k − 1), from k = 1 to 127
	for k := 1; k < 127; k++ {
		x = gfMul(gfMul(x, x), h)
	}
	return gfMul(x, x)
}

// gcmLengths is GHASH's final block: the AAD and ciphertext lengths in bits.
func gcmLengths(aadLen, ctLen uint64) gfElement { return gfElement{aadLen * 8, ctLen * 8} }
