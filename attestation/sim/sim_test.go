//go:build !teaclave_production

package sim_test

import (
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/teaclave-go/teaclave/attestation"
	"github.com/teaclave-go/teaclave/attestation/sim"
)

// The service's RSA keys are generated once per test binary.
var service = sync.OnceValues(func() (*sim.AttestationService, error) {
	return sim.NewAttestationService(sim.Options{Logger: quiet()})
})

func quiet() *slog.Logger { return slog.New(slog.NewTextHandler(io.Discard, nil)) }

func svc(t testing.TB) *sim.AttestationService {
	t.Helper()
	s, err := service()
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// auditorKey is the development auditor's key, generated once.
var auditorKey = sync.OnceValues(func() (*rsa.PrivateKey, error) { return rsa.GenerateKey(rand.Reader, 2048) })

var signerKey = sync.OnceValue(func() *ecdsa.PrivateKey {
	k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		panic(err)
	}
	return k
})

// setup returns a development policy trusting the simulated root, enclave
// info for two simulated services signed by one development auditor, and
// quoters for them.
func setup(t testing.TB) (*attestation.Policy, *attestation.Verifier, map[string]*sim.Quoter) {
	t.Helper()
	s := svc(t)
	auditor, err := auditorKey()
	if err != nil {
		t.Fatal(err)
	}
	p := &attestation.Policy{
		Roots:            []attestation.Root{s.Root()},
		Auditors:         []attestation.Auditor{{Name: "dev", Key: &auditor.PublicKey}},
		AuditorThreshold: 1,
		MaxReportAge:     time.Hour,
	}
	quoters := make(map[string]*sim.Quoter)
	ms := make(map[string]attestation.Measurement)
	for _, service := range []string{attestation.ServiceStorage, attestation.ServiceManagement} {
		q, err := sim.NewQuoter(signerKey().Public())
		if err != nil {
			t.Fatal(err)
		}
		q.MREnclave = sha256.Sum256([]byte(service)) // one binary plays several services here
		quoters[service] = q
		ms[service] = attestation.Measurement{MREnclave: q.MREnclave, MRSigner: q.MRSigner}
	}
	data, err := attestation.MarshalEnclaveInfo(ms)
	if err != nil {
		t.Fatal(err)
	}
	sig, err := attestation.SignEnclaveInfo(data, auditor)
	if err != nil {
		t.Fatal(err)
	}
	info, err := attestation.LoadEnclaveInfo(data, [][]byte{sig}, p)
	if err != nil {
		t.Fatal(err)
	}
	v, err := attestation.NewVerifier(p, info)
	if err != nil {
		t.Fatal(err)
	}
	return p, v, quoters
}

func TestQuoterMeasuresExecutable(t *testing.T) {
	q, err := sim.NewQuoter(signerKey().Public())
	if err != nil {
		t.Fatal(err)
	}
	exe, _ := os.Executable()
	b, err := os.ReadFile(exe)
	if err != nil {
		t.Fatal(err)
	}
	if q.MREnclave != sha256.Sum256(b) {
		t.Fatal("mr_enclave is not the SHA-256 of the executable")
	}
	der, _ := x509.MarshalPKIXPublicKey(signerKey().Public())
	if q.MRSigner != sha256.Sum256(der) {
		t.Fatal("mr_signer is not the SHA-256 of the signing key")
	}
	other, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if id, _ := sim.SignerID(other.Public()); id == q.MRSigner {
		t.Fatal("different signers, same mr_signer")
	}
}

func TestSimulatedEndToEnd(t *testing.T) {
	p, v, quoters := setup(t)
	a, err := sim.NewAttestor(svc(t), quoters[attestation.ServiceStorage], p.MaxReportAge, quiet())
	if err != nil {
		t.Fatal(err)
	}
	cred, err := a.Attest(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	r, err := v.VerifyService(time.Now(), cred.Certificate.Certificate, attestation.ServiceStorage)
	if err != nil {
		t.Fatal(err)
	}
	if !r.Simulated || r.Debug || r.Status != attestation.StatusOK || len(r.ID) != 32 {
		t.Fatalf("report %+v", r)
	}
	_, id, err := v.VerifyCaller(time.Now(), cred.Certificate.Certificate, attestation.ServiceAccessControl)
	if !errors.Is(err, attestation.ErrCallerNotAllowed) {
		t.Fatalf("storage calling access control: %+v %v", id, err)
	}
	// The report JSON has the DCAP reference server's shape.
	raw := cred.Report
	body, err := raw.Marshal()
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.HasPrefix(body, []byte(`{"id":"`)) || !bytes.HasSuffix(body, []byte(`,"version":4}`)) ||
		len(attestation.FormatTimestamp(raw.Timestamp)) != 29 {
		t.Fatalf("report JSON %s", body)
	}
}

// TestSimulatedRefusals: simulation runs every check.
func TestSimulatedRefusals(t *testing.T) {
	p, v, quoters := setup(t)
	attest := func(s *sim.AttestationService, q *sim.Quoter) [][]byte {
		t.Helper()
		a, err := sim.NewAttestor(s, q, p.MaxReportAge, quiet())
		if err != nil {
			t.Fatal(err)
		}
		cred, err := a.Attest(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		return cred.Certificate.Certificate
	}
	storage := quoters[attestation.ServiceStorage]
	t.Run("status", func(t *testing.T) {
		s, err := svc(t).WithOptions(sim.Options{Logger: quiet(), Status: attestation.StatusGroupRevoked})
		if err != nil {
			t.Fatal(err)
		}
		certs := attest(s, storage)
		_, err = v.VerifyPeer(time.Now(), certs)
		if !errors.Is(err, attestation.ErrStatusNotAccepted) {
			t.Fatal(err)
		}
	})
	t.Run("too old", func(t *testing.T) {
		s, err := svc(t).WithOptions(sim.Options{Logger: quiet(), Now: func() time.Time { return time.Now().Add(-2 * time.Hour) }})
		if err != nil {
			t.Fatal(err)
		}
		certs := attest(s, storage)
		_, err = v.VerifyPeer(time.Now(), certs)
		if !errors.Is(err, attestation.ErrReportTooOld) {
			t.Fatal(err)
		}
	})
	t.Run("debug", func(t *testing.T) {
		q := *storage
		q.Debug = true
		certs := attest(svc(t), &q)
		_, err := v.VerifyPeer(time.Now(), certs)
		if !errors.Is(err, attestation.ErrDebugForbidden) {
			t.Fatal(err)
		}
	})
	t.Run("other mr_enclave", func(t *testing.T) {
		q := *storage
		q.MREnclave[0] ^= 1
		certs := attest(svc(t), &q)
		_, err := v.VerifyService(time.Now(), certs, attestation.ServiceStorage)
		if !errors.Is(err, attestation.ErrMREnclaveMismatch) {
			t.Fatal(err)
		}
	})
	t.Run("another simulated service", func(t *testing.T) {
		other, err := sim.NewAttestationService(sim.Options{Logger: quiet()})
		if err != nil {
			t.Fatal(err)
		}
		certs := attest(other, storage)
		_, err = v.VerifyPeer(time.Now(), certs)
		if !errors.Is(err, attestation.ErrUnknownRoot) {
			t.Fatal(err)
		}
	})
	t.Run("production policy", func(t *testing.T) {
		prod := *p
		prod.Production = true
		if _, err := attestation.NewVerifier(&prod, nil); !errors.Is(err, attestation.ErrSimulatedRoot) {
			t.Fatal(err)
		}
	})
}

func TestSigningCertificateShape(t *testing.T) {
	s := svc(t)
	signer := s.SigningCertificate()
	fixture, err := os.ReadFile(filepath.Join("..", "testdata", "tls_ra_cert_v4.der"))
	if err != nil {
		t.Fatal(err)
	}
	c, err := attestation.ParseCertificate(fixture)
	if err != nil {
		t.Fatal(err)
	}
	dcapSigner, err := x509.ParseCertificate(c.Evidence.Certs[0])
	if err != nil {
		t.Fatal(err)
	}
	ids := func(c *x509.Certificate) (out []string) {
		for _, e := range c.Extensions {
			out = append(out, e.Id.String())
		}
		return out
	}
	if strings.Join(ids(signer), ",") != strings.Join(ids(dcapSigner), ",") || signer.Version != dcapSigner.Version ||
		signer.SignatureAlgorithm != dcapSigner.SignatureAlgorithm || signer.PublicKeyAlgorithm != dcapSigner.PublicKeyAlgorithm ||
		signer.Subject.CommonName != dcapSigner.Subject.CommonName {
		t.Fatalf("signer %v %v differs in shape from %v %v", signer.Subject, ids(signer), dcapSigner.Subject, ids(dcapSigner))
	}
	root := s.Root()
	if !root.Simulated || signer.CheckSignatureFrom(root.Cert) != nil {
		t.Fatal("signer not issued by the simulated root")
	}
	block, rest := pem.Decode(s.RootPEM())
	if block == nil || len(rest) != 0 || !bytes.Equal(block.Bytes, root.Cert.Raw) {
		t.Fatal("RootPEM is not the root")
	}
}

func TestMarshalLoad(t *testing.T) {
	s := svc(t)
	data, err := s.MarshalPEM()
	if err != nil {
		t.Fatal(err)
	}
	loaded, err := sim.LoadAttestationService(data, sim.Options{Logger: quiet()})
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(loaded.RootPEM(), s.RootPEM()) {
		t.Fatal("root changed")
	}
	// A loaded service endorses reports the original root verifies.
	_, v, quoters := setup(t)
	a, err := sim.NewAttestor(loaded, quoters[attestation.ServiceManagement], time.Hour, quiet())
	if err != nil {
		t.Fatal(err)
	}
	cred, err := a.Attest(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if _, err := v.VerifyService(time.Now(), cred.Certificate.Certificate, attestation.ServiceManagement); err != nil {
		t.Fatal(err)
	}
	// Another service's key with this service's certificates is refused.
	other, err := sim.NewAttestationService(sim.Options{Logger: quiet()})
	if err != nil {
		t.Fatal(err)
	}
	od, _ := other.MarshalPEM()
	mixed := append(bytes.Clone(data[:bytes.Index(data, []byte("-----BEGIN PRIVATE KEY"))]), od[bytes.Index(od, []byte("-----BEGIN PRIVATE KEY")):]...)
	if _, err := sim.LoadAttestationService(mixed, sim.Options{Logger: quiet()}); err == nil {
		t.Fatal("mismatched key accepted")
	}
	for _, bad := range [][]byte{nil, data[:100], append(bytes.Clone(data), "junk"...)} {
		if _, err := sim.LoadAttestationService(bad, sim.Options{Logger: quiet()}); err == nil {
			t.Fatal("bad PEM accepted")
		}
	}
}

func TestInsecurityWarning(t *testing.T) {
	var logs bytes.Buffer
	logger := slog.New(slog.NewTextHandler(&logs, nil))
	if _, err := svc(t).WithOptions(sim.Options{Logger: logger}); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(logs.String(), "level=WARN") || !strings.Contains(logs.String(), "INSECURE") {
		t.Fatalf("no loud warning: %q", logs.String())
	}
}

func TestEndorseRefusesBadQuote(t *testing.T) {
	ctx := context.Background()
	if _, err := svc(t).Endorse(ctx, make([]byte, 431)); err == nil {
		t.Fatal("short quote endorsed")
	}
	if _, err := svc(t).Endorse(ctx, make([]byte, 432)); !errors.Is(err, attestation.ErrMalformedReport) {
		t.Fatalf("version 0 quote: %v", err)
	}
}

func TestEnclaveInfoForExecutables(t *testing.T) {
	dir := t.TempDir()
	a, b := filepath.Join(dir, "a"), filepath.Join(dir, "b")
	os.WriteFile(a, []byte("binary a"), 0o700)
	os.WriteFile(b, []byte("binary b"), 0o700)
	data, err := sim.EnclaveInfo(map[string]string{attestation.ServiceStorage: a, attestation.ServiceScheduler: b}, signerKey().Public())
	if err != nil {
		t.Fatal(err)
	}
	info, err := attestation.ParseEnclaveInfo(data)
	if err != nil {
		t.Fatal(err)
	}
	id, ok := info.Identity(attestation.ServiceScheduler)
	mrs, _ := sim.SignerID(signerKey().Public())
	if !ok || id.MREnclave != sha256.Sum256([]byte("binary b")) || id.MRSigner != mrs {
		t.Fatalf("identity %+v", id)
	}
	if _, err := sim.EnclaveInfo(map[string]string{"x": filepath.Join(dir, "missing")}, signerKey().Public()); err == nil {
		t.Fatal("missing executable measured")
	}
}
