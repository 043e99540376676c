//go:build cgo

package sgx

import (
	"context"
	"fmt"

	"github.com/edgelesssys/ego/enclave"
	"github.com/teaclave-go/teaclave/attestation"
)

// SelfMeasurement returns the measurement (MRENCLAVE, MRSIGNER) of the
// enclave this code runs in, from EGo's self report. Outside an enclave it
// fails. A service compares it with the signed enclave info at start, so
// that a binary the auditors did not sign refuses to start instead of
// failing every handshake.
func SelfMeasurement(ctx context.Context) (attestation.Measurement, error) {
	if err := ctx.Err(); err != nil {
		return attestation.Measurement{}, err
	}
	r, err := enclave.GetSelfReport()
	if err != nil {
		return attestation.Measurement{}, fmt.Errorf("sgx: self report: %w", err)
	}
	var m attestation.Measurement
	if len(r.UniqueID) != len(m.MREnclave) || len(r.SignerID) != len(m.MRSigner) {
		return attestation.Measurement{}, fmt.Errorf("sgx: self report has a %d-byte unique id and a %d-byte signer id, want 32 each", len(r.UniqueID), len(r.SignerID))
	}
	copy(m.MREnclave[:], r.UniqueID)
	copy(m.MRSigner[:], r.SignerID)
	return m, nil
}
