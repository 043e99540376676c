//go:build !teaclave_production

package deploy

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"

	"github.com/teaclave-go/teaclave/attestation"
	"github.com/teaclave-go/teaclave/attestation/sim"
)

// Files of the development trust material. The private ones are created
// with mode 0600 and never leave the data folder.
const (
	simServiceFile = "attestation_service.pem" // simulated attestation service (private)
	signerFile     = "enclave_signer.pem"      // simulated enclave signing key (private)
	auditorKeyFile = "development.key.pem"     // development auditor (private), under AuditorDir
	sealKeyFile    = "seal.key"                // simulated sealing root (private)
)

// DevelopmentTrust creates, once, and then loads the development
// platform's trust material in dataDir: a simulated attestation service
// whose root is marked simulated, a simulated enclave signing key, a
// development auditor key (RSA 2048), and the simulated sealing key. At
// every start it writes, for clients, the attestation root, the auditor's
// public key, and enclave info listing this executable's measurement for
// every service, signed by the development auditor.
//
// This is the documented exception to compiled-in trust: a simulated
// deployment trusts its host anyway, so whoever can write the data folder
// can impersonate the platform. Production builds do not contain it.
func DevelopmentTrust(ctx context.Context, dataDir string, logger *slog.Logger) (*Trust, error) {
	if logger == nil {
		logger = slog.Default()
	}
	if err := os.MkdirAll(dataDir, 0o700); err != nil {
		return nil, fmt.Errorf("deploy: data folder: %w", err)
	}
	quiet := logger.With("component", "development-trust")
	svc, err := loadOrCreateAttestationService(filepath.Join(dataDir, simServiceFile), quiet)
	if err != nil {
		return nil, err
	}
	signer, err := loadOrCreateECDSA(filepath.Join(dataDir, signerFile))
	if err != nil {
		return nil, err
	}
	auditor, err := loadOrCreateRSA(filepath.Join(dataDir, AuditorDir, auditorKeyFile))
	if err != nil {
		return nil, err
	}

	// What clients need, rewritten at every start (the executable, and
	// with it the measurement, may have changed).
	if err := writeFileAtomic(filepath.Join(dataDir, RootFile), svc.RootPEM(), 0o644); err != nil {
		return nil, fmt.Errorf("deploy: write attestation root: %w", err)
	}
	pubDER, err := x509.MarshalPKIXPublicKey(&auditor.PublicKey)
	if err != nil {
		return nil, err
	}
	if err := writeFileAtomic(auditorPublicPath(dataDir), pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: pubDER}), 0o644); err != nil {
		return nil, fmt.Errorf("deploy: write auditor key: %w", err)
	}
	exe, err := os.Executable()
	if err != nil {
		return nil, fmt.Errorf("deploy: find executable: %w", err)
	}
	executables := map[string]string{}
	for _, s := range attestation.Services() {
		if s != attestation.ServiceAttestation {
			executables[s] = exe
		}
	}
	info, err := sim.EnclaveInfo(executables, &signer.PublicKey)
	if err != nil {
		return nil, err
	}
	sig, err := attestation.SignEnclaveInfo(info, auditor)
	if err != nil {
		return nil, err
	}
	if err := writeFileAtomic(filepath.Join(dataDir, EnclaveInfoFile), info, 0o644); err != nil {
		return nil, fmt.Errorf("deploy: write enclave info: %w", err)
	}
	if err := writeFileAtomic(auditorSignaturePath(dataDir), sig, 0o644); err != nil {
		return nil, fmt.Errorf("deploy: write enclave info signature: %w", err)
	}

	policy := &attestation.Policy{
		Roots:            []attestation.Root{svc.Root()},
		Auditors:         []attestation.Auditor{{Name: AuditorName, Key: &auditor.PublicKey}},
		AuditorThreshold: 1,
		MaxReportAge:     MaxReportAge,
	}
	v, err := loadVerifier(dataDir, policy)
	if err != nil {
		return nil, err
	}
	q, err := sim.NewQuoter(&signer.PublicKey)
	if err != nil {
		return nil, err
	}
	a, err := sim.NewAttestor(svc, q, MaxReportAge, quiet)
	if err != nil {
		return nil, err
	}
	return &Trust{
		Policy:   policy,
		Info:     v.EnclaveInfo(),
		Verifier: v,
		Attestor: a,
		Sealer:   sim.NewSealer(filepath.Join(dataDir, sealKeyFile), quiet),
	}, nil
}

func loadOrCreateAttestationService(path string, logger *slog.Logger) (*sim.AttestationService, error) {
	data, err := os.ReadFile(path)
	if err == nil {
		svc, err := sim.LoadAttestationService(data, sim.Options{Logger: logger})
		if err != nil {
			return nil, fmt.Errorf("deploy: %s: %w", path, err)
		}
		return svc, nil
	}
	if !errors.Is(err, fs.ErrNotExist) {
		return nil, fmt.Errorf("deploy: %w", err)
	}
	svc, err := sim.NewAttestationService(sim.Options{Logger: logger})
	if err != nil {
		return nil, err
	}
	out, err := svc.MarshalPEM()
	if err != nil {
		return nil, err
	}
	if err := writeFileAtomic(path, out, 0o600); err != nil {
		return nil, fmt.Errorf("deploy: save simulated attestation service: %w", err)
	}
	return svc, nil
}

func loadOrCreateECDSA(path string) (*ecdsa.PrivateKey, error) {
	der, err := loadOrCreatePEM(path, "EC PRIVATE KEY", func() ([]byte, error) {
		k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
		if err != nil {
			return nil, err
		}
		return x509.MarshalECPrivateKey(k)
	})
	if err != nil {
		return nil, err
	}
	k, err := x509.ParseECPrivateKey(der)
	if err != nil {
		return nil, fmt.Errorf("deploy: %s: %w", path, err)
	}
	return k, nil
}

func loadOrCreateRSA(path string) (*rsa.PrivateKey, error) {
	der, err := loadOrCreatePEM(path, "RSA PRIVATE KEY", func() ([]byte, error) {
		k, err := rsa.GenerateKey(rand.Reader, 2048)
		if err != nil {
			return nil, err
		}
		return x509.MarshalPKCS1PrivateKey(k), nil
	})
	if err != nil {
		return nil, err
	}
	k, err := x509.ParsePKCS1PrivateKey(der)
	if err != nil {
		return nil, fmt.Errorf("deploy: %s: %w", path, err)
	}
	return k, nil
}

// loadOrCreatePEM returns the DER of the PEM block in path, creating the
// file (mode 0600) with create's output if it does not exist. A file that
// others can read is refused: it holds a private key.
func loadOrCreatePEM(path, blockType string, create func() ([]byte, error)) ([]byte, error) {
	data, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		der, err := create()
		if err != nil {
			return nil, fmt.Errorf("deploy: generate %s: %w", filepath.Base(path), err)
		}
		if err := writeFileAtomic(path, pem.EncodeToMemory(&pem.Block{Type: blockType, Bytes: der}), 0o600); err != nil {
			return nil, fmt.Errorf("deploy: save %s: %w", filepath.Base(path), err)
		}
		return der, nil
	}
	if err != nil {
		return nil, fmt.Errorf("deploy: %w", err)
	}
	st, err := os.Stat(path)
	if err != nil {
		return nil, fmt.Errorf("deploy: %w", err)
	}
	if st.Mode().Perm()&0o077 != 0 {
		return nil, fmt.Errorf("deploy: %s is readable by others (mode %v); it holds a private key: chmod 600 it", path, st.Mode().Perm())
	}
	b, _ := pem.Decode(data)
	if b == nil || b.Type != blockType {
		return nil, fmt.Errorf("deploy: %s is not a %s PEM file", path, blockType)
	}
	return b.Bytes, nil
}
