//go:build !cgo

package sgx

import (
	"context"
	"errors"

	"github.com/teaclave-go/teaclave/attestation"
)

// SelfMeasurement returns errors.ErrUnsupported: EGo needs cgo.
func SelfMeasurement(context.Context) (attestation.Measurement, error) {
	return attestation.Measurement{}, errors.ErrUnsupported
}
