package attestation_test

import (
	"context"
	"testing"
	"time"

	"github.com/teaclave-go/teaclave/attestation"
)

// BenchmarkVerifyFixtureCold verifies Teaclave's v4 certificate with an
// empty cache each time: parse, chain to the DCAP root (RSA-4096), report
// signature (RSA-4096), report JSON, key binding, checks.
func BenchmarkVerifyFixtureCold(b *testing.B) {
	p := fixturePolicy(b)
	der := [][]byte{readFixture(b, "tls_ra_cert_v4.der")}
	b.ReportAllocs()
	for b.Loop() {
		b.StopTimer()
		v, err := attestation.NewVerifier(p, nil)
		if err != nil {
			b.Fatal(err)
		}
		b.StartTimer()
		if _, err := v.VerifyPeer(fixtureNow, der); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkVerifyFixtureCached verifies the same certificate from the cache
// (hash of the DER and a map lookup), as every handshake after the first.
func BenchmarkVerifyFixtureCached(b *testing.B) {
	v, err := attestation.NewVerifier(fixturePolicy(b), nil)
	if err != nil {
		b.Fatal(err)
	}
	der := [][]byte{readFixture(b, "tls_ra_cert_v4.der")}
	if _, err := v.VerifyPeer(fixtureNow, der); err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	for b.Loop() {
		if _, err := v.VerifyPeer(fixtureNow, der); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkParseEndorsedReport decodes the v4 fixture's 8.7 KB payload.
func BenchmarkParseEndorsedReport(b *testing.B) {
	c, err := attestation.ParseCertificate(readFixture(b, "tls_ra_cert_v4.der"))
	if err != nil {
		b.Fatal(err)
	}
	payload := c.Leaf.Extensions[0].Value
	b.SetBytes(int64(len(payload)))
	b.ReportAllocs()
	for b.Loop() {
		if _, err := attestation.ParseEndorsedReport(payload); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkAttest makes a credential with an in-process endorser (P-256 key
// generation, RSA-2048 report signature, certificate).
func BenchmarkAttest(b *testing.B) {
	a, err := attestation.NewAttestor(fakeQuoter{measurement("x")}, fakeEndorser{now: time.Now}, attestation.AttestorConfig{MaxReportAge: time.Hour})
	if err != nil {
		b.Fatal(err)
	}
	ctx := context.Background()
	for b.Loop() {
		if _, err := a.Attest(ctx); err != nil {
			b.Fatal(err)
		}
	}
}
