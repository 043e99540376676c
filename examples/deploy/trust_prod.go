//go:build teaclave_production

package deploy

import (
	"context"
	"errors"
	"log/slog"
)

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
