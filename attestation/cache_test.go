package attestation_test

import (
	"testing"
	"time"

	"github.com/teaclave-go/teaclave/attestation"
)

// TestVerifierCache: a verified certificate is cached by hash until its age
// limit, never outside the period in which verification would pass, and
// failures are not cached.
func TestVerifierCache(t *testing.T) {
	v := newVerifier(t, testPolicy())
	storage := measurement(attestation.ServiceStorage)
	der := makeCert(t, evidence{m: storage})
	now := t0.Add(time.Minute)
	r1, err := v.VerifyService(now, [][]byte{der}, attestation.ServiceStorage)
	if err != nil {
		t.Fatal(err)
	}
	if n := v.CachedCertificates(); n != 1 {
		t.Fatalf("%d cached", n)
	}
	r1.Status = "changed"
	r1.MREnclave[0] ^= 1
	r2, err := v.VerifyService(now.Add(time.Minute), [][]byte{der}, attestation.ServiceStorage)
	if err != nil || r2.Status != "OK" || r2.Measurement() != storage {
		t.Fatalf("cached report was changed through a returned copy: %+v %v", r2, err)
	}
	if n := v.CachedCertificates(); n != 1 {
		t.Fatalf("%d cached after a hit", n)
	}
	// Identity checks run on cache hits too.
	_, err = v.VerifyService(now, [][]byte{der}, attestation.ServiceScheduler)
	assertRefused(t, err, attestation.ErrMREnclaveMismatch)
	// Past the age limit and before the report, the cache does not answer.
	_, err = v.VerifyPeer(t0.Add(time.Hour+time.Second), [][]byte{der})
	assertRefused(t, err, attestation.ErrReportTooOld)
	_, err = v.VerifyPeer(t0.Add(-time.Hour), [][]byte{der})
	assertRefused(t, err, attestation.ErrCertificateExpired)
	// Refusals are not cached.
	bad := makeCert(t, evidence{m: storage, status: attestation.StatusGroupRevoked})
	for range 2 {
		_, err = v.VerifyPeer(now, [][]byte{bad})
		assertRefused(t, err, attestation.ErrStatusNotAccepted)
	}
	if n := v.CachedCertificates(); n != 1 {
		t.Fatalf("%d cached after refusals", n)
	}
}

func TestVerifierConcurrent(t *testing.T) {
	v := newVerifier(t, testPolicy())
	certs := [][]byte{
		makeCert(t, evidence{m: measurement(attestation.ServiceStorage)}),
		makeCert(t, evidence{m: measurement(attestation.ServiceStorage)}),
	}
	now := t0.Add(time.Minute)
	errs := make(chan error, 16)
	for i := range 16 {
		go func() {
			_, err := v.VerifyService(now, [][]byte{certs[i%2]}, attestation.ServiceStorage)
			errs <- err
		}()
	}
	for range 16 {
		if err := <-errs; err != nil {
			t.Fatal(err)
		}
	}
	if n := v.CachedCertificates(); n != 2 {
		t.Fatalf("%d cached", n)
	}
}

// TestChainCacheRespectsValidity: a signing chain verified once is not
// trusted outside its validity by later certificates.
func TestChainCacheRespectsValidity(t *testing.T) {
	v := newVerifier(t, testPolicy())
	storage := measurement(attestation.ServiceStorage)
	if _, err := v.VerifyPeer(t0.Add(time.Minute), [][]byte{makeCert(t, evidence{m: storage})}); err != nil {
		t.Fatal(err)
	}
	// Test CA A's signer expires in 2040.
	late := time.Date(2041, 1, 1, 0, 0, 0, 0, time.UTC)
	_, err := v.VerifyPeer(late.Add(time.Minute), [][]byte{makeCert(t, evidence{m: storage, timestamp: late})})
	assertRefused(t, err, attestation.ErrEndorsementChain)
	// A bad signature under a cached chain is still refused.
	_, err = v.VerifyPeer(t0.Add(time.Minute), [][]byte{makeCert(t, evidence{m: storage, badSig: true})})
	assertRefused(t, err, attestation.ErrBadReportSignature)
}
