package attestation

import (
	"crypto/rsa"
	"crypto/x509"
	"encoding/pem"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/BurntSushi/toml"
)

// Root is an accepted attestation-service root certificate. Simulation is a
// property of the root: a report is simulated if and only if the root that
// verified it is marked Simulated.
type Root struct {
	Name      string
	Cert      *x509.Certificate
	Simulated bool
}

// Auditor is an auditor whose signature over enclave_info.toml counts
// towards the policy's threshold.
type Auditor struct {
	Name string
	Key  *rsa.PublicKey
}

// Policy is what a binary trusts. It is compiled in: built in code, or
// parsed from embedded bytes with ParsePolicy, never read from runtime
// configuration (development builds may add a simulated root and
// development auditors their platform created).
type Policy struct {
	// Roots are the accepted attestation-service roots; at least one.
	Roots []Root
	// Auditors and AuditorThreshold: enclave info loads only with valid
	// signatures of at least AuditorThreshold distinct Auditors (at least
	// one; with no auditors no enclave info ever loads).
	Auditors         []Auditor
	AuditorThreshold int
	// AcceptedStatuses are the quote statuses accepted; empty means
	// DefaultStatuses (OK only). SGX deployments use SGXStatuses.
	AcceptedStatuses []string
	// MaxReportAge is the age after which a report is refused; required.
	MaxReportAge time.Duration
	// ClockSkew is how far a report or certificate may be dated after the
	// verifier's clock; zero means DefaultClockSkew.
	ClockSkew time.Duration
	// DebugAllowed accepts debug enclaves (whose memory the host can read).
	DebugAllowed bool
	// Production refuses simulated roots. Production builds
	// (ProductionBuild) refuse them whatever this says.
	Production bool
	// Topology is the inbound lists; nil means DefaultTopology.
	Topology Topology
}

// DefaultClockSkew is the clock skew a policy tolerates unless it says
// otherwise: as Teaclave, a report dated a second or more after the
// verifier's clock is refused.
const DefaultClockSkew = time.Second

// Validate checks p for consistency.
func (p *Policy) Validate() error {
	bad := func(format string, a ...any) error {
		return fmt.Errorf("%w: %s", ErrInvalidPolicy, fmt.Sprintf(format, a...))
	}
	if len(p.Roots) == 0 {
		return bad("no accepted root")
	}
	for i, r := range p.Roots {
		if r.Cert == nil {
			return bad("root %d (%q) has no certificate", i, r.Name)
		}
		if r.Simulated && (ProductionBuild || p.Production) {
			return fmt.Errorf("%w: root %q", ErrSimulatedRoot, r.Name)
		}
	}
	known := KnownStatuses()
	for _, s := range p.AcceptedStatuses {
		if !slices.Contains(known, s) {
			return bad("unknown quote status %q", s)
		}
	}
	if p.MaxReportAge <= 0 {
		return bad("maximum report age must be positive")
	}
	if p.MaxReportAge > CertificateLifetime {
		return bad("maximum report age exceeds the certificate lifetime")
	}
	if p.ClockSkew < 0 || p.ClockSkew > 10*time.Minute {
		return bad("clock skew must be between 0 and 10m")
	}
	for i, a := range p.Auditors {
		if a.Key == nil {
			return bad("auditor %d (%q) has no key", i, a.Name)
		}
		if bits := a.Key.N.BitLen(); bits < 2048 || bits > 8192 {
			return bad("auditor %q key has %d bits, want 2048 to 8192", a.Name, bits)
		}
		for _, b := range p.Auditors[:i] {
			if b.Key.Equal(a.Key) {
				return bad("auditors %q and %q have the same key", b.Name, a.Name)
			}
		}
	}
	if len(p.Auditors) > 0 && (p.AuditorThreshold < 1 || p.AuditorThreshold > len(p.Auditors)) {
		return bad("auditor threshold %d, want 1 to %d", p.AuditorThreshold, len(p.Auditors))
	}
	if len(p.Auditors) == 0 && p.AuditorThreshold != 0 {
		return bad("auditor threshold %d without auditors", p.AuditorThreshold)
	}
	for callee, callers := range p.Topology {
		if callee == "" || slices.Contains(callers, "") {
			return bad("empty service name in topology")
		}
	}
	return nil
}

// Allowed reports whether caller may call callee's internal endpoint.
func (p *Policy) Allowed(caller, callee string) bool {
	return p.topology().Allowed(caller, callee)
}

func (p *Policy) topology() Topology {
	if p.Topology == nil {
		return DefaultTopology()
	}
	return p.Topology
}

// StatusAccepted reports whether a quote status is accepted.
func (p *Policy) StatusAccepted(status string) bool {
	if len(p.AcceptedStatuses) == 0 {
		return status == StatusOK
	}
	return slices.Contains(p.AcceptedStatuses, status)
}

// VerifyEndorsement checks an endorsed report's signing chain against the
// policy's roots at now and its signature over the report bytes, and
// returns the root it chains to. It does not look at the report's content.
func (p *Policy) VerifyEndorsement(now time.Time, e *EndorsedReport) (Root, error) {
	res, err := verifyEndorsement(now, newRootPools(p.Roots), e, nil)
	return res.root, err
}

// clone returns a deep copy with defaults filled in.
func (p *Policy) clone() *Policy {
	c := *p
	c.Roots = slices.Clone(p.Roots)
	c.Auditors = slices.Clone(p.Auditors)
	c.AcceptedStatuses = slices.Clone(p.AcceptedStatuses)
	if len(c.AcceptedStatuses) == 0 {
		c.AcceptedStatuses = DefaultStatuses()
	}
	c.Topology = p.topology().Clone()
	if c.ClockSkew == 0 {
		c.ClockSkew = DefaultClockSkew
	}
	return &c
}

// maxPolicySize bounds ParsePolicy's input.
const maxPolicySize = 1 << 20

type policyFile struct {
	Production       bool                `toml:"production"`
	MaxReportAge     string              `toml:"max_report_age"`
	ClockSkew        *string             `toml:"clock_skew"`
	DebugAllowed     bool                `toml:"debug_allowed"`
	AcceptedStatuses []string            `toml:"accepted_statuses"`
	AuditorThreshold int                 `toml:"auditor_threshold"`
	Roots            []policyRoot        `toml:"root"`
	Auditors         []policyAuditor     `toml:"auditor"`
	Topology         map[string][]string `toml:"topology"`
}

type policyRoot struct {
	Name        string `toml:"name"`
	Simulated   *bool  `toml:"simulated"`
	Certificate string `toml:"certificate"`
}

type policyAuditor struct {
	Name      string `toml:"name"`
	PublicKey string `toml:"public_key"`
}

// ParsePolicy parses a policy from TOML, meant to be embedded in the binary:
//
//	max_report_age = "24h"                         # required (Go duration)
//	clock_skew = "1s"                              # optional, default 1s (DefaultClockSkew)
//	debug_allowed = false                          # optional
//	accepted_statuses = ["OK", "SW_HARDENING_NEEDED"]  # optional, default ["OK"]
//	production = true                              # refuse simulated roots (always so in production builds)
//	auditor_threshold = 2                          # required with auditors
//
//	[[root]]
//	name = "teaclave attestation service"
//	simulated = false                              # required
//	certificate = """-----BEGIN CERTIFICATE----- ..."""
//
//	[[auditor]]
//	name = "godzilla"
//	public_key = """-----BEGIN RSA PUBLIC KEY----- ..."""  # or PUBLIC KEY (PKIX)
//
//	[topology]                                     # optional: replaces DefaultTopology
//	teaclave_storage_service = ["teaclave_management_service", "teaclave_scheduler_service"]
//
// Unknown keys are refused. The result is validated.
func ParsePolicy(data []byte) (*Policy, error) {
	if len(data) > maxPolicySize {
		return nil, fmt.Errorf("%w: policy larger than %d bytes", ErrInvalidPolicy, maxPolicySize)
	}
	var f policyFile
	md, err := toml.Decode(string(data), &f)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrInvalidPolicy, err)
	}
	if und := md.Undecoded(); len(und) > 0 {
		return nil, fmt.Errorf("%w: unknown key %q", ErrInvalidPolicy, und[0].String())
	}
	p := &Policy{
		AuditorThreshold: f.AuditorThreshold,
		AcceptedStatuses: f.AcceptedStatuses,
		DebugAllowed:     f.DebugAllowed,
		Production:       f.Production || ProductionBuild,
		ClockSkew:        DefaultClockSkew,
	}
	if f.MaxReportAge == "" {
		return nil, fmt.Errorf("%w: max_report_age is required", ErrInvalidPolicy)
	}
	if p.MaxReportAge, err = time.ParseDuration(f.MaxReportAge); err != nil {
		return nil, fmt.Errorf("%w: max_report_age: %w", ErrInvalidPolicy, err)
	}
	if f.ClockSkew != nil {
		if p.ClockSkew, err = time.ParseDuration(*f.ClockSkew); err != nil {
			return nil, fmt.Errorf("%w: clock_skew: %w", ErrInvalidPolicy, err)
		}
	}
	if md.IsDefined("accepted_statuses") && len(f.AcceptedStatuses) == 0 {
		return nil, fmt.Errorf("%w: accepted_statuses is empty", ErrInvalidPolicy)
	}
	for i, r := range f.Roots {
		if r.Simulated == nil {
			return nil, fmt.Errorf("%w: root %d (%q) must say simulated = true or false", ErrInvalidPolicy, i, r.Name)
		}
		der, err := singlePEM(r.Certificate, "CERTIFICATE")
		if err != nil {
			return nil, fmt.Errorf("%w: root %d (%q): %w", ErrInvalidPolicy, i, r.Name, err)
		}
		cert, err := x509.ParseCertificate(der)
		if err != nil {
			return nil, fmt.Errorf("%w: root %d (%q): %w", ErrInvalidPolicy, i, r.Name, err)
		}
		p.Roots = append(p.Roots, Root{Name: r.Name, Cert: cert, Simulated: *r.Simulated})
	}
	for i, a := range f.Auditors {
		if a.Name == "" {
			return nil, fmt.Errorf("%w: auditor %d has no name", ErrInvalidPolicy, i)
		}
		key, err := ParseRSAPublicKeyPEM([]byte(a.PublicKey))
		if err != nil {
			return nil, fmt.Errorf("%w: auditor %q: %w", ErrInvalidPolicy, a.Name, err)
		}
		p.Auditors = append(p.Auditors, Auditor{Name: a.Name, Key: key})
	}
	if f.Topology != nil {
		p.Topology = Topology(f.Topology)
	}
	if err := p.Validate(); err != nil {
		return nil, err
	}
	return p, nil
}

// singlePEM decodes exactly one PEM block of the given type, with nothing
// but white space around it.
func singlePEM(s, typ string) ([]byte, error) {
	block, rest := pem.Decode([]byte(s))
	if block == nil {
		return nil, fmt.Errorf("no PEM block")
	}
	if block.Type != typ {
		return nil, fmt.Errorf("PEM block is %q, want %q", block.Type, typ)
	}
	if strings.TrimSpace(string(rest)) != "" {
		return nil, fmt.Errorf("data after the PEM block")
	}
	return block.Bytes, nil
}

// ParseRSAPublicKeyPEM parses one RSA public key as PEM, either PKCS#1
// ("RSA PUBLIC KEY", as Teaclave's auditor keys) or PKIX ("PUBLIC KEY").
func ParseRSAPublicKeyPEM(data []byte) (*rsa.PublicKey, error) {
	block, rest := pem.Decode(data)
	if block == nil {
		return nil, fmt.Errorf("no PEM block")
	}
	if strings.TrimSpace(string(rest)) != "" {
		return nil, fmt.Errorf("data after the PEM block")
	}
	switch block.Type {
	case "RSA PUBLIC KEY":
		return x509.ParsePKCS1PublicKey(block.Bytes)
	case "PUBLIC KEY":
		k, err := x509.ParsePKIXPublicKey(block.Bytes)
		if err != nil {
			return nil, err
		}
		rk, ok := k.(*rsa.PublicKey)
		if !ok {
			return nil, fmt.Errorf("public key is %T, want RSA", k)
		}
		return rk, nil
	}
	return nil, fmt.Errorf("PEM block is %q, want RSA PUBLIC KEY or PUBLIC KEY", block.Type)
}
