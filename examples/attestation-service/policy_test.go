package main

import (
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/pem"
	"os"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/teaclave-go/teaclave/attestation"
	"github.com/teaclave-go/teaclave/attestation/endorser"
)

// TestSGXPolicyTemplate fills policy.sgx.toml as docs/sgx.md says and
// checks the result: the endorser's root, not simulated, a production
// policy, OK and SW_HARDENING_NEEDED accepted and nothing else.
func TestSGXPolicyTemplate(t *testing.T) {
	tmpl, err := os.ReadFile("policy.sgx.toml")
	if err != nil {
		t.Fatal(err)
	}
	id, err := endorser.NewIdentity(endorser.IdentityOptions{KeyBits: 2048})
	if err != nil {
		t.Fatal(err)
	}
	r := []string{"{{ROOT_PEM}}", string(id.RootPEM())}
	for _, n := range []string{"1", "2", "3"} {
		k, err := rsa.GenerateKey(rand.Reader, 2048)
		if err != nil {
			t.Fatal(err)
		}
		der, _ := x509.MarshalPKIXPublicKey(&k.PublicKey)
		r = append(r, "{{AUDITOR_"+n+"_PUBLIC_PEM}}", string(pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: der})))
	}
	filled := strings.NewReplacer(r...).Replace(string(tmpl))
	if strings.Contains(filled, "{{") {
		t.Fatal("placeholder left")
	}
	p, err := attestation.ParsePolicy([]byte(filled))
	if err != nil {
		t.Fatal(err)
	}
	if len(p.Roots) != 1 || p.Roots[0].Simulated || !p.Roots[0].Cert.Equal(id.Root) || !p.Production || p.DebugAllowed ||
		!slices.Equal(p.AcceptedStatuses, attestation.SGXStatuses()) || p.MaxReportAge != 24*time.Hour || p.AuditorThreshold != 2 {
		t.Fatalf("policy %+v", p)
	}
	for _, s := range attestation.KnownStatuses() {
		if p.StatusAccepted(s) != slices.Contains(attestation.SGXStatuses(), s) {
			t.Errorf("status %s accepted: %v", s, p.StatusAccepted(s))
		}
	}
	// The development endorser's root marked simulated is refused by it.
	dev := strings.Replace(filled, "simulated = false", "simulated = true", 1)
	if _, err := attestation.ParsePolicy([]byte(dev)); err == nil {
		t.Fatal("production policy with a simulated root")
	}
}
