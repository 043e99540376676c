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
