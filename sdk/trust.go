package sdk

import (
	"crypto/x509"
	"encoding/pem"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"github.com/teaclave-go/teaclave"
	"github.com/teaclave-go/teaclave/attestation"
)

// Files a development platform writes into its data folder for clients
// (the same names as examples/deploy, which the SDK does not import).
const (
	// DataDirRootFile is the attestation root a client pins (PEM).
	DataDirRootFile = "attestation_root.pem"
	// DataDirEnclaveInfoFile is the auditor-signed enclave info.
	DataDirEnclaveInfoFile = "enclave_info.toml"
	// DataDirAuditorKeyFile is the development auditor's public key.
	DataDirAuditorKeyFile = "auditors/development.public.pem"
	// DataDirAuditorSignatureFile is its signature over the enclave info.
	DataDirAuditorSignatureFile = "auditors/development.sign.sha256"
)

// DefaultMaxReportAge is the report age limit a Trust applies unless told
// otherwise: an hour, as Teaclave's attestation_validity_secs.
const DefaultMaxReportAge = time.Hour

// Trust is what a client believes: the attestation root that must endorse
// the platform's reports and the enclave info, signed by enough auditors,
// that names the measurements of the authentication and frontend services.
// Build it with NewTrust, LoadTrust or TrustFromDataDir; the auditors'
// signatures are checked when it is built. InsecureSkipVerification returns
// a Trust that checks nothing. A Trust is safe for concurrent use and may be
// shared by many clients.
type Trust struct {
	verifier *attestation.Verifier
	insecure bool
}

// TrustConfig is the material of a Trust.
type TrustConfig struct {
	// RootPEM is the attestation service's root certificate (PEM).
	RootPEM []byte
	// SimulatedRoot marks the root as the simulated attestation service of
	// a development platform. Production builds refuse simulated roots.
	SimulatedRoot bool
	// EnclaveInfo is the exact bytes of enclave_info.toml.
	EnclaveInfo []byte
	// AuditorKeysPEM are the auditors' RSA public keys (PEM, PKCS#1 or PKIX).
	AuditorKeysPEM [][]byte
	// Signatures are auditors' signatures over EnclaveInfo (raw RSA PKCS#1
	// v1.5 SHA-256, as `openssl dgst -sha256 -sign` writes them).
	Signatures [][]byte
	// Threshold is how many distinct auditors must have signed; zero means
	// all of AuditorKeysPEM.
	Threshold int
	// MaxReportAge is the report age limit; zero means DefaultMaxReportAge.
	MaxReportAge time.Duration
	// AcceptedStatuses are the accepted quote statuses; empty means OK only.
	// Deployments on SGX hardware that needs mitigations also accept
	// SW_HARDENING_NEEDED.
	AcceptedStatuses []string
}

// NewTrust checks cfg (the auditors' signatures over the enclave info
// against the threshold, the root, the policy) and returns the Trust.
func NewTrust(cfg TrustConfig) (*Trust, error) {
	root, err := parseCertPEM(cfg.RootPEM)
	if err != nil {
		return nil, teaclave.Errorf(teaclave.KindInvalidArgument, "sdk: attestation root: %w", err)
	}
	if len(cfg.AuditorKeysPEM) == 0 {
		return nil, teaclave.Errorf(teaclave.KindInvalidArgument, "sdk: no auditor keys: enclave info must be signed by at least one auditor")
	}
	auditors := make([]attestation.Auditor, 0, len(cfg.AuditorKeysPEM))
	for i, k := range cfg.AuditorKeysPEM {
		pub, err := attestation.ParseRSAPublicKeyPEM(k)
		if err != nil {
			return nil, teaclave.Errorf(teaclave.KindInvalidArgument, "sdk: auditor key %d: %w", i, err)
		}
		auditors = append(auditors, attestation.Auditor{Name: fmt.Sprintf("auditor%d", i), Key: pub})
	}
	threshold := cfg.Threshold
	if threshold == 0 {
		threshold = len(auditors)
	}
	if threshold < 0 || threshold > len(auditors) {
		return nil, teaclave.Errorf(teaclave.KindInvalidArgument, "sdk: auditor threshold %d out of range 1..%d", threshold, len(auditors))
	}
	age := cfg.MaxReportAge
	if age == 0 {
		age = DefaultMaxReportAge
	}
	policy := &attestation.Policy{
		Roots:            []attestation.Root{{Name: "pinned", Cert: root, Simulated: cfg.SimulatedRoot}},
		Auditors:         auditors,
		AuditorThreshold: threshold,
		AcceptedStatuses: cfg.AcceptedStatuses,
		MaxReportAge:     age,
	}
	if err := policy.Validate(); err != nil {
		return nil, teaclave.Errorf(teaclave.KindInvalidArgument, "sdk: trust policy: %w", err)
	}
	info, err := attestation.LoadEnclaveInfo(cfg.EnclaveInfo, cfg.Signatures, policy)
	if err != nil {
		return nil, teaclave.Errorf(teaclave.KindPermissionDenied, "sdk: enclave info: %w", err)
	}
	v, err := attestation.NewVerifier(policy, info)
	if err != nil {
		return nil, teaclave.Errorf(teaclave.KindInvalidArgument, "sdk: verifier: %w", err)
	}
	return &Trust{verifier: v}, nil
}

// TrustOption adjusts LoadTrust.
type TrustOption func(*TrustConfig)

// WithThreshold requires n distinct auditor signatures instead of all.
func WithThreshold(n int) TrustOption { return func(c *TrustConfig) { c.Threshold = n } }

// WithSimulatedRoot marks the pinned root as a development platform's
// simulated attestation service.
func WithSimulatedRoot() TrustOption { return func(c *TrustConfig) { c.SimulatedRoot = true } }

// WithMaxReportAge sets the report age limit.
func WithMaxReportAge(d time.Duration) TrustOption {
	return func(c *TrustConfig) { c.MaxReportAge = d }
}

// WithAcceptedStatuses sets the accepted quote statuses.
func WithAcceptedStatuses(statuses ...string) TrustOption {
	return func(c *TrustConfig) { c.AcceptedStatuses = statuses }
}

// LoadTrust reads a Trust's material from files: the pinned attestation
// root (PEM), the enclave info, the auditors' public keys (PEM) and their
// signatures over the enclave info. By default every listed auditor must
// have signed (WithThreshold lowers that).
func LoadTrust(rootPEMPath, enclaveInfoPath string, auditorKeyPaths, signaturePaths []string, opts ...TrustOption) (*Trust, error) {
	var cfg TrustConfig
	var err error
	if cfg.RootPEM, err = readFile("attestation root", rootPEMPath); err != nil {
		return nil, err
	}
	if cfg.EnclaveInfo, err = readFile("enclave info", enclaveInfoPath); err != nil {
		return nil, err
	}
	for _, p := range auditorKeyPaths {
		k, err := readFile("auditor key", p)
		if err != nil {
			return nil, err
		}
		cfg.AuditorKeysPEM = append(cfg.AuditorKeysPEM, k)
	}
	for _, p := range signaturePaths {
		s, err := readFile("auditor signature", p)
		if err != nil {
			return nil, err
		}
		cfg.Signatures = append(cfg.Signatures, s)
	}
	for _, o := range opts {
		o(&cfg)
	}
	return NewTrust(cfg)
}

// TrustFromDataDir loads the Trust of a development platform from its data
// folder (the files named DataDir*): its simulated attestation root and the
// enclave info signed by its development auditor. Whoever can write that
// folder can impersonate the platform; production clients use LoadTrust
// with material they received out of band. Production builds (tag
// teaclave_production) refuse the simulated root.
func TrustFromDataDir(dir string) (*Trust, error) {
	t, err := LoadTrust(
		filepath.Join(dir, DataDirRootFile),
		filepath.Join(dir, DataDirEnclaveInfoFile),
		[]string{filepath.Join(dir, DataDirAuditorKeyFile)},
		[]string{filepath.Join(dir, DataDirAuditorSignatureFile)},
		WithSimulatedRoot(),
	)
	if err != nil {
		return nil, fmt.Errorf("sdk: trust from data folder %s: %w", dir, err)
	}
	return t, nil
}

// InsecureSkipVerification returns a Trust that verifies nothing: the
// client talks TLS to whatever answers at the addresses, which can read
// passwords, tokens and keys. For development only; Dial logs a warning
// every time it is used, and production builds (teaclave_production)
// refuse it.
func InsecureSkipVerification() *Trust { return &Trust{insecure: true} }

// Insecure reports whether t skips verification.
func (t *Trust) Insecure() bool { return t != nil && t.insecure }

// Verifier returns the attestation verifier t checks endpoints with, nil
// for an insecure Trust.
func (t *Trust) Verifier() *attestation.Verifier {
	if t == nil {
		return nil
	}
	return t.verifier
}

func readFile(what, path string) ([]byte, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, teaclave.Errorf(teaclave.KindInvalidArgument, "sdk: read %s: %w", what, err)
	}
	return b, nil
}

func parseCertPEM(data []byte) (*x509.Certificate, error) {
	b, _ := pem.Decode(data)
	if b == nil || b.Type != "CERTIFICATE" {
		return nil, errors.New("not a PEM certificate")
	}
	return x509.ParseCertificate(b.Bytes)
}
