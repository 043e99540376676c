package endorser

import (
	"bytes"
	"context"
	"crypto/aes"
	"crypto/cipher"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/hex"
	"encoding/pem"
	"errors"
	"fmt"
	"io/fs"
	"math/big"
	"net"
	"os"
	"path/filepath"
	"time"

	"github.com/teaclave-go/teaclave/attestation"
)

// Identity is the endorser's signing identity: a self-signed RSA root CA
// (the certificate services and clients pin) and an RSA report-signing
// certificate it issued. Both keys are generated inside the enclave and leave it only
// sealed (SealedIdentity).
type Identity struct {
	// Root is the root certificate.
	Root *x509.Certificate
	// Signer is the report-signing certificate, issued by Root.
	Signer *x509.Certificate

	rootKey *rsa.PrivateKey
	signKey *rsa.PrivateKey
}

// IdentityOptions configures NewIdentity.
type IdentityOptions struct {
	// KeyBits is the RSA size of both keys: 2048 to 8192; zero means 3072.
	KeyBits int
	// Validity is how long the root and signing certificates are valid;
	// zero means 10 years.
	Validity time.Duration
	// Now is the clock; nil means time.Now.
	Now func() time.Time
}

func (o IdentityOptions) withDefaults() (IdentityOptions, error) {
	if o.KeyBits == 0 {
		o.KeyBits = 3072
	}
	if o.KeyBits < 2048 || o.KeyBits > 8192 {
		return o, fmt.Errorf("endorser: RSA key size %d, want 2048 to 8192", o.KeyBits)
	}
	if o.Validity == 0 {
		o.Validity = 10 * 365 * 24 * time.Hour
	}
	if o.Validity < time.Hour {
		return o, fmt.Errorf("endorser: certificate validity %v is too short", o.Validity)
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	return o, nil
}

func randomSerial() *big.Int {
	b := make([]byte, 16)
	_, _ = rand.Read(b) // crypto/rand.Read never fails
	b[0] = b[0]&0x7f | 0x01
	return new(big.Int).SetBytes(b)
}

// NewIdentity generates a root CA and a report-signing certificate.
func NewIdentity(opts IdentityOptions) (*Identity, error) {
	opts, err := opts.withDefaults()
	if err != nil {
		return nil, err
	}
	rootKey, err := rsa.GenerateKey(rand.Reader, opts.KeyBits)
	if err != nil {
		return nil, fmt.Errorf("endorser: generate root key: %w", err)
	}
	signKey, err := rsa.GenerateKey(rand.Reader, opts.KeyBits)
	if err != nil {
		return nil, fmt.Errorf("endorser: generate signing key: %w", err)
	}
	now := opts.Now().UTC().Truncate(time.Second)
	rootTmpl := &x509.Certificate{
		SerialNumber: randomSerial(),
		Subject: pkix.Name{Organization: []string{"Teaclave"},
			CommonName: "Teaclave Attestation Service Root CA"},
		NotBefore:             now.Add(-time.Hour),
		NotAfter:              now.Add(opts.Validity),
		IsCA:                  true,
		BasicConstraintsValid: true,
		MaxPathLenZero:        true,
		KeyUsage:              x509.KeyUsageCertSign | x509.KeyUsageCRLSign,
	}
	rootDER, err := x509.CreateCertificate(rand.Reader, rootTmpl, rootTmpl, &rootKey.PublicKey, rootKey)
	if err != nil {
		return nil, fmt.Errorf("endorser: create root: %w", err)
	}
	root, err := x509.ParseCertificate(rootDER)
	if err != nil {
		return nil, fmt.Errorf("endorser: parse root: %w", err)
	}
	signTmpl := &x509.Certificate{
		SerialNumber: randomSerial(),
		Subject:      pkix.Name{Organization: []string{"Teaclave"}, CommonName: "Teaclave Attestation Report Signing"},
		NotBefore:    now.Add(-time.Hour),
		NotAfter:     now.Add(opts.Validity),
		KeyUsage:     x509.KeyUsageDigitalSignature,
	}
	signDER, err := x509.CreateCertificate(rand.Reader, signTmpl, root, &signKey.PublicKey, rootKey)
	if err != nil {
		return nil, fmt.Errorf("endorser: create signing certificate: %w", err)
	}
	signer, err := x509.ParseCertificate(signDER)
	if err != nil {
		return nil, fmt.Errorf("endorser: parse signing certificate: %w", err)
	}
	return newIdentity(root, signer, rootKey, signKey)
}

func newIdentity(root, signer *x509.Certificate, rootKey, signKey *rsa.PrivateKey) (*Identity, error) {
	if !rootKey.PublicKey.Equal(root.PublicKey) {
		return nil, errors.New("endorser: root key does not match the root certificate")
	}
	if !signKey.PublicKey.Equal(signer.PublicKey) {
		return nil, errors.New("endorser: signing key does not match the signing certificate")
	}
	if err := signer.CheckSignatureFrom(root); err != nil {
		return nil, fmt.Errorf("endorser: signing certificate not issued by the root: %w", err)
	}
	return &Identity{Root: root, Signer: signer, rootKey: rootKey, signKey: signKey}, nil
}

// RootPEM returns the root certificate as PEM: what services and clients
// pin (a [[root]] of their compiled-in policy, simulated = false).
func (id *Identity) RootPEM() []byte {
	return pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: id.Root.Raw})
}

// RootFingerprint returns the SHA-256 of the root certificate's DER, in
// lowercase hex.
func (id *Identity) RootFingerprint() string {
	sum := sha256.Sum256(id.Root.Raw)
	return hex.EncodeToString(sum[:])
}

// PolicyRoot returns the root as a policy root. simulated must be true for
// an endorser whose quote verifier is not EGo's (development only).
func (id *Identity) PolicyRoot(simulated bool) attestation.Root {
	name := "teaclave attestation service " + id.RootFingerprint()[:16]
	return attestation.Root{Name: name, Cert: id.Root, Simulated: simulated}
}

// TLSCertificate issues a fresh ECDSA P-256 TLS server certificate for
// hosts (DNS names or IP addresses) under the root, valid for validity, so
// that clients that pin the root can also check the endorser's TLS
// endpoint. It is made at every start and never stored.
func (id *Identity) TLSCertificate(hosts []string, validity time.Duration) (tls.Certificate, error) {
	if len(hosts) == 0 {
		return tls.Certificate{}, errors.New("endorser: TLS certificate needs at least one host name")
	}
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return tls.Certificate{}, fmt.Errorf("endorser: generate TLS key: %w", err)
	}
	now := time.Now().UTC().Truncate(time.Second)
	tmpl := &x509.Certificate{
		SerialNumber: randomSerial(),
		Subject:      pkix.Name{Organization: []string{"Teaclave"}, CommonName: hosts[0]},
		NotBefore:    now.Add(-time.Hour),
		NotAfter:     now.Add(validity),
		KeyUsage:     x509.KeyUsageDigitalSignature,
		ExtKeyUsage:  []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
	}
	if tmpl.NotAfter.After(id.Root.NotAfter) {
		tmpl.NotAfter = id.Root.NotAfter
	}
	for _, h := range hosts {
		if ip := net.ParseIP(h); ip != nil {
			tmpl.IPAddresses = append(tmpl.IPAddresses, ip)
		} else {
			tmpl.DNSNames = append(tmpl.DNSNames, h)
		}
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, id.Root, &key.PublicKey, id.rootKey)
	if err != nil {
		return tls.Certificate{}, fmt.Errorf("endorser: create TLS certificate: %w", err)
	}
	leaf, err := x509.ParseCertificate(der)
	if err != nil {
		return tls.Certificate{}, fmt.Errorf("endorser: parse TLS certificate: %w", err)
	}
	return tls.Certificate{Certificate: [][]byte{der, id.Root.Raw}, PrivateKey: key, Leaf: leaf}, nil
}

// Sealed identity file: magic, 12-byte nonce, AES-256-GCM of the PEM bundle
// (root certificate, signing certificate, root key, signing key) under the
// sealer's key for sealPurpose, with the magic as additional data.
const (
	sealMagic   = "TCLVEID1"
	sealPurpose = "teaclave attestation service identity"
	// maxSealedSize bounds the sealed file read back (two 8192-bit keys and
	// their certificates fit easily).
	maxSealedSize = 1 << 20
)

// ErrSealedIdentity: the sealed identity file cannot be opened (another
// enclave identity, a corrupt or tampered file).
var ErrSealedIdentity = errors.New("endorser: cannot unseal the identity")

// Seal encrypts the identity under the sealer's key for the endorser's
// purpose: only an enclave with the same sealing identity (SGX: same
// MRSIGNER and product id) can open it.
func (id *Identity) Seal(ctx context.Context, sealer attestation.Sealer) ([]byte, error) {
	aead, err := sealAEAD(ctx, sealer)
	if err != nil {
		return nil, err
	}
	var plain bytes.Buffer
	for _, b := range []struct {
		typ string
		key *rsa.PrivateKey
		der []byte
	}{{typ: "CERTIFICATE", der: id.Root.Raw}, {typ: "CERTIFICATE", der: id.Signer.Raw}, {key: id.rootKey}, {key: id.signKey}} {
		blk := &pem.Block{Type: b.typ, Bytes: b.der}
		if b.key != nil {
			der, err := x509.MarshalPKCS8PrivateKey(b.key)
			if err != nil {
				return nil, fmt.Errorf("endorser: marshal key: %w", err)
			}
			blk = &pem.Block{Type: "PRIVATE KEY", Bytes: der}
		}
		if err := pem.Encode(&plain, blk); err != nil {
			return nil, fmt.Errorf("endorser: %w", err)
		}
	}
	nonce := make([]byte, aead.NonceSize())
	_, _ = rand.Read(nonce)
	out := append([]byte(sealMagic), nonce...)
	out = aead.Seal(out, nonce, plain.Bytes(), []byte(sealMagic))
	clear(plain.Bytes())
	return out, nil
}

func sealAEAD(ctx context.Context, sealer attestation.Sealer) (cipher.AEAD, error) {
	key, err := sealer.Key(ctx, sealPurpose)
	if err != nil {
		return nil, fmt.Errorf("endorser: seal key: %w", err)
	}
	block, err := aes.NewCipher(key)
	if err != nil {
		return nil, fmt.Errorf("endorser: seal key: %w", err)
	}
	return cipher.NewGCM(block)
}

// OpenIdentity decrypts an identity written by Seal.
func OpenIdentity(ctx context.Context, sealed []byte, sealer attestation.Sealer) (*Identity, error) {
	aead, err := sealAEAD(ctx, sealer)
	if err != nil {
		return nil, err
	}
	if len(sealed) < len(sealMagic)+aead.NonceSize()+aead.Overhead() || string(sealed[:len(sealMagic)]) != sealMagic {
		return nil, fmt.Errorf("%w: not a sealed identity file", ErrSealedIdentity)
	}
	nonce := sealed[len(sealMagic) : len(sealMagic)+aead.NonceSize()]
	plain, err := aead.Open(nil, nonce, sealed[len(sealMagic)+aead.NonceSize():], []byte(sealMagic))
	if err != nil {
		return nil, fmt.Errorf("%w: wrong sealing identity or corrupt file", ErrSealedIdentity)
	}
	defer clear(plain)
	var blocks []*pem.Block
	for rest := plain; ; {
		var b *pem.Block
		if b, rest = pem.Decode(rest); b == nil {
			break
		}
		blocks = append(blocks, b)
	}
	if len(blocks) != 4 || blocks[0].Type != "CERTIFICATE" || blocks[1].Type != "CERTIFICATE" ||
		blocks[2].Type != "PRIVATE KEY" || blocks[3].Type != "PRIVATE KEY" {
		return nil, fmt.Errorf("%w: unexpected content", ErrSealedIdentity)
	}
	root, err := x509.ParseCertificate(blocks[0].Bytes)
	if err != nil {
		return nil, fmt.Errorf("%w: root: %w", ErrSealedIdentity, err)
	}
	signer, err := x509.ParseCertificate(blocks[1].Bytes)
	if err != nil {
		return nil, fmt.Errorf("%w: signing certificate: %w", ErrSealedIdentity, err)
	}
	var keys [2]*rsa.PrivateKey
	for i, b := range blocks[2:] {
		k, err := x509.ParsePKCS8PrivateKey(b.Bytes)
		if err != nil {
			return nil, fmt.Errorf("%w: key %d does not parse", ErrSealedIdentity, i)
		}
		rk, ok := k.(*rsa.PrivateKey)
		if !ok {
			return nil, fmt.Errorf("%w: key %d is not RSA", ErrSealedIdentity, i)
		}
		keys[i] = rk
	}
	return newIdentity(root, signer, keys[0], keys[1])
}

// LoadOrCreateIdentity opens the sealed identity at path, or, if there is
// none, generates one and seals it there (mode 0600, written to a temporary
// file and linked into place so that a crash never leaves half a file and
// two concurrent first starts agree on one identity). A file that exists but
// does not unseal is an error: the endorser never replaces its root
// silently, since every service and client pins it. It reports whether the
// identity was created.
func LoadOrCreateIdentity(ctx context.Context, path string, sealer attestation.Sealer, opts IdentityOptions) (*Identity, bool, error) {
	id, err := readSealed(ctx, path, sealer)
	if err == nil || !errors.Is(err, fs.ErrNotExist) {
		return id, false, err
	}
	id, err = NewIdentity(opts)
	if err != nil {
		return nil, false, err
	}
	sealed, err := id.Seal(ctx, sealer)
	if err != nil {
		return nil, false, err
	}
	tmp, err := os.CreateTemp(filepath.Dir(path), ".identity-*")
	if err != nil {
		return nil, false, fmt.Errorf("endorser: write sealed identity: %w", err)
	}
	defer os.Remove(tmp.Name())
	defer tmp.Close()
	if err := tmp.Chmod(0o600); err != nil {
		return nil, false, fmt.Errorf("endorser: write sealed identity: %w", err)
	}
	if _, err := tmp.Write(sealed); err != nil {
		return nil, false, fmt.Errorf("endorser: write sealed identity: %w", err)
	}
	if err := tmp.Sync(); err != nil {
		return nil, false, fmt.Errorf("endorser: write sealed identity: %w", err)
	}
	if err := os.Link(tmp.Name(), path); err != nil {
		if errors.Is(err, fs.ErrExist) { // another first start won
			id, err := readSealed(ctx, path, sealer)
			return id, false, err
		}
		return nil, false, fmt.Errorf("endorser: write sealed identity: %w", err)
	}
	return id, true, nil
}

func readSealed(ctx context.Context, path string, sealer attestation.Sealer) (*Identity, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("endorser: sealed identity: %w", err)
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return nil, fmt.Errorf("endorser: sealed identity: %w", err)
	}
	if !fi.Mode().IsRegular() || fi.Size() > maxSealedSize {
		return nil, fmt.Errorf("%w: %s is not a regular file of at most %d bytes", ErrSealedIdentity, path, maxSealedSize)
	}
	data := make([]byte, fi.Size())
	if _, err := f.ReadAt(data, 0); err != nil {
		return nil, fmt.Errorf("endorser: sealed identity: %w", err)
	}
	return OpenIdentity(ctx, data, sealer)
}
