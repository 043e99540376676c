//go:build !cgo

package endorser

import (
	"context"
	"errors"
)

// EGoVerifier verifies quotes with EGo's enclave.VerifyRemoteReport; EGo
// needs cgo, so without it there is none.
type EGoVerifier struct{}

var _ QuoteVerifier = (*EGoVerifier)(nil)

// NewEGoVerifier returns errors.ErrUnsupported: EGo needs cgo.
func NewEGoVerifier() (*EGoVerifier, error) { return nil, errors.ErrUnsupported }

// VerifyQuote returns errors.ErrUnsupported.
func (*EGoVerifier) VerifyQuote(context.Context, []byte) (Verdict, error) {
	return Verdict{}, errors.ErrUnsupported
}
