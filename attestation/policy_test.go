package attestation_test

import (
	"crypto/x509"
	"encoding/pem"
	"strings"
	"testing"
	"time"

	"github.com/teaclave-go/teaclave/attestation"
)

func rootPEM(t testing.TB, name string) string {
	return string(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: readFixture(t, name)}))
}

func auditorPEM(i int, pkcs1 bool) string {
	pub := &testKeys()[i].PublicKey
	if pkcs1 {
		return string(pem.EncodeToMemory(&pem.Block{Type: "RSA PUBLIC KEY", Bytes: x509.MarshalPKCS1PublicKey(pub)}))
	}
	der, _ := x509.MarshalPKIXPublicKey(pub)
	return string(pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: der}))
}

func policyTOML(t testing.TB, extra string) string {
	return `max_report_age = "24h"
accepted_statuses = ["OK", "SW_HARDENING_NEEDED"]
debug_allowed = true
auditor_threshold = 2
` + extra + `
[[root]]
name = "dcap"
simulated = false
certificate = """
` + rootPEM(t, "dcap_root_ca_cert.der") + `"""

[[auditor]]
name = "godzilla"
public_key = """
` + auditorPEM(3, true) + `"""

[[auditor]]
name = "optimus_prime"
public_key = """
` + auditorPEM(4, false) + `"""
`
}

func TestParsePolicy(t *testing.T) {
	p, err := attestation.ParsePolicy([]byte(policyTOML(t, "")))
	if err != nil {
		t.Fatal(err)
	}
	if p.MaxReportAge != 24*time.Hour || p.ClockSkew != time.Second || !p.DebugAllowed || p.AuditorThreshold != 2 ||
		len(p.Auditors) != 2 || len(p.Roots) != 1 || p.Roots[0].Simulated || p.Roots[0].Cert.Subject.CommonName != "Teaclave Root CA" ||
		!p.StatusAccepted("SW_HARDENING_NEEDED") || p.StatusAccepted("GROUP_OUT_OF_DATE") {
		t.Fatalf("policy %+v", p)
	}
	// The parsed policy verifies the v4 fixture.
	v, err := attestation.NewVerifier(p, nil)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := v.VerifyPeer(fixtureNow, [][]byte{readFixture(t, "tls_ra_cert_v4.der")}); err != nil {
		t.Fatal(err)
	}
	// Default topology (§1.2 plus management → authentication).
	for _, c := range []struct {
		caller, callee string
		ok             bool
	}{
		{attestation.ServiceFrontend, attestation.ServiceAuthentication, true},
		{attestation.ServiceManagement, attestation.ServiceAuthentication, true},
		{attestation.ServiceScheduler, attestation.ServiceAuthentication, false},
		{attestation.ServiceFrontend, attestation.ServiceManagement, true},
		{attestation.ServiceFrontend, attestation.ServiceAccessControl, true},
		{attestation.ServiceManagement, attestation.ServiceAccessControl, true},
		{attestation.ServiceManagement, attestation.ServiceStorage, true},
		{attestation.ServiceScheduler, attestation.ServiceStorage, true},
		{attestation.ServiceFrontend, attestation.ServiceStorage, false},
		{attestation.ServiceExecution, attestation.ServiceScheduler, true},
		{attestation.ServiceExecution, attestation.ServiceStorage, false},
		{attestation.ServiceStorage, attestation.ServiceStorage, false},
		{"", attestation.ServiceStorage, false},
	} {
		if got := p.Allowed(c.caller, c.callee); got != c.ok {
			t.Errorf("Allowed(%s, %s) = %v", c.caller, c.callee, got)
		}
	}
}

func TestParsePolicyDefaultsAndTopology(t *testing.T) {
	in := strings.Replace(policyTOML(t, `clock_skew = "5s"`), `accepted_statuses = ["OK", "SW_HARDENING_NEEDED"]`, "", 1) +
		"\n[topology]\nteaclave_storage_service = [\"teaclave_frontend_service\"]\n"
	p, err := attestation.ParsePolicy([]byte(in))
	if err != nil {
		t.Fatal(err)
	}
	if !p.StatusAccepted("OK") || p.StatusAccepted("SW_HARDENING_NEEDED") || p.ClockSkew != 5*time.Second {
		t.Fatalf("defaults: %+v", p)
	}
	if !p.Allowed(attestation.ServiceFrontend, attestation.ServiceStorage) || p.Allowed(attestation.ServiceManagement, attestation.ServiceStorage) ||
		p.Allowed(attestation.ServiceFrontend, attestation.ServiceManagement) {
		t.Fatal("topology table does not replace the default")
	}
}

func TestParsePolicyRefusals(t *testing.T) {
	good := policyTOML(t, "")
	for _, tc := range []struct {
		name string
		in   string
		want error
	}{
		{"unknown key", policyTOML(t, "max_age = 3"), attestation.ErrInvalidPolicy},
		{"no max age", strings.Replace(good, `max_report_age = "24h"`, "", 1), attestation.ErrInvalidPolicy},
		{"zero max age", strings.Replace(good, `"24h"`, `"0s"`, 1), attestation.ErrInvalidPolicy},
		{"max age above certificate lifetime", strings.Replace(good, `"24h"`, `"2400h"`, 1), attestation.ErrInvalidPolicy},
		{"unknown status", strings.Replace(good, `"SW_HARDENING_NEEDED"]`, `"FINE"]`, 1), attestation.ErrInvalidPolicy},
		{"empty statuses", strings.Replace(good, `["OK", "SW_HARDENING_NEEDED"]`, `[]`, 1), attestation.ErrInvalidPolicy},
		{"simulated unsaid", strings.Replace(good, "simulated = false\n", "", 1), attestation.ErrInvalidPolicy},
		{"no root", good[:strings.Index(good, "[[root]]")] + good[strings.Index(good, "[[auditor]]"):], attestation.ErrInvalidPolicy},
		{"threshold zero", strings.Replace(good, "auditor_threshold = 2", "auditor_threshold = 0", 1), attestation.ErrInvalidPolicy},
		{"threshold above auditors", strings.Replace(good, "auditor_threshold = 2", "auditor_threshold = 3", 1), attestation.ErrInvalidPolicy},
		{"root not PEM", strings.Replace(good, "BEGIN CERTIFICATE", "BEGIN STUFF", 1), attestation.ErrInvalidPolicy},
		{"auditor key twice", strings.Replace(good, auditorPEM(4, false), auditorPEM(3, false), 1), attestation.ErrInvalidPolicy},
		{"not TOML", "{", attestation.ErrInvalidPolicy},
		{"production with simulated root", strings.Replace(policyTOML(t, "production = true"), "simulated = false", "simulated = true", 1), attestation.ErrSimulatedRoot},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := attestation.ParsePolicy([]byte(tc.in))
			assertRefused(t, err, tc.want)
		})
	}
}
