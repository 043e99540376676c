//go:build cgo

package sgx

import (
	"context"
	"crypto/subtle"
	"errors"
	"fmt"
	"sync"

	"github.com/edgelesssys/ego/enclave"
	"github.com/teaclave-go/teaclave/attestation"
)

// Quoter gets SGX remote reports from the enclave runtime.
type Quoter struct{}

var _ attestation.Quoter = Quoter{}

// NewQuoter returns the SGX quoter.
func NewQuoter() Quoter { return Quoter{} }

// Quote returns EGo's remote report (an Open Enclave report wrapping a DCAP
// quote) whose report data is reportData.
func (Quoter) Quote(ctx context.Context, reportData [64]byte) ([]byte, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	report, err := enclave.GetRemoteReport(reportData[:])
	if err != nil {
		return nil, fmt.Errorf("sgx: remote report: %w", err)
	}
	// Refuse here, not at the endorser, a report we could not use.
	oe, err := attestation.ParseOEReport(report)
	if err != nil {
		return nil, fmt.Errorf("sgx: remote report: %w", err)
	}
	if oe.Body.ReportData != reportData {
		return nil, fmt.Errorf("sgx: remote report carries other report data")
	}
	return report, nil
}

// ErrZeroSealKey is returned when the enclave runtime hands out an all-zero
// seal key (what EGo does outside an enclave).
var ErrZeroSealKey = errors.New("sgx: all-zero seal key: not running in an enclave")

// Sealer derives purpose keys from the enclave's product seal key (bound to
// MRSIGNER and the product id, so new versions of the same product keep
// their data).
type Sealer struct {
	selfReport func() error
	productKey func() ([]byte, error)

	mu     sync.Mutex
	secret []byte
}

var _ attestation.Sealer = (*Sealer)(nil)

// NewSealer returns the SGX sealer. Nothing is asked of the enclave until
// the first Key call.
func NewSealer() *Sealer {
	return newSealer(
		func() error { _, err := enclave.GetSelfReport(); return err },
		func() ([]byte, error) { k, _, err := enclave.GetProductSealKey(); return k, err },
	)
}

func newSealer(selfReport func() error, productKey func() ([]byte, error)) *Sealer {
	return &Sealer{selfReport: selfReport, productKey: productKey}
}

// Key returns the key for purpose, derived with HKDF from the product seal
// key; the seal key itself is never returned.
func (s *Sealer) Key(ctx context.Context, purpose string) ([]byte, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.secret == nil {
		if err := s.selfReport(); err != nil {
			return nil, fmt.Errorf("sgx: not running in an enclave: %w", err)
		}
		key, err := s.productKey()
		if err != nil {
			return nil, fmt.Errorf("sgx: product seal key: %w", err)
		}
		if len(key) < 16 || subtle.ConstantTimeCompare(key, make([]byte, len(key))) == 1 {
			return nil, ErrZeroSealKey
		}
		s.secret = key
	}
	return attestation.DerivePurposeKey(s.secret, purpose)
}
