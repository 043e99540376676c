//go:build !cgo

package sgx

import (
	"context"
	"errors"

	"github.com/teaclave-go/teaclave/attestation"
)

// Quoter gets SGX remote reports; without cgo it is unsupported.
type Quoter struct{}

var _ attestation.Quoter = Quoter{}

// NewQuoter returns the SGX quoter.
func NewQuoter() Quoter { return Quoter{} }

// Quote returns errors.ErrUnsupported: EGo needs cgo.
func (Quoter) Quote(context.Context, [64]byte) ([]byte, error) {
	return nil, errors.ErrUnsupported
}

// ErrZeroSealKey is returned when the enclave runtime hands out an all-zero
// seal key (what EGo does outside an enclave).
var ErrZeroSealKey = errors.New("sgx: all-zero seal key: not running in an enclave")

// Sealer derives purpose keys from the enclave's product seal key; without
// cgo it is unsupported.
type Sealer struct{}

var _ attestation.Sealer = (*Sealer)(nil)

// NewSealer returns the SGX sealer.
func NewSealer() *Sealer { return &Sealer{} }

// Key returns errors.ErrUnsupported: EGo needs cgo.
func (*Sealer) Key(context.Context, string) ([]byte, error) {
	return nil, errors.ErrUnsupported
}
