package attestation_test

import (
	"errors"
	"testing"
	"time"

	"github.com/teaclave-go/teaclave/attestation"
)

func newVerifier(t testing.TB, p *attestation.Policy) *attestation.Verifier {
	t.Helper()
	v, err := attestation.NewVerifier(p, testInfo(t, p))
	if err != nil {
		t.Fatal(err)
	}
	return v
}

func TestVerifyServiceAccepts(t *testing.T) {
	v := newVerifier(t, testPolicy())
	der := makeCert(t, evidence{m: measurement(attestation.ServiceStorage)})
	r, err := v.VerifyService(t0.Add(time.Minute), [][]byte{der}, attestation.ServiceStorage)
	if err != nil {
		t.Fatal(err)
	}
	if r.Measurement() != measurement(attestation.ServiceStorage) || r.Status != "OK" || !r.Timestamp.Equal(t0) || r.Simulated || r.Debug {
		t.Fatalf("unexpected report %+v", r)
	}
	cert, err := attestation.ParseCertificate(der)
	if err != nil {
		t.Fatal(err)
	}
	if r.ReportData != cert.PublicKey {
		t.Fatal("report data is not the certificate key")
	}
}

func TestVerifyCallerAccepts(t *testing.T) {
	v := newVerifier(t, testPolicy())
	der := makeCert(t, evidence{m: measurement(attestation.ServiceManagement)})
	_, id, err := v.VerifyCaller(t0.Add(time.Minute), [][]byte{der}, attestation.ServiceAuthentication)
	if err != nil {
		t.Fatal(err)
	}
	want := measurement(attestation.ServiceManagement)
	if id.Service != attestation.ServiceManagement || id.Measurement() != want {
		t.Fatalf("identity %+v", id)
	}
}

// TestVerifierRefusals covers each check of §16.4 (with Teaclave's defects
// fixed) and asserts which one refused.
func TestVerifierRefusals(t *testing.T) {
	p := testPolicy()
	v := newVerifier(t, p)
	now := t0.Add(time.Minute)
	storage := measurement(attestation.ServiceStorage)
	otherEnclave := storage
	otherEnclave.MREnclave[0] ^= 0xff
	otherSigner := storage
	otherSigner.MRSigner[0] ^= 0xff
	v3report := []byte(`{"id":"x","timestamp":"2024-05-01T12:00:00.000000","version":3,"isvEnclaveQuoteStatus":"OK","isvEnclaveQuoteBody":""}`)

	type verifyFunc func(der []byte) error
	service := func(name string) verifyFunc {
		return func(der []byte) error { _, err := v.VerifyService(now, [][]byte{der}, name); return err }
	}
	caller := func(callee string) verifyFunc {
		return func(der []byte) error { _, _, err := v.VerifyCaller(now, [][]byte{der}, callee); return err }
	}
	at := func(when time.Time) verifyFunc {
		return func(der []byte) error {
			_, err := v.VerifyService(when, [][]byte{der}, attestation.ServiceStorage)
			return err
		}
	}
	tests := []struct {
		name   string
		ev     evidence
		verify verifyFunc
		want   error
	}{
		{"other mr_enclave", evidence{m: otherEnclave}, service(attestation.ServiceStorage), attestation.ErrMREnclaveMismatch},
		{"other mr_signer", evidence{m: otherSigner}, service(attestation.ServiceStorage), attestation.ErrMRSignerMismatch},
		{"other service", evidence{m: measurement(attestation.ServiceScheduler)}, service(attestation.ServiceStorage), attestation.ErrMREnclaveMismatch},
		{"unknown service", evidence{m: storage}, service("teaclave_unknown_service"), attestation.ErrUnknownService},
		{"caller not in inbound list", evidence{m: measurement(attestation.ServiceScheduler)}, caller(attestation.ServiceManagement), attestation.ErrCallerNotAllowed},
		{"caller with other mr_enclave", evidence{m: otherEnclave}, caller(attestation.ServiceManagement), attestation.ErrMREnclaveMismatch},
		{"caller unknown", evidence{m: attestation.Measurement{MREnclave: [32]byte{1}, MRSigner: [32]byte{2}}}, caller(attestation.ServiceManagement), attestation.ErrUnknownEnclave},
		{"key is not report data", evidence{m: storage, otherKey: true}, service(attestation.ServiceStorage), attestation.ErrKeyMismatch},
		{"unknown root", evidence{m: storage, ca: testCAs()[1]}, service(attestation.ServiceStorage), attestation.ErrUnknownRoot},
		{"bad report signature", evidence{m: storage, badSig: true}, service(attestation.ServiceStorage), attestation.ErrBadReportSignature},
		{"report too old", evidence{m: storage}, at(t0.Add(time.Hour + time.Second)), attestation.ErrReportTooOld},
		{"report from the future", evidence{m: storage, notBefore: t0.Add(-time.Minute)}, at(t0.Add(-2 * time.Second)), attestation.ErrReportFromFuture},
		{"certificate not yet valid", evidence{m: storage}, at(t0.Add(-time.Hour)), attestation.ErrCertificateExpired},
		{"status not accepted", evidence{m: storage, status: attestation.StatusGroupOutOfDate}, service(attestation.ServiceStorage), attestation.ErrStatusNotAccepted},
		{"status SW_HARDENING_NEEDED by default", evidence{m: storage, status: attestation.StatusSWHardeningNeeded}, service(attestation.ServiceStorage), attestation.ErrStatusNotAccepted},
		{"status SIGNATURE_INVALID", evidence{m: storage, status: attestation.StatusSignatureInvalid}, service(attestation.ServiceStorage), attestation.ErrStatusNotAccepted},
		{"debug forbidden", evidence{m: storage, debug: true}, service(attestation.ServiceStorage), attestation.ErrDebugForbidden},
		{"report version 3", evidence{m: storage, rawReport: v3report}, service(attestation.ServiceStorage), attestation.ErrReportVersion},
		{"report not JSON", evidence{m: storage, rawReport: []byte("<html>")}, service(attestation.ServiceStorage), attestation.ErrMalformedReport},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			assertRefused(t, tc.verify(makeCert(t, tc.ev)), tc.want)
		})
	}
	t.Run("no certificate", func(t *testing.T) {
		_, err := v.VerifyPeer(now, nil)
		assertRefused(t, err, attestation.ErrNoCertificate)
	})
	t.Run("not a certificate", func(t *testing.T) {
		_, err := v.VerifyPeer(now, [][]byte{[]byte("junk")})
		assertRefused(t, err, attestation.ErrMalformedCertificate)
	})
	t.Run("chain sent by the peer is ignored", func(t *testing.T) {
		good := makeCert(t, evidence{m: storage})
		bad := makeCert(t, evidence{m: storage, badSig: true})
		if _, err := v.VerifyPeer(now, [][]byte{good, bad}); err != nil {
			t.Fatal(err)
		}
		_, err := v.VerifyPeer(now, [][]byte{bad, good})
		assertRefused(t, err, attestation.ErrBadReportSignature)
	})
}

func TestPolicyOptionsAccept(t *testing.T) {
	storage := measurement(attestation.ServiceStorage)
	now := t0.Add(time.Minute)
	t.Run("SGX statuses", func(t *testing.T) {
		p := testPolicy()
		p.AcceptedStatuses = attestation.SGXStatuses()
		v := newVerifier(t, p)
		for _, st := range []string{attestation.StatusOK, attestation.StatusSWHardeningNeeded} {
			if _, err := v.VerifyService(now, [][]byte{makeCert(t, evidence{m: storage, status: st})}, attestation.ServiceStorage); err != nil {
				t.Fatalf("%s: %v", st, err)
			}
		}
		_, err := v.VerifyService(now, [][]byte{makeCert(t, evidence{m: storage, status: attestation.StatusConfigurationNeeded})}, attestation.ServiceStorage)
		assertRefused(t, err, attestation.ErrStatusNotAccepted)
	})
	t.Run("debug allowed", func(t *testing.T) {
		p := testPolicy()
		p.DebugAllowed = true
		r, err := newVerifier(t, p).VerifyService(now, [][]byte{makeCert(t, evidence{m: storage, debug: true})}, attestation.ServiceStorage)
		if err != nil || !r.Debug {
			t.Fatalf("report %+v, err %v", r, err)
		}
	})
	t.Run("second root", func(t *testing.T) {
		p := testPolicy()
		p.Roots = append(p.Roots, testCAs()[1].Root(false))
		r, err := newVerifier(t, p).VerifyService(now, [][]byte{makeCert(t, evidence{m: storage, ca: testCAs()[1]})}, attestation.ServiceStorage)
		if err != nil || r.Root != "test root B" {
			t.Fatalf("report %+v, err %v", r, err)
		}
	})
	t.Run("exactly at the age limit", func(t *testing.T) {
		v := newVerifier(t, testPolicy())
		if _, err := v.VerifyPeer(t0.Add(time.Hour), [][]byte{makeCert(t, evidence{m: storage})}); err != nil {
			t.Fatal(err)
		}
	})
}

// TestSimulatedRootInProduction: a production policy refuses a simulated
// root, whether it is listed at construction or only found at verification.
func TestSimulatedRootInProduction(t *testing.T) {
	p := testPolicy()
	p.Production = true
	p.Roots = append(p.Roots, testCAs()[1].Root(true))
	_, err := attestation.NewVerifier(p, nil)
	assertRefused(t, err, attestation.ErrSimulatedRoot)
	assertRefused(t, p.Validate(), attestation.ErrSimulatedRoot)
	if _, err := attestation.LoadEnclaveInfo([]byte(""), nil, p); !errors.Is(err, attestation.ErrSimulatedRoot) {
		t.Fatalf("LoadEnclaveInfo under a production policy with a simulated root: %v", err)
	}
}

func TestVerifierNeedsVerifiedInfo(t *testing.T) {
	p := testPolicy()
	data, _ := attestation.MarshalEnclaveInfo(map[string]attestation.Measurement{"a": measurement("a")})
	info, err := attestation.ParseEnclaveInfo(data)
	if err != nil {
		t.Fatal(err)
	}
	_, err = attestation.NewVerifier(p, info)
	assertRefused(t, err, attestation.ErrEnclaveInfoUnverified)
}

func TestVerifierCopiesPolicy(t *testing.T) {
	p := testPolicy()
	v := newVerifier(t, p)
	p.AcceptedStatuses = []string{attestation.StatusGroupOutOfDate}
	p.Roots = nil
	der := makeCert(t, evidence{m: measurement(attestation.ServiceStorage)})
	if _, err := v.VerifyService(t0, [][]byte{der}, attestation.ServiceStorage); err != nil {
		t.Fatalf("changing the policy after NewVerifier changed the verifier: %v", err)
	}
}
