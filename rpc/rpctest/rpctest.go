//go:build !teaclave_production

// Package rpctest sets up simulated attestation for tests of attested gRPC:
// a simulated attestation service, a policy trusting it, signed enclave info
// giving every service a distinct measurement, and a Transport per service.
// It is built only without the teaclave_production tag.
package rpctest

import (
	"context"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"io"
	"log/slog"
	"sync"
	"testing"
	"time"

	"github.com/teaclave-go/teaclave/attestation"
	"github.com/teaclave-go/teaclave/attestation/sim"
	"github.com/teaclave-go/teaclave/rpc"
)

// MaxReportAge is the report age limit of the environment's policy.
const MaxReportAge = time.Hour

// keys are generated once per test binary: RSA key generation is slow.
type keys struct {
	service *sim.AttestationService
	auditor *rsa.PrivateKey
}

var sharedKeys = sync.OnceValues(func() (keys, error) {
	quiet := slog.New(slog.NewTextHandler(io.Discard, nil))
	svc, err := sim.NewAttestationService(sim.Options{Logger: quiet})
	if err != nil {
		return keys{}, err
	}
	auditor, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		return keys{}, err
	}
	return keys{service: svc, auditor: auditor}, nil
})

// Env is a simulated deployment: every service of attestation.Services()
// has a distinct measurement recorded in auditor-signed enclave info.
type Env struct {
	// AttestationService endorses the environment's quotes.
	AttestationService *sim.AttestationService
	// Auditor signed the enclave info.
	Auditor *rsa.PrivateKey
	// Policy trusts the simulated root and the auditor.
	Policy *attestation.Policy
	// Info is the verified enclave info.
	Info *attestation.EnclaveInfo
	// Verifier checks peers under Policy and Info.
	Verifier *attestation.Verifier
	// Logger discards by default; tests may replace it before making
	// transports.
	Logger *slog.Logger
}

// Measurement returns the simulated measurement the environment gives
// service.
func Measurement(service string) attestation.Measurement {
	return attestation.Measurement{
		MREnclave: sha256.Sum256([]byte("rpctest enclave " + service)),
		MRSigner:  sha256.Sum256([]byte("rpctest signer")),
	}
}

// NewEnv returns a fresh environment.
func NewEnv(t testing.TB) *Env {
	t.Helper()
	k, err := sharedKeys()
	if err != nil {
		t.Fatalf("rpctest: keys: %v", err)
	}
	policy := &attestation.Policy{
		Roots:            []attestation.Root{k.service.Root()},
		Auditors:         []attestation.Auditor{{Name: "rpctest", Key: &k.auditor.PublicKey}},
		AuditorThreshold: 1,
		MaxReportAge:     MaxReportAge,
		ClockSkew:        time.Minute,
	}
	ms := map[string]attestation.Measurement{}
	for _, s := range attestation.Services() {
		ms[s] = Measurement(s)
	}
	data, err := attestation.MarshalEnclaveInfo(ms)
	if err != nil {
		t.Fatalf("rpctest: enclave info: %v", err)
	}
	sig, err := attestation.SignEnclaveInfo(data, k.auditor)
	if err != nil {
		t.Fatalf("rpctest: sign enclave info: %v", err)
	}
	info, err := attestation.LoadEnclaveInfo(data, [][]byte{sig}, policy)
	if err != nil {
		t.Fatalf("rpctest: load enclave info: %v", err)
	}
	v, err := attestation.NewVerifier(policy, info)
	if err != nil {
		t.Fatalf("rpctest: verifier: %v", err)
	}
	return &Env{
		AttestationService: k.service,
		Auditor:            k.auditor,
		Policy:             policy,
		Info:               info,
		Verifier:           v,
		Logger:             slog.New(slog.NewTextHandler(io.Discard, nil)),
	}
}

// Quoter returns a simulated quoter with service's measurement.
func (e *Env) Quoter(service string) *sim.Quoter {
	m := Measurement(service)
	return &sim.Quoter{MREnclave: m.MREnclave, MRSigner: m.MRSigner}
}

// Attestor returns an attestor that quotes with q and is endorsed by the
// environment's attestation service.
func (e *Env) Attestor(t testing.TB, q attestation.Quoter) attestation.Attestor {
	t.Helper()
	a, err := attestation.NewAttestor(q, e.AttestationService, attestation.AttestorConfig{MaxReportAge: MaxReportAge})
	if err != nil {
		t.Fatalf("rpctest: attestor: %v", err)
	}
	return a
}

// Transport returns a transport for service, closed when the test ends.
func (e *Env) Transport(t testing.TB, service string) *rpc.Transport {
	t.Helper()
	return e.TransportWith(t, rpc.TransportConfig{Service: service, Attestor: e.Attestor(t, e.Quoter(service))})
}

// TransportWith returns a transport for cfg, filling in the environment's
// verifier and logger where cfg leaves them empty.
func (e *Env) TransportWith(t testing.TB, cfg rpc.TransportConfig) *rpc.Transport {
	t.Helper()
	if cfg.Verifier == nil {
		cfg.Verifier = e.Verifier
	}
	if cfg.Logger == nil {
		cfg.Logger = e.Logger
	}
	tr, err := rpc.NewTransport(context.Background(), cfg)
	if err != nil {
		t.Fatalf("rpctest: transport for %s: %v", cfg.Service, err)
	}
	t.Cleanup(tr.Close)
	return tr
}
