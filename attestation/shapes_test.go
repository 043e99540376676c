package attestation_test

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"math/big"
	"testing"
	"time"

	"github.com/teaclave-go/teaclave/attestation"
)

func parseLeaf(der []byte) ([64]byte, error) {
	var out [64]byte
	leaf, err := x509.ParseCertificate(der)
	if err != nil {
		return out, err
	}
	b, err := leaf.PublicKey.(*ecdsa.PublicKey).Bytes()
	if err != nil {
		return out, err
	}
	copy(out[:], b[1:])
	return out, nil
}

// otherShapes returns certificates that are not in Teaclave's RA-TLS shape.
func otherShapes(t testing.TB) [][]byte {
	t.Helper()
	payload := (&attestation.EndorsedReport{}).Marshal()
	mk := func(curve elliptic.Curve, exts []pkix.Extension) []byte {
		key, err := ecdsa.GenerateKey(curve, rand.Reader)
		if err != nil {
			t.Fatal(err)
		}
		tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), NotBefore: t0, NotAfter: t0.Add(time.Hour), ExtraExtensions: exts}
		der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
		if err != nil {
			t.Fatal(err)
		}
		return der
	}
	ev := pkix.Extension{Id: attestation.EvidenceOID(), Value: payload}
	return [][]byte{
		mk(elliptic.P384(), []pkix.Extension{ev}),
		mk(elliptic.P256(), []pkix.Extension{ev, {Id: []int{1, 2, 3}, Value: []byte{5, 0}}}),
		mk(elliptic.P256(), []pkix.Extension{{Id: attestation.EvidenceOID(), Value: payload, Critical: true}}),
		mk(elliptic.P256(), []pkix.Extension{{Id: []int{1, 2, 3, 4}, Value: payload}}),
		mk(elliptic.P256(), nil),
	}
}
