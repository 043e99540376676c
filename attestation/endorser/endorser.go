// Package endorser is the endorsing attestation service of SGX deployments.
//
// EGo's enclave.GetRemoteReport returns an Open Enclave report around a DCAP
// quote, while Teaclave's RA-TLS certificate carries an IAS-v4-style report
// signed by an attestation service (§16.2, §16.3), and Intel's EPID service
// is gone. The endorser fills the gap: it runs in an EGo enclave, verifies a
// quote with a [QuoteVerifier] (EGo's enclave.VerifyRemoteReport, with DCAP
// collateral from the host's PCCS), and answers Teaclave's report JSON
// (version 4, status, timestamp, the 432-byte quote body) signed with an RSA
// key generated and sealed inside the enclave ([Identity]). Its root
// certificate is the one services and clients pin in their policy; its own
// measurement is the teaclave_attestation_service entry of the signed
// enclave info.
//
// It speaks Teaclave's HTTP protocol ([Service.Handler], [Client]) and a
// gRPC form ([Service.GRPC], [NewGRPCClient]); both clients are
// attestation.Endorser implementations for attestation/sgx.
//
//	id, created, err := endorser.LoadOrCreateIdentity(ctx, "/data/identity.sealed", sgx.NewSealer(), endorser.IdentityOptions{})
//	verifier, err := endorser.NewEGoVerifier()  // inside an EGo enclave only
//	svc, err := endorser.New(endorser.Config{Identity: id, Verifier: verifier})
//	http.Serve(tlsListener, svc.Handler())        // Teaclave's protocol; svc.Register(grpcServer) for gRPC
//	// pin id.RootPEM() in every policy
//
// A service's side:
//
//	client, err := endorser.NewClient(endorser.ClientConfig{URL: "https://teaclave-attestation-service", Roots: pool, Policy: policy})
//	attestor, err := sgx.NewAttestor(client, policy.MaxReportAge)
package endorser

import (
	"context"
	"crypto"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"runtime"
	"slices"
	"time"

	"github.com/teaclave-go/teaclave"
	"github.com/teaclave-go/teaclave/attestation"
)

// Verdict is what a QuoteVerifier learned from a quote whose signature chain
// it verified: the status to report and the claims, which the service
// cross-checks against the quote body it signs.
type Verdict struct {
	// Status is the Teaclave quote status (attestation.StatusOK, ...).
	Status     string
	MREnclave  [32]byte
	MRSigner   [32]byte
	ISVProdID  uint16
	ISVSVN     uint16
	Debug      bool
	ReportData [64]byte
	// Advisories are the Intel security advisory ids behind a TCB status
	// other than up to date; they are logged, not signed.
	Advisories []string
}

// QuoteVerifier verifies the signature chain of an Open Enclave remote
// report (the SGX quote and its collateral). It returns an error wrapping
// ErrQuoteRejected for a quote that does not verify and ErrUnavailable when
// it cannot decide now (collateral unreachable).
type QuoteVerifier interface {
	VerifyQuote(ctx context.Context, report []byte) (Verdict, error)
}

var (
	// ErrQuoteRejected: the quote's signature chain does not verify.
	ErrQuoteRejected = errors.New("endorser: quote verification failed")
	// ErrUnavailable: the verifier cannot check quotes now (DCAP collateral
	// unreachable, no quote provider); retry later.
	ErrUnavailable = errors.New("endorser: quote verification unavailable")
)

// Config configures New.
type Config struct {
	// Identity holds the signing key and chain; required.
	Identity *Identity
	// Verifier checks quotes; required.
	Verifier QuoteVerifier
	// Logger receives endorsements and refusals; nil means slog.Default().
	Logger *slog.Logger
	// Now is the clock that dates reports; nil means time.Now.
	Now func() time.Time
	// MaxConcurrent bounds the endorsements in progress: each costs a
	// quote verification and an RSA signature, and callers are not
	// authenticated, so beyond it a call is refused as Unavailable at once
	// rather than queued. Zero means DefaultMaxConcurrent().
	MaxConcurrent int
}

// DefaultMaxConcurrent is the default bound on endorsements in progress:
// twice the processors Go may use.
func DefaultMaxConcurrent() int { return 2 * runtime.GOMAXPROCS(0) }

// Service endorses quotes. It is safe for concurrent use.
type Service struct {
	id       *Identity
	verifier QuoteVerifier
	logger   *slog.Logger
	now      func() time.Time
	slots    chan struct{} // one token per endorsement in progress
}

var _ attestation.Endorser = (*Service)(nil)

// New returns an endorsing service.
func New(cfg Config) (*Service, error) {
	if cfg.Identity == nil || cfg.Verifier == nil {
		return nil, errors.New("endorser: needs an identity and a quote verifier")
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.MaxConcurrent < 0 {
		return nil, fmt.Errorf("endorser: MaxConcurrent %d is negative", cfg.MaxConcurrent)
	}
	if cfg.MaxConcurrent == 0 {
		cfg.MaxConcurrent = DefaultMaxConcurrent()
	}
	return &Service{
		id: cfg.Identity, verifier: cfg.Verifier, logger: cfg.Logger.With("component", "endorser"), now: cfg.Now,
		slots: make(chan struct{}, cfg.MaxConcurrent),
	}, nil
}

// Identity returns the service's signing identity.
func (s *Service) Identity() *Identity { return s.id }

// Endorse verifies quote (an Open Enclave remote report around an SGX DCAP
// quote, at most attestation.MaxQuoteSize bytes) and returns Teaclave's
// signed report for it. Errors are *teaclave.Error: InvalidArgument for an
// empty, oversized, malformed or truncated quote or one that does not verify,
// Unavailable when the verifier cannot decide now, Internal otherwise.
func (s *Service) Endorse(ctx context.Context, quote []byte) (*attestation.EndorsedReport, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	if len(quote) == 0 {
		return nil, teaclave.Errorf(teaclave.KindInvalidArgument, "endorser: empty quote")
	}
	if len(quote) > attestation.MaxQuoteSize {
		return nil, teaclave.Errorf(teaclave.KindInvalidArgument, "endorser: quote is %d bytes, over the %d-byte limit", len(quote), attestation.MaxQuoteSize)
	}
	oe, err := attestation.ParseOEReport(quote)
	if err != nil {
		return nil, teaclave.Errorf(teaclave.KindInvalidArgument, "endorser: %w", err)
	}
	select {
	case s.slots <- struct{}{}:
		defer func() { <-s.slots }()
	default:
		return nil, teaclave.Errorf(teaclave.KindUnavailable, "endorser: busy, retry later")
	}
	v, err := s.verifier.VerifyQuote(ctx, quote)
	switch {
	case err == nil:
	case errors.Is(err, ErrUnavailable):
		s.logger.Error("quote verification unavailable", "error", err)
		return nil, teaclave.Wrap(teaclave.KindUnavailable, "endorser: quote verification unavailable, retry later", err)
	case errors.Is(err, ErrQuoteRejected):
		s.logger.Warn("quote refused", "error", err, "mr_enclave", hex.EncodeToString(oe.Body.MREnclave[:]))
		return nil, teaclave.Wrap(teaclave.KindInvalidArgument, "endorser: quote verification failed", err)
	default:
		if ctxErr := ctx.Err(); ctxErr != nil {
			return nil, ctxErr
		}
		s.logger.Error("quote verifier failed", "error", err)
		return nil, teaclave.Wrap(teaclave.KindInternal, "endorser: quote verifier failed", err)
	}
	if err := checkVerdict(v, oe.Body); err != nil {
		s.logger.Error("verified claims differ from the quote body", "error", err)
		return nil, teaclave.Wrap(teaclave.KindInternal, "endorser: verified claims differ from the quote body", err)
	}
	ev, err := s.sign(oe.Body, v.Status)
	if err != nil {
		return nil, teaclave.Wrap(teaclave.KindInternal, "endorser: sign report", err)
	}
	s.logger.Info("quote endorsed", "status", v.Status, "mr_enclave", hex.EncodeToString(oe.Body.MREnclave[:]),
		"mr_signer", hex.EncodeToString(oe.Body.MRSigner[:]), "advisories", v.Advisories)
	return ev, nil
}

// checkVerdict makes sure the report the service signs says what the
// verifier verified: the quote body is taken from the bytes the verifier
// was given, and any difference means a parsing bug or a verifier that
// looked at something else.
func checkVerdict(v Verdict, b *attestation.QuoteBody) error {
	if !slices.Contains(attestation.KnownStatuses(), v.Status) {
		return fmt.Errorf("unknown quote status %q", v.Status)
	}
	switch {
	case v.MREnclave != b.MREnclave:
		return errors.New("mr_enclave differs")
	case v.MRSigner != b.MRSigner:
		return errors.New("mr_signer differs")
	case v.ISVProdID != b.ISVProdID:
		return errors.New("isv_prod_id differs")
	case v.ISVSVN != b.ISVSVN:
		return errors.New("isv_svn differs")
	case v.Debug != b.Debug():
		return errors.New("debug attribute differs")
	case v.ReportData != b.ReportData:
		return errors.New("report data differs")
	}
	return nil
}

// sign makes Teaclave's report for body: the DCAP reference server's shape
// (attestation.ServiceReport.Marshal: keys in alphabetical order, a random
// 32-hex-digit id, nine fractional digits, version 4), signed with RSA
// PKCS#1 v1.5 SHA-256, the chain being the signing certificate.
func (s *Service) sign(body *attestation.QuoteBody, status string) (*attestation.EndorsedReport, error) {
	idBytes := make([]byte, 16)
	_, _ = rand.Read(idBytes) // crypto/rand.Read never fails
	sr := &attestation.ServiceReport{
		ID:        hex.EncodeToString(idBytes),
		Timestamp: s.now().UTC(),
		Status:    status,
		Quote:     *body,
	}
	report, err := sr.Marshal()
	if err != nil {
		return nil, err
	}
	digest := sha256.Sum256(report)
	sig, err := rsa.SignPKCS1v15(rand.Reader, s.id.signKey, crypto.SHA256, digest[:])
	if err != nil {
		return nil, err
	}
	return &attestation.EndorsedReport{Report: report, Signature: sig, Certs: [][]byte{s.id.Signer.Raw}}, nil
}
