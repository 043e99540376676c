package deploy

import (
	"context"
	"crypto/x509"
	_ "embed" // the compiled-in production policy
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"strings"
	"time"

	"github.com/BurntSushi/toml"

	"github.com/teaclave-go/teaclave/attestation"
	"github.com/teaclave-go/teaclave/attestation/endorser"
)

// productionPolicyTOML is the compiled-in trust of production builds:
// roots, auditor keys, threshold, accepted statuses, report age and
// topology. It is part of the binary, and so of its measurement; nothing
// at run time can change it.
//
//go:embed policy/production.toml
var productionPolicyTOML string

// ProductionPolicyFile is where the production policy lives in the
// source tree; it is embedded in every production build.
const ProductionPolicyFile = "examples/deploy/policy/production.toml"

// AllInOne is the service name ProductionTrust takes for the all-in-one
// platform, whose one binary is every service.
const AllInOne = ""

var (
	// ErrNoCompiledInRoot is returned by production builds whose embedded
	// policy names no attestation root (the shipped template).
	ErrNoCompiledInRoot = errors.New("no attestation root compiled in: edit " + ProductionPolicyFile + " and rebuild (docs/sgx.md)")
	// ErrNoCompiledInAuditor is returned by production builds whose
	// embedded policy names no auditor.
	ErrNoCompiledInAuditor = errors.New("no auditor key compiled in: edit " + ProductionPolicyFile + " and rebuild (docs/sgx.md)")
	// ErrNeedsCgo is returned by production builds made without cgo: EGo,
	// and with it SGX attestation and sealing, needs cgo.
	ErrNeedsCgo = errors.New("SGX needs cgo: build with ego-go build (CGO_ENABLED=1) (docs/sgx.md)")
)

// productionPolicy parses a compiled-in production policy. It fails closed:
// a policy without a root or an auditor, or with a template placeholder
// left in, is refused with an error naming the file to edit; simulated
// roots are refused.
func productionPolicy(data string) (*attestation.Policy, error) {
	var shape struct {
		Root    []map[string]any `toml:"root"`
		Auditor []map[string]any `toml:"auditor"`
	}
	if _, err := toml.Decode(data, &shape); err != nil {
		return nil, fmt.Errorf("deploy: compiled-in policy %s: %w", ProductionPolicyFile, err)
	}
	if strings.Contains(data, "{{") {
		return nil, fmt.Errorf("deploy: compiled-in policy %s still holds a template placeholder ({{...}}): %w", ProductionPolicyFile, ErrNoCompiledInRoot)
	}
	if len(shape.Root) == 0 {
		return nil, fmt.Errorf("deploy: %w", ErrNoCompiledInRoot)
	}
	if len(shape.Auditor) == 0 {
		return nil, fmt.Errorf("deploy: %w", ErrNoCompiledInAuditor)
	}
	p, err := attestation.ParsePolicy([]byte(data))
	if err != nil {
		return nil, fmt.Errorf("deploy: compiled-in policy %s: %w", ProductionPolicyFile, err)
	}
	// ParsePolicy refuses simulated roots in production builds; this
	// policy is the production one whatever the build.
	p.Production = true
	for _, r := range p.Roots {
		if r.Simulated {
			return nil, fmt.Errorf("deploy: compiled-in policy %s: %w: root %q", ProductionPolicyFile, attestation.ErrSimulatedRoot, r.Name)
		}
	}
	// A production deployment never trusts a debug enclave (its memory is
	// readable by the host) nor a quote whose signing key or platform is
	// revoked or whose status the endorser could not name.
	if p.DebugAllowed {
		return nil, fmt.Errorf("deploy: compiled-in policy %s allows debug enclaves: production policies may not", ProductionPolicyFile)
	}
	for _, st := range p.AcceptedStatuses {
		switch st {
		case attestation.StatusSignatureInvalid, attestation.StatusGroupRevoked, attestation.StatusSignatureRevoked,
			attestation.StatusKeyRevoked, attestation.StatusSigRLVersionMismatch, attestation.StatusUnspecified:
			return nil, fmt.Errorf("deploy: compiled-in policy %s accepts quote status %s: production policies may not", ProductionPolicyFile, st)
		}
	}
	return p, nil
}

// productionDeps are what productionTrust takes from the SGX runtime;
// tests replace them to run without SGX.
type productionDeps struct {
	// policy is the compiled-in policy (TOML).
	policy string
	// cgo reports whether the build has cgo, which EGo needs.
	cgo bool
	// self returns this enclave's measurement.
	self func(context.Context) (attestation.Measurement, error)
	// newAttestor makes the attestor that has quotes endorsed by e.
	newAttestor func(e attestation.Endorser, maxReportAge time.Duration) (attestation.Attestor, error)
	// sealer is the enclave's sealer.
	sealer attestation.Sealer
}

// productionTrust builds a production process's trust: the compiled-in
// policy, the enclave info and auditor signatures named in cfg.Audit
// verified under it, a check that this enclave is the binary the enclave
// info records for service (every service for AllInOne), the attestor
// that has quotes endorsed at cfg.Attestation.URL, and the sealer.
func productionTrust(ctx context.Context, cfg Config, service string, logger *slog.Logger, deps productionDeps) (*Trust, error) {
	if logger == nil {
		logger = slog.Default()
	}
	if !deps.cgo {
		return nil, fmt.Errorf("deploy: %w", ErrNeedsCgo)
	}
	services := []string{service}
	if service == AllInOne {
		services = slices.DeleteFunc(attestation.Services(), func(s string) bool { return s == attestation.ServiceAttestation })
	} else if !slices.Contains(attestation.Services(), service) || service == attestation.ServiceAttestation {
		return nil, fmt.Errorf("deploy: unknown service %q", service)
	}
	policy, err := productionPolicy(deps.policy)
	if err != nil {
		return nil, err
	}
	infoPath := cfg.Audit.EnclaveInfo.Path
	if infoPath == "" {
		return nil, errors.New("deploy: [audit] enclave_info is not set: production builds load the auditor-signed enclave info from the file it names (docs/deploy.md)")
	}
	if len(cfg.Audit.AuditorSignatures) == 0 {
		return nil, errors.New("deploy: [audit] auditor_signatures is not set: production builds load the auditors' signatures over the enclave info from the files it names (docs/deploy.md)")
	}
	sigPaths := make([]string, 0, len(cfg.Audit.AuditorSignatures))
	for i, ref := range cfg.Audit.AuditorSignatures {
		if ref.Path == "" {
			return nil, fmt.Errorf("deploy: [audit] auditor_signatures[%d] has no path", i)
		}
		sigPaths = append(sigPaths, ref.Path)
	}
	if cfg.Attestation.URL == "" {
		return nil, errors.New("deploy: [attestation] url is not set: production builds have their quotes endorsed by the attestation service it names (docs/sgx.md)")
	}
	v, err := loadVerifierFrom(infoPath, sigPaths, policy)
	if err != nil {
		return nil, err
	}
	info := v.EnclaveInfo()
	self, err := deps.self(ctx)
	if err != nil {
		return nil, fmt.Errorf("deploy: not running in an SGX enclave (start it with `ego run`, docs/sgx.md): %w", err)
	}
	for _, s := range services {
		want, ok := info.Identity(s)
		if !ok {
			return nil, fmt.Errorf("deploy: enclave info %s lists no %s", infoPath, s)
		}
		if want.Measurement() != self {
			return nil, fmt.Errorf("deploy: this enclave (%s) is not the %s binary enclave info %s records (%s): rebuild from the audited source, or have the enclave info of this build signed", self, s, infoPath, want.Measurement())
		}
	}
	roots := policyRootPool(policy)
	client, err := endorser.NewClient(endorser.ClientConfig{URL: cfg.Attestation.URL, Roots: roots, Policy: policy})
	if err != nil {
		return nil, fmt.Errorf("deploy: [attestation] url: %w", err)
	}
	a, err := deps.newAttestor(client, policy.MaxReportAge)
	if err != nil {
		return nil, fmt.Errorf("deploy: attestor: %w", err)
	}
	logger.Info("production trust loaded", "component", "production-trust", "enclave_info", infoPath,
		"services", strings.Join(services, ","), "measurement", self.String(), "attestation_service", cfg.Attestation.URL)
	return &Trust{
		Policy:   policy,
		Info:     info,
		Verifier: v,
		Attestor: a,
		Sealer:   deps.sealer,
	}, nil
}

// policyRootPool returns the policy's roots as a certificate pool: the
// endorser's TLS certificate is issued under its root.
func policyRootPool(p *attestation.Policy) *x509.CertPool {
	pool := x509.NewCertPool()
	for _, r := range p.Roots {
		pool.AddCert(r.Cert)
	}
	return pool
}
