package attestation

import (
	"crypto/x509"
	"os"
	"testing"
	"time"
)

// BenchmarkVerifyNewPeer verifies the v4 fixture with its signing chain
// already verified (the attestation service is known) but the certificate
// itself new, as after every peer's certificate refresh: one RSA-4096
// report signature instead of two.
func BenchmarkVerifyNewPeer(b *testing.B) {
	der, err := os.ReadFile("testdata/tls_ra_cert_v4.der")
	if err != nil {
		b.Fatal(err)
	}
	rootDER, err := os.ReadFile("testdata/dcap_root_ca_cert.der")
	if err != nil {
		b.Fatal(err)
	}
	root, err := x509.ParseCertificate(rootDER)
	if err != nil {
		b.Fatal(err)
	}
	v, err := NewVerifier(&Policy{Roots: []Root{{Name: "dcap", Cert: root}}, MaxReportAge: 24 * time.Hour, DebugAllowed: true}, nil)
	if err != nil {
		b.Fatal(err)
	}
	now := time.Date(2022, 1, 18, 0, 0, 0, 0, time.UTC)
	if _, err := v.VerifyPeer(now, [][]byte{der}); err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	for b.Loop() {
		v.mu.Lock()
		clear(v.cache)
		v.mu.Unlock()
		if _, err := v.VerifyPeer(now, [][]byte{der}); err != nil {
			b.Fatal(err)
		}
	}
}
