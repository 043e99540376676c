package filecrypto

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/subtle"
)

// aesCMAC returns AES-CMAC (RFC 4493, NIST SP 800-38B) of msg under key. The
// protected-file format uses it as its key derivation function (§15.2). The
// standard library has no CMAC, and it is small enough to keep here with the
// RFC's test vectors in cmac_test.go.
func aesCMAC(key, msg []byte) ([16]byte, error) {
	var mac [16]byte
	block, err := aes.NewCipher(key)
	if err != nil {
		return mac, err
	}
	return cmacBlock(block, msg), nil
}

func cmacBlock(block cipher.Block, msg []byte) [16]byte {
	// Subkeys K1 = L·x and K2 = L·x² in GF(2^128) with the CMAC bit order,
	// where L = E_K(0^128).
	var l, k1, k2 [16]byte
	block.Encrypt(l[:], l[:])
	cmacDouble(&k1, &l)
	cmacDouble(&k2, &k1)

	n := (len(msg) + 15) / 16
	complete := n > 0 && len(msg)%16 == 0
	if n == 0 {
		n = 1
	}

	var x, last [16]byte
	for i := 0; i < n-1; i++ {
		subtle.XORBytes(x[:], x[:], msg[16*i:16*i+16])
		block.Encrypt(x[:], x[:])
	}
	tail := msg[16*(n-1):]
	if complete {
		subtle.XORBytes(last[:], tail, k1[:])
	} else {
		copy(last[:], tail)
		last[len(tail)] = 0x80
		subtle.XORBytes(last[:], last[:], k2[:])
	}
	subtle.XORBytes(x[:], x[:], last[:])
	block.Encrypt(x[:], x[:])
	return x
}

// cmacDouble sets dst = src·x: a left shift by one bit, reduced by
// x^128 + x^7 + x^2 + x + 1 (the constant 0x87) when the top bit falls off.
func cmacDouble(dst, src *[16]byte) {
	carry := src[0] >> 7
	for i := 0; i < 15; i++ {
		dst[i] = src[i]<<1 | src[i+1]>>7
	}
	dst[15] = src[15]<<1 ^ byte(subtle.ConstantTimeByteEq(carry, 1))*0x87
}
