package deploy

import (
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"errors"
	"fmt"
	"log/slog"
	"math/big"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/teaclave-go/teaclave/attestation"
	"github.com/teaclave-go/teaclave/attestation/sgx"
)

// The exact message an operator sees from a production binary built from
// the shipped template.
const wantTemplateError = "no attestation root compiled in: edit examples/deploy/policy/production.toml and rebuild (docs/sgx.md)"

func TestProductionPolicyTemplateFailsClosed(t *testing.T) {
	_, err := productionPolicy(productionPolicyTOML)
	if !errors.Is(err, ErrNoCompiledInRoot) || !strings.Contains(err.Error(), wantTemplateError) {
		t.Fatalf("shipped template: %v, want %q", err, wantTemplateError)
	}
	// The same refusal through the whole trust path, before any file is
	// read or the enclave asked.
	deps := fakeDeps(t, productionPolicyTOML, attestation.Measurement{})
	deps.self = func(context.Context) (attestation.Measurement, error) {
		t.Fatal("enclave asked before the policy was checked")
		return attestation.Measurement{}, nil
	}
	_, err = productionTrust(context.Background(), Config{}, attestation.ServiceStorage, quiet(), deps)
	if !errors.Is(err, ErrNoCompiledInRoot) || !strings.Contains(err.Error(), wantTemplateError) {
		t.Fatalf("trust from the shipped template: %v", err)
	}
}

// testTrustMaterial is a production deployment made up for a test: an
// endorser root, one auditor (RSA 2048), and enclave info.
type testTrustMaterial struct {
	rootPEM    []byte
	auditor    *rsa.PrivateKey
	auditorPEM []byte
}

func newTestTrustMaterial(t *testing.T) *testTrustMaterial {
	t.Helper()
	rootKey, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber:          big.NewInt(1),
		Subject:               pkix.Name{CommonName: "test attestation service root"},
		NotBefore:             time.Now().Add(-time.Hour),
		NotAfter:              time.Now().Add(24 * time.Hour),
		IsCA:                  true,
		BasicConstraintsValid: true,
		KeyUsage:              x509.KeyUsageCertSign,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &rootKey.PublicKey, rootKey)
	if err != nil {
		t.Fatal(err)
	}
	auditor, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	pubDER, err := x509.MarshalPKIXPublicKey(&auditor.PublicKey)
	if err != nil {
		t.Fatal(err)
	}
	return &testTrustMaterial{
		rootPEM:    pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}),
		auditor:    auditor,
		auditorPEM: pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: pubDER}),
	}
}

// policy is a filled-in production policy naming m's root and auditor.
func (m *testTrustMaterial) policy(simulated bool, threshold int) string {
	return fmt.Sprintf(`production = true
max_report_age = "24h"
accepted_statuses = ["OK", "SW_HARDENING_NEEDED"]
auditor_threshold = %d

[[root]]
name = "test attestation service"
simulated = %t
certificate = """
%s"""

[[auditor]]
name = "auditor-1"
public_key = """
%s"""
`, threshold, simulated, m.rootPEM, m.auditorPEM)
}

// writeInfo writes enclave info recording self for every service, and the
// auditor's signature, and returns the configuration naming them.
func (m *testTrustMaterial) writeInfo(t *testing.T, self attestation.Measurement, url string) Config {
	t.Helper()
	services := map[string]attestation.Measurement{}
	for _, s := range attestation.Services() {
		services[s] = self
	}
	services[attestation.ServiceAttestation] = attestation.Measurement{MREnclave: [32]byte{9}, MRSigner: self.MRSigner}
	info, err := attestation.MarshalEnclaveInfo(services)
	if err != nil {
		t.Fatal(err)
	}
	sig, err := attestation.SignEnclaveInfo(info, m.auditor)
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	var cfg Config
	cfg.Audit.EnclaveInfo.Path = filepath.Join(dir, "enclave_info.toml")
	cfg.Audit.AuditorSignatures = []PathRef{{Path: filepath.Join(dir, "auditor-1.sign.sha256")}}
	cfg.Attestation.URL = url
	writeTestFile(t, cfg.Audit.EnclaveInfo.Path, info)
	writeTestFile(t, cfg.Audit.AuditorSignatures[0].Path, sig)
	return cfg
}

func writeTestFile(t *testing.T, path string, data []byte) {
	t.Helper()
	if err := os.WriteFile(path, data, 0o644); err != nil {
		t.Fatal(err)
	}
}

type testSealer struct{}

func (testSealer) Key(context.Context, string) ([]byte, error) { return make([]byte, 32), nil }

// fakeDeps are production dependencies that need no SGX: the enclave is
// self, and the attestor is recorded, not used.
func fakeDeps(t *testing.T, policy string, self attestation.Measurement) productionDeps {
	return productionDeps{
		policy: policy,
		cgo:    true,
		self:   func(context.Context) (attestation.Measurement, error) { return self, nil },
		newAttestor: func(e attestation.Endorser, age time.Duration) (attestation.Attestor, error) {
			if e == nil || age != 24*time.Hour {
				t.Errorf("attestor made with endorser %v, report age %v", e, age)
			}
			return sgx.NewAttestor(e, age)
		},
		sealer: testSealer{},
	}
}

// TestProductionPolicyRefuses: a compiled-in policy is refused unless it
// names a real root and an auditor.
func TestProductionPolicyRefuses(t *testing.T) {
	m := newTestTrustMaterial(t)
	if p, err := productionPolicy(m.policy(false, 1)); err != nil || !p.Production || len(p.Roots) != 1 || len(p.Auditors) != 1 {
		t.Fatalf("filled-in policy: %v", err)
	}
	// The shipped file filled in as its comments say.
	_, tables, _ := strings.Cut(m.policy(false, 1), "auditor_threshold = 1\n")
	filled := strings.Replace(productionPolicyTOML, "# auditor_threshold = 2", "auditor_threshold = 1", 1) + tables
	p, err := productionPolicy(filled)
	if err != nil {
		t.Fatalf("filled-in template: %v", err)
	}
	if p.MaxReportAge != 24*time.Hour || !p.StatusAccepted(attestation.StatusOK) || !p.StatusAccepted("SW_HARDENING_NEEDED") ||
		p.StatusAccepted("OUT_OF_DATE") || p.DebugAllowed || p.AuditorThreshold != 1 {
		t.Fatalf("filled-in template: %+v", p)
	}
	sgxTemplate, err := os.ReadFile(filepath.Join("..", "attestation-service", "policy.sgx.toml"))
	if err != nil {
		t.Fatal(err)
	}
	noAuditor, _, _ := strings.Cut(m.policy(false, 0), "[[auditor]]")
	noAuditor = strings.Replace(noAuditor, "auditor_threshold = 0\n", "", 1)
	for _, c := range []struct {
		name, policy string
		want         error
	}{
		{"placeholders left in", string(sgxTemplate), ErrNoCompiledInRoot},
		{"no auditor", noAuditor, ErrNoCompiledInAuditor},
		{"simulated root", m.policy(true, 1), attestation.ErrSimulatedRoot},
		{"threshold above the auditors", m.policy(false, 2), attestation.ErrInvalidPolicy},
		{"not TOML", "root = [", nil},
		{"debug enclaves", "debug_allowed = true\n" + m.policy(false, 1), nil},
		{"revoked keys", strings.Replace(m.policy(false, 1), `"SW_HARDENING_NEEDED"]`, `"SW_HARDENING_NEEDED", "KEY_REVOKED"]`, 1), nil},
		{"unspecified status", strings.Replace(m.policy(false, 1), `"SW_HARDENING_NEEDED"]`, `"UNSPECIFIED"]`, 1), nil},
	} {
		t.Run(c.name, func(t *testing.T) {
			_, err := productionPolicy(c.policy)
			if err == nil || (c.want != nil && !errors.Is(err, c.want)) || (c.want == nil && c.name != "not TOML" && !strings.Contains(err.Error(), "production policies may not")) {
				t.Fatalf("err = %v, want %v", err, c.want)
			}
		})
	}
}

// TestProductionTrustEnclaveInfo: the enclave info named in [audit] loads
// only with a valid signature of a compiled-in auditor over its exact
// bytes, and only when this enclave is the binary it records.
func TestProductionTrustEnclaveInfo(t *testing.T) {
	m := newTestTrustMaterial(t)
	self := attestation.Measurement{MREnclave: [32]byte{1, 2, 3}, MRSigner: [32]byte{4, 5, 6}}
	policy := m.policy(false, 1)
	ctx := context.Background()
	const url = "https://127.0.0.1:1"

	t.Run("accepted", func(t *testing.T) {
		cfg := m.writeInfo(t, self, url)
		for _, service := range []string{attestation.ServiceStorage, AllInOne} {
			tr, err := productionTrust(ctx, cfg, service, quiet(), fakeDeps(t, policy, self))
			if err != nil {
				t.Fatalf("%q: %v", service, err)
			}
			if !tr.Info.Verified() || tr.Verifier == nil || tr.Attestor == nil || tr.Sealer == nil || !tr.Policy.Production {
				t.Fatalf("%q: incomplete trust %+v", service, tr)
			}
			if id, ok := tr.Info.Identity(attestation.ServiceStorage); !ok || id.Measurement() != self {
				t.Fatalf("%q: enclave info lost the storage measurement", service)
			}
		}
	})
	t.Run("configuration file", func(t *testing.T) {
		// The [audit] and [attestation] sections as docs/deploy.md shows them.
		written := m.writeInfo(t, self, url)
		path := filepath.Join(t.TempDir(), "runtime.config.toml")
		writeTestFile(t, path, fmt.Appendf(nil, `[audit]
enclave_info = { path = %q }
auditor_signatures = [
  { path = %q },
]

[attestation]
url = %q
`, written.Audit.EnclaveInfo.Path, written.Audit.AuditorSignatures[0].Path, url))
		cfg, err := Load(path)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := productionTrust(ctx, cfg, attestation.ServiceScheduler, quiet(), fakeDeps(t, policy, self)); err != nil {
			t.Fatal(err)
		}
	})
	t.Run("tampered enclave info", func(t *testing.T) {
		cfg := m.writeInfo(t, self, url)
		info, err := os.ReadFile(cfg.Audit.EnclaveInfo.Path)
		if err != nil {
			t.Fatal(err)
		}
		// Another service's measurement: still well formed, no longer signed.
		tampered := bytes.Replace(info, []byte("0900000000"), []byte("0800000000"), 1)
		if bytes.Equal(tampered, info) {
			t.Fatal("test did not tamper")
		}
		writeTestFile(t, cfg.Audit.EnclaveInfo.Path, tampered)
		if _, err := productionTrust(ctx, cfg, attestation.ServiceStorage, quiet(), fakeDeps(t, policy, self)); err == nil {
			t.Fatal("tampered enclave info accepted")
		}
	})
	t.Run("tampered signature", func(t *testing.T) {
		cfg := m.writeInfo(t, self, url)
		sig, err := os.ReadFile(cfg.Audit.AuditorSignatures[0].Path)
		if err != nil {
			t.Fatal(err)
		}
		sig[len(sig)/2] ^= 1
		writeTestFile(t, cfg.Audit.AuditorSignatures[0].Path, sig)
		if _, err := productionTrust(ctx, cfg, attestation.ServiceStorage, quiet(), fakeDeps(t, policy, self)); err == nil {
			t.Fatal("tampered signature accepted")
		}
	})
	t.Run("signature file missing", func(t *testing.T) {
		cfg := m.writeInfo(t, self, url)
		cfg.Audit.AuditorSignatures[0].Path += ".missing"
		if _, err := productionTrust(ctx, cfg, attestation.ServiceStorage, quiet(), fakeDeps(t, policy, self)); err == nil {
			t.Fatal("missing signature accepted")
		}
	})
	t.Run("another binary", func(t *testing.T) {
		cfg := m.writeInfo(t, self, url)
		other := self
		other.MREnclave[0] ^= 1
		_, err := productionTrust(ctx, cfg, attestation.ServiceStorage, quiet(), fakeDeps(t, policy, other))
		if err == nil || !strings.Contains(err.Error(), "is not the teaclave_storage_service binary") {
			t.Fatalf("a binary the enclave info does not record: %v", err)
		}
	})
	t.Run("platform binary not recorded for every service", func(t *testing.T) {
		cfg := m.writeInfo(t, self, url)
		info := map[string]attestation.Measurement{attestation.ServiceAuthentication: self, attestation.ServiceFrontend: self}
		data, err := attestation.MarshalEnclaveInfo(info)
		if err != nil {
			t.Fatal(err)
		}
		sig, err := attestation.SignEnclaveInfo(data, m.auditor)
		if err != nil {
			t.Fatal(err)
		}
		writeTestFile(t, cfg.Audit.EnclaveInfo.Path, data)
		writeTestFile(t, cfg.Audit.AuditorSignatures[0].Path, sig)
		if _, err := productionTrust(ctx, cfg, AllInOne, quiet(), fakeDeps(t, policy, self)); err == nil || !strings.Contains(err.Error(), "lists no") {
			t.Fatalf("platform with partial enclave info: %v", err)
		}
		if _, err := productionTrust(ctx, cfg, attestation.ServiceFrontend, quiet(), fakeDeps(t, policy, self)); err != nil {
			t.Fatalf("frontend listed: %v", err)
		}
	})
	t.Run("configuration", func(t *testing.T) {
		for name, edit := range map[string]func(*Config){
			"no enclave info":        func(c *Config) { c.Audit.EnclaveInfo.Path = "" },
			"no signatures":          func(c *Config) { c.Audit.AuditorSignatures = nil },
			"empty signature path":   func(c *Config) { c.Audit.AuditorSignatures = []PathRef{{}} },
			"no attestation url":     func(c *Config) { c.Attestation.URL = "" },
			"bad attestation url":    func(c *Config) { c.Attestation.URL = "ftp://127.0.0.1" },
			"enclave info not found": func(c *Config) { c.Audit.EnclaveInfo.Path += ".missing" },
		} {
			cfg := m.writeInfo(t, self, url)
			edit(&cfg)
			if _, err := productionTrust(ctx, cfg, attestation.ServiceStorage, quiet(), fakeDeps(t, policy, self)); err == nil {
				t.Errorf("%s: accepted", name)
			}
		}
		cfg := m.writeInfo(t, self, url)
		for _, s := range []string{"teaclave_nonsense_service", attestation.ServiceAttestation} {
			if _, err := productionTrust(ctx, cfg, s, quiet(), fakeDeps(t, policy, self)); err == nil {
				t.Errorf("service %q accepted", s)
			}
		}
		deps := fakeDeps(t, policy, self)
		deps.cgo = false
		if _, err := productionTrust(ctx, cfg, attestation.ServiceStorage, quiet(), deps); !errors.Is(err, ErrNeedsCgo) {
			t.Errorf("without cgo: %v", err)
		}
	})
}

// TestProductionTrustOutsideSGX runs the real SGX steps here, where there
// is no enclave: the self report and attestation fail with an error, no
// panic, and no quote reaches the attestation service.
func TestProductionTrustOutsideSGX(t *testing.T) {
	var calls atomic.Int32
	endorserSrv := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		calls.Add(1)
		http.Error(w, "unexpected", http.StatusInternalServerError)
	}))
	defer endorserSrv.Close()

	m := newTestTrustMaterial(t)
	self := attestation.Measurement{MREnclave: [32]byte{1}, MRSigner: [32]byte{2}}
	cfg := m.writeInfo(t, self, endorserSrv.URL)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()

	// The real self report.
	deps := fakeDeps(t, m.policy(false, 1), self)
	deps.cgo = cgoBuild
	deps.self = sgx.SelfMeasurement
	_, err := productionTrust(ctx, cfg, attestation.ServiceStorage, quiet(), deps)
	if err == nil {
		t.Fatal("production trust loaded outside an enclave")
	}
	if cgoBuild && !strings.Contains(err.Error(), "not running in an SGX enclave") {
		t.Fatalf("outside an enclave: %v", err)
	}
	if !cgoBuild && !errors.Is(err, ErrNeedsCgo) {
		t.Fatalf("without cgo: %v", err)
	}

	// The real attestor, with the self check passed: attesting fails at
	// the quote.
	tr, err := productionTrust(ctx, cfg, attestation.ServiceStorage, quiet(), fakeDeps(t, m.policy(false, 1), self))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := tr.Attestor.Attest(ctx); err == nil {
		t.Fatal("attested outside an enclave")
	}
	if _, err := tr.Sealer.Key(ctx, "storage"); err != nil {
		t.Fatal(err)
	}
	if n := calls.Load(); n != 0 {
		t.Fatalf("attestation service called %d times without a quote", n)
	}
	if _, err := sgx.NewSealer().Key(ctx, "storage"); err == nil {
		t.Fatal("SGX sealer works outside an enclave")
	}
}

func quiet() *slog.Logger { return slog.New(slog.DiscardHandler) }
