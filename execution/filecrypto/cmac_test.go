package filecrypto

import (
	"encoding/hex"
	"testing"
)

// TestAESCMACRFC4493 checks AES-CMAC against the four examples of RFC 4493
// §4 (empty, one block, a partial last block, four blocks).
func TestAESCMACRFC4493(t *testing.T) {
	key := mustHex(t, "2b7e151628aed2a6abf7158809cf4f3c")
	msg := mustHex(t, "6bc1bee22e409f96e93d7e117393172a"+
		"ae2d8a571e03ac9c9eb76fac45af8e51"+
		"30c81c46a35ce411e5fbc1191a0a52ef"+
		"f69f2445df4f9b17ad2b417be66c3710")
	for _, tc := range []struct {
		n    int
		want string
	}{
		{0, "bb1d6929e95937287fa37d129b756746"},
		{16, "070a16b46b4d4144f79bdd9dd04a287c"},
		{40, "dfa66747de9ae63030ca32611497c827"},
		{64, "51f0bebf7e3b9d92fc49741779363cfe"},
	} {
		got, err := aesCMAC(key, msg[:tc.n])
		if err != nil {
			t.Fatal(err)
		}
		if hex.EncodeToString(got[:]) != tc.want {
			t.Errorf("CMAC of %d bytes = %x, want %s", tc.n, got, tc.want)
		}
	}
	if _, err := aesCMAC(key[:5], nil); err == nil {
		t.Error("CMAC with a 5-byte key succeeded")
	}
}

func mustHex(t testing.TB, s string) []byte {
	t.Helper()
	b, err := hex.DecodeString(s)
	if err != nil {
		t.Fatal(err)
	}
	return b
}
