package attestation

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"time"
)

// Quoter produces enclave evidence whose report data is reportData (SGX:
// EGo's remote report around a DCAP quote; simulation: a software quote).
type Quoter interface {
	Quote(ctx context.Context, reportData [64]byte) ([]byte, error)
}

// Endorser is an attestation service: it checks a quote and returns the
// signed report JSON, its signature and the signing chain.
type Endorser interface {
	Endorse(ctx context.Context, quote []byte) (*EndorsedReport, error)
}

// Attestor produces the attested TLS credential of this enclave.
type Attestor interface {
	// Attest makes a fresh ECDSA P-256 key, obtains endorsed evidence whose
	// report data is the key's X‖Y, and returns the RA-TLS certificate.
	Attest(ctx context.Context) (*Credential, error)
}

// Credential is an attested TLS identity.
type Credential struct {
	// Certificate holds the RA-TLS certificate (Leaf set) and its private
	// key, ready for tls.Config.GetCertificate/GetClientCertificate.
	Certificate tls.Certificate
	// Report is this enclave's endorsed report as the attestation service
	// signed it.
	Report *ServiceReport
	// Expires is when peers stop accepting the certificate (report
	// timestamp plus the maximum report age, or the certificate's end if
	// earlier).
	Expires time.Time
	// RefreshAt is when to replace it: halfway through the report's
	// validity, so a slow attestation service leaves time to retry.
	RefreshAt time.Time
}

// AttestorConfig configures NewAttestor.
type AttestorConfig struct {
	// MaxReportAge is the policy's maximum report age; required.
	MaxReportAge time.Duration
	// Now is the clock; nil means time.Now.
	Now func() time.Time
}

type attestor struct {
	q   Quoter
	e   Endorser
	cfg AttestorConfig
}

// NewAttestor returns an Attestor that gets evidence from q, has it endorsed
// by e and wraps it in Teaclave's RA-TLS certificate.
func NewAttestor(q Quoter, e Endorser, cfg AttestorConfig) (Attestor, error) {
	if q == nil || e == nil {
		return nil, fmt.Errorf("attestation: attestor needs a quoter and an endorser")
	}
	if cfg.MaxReportAge <= 0 {
		return nil, fmt.Errorf("attestation: attestor needs a positive maximum report age")
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	return &attestor{q: q, e: e, cfg: cfg}, nil
}

// ReportData returns the report data binding an ECDSA P-256 key: X‖Y,
// 32 bytes each, big-endian.
func ReportData(pub *ecdsa.PublicKey) ([64]byte, error) {
	var rd [64]byte
	if pub == nil || pub.Curve != elliptic.P256() {
		return rd, fmt.Errorf("attestation: key is not ECDSA P-256")
	}
	b, err := pub.Bytes()
	if err != nil {
		return rd, fmt.Errorf("attestation: %w", err)
	}
	copy(rd[:], b[1:])
	return rd, nil
}

func (a *attestor) Attest(ctx context.Context) (*Credential, error) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, fmt.Errorf("attestation: generate key: %w", err)
	}
	rd, err := ReportData(&key.PublicKey)
	if err != nil {
		return nil, err
	}
	quote, err := a.q.Quote(ctx, rd)
	if err != nil {
		return nil, fmt.Errorf("attestation: quote: %w", err)
	}
	ev, err := a.e.Endorse(ctx, quote)
	if err != nil {
		return nil, fmt.Errorf("attestation: endorse: %w", err)
	}
	sr, err := ParseServiceReport(ev.Report)
	if err != nil {
		return nil, fmt.Errorf("attestation: endorsed report: %w", err)
	}
	if sr.Quote.ReportData != rd {
		return nil, fmt.Errorf("attestation: endorsed report: %w", ErrKeyMismatch)
	}
	now := a.cfg.Now()
	der, err := CreateCertificate(key, ev, now)
	if err != nil {
		return nil, err
	}
	leaf, err := x509.ParseCertificate(der)
	if err != nil {
		return nil, fmt.Errorf("attestation: parse own certificate: %w", err)
	}
	expires := earliest(sr.Timestamp.Add(a.cfg.MaxReportAge), leaf.NotAfter)
	start := latest(sr.Timestamp, leaf.NotBefore)
	return &Credential{
		Certificate: tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key, Leaf: leaf},
		Report:      sr,
		Expires:     expires,
		RefreshAt:   start.Add(expires.Sub(start) / 2),
	}, nil
}
