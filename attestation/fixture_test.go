package attestation_test

import (
	"bytes"
	"crypto/x509"
	"encoding/hex"
	"encoding/json"
	"testing"
	"time"

	"github.com/teaclave-go/teaclave/attestation"
	"golang.org/x/crypto/cryptobyte"
	cbasn1 "golang.org/x/crypto/cryptobyte/asn1"
)

// fixtureNow is inside the v4 certificate's validity, with its report about
// two hours old.
var fixtureNow = time.Date(2022, 1, 18, 0, 0, 0, 0, time.UTC)

const (
	v4MREnclave = "82bc195bd181ca8e3cf220f633eea98e7a0a55f3217fa7f731cf0d7a8d83253e"
	v4MRSigner  = "83d719e77deaca1470f6baf62a4d774303c899db69020f9c70ee1dfc08c7ce9e"
)

func fixtureRoot(t testing.TB, name string) attestation.Root {
	t.Helper()
	c, err := x509.ParseCertificate(readFixture(t, name))
	if err != nil {
		t.Fatal(err)
	}
	return attestation.Root{Name: name, Cert: c}
}

// fixturePolicy trusts the DCAP root, allows debug enclaves (the v4 fixture
// is one) and reports up to a day old.
func fixturePolicy(t testing.TB) *attestation.Policy {
	keys := testKeys()
	return &attestation.Policy{
		Roots:            []attestation.Root{fixtureRoot(t, "dcap_root_ca_cert.der")},
		Auditors:         []attestation.Auditor{{Name: "godzilla", Key: &keys[3].PublicKey}},
		AuditorThreshold: 1,
		MaxReportAge:     24 * time.Hour,
		DebugAllowed:     true,
	}
}

func fixtureInfo(t testing.TB, p *attestation.Policy) *attestation.EnclaveInfo {
	t.Helper()
	data := []byte("[teaclave_frontend_service]\nmr_enclave = \"" + v4MREnclave + "\"\nmr_signer  = \"" + v4MRSigner + "\"\n")
	info, err := attestation.LoadEnclaveInfo(data, sign(t, data, 3), p)
	if err != nil {
		t.Fatal(err)
	}
	return info
}

func TestFixturesParse(t *testing.T) {
	for _, name := range []string{"tls_ra_cert_v4.der", "tls_ra_cert_v3.der"} {
		der := readFixture(t, name)
		leaf, err := x509.ParseCertificate(der)
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		if leaf.SerialNumber.Int64() != 1 || leaf.Issuer.CommonName != "Teaclave" || leaf.Subject.CommonName != "CN=Teaclave" {
			t.Fatalf("%s: serial %v issuer %v subject %v", name, leaf.SerialNumber, leaf.Issuer, leaf.Subject)
		}
		// Teaclave's self-signatures are invalid: verification must not need them.
		if err := leaf.CheckSignature(leaf.SignatureAlgorithm, leaf.RawTBSCertificate, leaf.Signature); err == nil {
			t.Fatalf("%s: self-signature unexpectedly valid", name)
		}
	}
	c, err := attestation.ParseCertificate(readFixture(t, "tls_ra_cert_v4.der"))
	if err != nil {
		t.Fatal(err)
	}
	if len(c.Evidence.Report) != 727 || len(c.Evidence.Signature) != 512 || len(c.Evidence.Certs) != 1 {
		t.Fatalf("v4 payload sizes %d %d %d", len(c.Evidence.Report), len(c.Evidence.Signature), len(c.Evidence.Certs))
	}
	// Our encoder writes Teaclave's payload byte for byte.
	if !bytes.Equal(c.Evidence.Marshal(), c.Leaf.Extensions[0].Value) {
		t.Fatal("EndorsedReport.Marshal differs from the fixture payload")
	}
	_, err = attestation.ParseCertificate(readFixture(t, "tls_ra_cert_v3.der"))
	assertRefused(t, err, attestation.ErrMalformedEvidence)
}

func TestFixtureV4Verifies(t *testing.T) {
	p := fixturePolicy(t)
	v, err := attestation.NewVerifier(p, fixtureInfo(t, p))
	if err != nil {
		t.Fatal(err)
	}
	der := readFixture(t, "tls_ra_cert_v4.der")
	r, err := v.VerifyService(fixtureNow, [][]byte{der}, attestation.ServiceFrontend)
	if err != nil {
		t.Fatal(err)
	}
	if hex.EncodeToString(r.MREnclave[:]) != v4MREnclave || hex.EncodeToString(r.MRSigner[:]) != v4MRSigner {
		t.Fatalf("measurement %s", r.Measurement())
	}
	wantTS := time.Date(2022, 1, 17, 22, 7, 49, 22259677, time.UTC)
	if r.Status != "OK" || !r.Timestamp.Equal(wantTS) || r.Simulated || !r.Debug || r.ID != "ca0945c3aa3541c8aa7cb86cc2869b4c" {
		t.Fatalf("report %+v", r)
	}

	t.Run("pinned to another service", func(t *testing.T) {
		_, err := v.VerifyService(fixtureNow, [][]byte{der}, attestation.ServiceStorage)
		assertRefused(t, err, attestation.ErrUnknownService)
	})
	t.Run("debug forbidden", func(t *testing.T) {
		p := fixturePolicy(t)
		p.DebugAllowed = false
		v, _ := attestation.NewVerifier(p, nil)
		_, err := v.VerifyPeer(fixtureNow, [][]byte{der})
		assertRefused(t, err, attestation.ErrDebugForbidden)
	})
	t.Run("under the IAS root", func(t *testing.T) {
		p := fixturePolicy(t)
		p.Roots = []attestation.Root{fixtureRoot(t, "ias_root_ca_cert.der")}
		v, _ := attestation.NewVerifier(p, nil)
		_, err := v.VerifyPeer(fixtureNow, [][]byte{der})
		assertRefused(t, err, attestation.ErrUnknownRoot)
	})
	t.Run("a day later", func(t *testing.T) {
		v, _ := attestation.NewVerifier(fixturePolicy(t), nil)
		_, err := v.VerifyPeer(fixtureNow.Add(24*time.Hour), [][]byte{der})
		assertRefused(t, err, attestation.ErrReportTooOld)
	})
	t.Run("after the certificate expired", func(t *testing.T) {
		p := fixturePolicy(t)
		v, _ := attestation.NewVerifier(p, nil)
		_, err := v.VerifyPeer(time.Date(2022, 5, 1, 0, 0, 0, 0, time.UTC), [][]byte{der})
		assertRefused(t, err, attestation.ErrCertificateExpired)
	})
}

func TestFixtureV3Refused(t *testing.T) {
	v, err := attestation.NewVerifier(fixturePolicy(t), nil)
	if err != nil {
		t.Fatal(err)
	}
	// Refused by the payload decoder: no certs key.
	_, err = v.VerifyPeer(fixtureNow, [][]byte{readFixture(t, "tls_ra_cert_v3.der")})
	assertRefused(t, err, attestation.ErrMalformedEvidence)
	// Its report alone is refused by the version check.
	payload := v3Payload(t)
	_, err = attestation.ParseServiceReport(payload.Report)
	assertRefused(t, err, attestation.ErrReportVersion)
}

type legacyPayload struct {
	Report, Signature, SigningCert []byte
}

// v3Payload reads the legacy {"report","signature","signing_cert"} payload.
func v3Payload(t testing.TB) legacyPayload {
	leaf, err := x509.ParseCertificate(readFixture(t, "tls_ra_cert_v3.der"))
	if err != nil {
		t.Fatal(err)
	}
	var raw struct {
		Report      []int `json:"report"`
		Signature   []int `json:"signature"`
		SigningCert []int `json:"signing_cert"`
	}
	if err := json.Unmarshal(leaf.Extensions[0].Value, &raw); err != nil {
		t.Fatal(err)
	}
	bs := func(ints []int) []byte {
		b := make([]byte, len(ints))
		for i, v := range ints {
			b[i] = byte(v)
		}
		return b
	}
	return legacyPayload{bs(raw.Report), bs(raw.Signature), bs(raw.SigningCert)}
}

// TestFixtureSignaturesUnderRoots: each report signature verifies under its
// own root and fails under the other.
func TestFixtureSignaturesUnderRoots(t *testing.T) {
	dcap := &attestation.Policy{Roots: []attestation.Root{fixtureRoot(t, "dcap_root_ca_cert.der")}}
	ias := &attestation.Policy{Roots: []attestation.Root{fixtureRoot(t, "ias_root_ca_cert.der")}}
	v4, err := attestation.ParseCertificate(readFixture(t, "tls_ra_cert_v4.der"))
	if err != nil {
		t.Fatal(err)
	}
	l := v3Payload(t)
	v3 := &attestation.EndorsedReport{Report: l.Report, Signature: l.Signature, Certs: [][]byte{l.SigningCert}}
	cases := []struct {
		name     string
		e        *attestation.EndorsedReport
		own, oth *attestation.Policy
	}{{"v4", v4.Evidence, dcap, ias}, {"v3", v3, ias, dcap}}
	for _, tc := range cases {
		if root, err := tc.own.VerifyEndorsement(fixtureNow, tc.e); err != nil || root.Cert != tc.own.Roots[0].Cert {
			t.Fatalf("%s under its own root: %v", tc.name, err)
		}
		_, err := tc.oth.VerifyEndorsement(fixtureNow, tc.e)
		assertRefused(t, err, attestation.ErrUnknownRoot)
		tampered := *tc.e
		tampered.Report = bytes.Replace(tc.e.Report, []byte(`"version":`), []byte(`"version" :`), 1)
		_, err = tc.own.VerifyEndorsement(fixtureNow, &tampered)
		assertRefused(t, err, attestation.ErrBadReportSignature)
	}
	// The Intel signing certificate has expired since: refused as an invalid chain.
	_, err = ias.VerifyEndorsement(time.Date(2027, 1, 1, 0, 0, 0, 0, time.UTC), v3)
	assertRefused(t, err, attestation.ErrEndorsementChain)
}

// tagWalk lists the ASN.1 tags of a DER value depth first, descending into
// constructed values and the explicit [0] and [3] wrappers.
func tagWalk(t testing.TB, der []byte) []cbasn1.Tag {
	t.Helper()
	var tags []cbasn1.Tag
	var walk func(s cryptobyte.String)
	walk = func(s cryptobyte.String) {
		for !s.Empty() {
			var inner cryptobyte.String
			var tag cbasn1.Tag
			if !s.ReadAnyASN1(&inner, &tag) {
				t.Fatal("bad DER")
			}
			tags = append(tags, tag)
			if tag&0x20 != 0 { // constructed
				walk(inner)
			}
		}
	}
	walk(cryptobyte.String(der))
	return tags
}

// TestCertificateShapeMatchesTeaclave walks our certificate and the v4
// fixture with cryptobyte and compares the tag sequences, then the parts
// that must be byte-identical.
func TestCertificateShapeMatchesTeaclave(t *testing.T) {
	fixture := readFixture(t, "tls_ra_cert_v4.der")
	ours := makeCert(t, evidence{m: measurement(attestation.ServiceStorage)})
	ft, ot := tagWalk(t, fixture), tagWalk(t, ours)
	if len(ft) != len(ot) {
		t.Fatalf("tag sequences differ in length: fixture %v, ours %v", ft, ot)
	}
	for i := range ft {
		if ft[i] != ot[i] {
			t.Fatalf("tag %d: fixture %#x, ours %#x\nfixture %v\nours    %v", i, ft[i], ot[i], ft, ot)
		}
	}
	fl, _ := x509.ParseCertificate(fixture)
	ol, err := x509.ParseCertificate(ours)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(fl.RawIssuer, ol.RawIssuer) || !bytes.Equal(fl.RawSubject, ol.RawSubject) {
		t.Fatal("issuer or subject encoding differs from Teaclave's")
	}
	if !bytes.Equal(fl.RawSubjectPublicKeyInfo[:27], ol.RawSubjectPublicKeyInfo[:27]) {
		t.Fatal("key algorithm encoding differs")
	}
	if ol.SerialNumber.Int64() != 1 || ol.Version != 3 || ol.SignatureAlgorithm != x509.ECDSAWithSHA256 ||
		len(ol.Extensions) != 1 || ol.Extensions[0].Critical || !ol.Extensions[0].Id.Equal(attestation.EvidenceOID()) ||
		ol.NotAfter.Sub(ol.NotBefore) != attestation.CertificateLifetime {
		t.Fatalf("certificate fields: %+v", ol)
	}
	// Ours carries a valid self-signature (Teaclave peers ignore it).
	if err := ol.CheckSignature(ol.SignatureAlgorithm, ol.RawTBSCertificate, ol.Signature); err != nil {
		t.Fatal(err)
	}
}
