package deploy

import (
	"crypto/x509"
	"encoding/pem"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"github.com/teaclave-go/teaclave/attestation"
)

// Trust is what a platform process believes and proves: the policy and
// signed enclave info it verifies peers with, its own attestor, and its
// sealer.
type Trust struct {
	Policy   *attestation.Policy
	Info     *attestation.EnclaveInfo
	Verifier *attestation.Verifier
	Attestor attestation.Attestor
	Sealer   attestation.Sealer
}

// Files the development platform writes into its data folder for clients.
const (
	// RootFile is the attestation root clients pin (PEM).
	RootFile = "attestation_root.pem"
	// EnclaveInfoFile is the auditor-signed list of service measurements.
	EnclaveInfoFile = "enclave_info.toml"
	// AuditorDir holds the development auditor's public key and signature.
	AuditorDir = "auditors"
	// AuditorName is the development auditor's name.
	AuditorName = "development"
)

// MaxReportAge is the report age limit of the development policy: an hour,
// as Teaclave's attestation_validity_secs.
const MaxReportAge = time.Hour

// AuditorKeyPath, AuditorSignaturePath: where the development auditor's
// public key and signature over the enclave info live.
func auditorPublicPath(dataDir string) string {
	return filepath.Join(dataDir, AuditorDir, AuditorName+".public.pem")
}

func auditorSignaturePath(dataDir string) string {
	return filepath.Join(dataDir, AuditorDir, AuditorName+".sign.sha256")
}

// ClientTrust loads, from a development platform's data folder, what a
// client pins: the attestation root, the auditor's public key, and the
// auditor-signed enclave info. It returns a verifier for the platform's
// api endpoints. (Clients of production deployments compile the root and
// auditor keys in instead.)
func ClientTrust(dataDir string) (*attestation.Verifier, error) {
	rootPEM, err := os.ReadFile(filepath.Join(dataDir, RootFile))
	if err != nil {
		return nil, fmt.Errorf("deploy: attestation root: %w (is the platform running with this data folder?)", err)
	}
	root, err := parseCertPEM(rootPEM)
	if err != nil {
		return nil, fmt.Errorf("deploy: attestation root: %w", err)
	}
	pubPEM, err := os.ReadFile(auditorPublicPath(dataDir))
	if err != nil {
		return nil, fmt.Errorf("deploy: auditor key: %w", err)
	}
	pub, err := attestation.ParseRSAPublicKeyPEM(pubPEM)
	if err != nil {
		return nil, fmt.Errorf("deploy: auditor key: %w", err)
	}
	policy := &attestation.Policy{
		// The development root is simulated; a client of a production
		// deployment pins a real one.
		Roots:            []attestation.Root{{Name: "development", Cert: root, Simulated: true}},
		Auditors:         []attestation.Auditor{{Name: AuditorName, Key: pub}},
		AuditorThreshold: 1,
		MaxReportAge:     MaxReportAge,
	}
	return loadVerifier(dataDir, policy)
}

// loadVerifier reads the enclave info and its signature from the data
// folder and verifies them under policy.
func loadVerifier(dataDir string, policy *attestation.Policy) (*attestation.Verifier, error) {
	return loadVerifierFrom(filepath.Join(dataDir, EnclaveInfoFile), []string{auditorSignaturePath(dataDir)}, policy)
}

// loadVerifierFrom reads the enclave info and its auditors' signatures
// and verifies them under policy.
func loadVerifierFrom(infoPath string, sigPaths []string, policy *attestation.Policy) (*attestation.Verifier, error) {
	infoBytes, err := os.ReadFile(infoPath)
	if err != nil {
		return nil, fmt.Errorf("deploy: enclave info: %w", err)
	}
	sigs := make([][]byte, 0, len(sigPaths))
	for _, p := range sigPaths {
		sig, err := os.ReadFile(p)
		if err != nil {
			return nil, fmt.Errorf("deploy: enclave info signature: %w", err)
		}
		sigs = append(sigs, sig)
	}
	info, err := attestation.LoadEnclaveInfo(infoBytes, sigs, policy)
	if err != nil {
		return nil, fmt.Errorf("deploy: enclave info: %w", err)
	}
	return attestation.NewVerifier(policy, info)
}

func parseCertPEM(data []byte) (*x509.Certificate, error) {
	b, _ := pem.Decode(data)
	if b == nil || b.Type != "CERTIFICATE" {
		return nil, errors.New("not a PEM certificate")
	}
	return x509.ParseCertificate(b.Bytes)
}

// writeFileAtomic writes data to path through a temporary file and a
// rename, so a reader never sees half a file.
func writeFileAtomic(path string, data []byte, perm os.FileMode) error {
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return err
	}
	tmp, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".*")
	if err != nil {
		return err
	}
	defer os.Remove(tmp.Name())
	if _, err := tmp.Write(data); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Chmod(perm); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Sync(); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Close(); err != nil {
		return err
	}
	return os.Rename(tmp.Name(), path)
}
