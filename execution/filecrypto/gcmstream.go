package filecrypto

import (
	"crypto/aes"
	"crypto/cipher"
	"encoding/binary"
	"fmt"
)

// gcmChunkSize is how much of an aes-gcm file is processed (and buffered) at
// a time. It is a multiple of 16, which the GHASH combination below needs.
const gcmChunkSize = 64 << 10

// gcmPieceSize is the unit in which the reader and its helper goroutine
// share the GHASH of a chunk (gcm.go). A multiple of 16 that divides
// gcmChunkSize.
const gcmPieceSize = 8 << 10

// MaxAESGCMSize is the largest plaintext an aes-gcm file may hold: GCM's own
// limit of 2^32 − 2 blocks (just under 64 GiB). Readers and writers refuse
// larger files with ErrTooLarge.
const MaxAESGCMSize = (1<<32 - 2) * 16

// gcmStream is GCM (SP 800-38D) computed incrementally, chunk by chunk, for a
// 12-byte nonce and an AAD of zero bytes. The standard library's GCM is fast
// (its AES and GHASH are assembly, interleaved) but only does whole messages,
// so each chunk is a message of its own and GHASH's linearity joins them:
// with G(c) the GHASH of c without length block, H·G(c1‖c2) =
// H·G(c1)·H^{blocks(c2)} ⊕ H·G(c2). Every chunk but the last is a whole
// number of blocks, so the zero padding matches that of the whole message.
// A tag T of a one-chunk message yields H·G = T ⊕ E_K(J0) ⊕ L·H, with J0 its
// pre-counter block and L its length block.
//
// Encrypting (sealChunk): chunk j must continue the file's keystream, whose
// counter blocks are nonce‖(2 + blocks before j). GCM with a 12-byte nonce
// always starts at nonce‖2, but with a 16-byte nonce N it starts at inc32(J0)
// where J0 = GHASH_H(N ‖ L128) = N·H² ⊕ L128·H is linear in N. So the writer
// solves for the N whose J0 is nonce‖(1 + blocks before j) and lets the
// standard library encrypt and authenticate the chunk in one pass.
//
// Decrypting (openChunk) needs GHASH of the ciphertext before the tag is
// known, which Open never reveals. So the reader runs AES-CTR from counter
// nonce‖2 over the file (the standard library's 128-bit counter equals GCM's
// inc32 because a file has at most 2^32 − 2 blocks) and feeds each ciphertext
// chunk to Seal as additional data of an empty message, an oracle for its
// GHASH: Seal(nil, nonce, nil, chunk) = GHASH(chunk ‖ L'_j) ⊕ E_K(J0). The
// same linearity lets the reader split a chunk's GHASH into pieces hashed on
// two goroutines (chunkGHASH, joinPieces) while AES-CTR runs.
//
// An AAD made only of zero bytes adds zero blocks, which leave GHASH
// unchanged, so only its length enters (in the final length block). The file
// schemas use 8 zero bytes (§15.1).
type gcmStream struct {
	block  cipher.Block
	ctr    cipher.Stream // decryption keystream
	oracle cipher.AEAD   // GHASH of a chunk, for decryption
	sealer cipher.AEAD   // 16-byte-nonce GCM, for encryption
	nonce  [aesGCMIVSize]byte
	h      gfElement
	hTab   *gfTable // multiplication by H
	chunkH *gfTable // multiplication by H^(gcmChunkSize/16)
	pieceH *gfTable // multiplication by H^(gcmPieceSize/16), for decryption
	invH2  *gfTable // multiplication by H^-2, for encryption
	ekj0   gfElement
	acc    gfElement // H·G of the ciphertext so far
	aadLen uint64
	n      uint64 // ciphertext bytes so far
}

// newGCMStream prepares a stream for encryption (seal) or decryption.
func newGCMStream(key, nonce []byte, aadLen uint64, seal bool) (*gcmStream, error) {
	block, err := aes.NewCipher(key)
	if err != nil {
		return nil, err
	}
	s := &gcmStream{block: block, aadLen: aadLen}
	copy(s.nonce[:], nonce)

	var b [16]byte
	block.Encrypt(b[:], b[:])
	s.h = gfLoad(b[:])
	s.hTab = newGFTable(s.h)
	s.chunkH = newGFTable(gfPow(s.h, gcmChunkSize/16))

	copy(b[:], nonce)
	binary.BigEndian.PutUint32(b[12:], 1)
	block.Encrypt(b[:], b[:])
	s.ekj0 = gfLoad(b[:])

	if seal {
		if s.h == (gfElement{}) { // probability 2^-128, but never divide by zero
			return nil, fmt.Errorf("filecrypto: degenerate aes-gcm key")
		}
		inv := gfInverse(s.h)
		s.invH2 = newGFTable(gfMul(inv, inv))
		s.sealer, err = cipher.NewGCMWithNonceSize(block, 16)
	} else {
		s.oracle, err = cipher.NewGCM(block)
		s.pieceH = newGFTable(gfPow(s.h, gcmPieceSize/16))
		copy(b[:], nonce)
		binary.BigEndian.PutUint32(b[12:], 2)
		s.ctr = cipher.NewCTR(block, b[:])
	}
	if err != nil {
		return nil, err
	}
	return s, nil
}

// combine appends a chunk of length bytes whose H-scaled GHASH is hg.
func (s *gcmStream) combine(hg gfElement, length int) {
	if length == 0 {
		return
	}
	blocks := uint64(length+15) / 16
	if blocks == gcmChunkSize/16 {
		s.acc = s.chunkH.mul(s.acc)
	} else {
		s.acc = gfMul(s.acc, gfPow(s.h, blocks))
	}
	s.acc = s.acc.xor(hg)
	s.n += uint64(length)
}

// sealChunk encrypts the next chunk src into dst, which must have room for
// len(src) + 16 bytes and is either src[:0] or does not overlap it, and
// returns the ciphertext. Every chunk but the last must be a whole number
// of blocks.
func (s *gcmStream) sealChunk(dst, src []byte) []byte {
	if len(src) == 0 {
		return dst[:0]
	}
	var j0, nb, ek [16]byte
	copy(j0[:], s.nonce[:])
	binary.BigEndian.PutUint32(j0[12:], uint32(1+s.n/16))
	// N = (J0 ⊕ L128·H)·H^-2 gives GHASH_H(N ‖ L128) = J0.
	s.invH2.mul(gfLoad(j0[:]).xor(s.hTab.mul(gcmLengths(0, 16)))).put(nb[:])
	out := s.sealer.Seal(dst[:0], nb[:], src, nil)
	s.block.Encrypt(ek[:], j0[:])
	hg := gfLoad(out[len(src):]).xor(gfLoad(ek[:])).xor(s.hTab.mul(gcmLengths(0, uint64(len(src)))))
	s.combine(hg, len(src))
	return out[:len(src)]
}

// chunkGHASH returns the H-scaled GHASH, without length block, of a
// ciphertext chunk. It reads only what newGCMStream set, so another
// goroutine may run it while this one runs the keystream or combine.
func (s *gcmStream) chunkGHASH(chunk []byte) gfElement {
	var sum [TagSize]byte
	t := s.oracle.Seal(sum[:0], s.nonce[:], nil, chunk)
	return gfLoad(t).xor(s.ekj0).xor(s.hTab.mul(gcmLengths(uint64(len(chunk)), 0)))
}

// joinPieces returns the H-scaled GHASH of a chunk of length bytes from
// those of its pieces of gcmPieceSize bytes (the last may be shorter).
func (s *gcmStream) joinPieces(hg []gfElement, length int) gfElement {
	acc := hg[0]
	for i := 1; i < len(hg); i++ {
		if i < len(hg)-1 || length%gcmPieceSize == 0 {
			acc = s.pieceH.mul(acc)
		} else {
			acc = gfMul(acc, gfPow(s.h, uint64(length%gcmPieceSize+15)/16))
		}
		acc = acc.xor(hg[i])
	}
	return acc
}

// openChunk authenticates the next ciphertext chunk and decrypts it in
// place. Every chunk but the last must be a whole number of blocks.
func (s *gcmStream) openChunk(chunk []byte) {
	if len(chunk) == 0 {
		return
	}
	s.combine(s.chunkGHASH(chunk), len(chunk))
	s.ctr.XORKeyStream(chunk, chunk)
}

// tag returns the GCM tag of everything so far.
func (s *gcmStream) tag() Tag {
	var t Tag
	s.acc.xor(s.hTab.mul(gcmLengths(s.aadLen, s.n))).xor(s.ekj0).put(t[:])
	return t
}
