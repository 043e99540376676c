//go:build !teaclave_production

package sim

import (
	"bytes"
	"context"
	"crypto"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/hex"
	"encoding/pem"
	"fmt"
	"log/slog"
	"math/big"
	"slices"
	"time"

	"github.com/teaclave-go/teaclave/attestation"
)

// keyBits is the RSA size of the simulated root and signing keys.
const keyBits = 2048

// warning is logged whenever simulated attestation is set up.
const warning = "SIMULATED ATTESTATION: INSECURE, NO HARDWARE ROOT OF TRUST; for development and tests only, never for real data"

// Options configures a simulated attestation service.
type Options struct {
	// Logger receives the insecurity warning; nil means slog.Default().
	Logger *slog.Logger
	// Now is the clock that dates reports; nil means time.Now.
	Now func() time.Time
	// Status is the quote status reported; empty means OK.
	Status string
}

// AttestationService is a simulated attestation service: it endorses
// software quotes with an RSA signing key whose certificate (shaped like the
// signer of Teaclave's DCAP reference server: issued by the root, one SAN
// extension) chains to a root CA that policies must mark simulated.
type AttestationService struct {
	root   *x509.Certificate
	signer *x509.Certificate
	key    *rsa.PrivateKey
	opts   Options
}

var _ attestation.Endorser = (*AttestationService)(nil)

// NewAttestationService creates a simulated attestation service with a new
// root CA and signing key (RSA 2048, valid 10 years). Persist it with
// MarshalPEM so that peers keep trusting the same root.
func NewAttestationService(opts Options) (*AttestationService, error) {
	rootKey, err := rsa.GenerateKey(rand.Reader, keyBits)
	if err != nil {
		return nil, fmt.Errorf("sim: generate root key: %w", err)
	}
	signKey, err := rsa.GenerateKey(rand.Reader, keyBits)
	if err != nil {
		return nil, fmt.Errorf("sim: generate signing key: %w", err)
	}
	now := time.Now().UTC().Truncate(time.Second)
	rootTmpl := &x509.Certificate{
		SerialNumber: randomSerial(),
		Subject: pkix.Name{Country: []string{"US"}, Province: []string{"CA"},
			Organization: []string{"Teaclave CA (SIMULATED, INSECURE)"}, CommonName: "Teaclave Simulated Root CA"},
		NotBefore:             now.Add(-time.Hour),
		NotAfter:              now.AddDate(10, 0, 0),
		IsCA:                  true,
		BasicConstraintsValid: true,
		KeyUsage:              x509.KeyUsageCertSign | x509.KeyUsageCRLSign,
	}
	rootDER, err := x509.CreateCertificate(rand.Reader, rootTmpl, rootTmpl, &rootKey.PublicKey, rootKey)
	if err != nil {
		return nil, fmt.Errorf("sim: create root: %w", err)
	}
	root, err := x509.ParseCertificate(rootDER)
	if err != nil {
		return nil, fmt.Errorf("sim: parse root: %w", err)
	}
	signTmpl := &x509.Certificate{
		SerialNumber: randomSerial(),
		Subject: pkix.Name{Country: []string{"US"}, Province: []string{"CA"},
			Organization: []string{"Teaclave (SIMULATED, INSECURE)"}, CommonName: "localhost"},
		NotBefore: now.Add(-time.Hour),
		NotAfter:  now.AddDate(10, 0, 0),
		DNSNames:  []string{"localhost"},
	}
	// Like the DCAP signer: no authority key id, the only extension is the SAN.
	parent := *root
	parent.SubjectKeyId = nil
	signDER, err := x509.CreateCertificate(rand.Reader, signTmpl, &parent, &signKey.PublicKey, rootKey)
	if err != nil {
		return nil, fmt.Errorf("sim: create signing certificate: %w", err)
	}
	signer, err := x509.ParseCertificate(signDER)
	if err != nil {
		return nil, fmt.Errorf("sim: parse signing certificate: %w", err)
	}
	return newService(root, signer, signKey, opts)
}

func randomSerial() *big.Int {
	b := make([]byte, 16)
	_, _ = rand.Read(b) // crypto/rand.Read never fails
	b[0] &= 0x7f
	b[0] |= 0x01
	return new(big.Int).SetBytes(b)
}

func newService(root, signer *x509.Certificate, key *rsa.PrivateKey, opts Options) (*AttestationService, error) {
	if opts.Logger == nil {
		opts.Logger = slog.Default()
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	if opts.Status == "" {
		opts.Status = attestation.StatusOK
	}
	if !slices.Contains(attestation.KnownStatuses(), opts.Status) {
		return nil, fmt.Errorf("sim: unknown quote status %q", opts.Status)
	}
	if !key.PublicKey.Equal(signer.PublicKey) {
		return nil, fmt.Errorf("sim: signing key does not match its certificate")
	}
	if err := signer.CheckSignatureFrom(root); err != nil {
		return nil, fmt.Errorf("sim: signing certificate not issued by the root: %w", err)
	}
	opts.Logger.Warn(warning, "component", "attestation service", "root_sha256", fingerprint(root))
	return &AttestationService{root: root, signer: signer, key: key, opts: opts}, nil
}

func fingerprint(c *x509.Certificate) string {
	sum := sha256.Sum256(c.Raw)
	return hex.EncodeToString(sum[:])
}

// WithOptions returns a service with the same root and signing key but other
// options (a test's clock or quote status).
func (s *AttestationService) WithOptions(opts Options) (*AttestationService, error) {
	return newService(s.root, s.signer, s.key, opts)
}

// Root returns the policy root for this service, marked simulated.
func (s *AttestationService) Root() attestation.Root {
	return attestation.Root{Name: "simulated attestation service " + fingerprint(s.root)[:16], Cert: s.root, Simulated: true}
}

// RootPEM returns the root certificate as PEM, for clients to pin.
func (s *AttestationService) RootPEM() []byte {
	return pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: s.root.Raw})
}

// SigningCertificate returns the certificate reports are signed under.
func (s *AttestationService) SigningCertificate() *x509.Certificate { return s.signer }

// MarshalPEM returns the root certificate, the signing certificate and the
// signing key (PKCS#8) as PEM, for LoadAttestationService. It contains a
// private key: store it only where the deployment's secrets go (mode 0600).
func (s *AttestationService) MarshalPEM() ([]byte, error) {
	keyDER, err := x509.MarshalPKCS8PrivateKey(s.key)
	if err != nil {
		return nil, fmt.Errorf("sim: marshal signing key: %w", err)
	}
	var b bytes.Buffer
	for _, blk := range []*pem.Block{
		{Type: "CERTIFICATE", Bytes: s.root.Raw},
		{Type: "CERTIFICATE", Bytes: s.signer.Raw},
		{Type: "PRIVATE KEY", Bytes: keyDER},
	} {
		if err := pem.Encode(&b, blk); err != nil {
			return nil, fmt.Errorf("sim: %w", err)
		}
	}
	return b.Bytes(), nil
}

// LoadAttestationService loads a service written by MarshalPEM.
func LoadAttestationService(data []byte, opts Options) (*AttestationService, error) {
	var blocks []*pem.Block
	for rest := data; ; {
		var b *pem.Block
		b, rest = pem.Decode(rest)
		if b == nil {
			if len(bytes.TrimSpace(rest)) != 0 {
				return nil, fmt.Errorf("sim: trailing data in attestation service PEM")
			}
			break
		}
		blocks = append(blocks, b)
	}
	if len(blocks) != 3 || blocks[0].Type != "CERTIFICATE" || blocks[1].Type != "CERTIFICATE" || blocks[2].Type != "PRIVATE KEY" {
		return nil, fmt.Errorf("sim: attestation service PEM must be root certificate, signing certificate, private key")
	}
	root, err := x509.ParseCertificate(blocks[0].Bytes)
	if err != nil {
		return nil, fmt.Errorf("sim: root: %w", err)
	}
	signer, err := x509.ParseCertificate(blocks[1].Bytes)
	if err != nil {
		return nil, fmt.Errorf("sim: signing certificate: %w", err)
	}
	k, err := x509.ParsePKCS8PrivateKey(blocks[2].Bytes)
	if err != nil {
		return nil, fmt.Errorf("sim: signing key: %w", err) // x509 errors never include key material
	}
	key, ok := k.(*rsa.PrivateKey)
	if !ok {
		return nil, fmt.Errorf("sim: signing key is %T, want RSA", k)
	}
	return newService(root, signer, key, opts)
}

// Endorse signs a report for quote (at least the 432-byte quote body) like
// an IAS-v4-style attestation service: a random 32-hex-digit id, the quote
// body, the configured status, the current time with nine fractional digits,
// version 4; RSA PKCS#1 v1.5 SHA-256; the chain is the signing certificate.
func (s *AttestationService) Endorse(ctx context.Context, quote []byte) (*attestation.EndorsedReport, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	if len(quote) < attestation.QuoteBodySize {
		return nil, fmt.Errorf("sim: quote is %d bytes, want at least %d", len(quote), attestation.QuoteBodySize)
	}
	body, err := attestation.ParseQuoteBody(quote[:attestation.QuoteBodySize])
	if err != nil {
		return nil, fmt.Errorf("sim: %w", err)
	}
	id := make([]byte, 16)
	_, _ = rand.Read(id)
	sr := &attestation.ServiceReport{
		ID:        hex.EncodeToString(id),
		Timestamp: s.opts.Now().UTC(),
		Status:    s.opts.Status,
		Quote:     *body,
	}
	report, err := sr.Marshal()
	if err != nil {
		return nil, fmt.Errorf("sim: %w", err)
	}
	digest := sha256.Sum256(report)
	sig, err := rsa.SignPKCS1v15(rand.Reader, s.key, crypto.SHA256, digest[:])
	if err != nil {
		return nil, fmt.Errorf("sim: sign report: %w", err)
	}
	return &attestation.EndorsedReport{Report: report, Signature: sig, Certs: [][]byte{s.signer.Raw}}, nil
}
