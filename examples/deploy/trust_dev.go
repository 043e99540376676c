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
	"slices"

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
// every service, signed by the development auditor. It is the trust of the
// all-in-one platform, which is every service; a process that runs one
// service of a multi-process deployment uses DevelopmentServiceTrust.
//
// This is the documented exception to compiled-in trust: a simulated
// deployment trusts its host anyway, so whoever can write the data folder
// can impersonate the platform. Production builds do not contain it.
func DevelopmentTrust(ctx context.Context, dataDir string, logger *slog.Logger) (*Trust, error) {
	if logger == nil {
		logger = slog.Default()
	}
	quiet := logger.With("component", "development-trust")
	m, err := loadDevMaterial(dataDir, true, quiet)
	if err != nil {
		return nil, err
	}
	// What clients need, rewritten at every start (the executable, and
	// with it the measurement, may have changed).
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
	if err := m.writeEnclaveInfo(dataDir, executables); err != nil {
		return nil, err
	}
	return m.trust(ctx, dataDir, filepath.Join(dataDir, EnclaveInfoFile), []string{auditorSignaturePath(dataDir)}, &m.auditor.PublicKey, quiet)
}

// WriteDevelopmentEnclaveInfo prepares a data folder for a multi-process
// development deployment: it creates the development trust material if it
// is missing (as DevelopmentTrust does), and writes enclave info listing,
// for each service name (attestation.Service*) in executables, the
// simulated measurement of its binary, signed by the development auditor,
// together with the attestation root and the auditor's public key for
// clients. Run it again whenever a binary is rebuilt: a service refuses to
// start when its binary is not the one the enclave info records.
func WriteDevelopmentEnclaveInfo(dataDir string, executables map[string]string) error {
	if len(executables) == 0 {
		return errors.New("deploy: enclave info: no executables given")
	}
	for service, path := range executables {
		if !slices.Contains(attestation.Services(), service) || service == attestation.ServiceAttestation {
			return fmt.Errorf("deploy: enclave info: unknown service %q", service)
		}
		if path == "" {
			return fmt.Errorf("deploy: enclave info: no executable for %s", service)
		}
	}
	m, err := loadDevMaterial(dataDir, true, slog.New(slog.DiscardHandler))
	if err != nil {
		return err
	}
	return m.writeEnclaveInfo(dataDir, executables)
}

// DevelopmentServiceTrust loads the trust of one service of a
// multi-process development deployment from cfg's data folder, where
// WriteDevelopmentEnclaveInfo put it: it never creates the attestation
// root, keys or enclave info, so that each binary is checked against the
// measurement recorded for it (the simulated sealing key, seal.key, is
// made on first use by the services that seal: storage and
// authentication). The enclave info and its signatures are
// read from [audit] when set, else from the data folder. It fails when
// this executable is not the binary the enclave info records for service,
// which is what a peer would find at the first handshake.
func DevelopmentServiceTrust(ctx context.Context, cfg Config, service string, logger *slog.Logger) (*Trust, error) {
	if logger == nil {
		logger = slog.Default()
	}
	quiet := logger.With("component", "development-trust")
	dataDir := cfg.Data.Dir
	m, err := loadDevMaterial(dataDir, false, quiet)
	if err != nil {
		return nil, err
	}
	pubPEM, err := os.ReadFile(auditorPublicPath(dataDir))
	if err != nil {
		return nil, fmt.Errorf("deploy: auditor key: %w", err)
	}
	auditor, err := attestation.ParseRSAPublicKeyPEM(pubPEM)
	if err != nil {
		return nil, fmt.Errorf("deploy: auditor key %s: %w", auditorPublicPath(dataDir), err)
	}
	infoPath := filepath.Join(dataDir, EnclaveInfoFile)
	if cfg.Audit.EnclaveInfo.Path != "" {
		infoPath = cfg.Audit.EnclaveInfo.Path
	}
	sigPaths := []string{auditorSignaturePath(dataDir)}
	if len(cfg.Audit.AuditorSignatures) > 0 {
		sigPaths = sigPaths[:0]
		for _, ref := range cfg.Audit.AuditorSignatures {
			sigPaths = append(sigPaths, ref.Path)
		}
	}
	t, err := m.trust(ctx, dataDir, infoPath, sigPaths, auditor, quiet)
	if err != nil {
		return nil, err
	}
	want, ok := t.Info.Identity(service)
	if !ok {
		return nil, fmt.Errorf("deploy: enclave info %s lists no %s: generate it for this deployment's binaries", infoPath, service)
	}
	if got := m.quoter.MREnclave; got != want.MREnclave || m.quoter.MRSigner != want.MRSigner {
		return nil, fmt.Errorf("deploy: this executable is not the %s binary enclave info %s records (rebuilt since?): generate the enclave info again", service, infoPath)
	}
	return t, nil
}

// devMaterial is the development trust material of a data folder.
type devMaterial struct {
	svc     *sim.AttestationService
	signer  *ecdsa.PrivateKey
	auditor *rsa.PrivateKey // nil when loaded for one service
	quoter  *sim.Quoter     // this executable, signed by signer
}

// loadDevMaterial loads the simulated attestation service, the enclave
// signing key and, when create is set, the development auditor key,
// creating what is missing if create is set.
func loadDevMaterial(dataDir string, create bool, logger *slog.Logger) (*devMaterial, error) {
	if create {
		if err := os.MkdirAll(dataDir, 0o700); err != nil {
			return nil, fmt.Errorf("deploy: data folder: %w", err)
		}
	}
	m := &devMaterial{}
	var err error
	if m.svc, err = loadOrCreateAttestationService(filepath.Join(dataDir, simServiceFile), create, logger); err != nil {
		return nil, err
	}
	if m.signer, err = loadOrCreateECDSA(filepath.Join(dataDir, signerFile), create); err != nil {
		return nil, err
	}
	if create {
		if m.auditor, err = loadOrCreateRSA(filepath.Join(dataDir, AuditorDir, auditorKeyFile)); err != nil {
			return nil, err
		}
	}
	if m.quoter, err = sim.NewQuoter(&m.signer.PublicKey); err != nil {
		return nil, err
	}
	return m, nil
}

// writeEnclaveInfo writes, for clients and services, the attestation
// root, the auditor's public key, and the signed enclave info measuring
// executables.
func (m *devMaterial) writeEnclaveInfo(dataDir string, executables map[string]string) error {
	if err := writeFileAtomic(filepath.Join(dataDir, RootFile), m.svc.RootPEM(), 0o644); err != nil {
		return fmt.Errorf("deploy: write attestation root: %w", err)
	}
	pubDER, err := x509.MarshalPKIXPublicKey(&m.auditor.PublicKey)
	if err != nil {
		return err
	}
	if err := writeFileAtomic(auditorPublicPath(dataDir), pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: pubDER}), 0o644); err != nil {
		return fmt.Errorf("deploy: write auditor key: %w", err)
	}
	info, err := sim.EnclaveInfo(executables, &m.signer.PublicKey)
	if err != nil {
		return err
	}
	sig, err := attestation.SignEnclaveInfo(info, m.auditor)
	if err != nil {
		return err
	}
	// The signature first: a reader between the two writes sees a
	// mismatch and fails, never old info under a new signature accepted.
	if err := writeFileAtomic(auditorSignaturePath(dataDir), sig, 0o644); err != nil {
		return fmt.Errorf("deploy: write enclave info signature: %w", err)
	}
	if err := writeFileAtomic(filepath.Join(dataDir, EnclaveInfoFile), info, 0o644); err != nil {
		return fmt.Errorf("deploy: write enclave info: %w", err)
	}
	return nil
}

// trust builds the policy (the simulated root, auditor), verifies the
// enclave info under it, and makes the attestor and sealer of this
// executable.
func (m *devMaterial) trust(_ context.Context, dataDir, infoPath string, sigPaths []string, auditor *rsa.PublicKey, logger *slog.Logger) (*Trust, error) {
	policy := &attestation.Policy{
		Roots:            []attestation.Root{m.svc.Root()},
		Auditors:         []attestation.Auditor{{Name: AuditorName, Key: auditor}},
		AuditorThreshold: 1,
		MaxReportAge:     MaxReportAge,
	}
	v, err := loadVerifierFrom(infoPath, sigPaths, policy)
	if err != nil {
		return nil, err
	}
	a, err := sim.NewAttestor(m.svc, m.quoter, MaxReportAge, logger)
	if err != nil {
		return nil, err
	}
	return &Trust{
		Policy:   policy,
		Info:     v.EnclaveInfo(),
		Verifier: v,
		Attestor: a,
		Sealer:   sim.NewSealer(filepath.Join(dataDir, sealKeyFile), logger),
	}, nil
}

// missing explains a file a service process expected in the data folder.
func missing(path string) error {
	return fmt.Errorf("deploy: %s is missing: prepare the data folder with the enclave info of this deployment's binaries first (`teaclave enclave-info generate`, deploy.WriteDevelopmentEnclaveInfo; docs/deploy.md)", path)
}

func loadOrCreateAttestationService(path string, create bool, logger *slog.Logger) (*sim.AttestationService, error) {
	data, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) && !create {
		return nil, missing(path)
	}
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

func loadOrCreateECDSA(path string, create bool) (*ecdsa.PrivateKey, error) {
	generate := func() ([]byte, error) {
		k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
		if err != nil {
			return nil, err
		}
		return x509.MarshalECPrivateKey(k)
	}
	if _, err := os.Stat(path); !create && errors.Is(err, fs.ErrNotExist) {
		return nil, missing(path)
	}
	der, err := loadOrCreatePEM(path, "EC PRIVATE KEY", generate)
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
