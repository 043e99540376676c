//go:build teaclave_production

package deploy

import (
	"context"
	"errors"
	"log/slog"

	"github.com/teaclave-go/teaclave/attestation/sgx"
)

// ProductionTrust loads the trust of a production process running in an
// EGo enclave: the policy compiled in from ProductionPolicyFile (roots,
// auditor keys, threshold, accepted statuses, report age, topology), the
// enclave info and auditor signatures named in cfg's [audit], verified
// against the compiled-in auditors and threshold, a check that this
// enclave is the binary the enclave info records for service (an
// attestation.Service* name, or AllInOne for the all-in-one platform,
// which must be recorded as every service), the SGX attestor that has its
// quotes endorsed by the attestation service at cfg's [attestation] url,
// and the SGX sealer (EGo's product seal key).
//
// It fails closed: while the compiled-in policy names no root or no
// auditor (the shipped template) it returns ErrNoCompiledInRoot or
// ErrNoCompiledInAuditor; a build without cgo returns ErrNeedsCgo; outside
// an enclave it fails at the self report.
func ProductionTrust(ctx context.Context, cfg Config, service string, logger *slog.Logger) (*Trust, error) {
	return productionTrust(ctx, cfg, service, logger, productionDeps{
		policy:      productionPolicyTOML,
		cgo:         cgoBuild,
		self:        sgx.SelfMeasurement,
		newAttestor: sgx.NewAttestor,
		sealer:      sgx.NewSealer(),
	})
}

// DevelopmentTrust is not available in production builds: a production
// platform takes its roots and auditor keys from compiled-in values and its
// evidence from SGX (docs/sgx.md).
func DevelopmentTrust(context.Context, string, *slog.Logger) (*Trust, error) {
	return nil, errors.New("deploy: production builds have no development trust; build the platform for SGX (docs/sgx.md)")
}

// WriteDevelopmentEnclaveInfo is not available in production builds: the
// enclave info of SGX binaries is written from their signed measurements
// and signed by the auditors (docs/sgx.md).
func WriteDevelopmentEnclaveInfo(string, map[string]string) error {
	return errors.New("deploy: production builds write no development enclave info")
}

// DevelopmentServiceTrust is not available in production builds.
func DevelopmentServiceTrust(context.Context, Config, string, *slog.Logger) (*Trust, error) {
	return nil, errors.New("deploy: production builds have no development trust; build the services for SGX (docs/sgx.md)")
}
