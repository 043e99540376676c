//go:build !teaclave_production

package deploy

import (
	"context"
	"strings"
	"testing"

	"github.com/teaclave-go/teaclave/attestation"
)

// TestProductionTrustNeedsProductionBuild: development builds have the
// name, and refuse.
func TestProductionTrustNeedsProductionBuild(t *testing.T) {
	_, err := ProductionTrust(context.Background(), Default(), attestation.ServiceStorage, nil)
	if err == nil || !strings.Contains(err.Error(), "teaclave_production") {
		t.Fatalf("ProductionTrust in a development build: %v", err)
	}
}
