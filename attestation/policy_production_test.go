//go:build teaclave_production

package attestation_test

import (
	"strings"
	"testing"

	"github.com/teaclave-go/teaclave/attestation"
)

// TestProductionBuildRefusesSimulatedRoot: in production builds a simulated
// root is refused even by a policy that does not say production = true.
func TestProductionBuildRefusesSimulatedRoot(t *testing.T) {
	if !attestation.ProductionBuild {
		t.Fatal("ProductionBuild is false under the teaclave_production tag")
	}
	in := strings.Replace(policyTOML(t, ""), "simulated = false", "simulated = true", 1)
	_, err := attestation.ParsePolicy([]byte(in))
	assertRefused(t, err, attestation.ErrSimulatedRoot)
	p := testPolicy()
	p.Roots[0].Simulated = true
	_, err = attestation.NewVerifier(p, nil)
	assertRefused(t, err, attestation.ErrSimulatedRoot)
}
