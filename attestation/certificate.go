package attestation

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/asn1"
	"fmt"
	"math/big"
	"time"

	"golang.org/x/crypto/cryptobyte"
	cbasn1 "golang.org/x/crypto/cryptobyte/asn1"
)

// EvidenceOID returns the OID of the extension under which Teaclave
// certificates carry the endorsed report (the Netscape comment OID,
// 2.16.840.1.113730.1.13).
func EvidenceOID() asn1.ObjectIdentifier { return asn1.ObjectIdentifier{2, 16, 840, 1, 113730, 1, 13} }

// CertificateLifetime is the validity Teaclave gives its RA-TLS certificates.
const CertificateLifetime = 90 * 24 * time.Hour

// rawCNName encodes a Name in Teaclave's exact form: one RDN with a CN as
// UTF8String. crypto/x509 would write PrintableString and take the issuer
// from the parent, so issuer and subject are built here and passed as raw
// bytes.
func rawCNName(cn string) []byte {
	var b cryptobyte.Builder
	b.AddASN1(cbasn1.SEQUENCE, func(b *cryptobyte.Builder) {
		b.AddASN1(cbasn1.SET, func(b *cryptobyte.Builder) {
			b.AddASN1(cbasn1.SEQUENCE, func(b *cryptobyte.Builder) {
				b.AddASN1ObjectIdentifier(asn1.ObjectIdentifier{2, 5, 4, 3})
				b.AddASN1(cbasn1.UTF8String, func(b *cryptobyte.Builder) { b.AddBytes([]byte(cn)) })
			})
		})
	})
	return b.BytesOrPanic() // static input: cannot fail
}

// CreateCertificate makes Teaclave's RA-TLS certificate (§16.2) for key:
// X.509 v3, serial 1, ecdsa-with-SHA256, issuer CN=Teaclave and subject
// CN=CN=Teaclave as UTF8String, valid from notBefore (truncated to the
// second) for CertificateLifetime, and exactly one non-critical extension
// EvidenceOID holding the endorsed report. Unlike Teaclave's, the
// self-signature is valid; peers ignore it either way.
func CreateCertificate(key *ecdsa.PrivateKey, evidence *EndorsedReport, notBefore time.Time) ([]byte, error) {
	if key == nil || key.Curve != elliptic.P256() {
		return nil, fmt.Errorf("attestation: certificate key must be ECDSA P-256")
	}
	notBefore = notBefore.UTC().Truncate(time.Second)
	tmpl := &x509.Certificate{
		SerialNumber:    big.NewInt(1),
		RawSubject:      rawCNName("CN=Teaclave"), // the literal text, as Teaclave writes it
		NotBefore:       notBefore,
		NotAfter:        notBefore.Add(CertificateLifetime),
		ExtraExtensions: []pkix.Extension{{Id: EvidenceOID(), Value: evidence.Marshal()}},
	}
	parent := &x509.Certificate{RawSubject: rawCNName("Teaclave"), PublicKey: &key.PublicKey}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, parent, &key.PublicKey, key)
	if err != nil {
		return nil, fmt.Errorf("attestation: create certificate: %w", err)
	}
	return der, nil
}

// Certificate is a parsed RA-TLS certificate.
type Certificate struct {
	Leaf *x509.Certificate
	// PublicKey is the certificate key's X‖Y, which must equal the report
	// data of the quote.
	PublicKey [64]byte
	// Evidence is the extension payload.
	Evidence *EndorsedReport
}

// ParseCertificate parses an RA-TLS certificate and checks its shape: a
// P-256 key as an uncompressed point and exactly one extension, EvidenceOID,
// holding a well-formed endorsed report. It never checks the self-signature
// (Teaclave's are not valid ECDSA).
func ParseCertificate(der []byte) (*Certificate, error) {
	leaf, err := x509.ParseCertificate(der)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrMalformedCertificate, err)
	}
	pub, ok := leaf.PublicKey.(*ecdsa.PublicKey)
	if !ok || pub.Curve != elliptic.P256() {
		return nil, fmt.Errorf("%w: key is not ECDSA P-256", ErrMalformedCertificate)
	}
	point, err := pub.Bytes()
	if err != nil || len(point) != 65 || point[0] != 4 {
		return nil, fmt.Errorf("%w: key is not an uncompressed P-256 point", ErrMalformedCertificate)
	}
	if len(leaf.Extensions) != 1 || !leaf.Extensions[0].Id.Equal(EvidenceOID()) || leaf.Extensions[0].Critical {
		return nil, fmt.Errorf("%w: want exactly one non-critical extension %v", ErrMalformedCertificate, EvidenceOID())
	}
	ev, err := ParseEndorsedReport(leaf.Extensions[0].Value)
	if err != nil {
		return nil, err
	}
	c := &Certificate{Leaf: leaf, Evidence: ev}
	copy(c.PublicKey[:], point[1:])
	return c, nil
}
