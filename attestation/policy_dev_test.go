//go:build !teaclave_production

package attestation_test

import (
	"strings"
	"testing"
	"time"

	"github.com/teaclave-go/teaclave/attestation"
)

// TestDevelopmentPolicyAcceptsSimulatedRoot: outside production a policy may
// list a simulated root, and reports it verifies are marked simulated.
func TestDevelopmentPolicyAcceptsSimulatedRoot(t *testing.T) {
	in := strings.Replace(policyTOML(t, ""), "simulated = false", "simulated = true", 1)
	p, err := attestation.ParsePolicy([]byte(in))
	if err != nil || !p.Roots[0].Simulated || p.Production {
		t.Fatalf("%+v %v", p, err)
	}
	tp := testPolicy()
	tp.Roots[0].Simulated = true
	v, err := attestation.NewVerifier(tp, nil)
	if err != nil {
		t.Fatal(err)
	}
	r, err := v.VerifyPeer(t0.Add(time.Minute), [][]byte{makeCert(t, evidence{m: measurement("x")})})
	if err != nil || !r.Simulated {
		t.Fatalf("%+v %v", r, err)
	}
}
