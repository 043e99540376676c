//go:build !teaclave_production

package deploy

import (
	"context"
	"errors"
	"log/slog"
)

// ProductionTrust is not available in development builds: production
// trust is compiled in from ProductionPolicyFile and attests with SGX, in
// binaries built with the tag teaclave_production (docs/sgx.md).
// Development processes use DevelopmentTrust or DevelopmentServiceTrust.
func ProductionTrust(context.Context, Config, string, *slog.Logger) (*Trust, error) {
	return nil, errors.New("deploy: production trust needs a build with -tags teaclave_production (docs/sgx.md)")
}
