package attestation_test

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/binary"
	"errors"
	"math/big"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/teaclave-go/teaclave/attestation"
)

// Keys are generated once per test binary (RSA 2048 only).
var testKeys = sync.OnceValue(func() []*rsa.PrivateKey {
	keys := make([]*rsa.PrivateKey, 6)
	for i := range keys {
		k, err := rsa.GenerateKey(rand.Reader, 2048)
		if err != nil {
			panic(err)
		}
		keys[i] = k
	}
	return keys
})

// testCA is an attestation service root with one signer.
type testCA struct {
	root      *x509.Certificate
	signer    *x509.Certificate
	signerKey *rsa.PrivateKey
}

var testCAs = sync.OnceValue(func() [2]testCA {
	keys := testKeys()
	return [2]testCA{newTestCA(keys[0], keys[1], "A"), newTestCA(keys[2], keys[2], "B")}
})

func newTestCA(rootKey, signKey *rsa.PrivateKey, name string) testCA {
	start := time.Date(2020, 1, 1, 0, 0, 0, 0, time.UTC)
	rootTmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "test root " + name},
		NotBefore: start, NotAfter: start.AddDate(20, 0, 0),
		IsCA: true, BasicConstraintsValid: true, KeyUsage: x509.KeyUsageCertSign,
	}
	der, err := x509.CreateCertificate(rand.Reader, rootTmpl, rootTmpl, &rootKey.PublicKey, rootKey)
	if err != nil {
		panic(err)
	}
	root, _ := x509.ParseCertificate(der)
	signTmpl := &x509.Certificate{
		SerialNumber: big.NewInt(2), Subject: pkix.Name{CommonName: "test signer " + name},
		NotBefore: start, NotAfter: start.AddDate(20, 0, 0),
	}
	der, err = x509.CreateCertificate(rand.Reader, signTmpl, root, &signKey.PublicKey, rootKey)
	if err != nil {
		panic(err)
	}
	signer, _ := x509.ParseCertificate(der)
	return testCA{root: root, signer: signer, signerKey: signKey}
}

func (ca testCA) Root(simulated bool) attestation.Root {
	return attestation.Root{Name: ca.root.Subject.CommonName, Cert: ca.root, Simulated: simulated}
}

// measurements of test services.
func measurement(service string) attestation.Measurement {
	return attestation.Measurement{
		MREnclave: sha256.Sum256([]byte("enclave " + service)),
		MRSigner:  sha256.Sum256([]byte("signer")),
	}
}

// evidence describes a certificate to make; the zero value (plus a
// measurement) is a valid certificate signed by CA A.
type evidence struct {
	m         attestation.Measurement
	ca        testCA
	status    string
	timestamp time.Time
	debug     bool
	otherKey  bool // report data of another key
	badSig    bool
	rawReport []byte    // replaces the report JSON
	notBefore time.Time // of the certificate; default timestamp
}

var t0 = time.Date(2024, 5, 1, 12, 0, 0, 0, time.UTC)

func makeCert(t testing.TB, e evidence) []byte {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	rd, err := attestation.ReportData(&key.PublicKey)
	if err != nil {
		t.Fatal(err)
	}
	if e.otherKey {
		rd[5] ^= 1
	}
	if e.ca.root == nil {
		e.ca = testCAs()[0]
	}
	if e.status == "" {
		e.status = attestation.StatusOK
	}
	if e.timestamp.IsZero() {
		e.timestamp = t0
	}
	q := attestation.QuoteBody{Version: 3, SignType: 2, MREnclave: e.m.MREnclave, MRSigner: e.m.MRSigner, ReportData: rd}
	flags := uint64(attestation.AttributeInit | attestation.AttributeMode64Bit)
	if e.debug {
		flags |= attestation.AttributeDebug
	}
	binary.LittleEndian.PutUint64(q.Attributes[:], flags)
	report := e.rawReport
	if report == nil {
		sr := &attestation.ServiceReport{ID: "0123456789abcdef0123456789abcdef", Timestamp: e.timestamp, Status: e.status, Quote: q}
		if report, err = sr.Marshal(); err != nil {
			t.Fatal(err)
		}
	}
	digest := sha256.Sum256(report)
	sig, err := rsa.SignPKCS1v15(rand.Reader, e.ca.signerKey, crypto.SHA256, digest[:])
	if err != nil {
		t.Fatal(err)
	}
	if e.badSig {
		sig[10] ^= 1
	}
	ev := &attestation.EndorsedReport{Report: report, Signature: sig, Certs: [][]byte{e.ca.signer.Raw}}
	if e.notBefore.IsZero() {
		e.notBefore = e.timestamp
	}
	der, err := attestation.CreateCertificate(key, ev, e.notBefore)
	if err != nil {
		t.Fatal(err)
	}
	return der
}

// testPolicy accepts CA A (not simulated) with two of three auditors.
func testPolicy() *attestation.Policy {
	keys := testKeys()
	return &attestation.Policy{
		Roots: []attestation.Root{testCAs()[0].Root(false)},
		Auditors: []attestation.Auditor{
			{Name: "godzilla", Key: &keys[3].PublicKey},
			{Name: "optimus_prime", Key: &keys[4].PublicKey},
			{Name: "albus_dumbledore", Key: &keys[5].PublicKey},
		},
		AuditorThreshold: 2,
		MaxReportAge:     time.Hour,
		ClockSkew:        time.Second,
	}
}

// testInfo is enclave info for every known service, signed by two auditors.
func testInfo(t testing.TB, p *attestation.Policy) *attestation.EnclaveInfo {
	t.Helper()
	ms := make(map[string]attestation.Measurement)
	for _, s := range attestation.Services() {
		ms[s] = measurement(s)
	}
	data, err := attestation.MarshalEnclaveInfo(ms)
	if err != nil {
		t.Fatal(err)
	}
	info, err := attestation.LoadEnclaveInfo(data, sign(t, data, 3, 4), p)
	if err != nil {
		t.Fatal(err)
	}
	return info
}

func sign(t testing.TB, data []byte, keyIdx ...int) [][]byte {
	t.Helper()
	var sigs [][]byte
	for _, i := range keyIdx {
		s, err := attestation.SignEnclaveInfo(data, testKeys()[i])
		if err != nil {
			t.Fatal(err)
		}
		sigs = append(sigs, s)
	}
	return sigs
}

func readFixture(t testing.TB, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// sentinels lists every refusal sentinel, so tests can assert that exactly
// the expected check refused.
func sentinels() []error {
	return []error{
		attestation.ErrNoCertificate, attestation.ErrMalformedCertificate, attestation.ErrCertificateExpired,
		attestation.ErrMalformedEvidence, attestation.ErrUnknownRoot, attestation.ErrEndorsementChain,
		attestation.ErrBadReportSignature, attestation.ErrMalformedReport, attestation.ErrReportVersion,
		attestation.ErrKeyMismatch, attestation.ErrReportTooOld, attestation.ErrReportFromFuture,
		attestation.ErrStatusNotAccepted, attestation.ErrDebugForbidden, attestation.ErrSimulatedRoot,
		attestation.ErrMREnclaveMismatch, attestation.ErrMRSignerMismatch, attestation.ErrUnknownEnclave,
		attestation.ErrUnknownService, attestation.ErrCallerNotAllowed, attestation.ErrInvalidPolicy,
		attestation.ErrMalformedEnclaveInfo, attestation.ErrEnclaveInfoUnverified, attestation.ErrMissingSignature,
		attestation.ErrRepeatedSignature, attestation.ErrTooManySignatures, attestation.ErrBadAuditorSignature,
	}
}

// assertRefused checks that err wraps want and no other refusal sentinel.
func assertRefused(t testing.TB, err, want error) {
	t.Helper()
	if err == nil {
		t.Fatalf("accepted, want refusal %v", want)
	}
	if !errors.Is(err, want) {
		t.Fatalf("refused with %v, want %v", err, want)
	}
	for _, s := range sentinels() {
		if s != want && errors.Is(err, s) {
			t.Fatalf("refusal %v also matches %v", err, s)
		}
	}
}
