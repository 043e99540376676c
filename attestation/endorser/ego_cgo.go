//go:build cgo

package endorser

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"strings"

	egoattestation "github.com/edgelesssys/ego/attestation"
	"github.com/edgelesssys/ego/attestation/tcbstatus"
	"github.com/edgelesssys/ego/enclave"
)

// EGoVerifier verifies quotes with EGo's enclave.VerifyRemoteReport: Open
// Enclave's DCAP verification, with collateral (PCK certificates, CRLs, TCB
// info, QE identity) fetched through the host's quote provider library from
// the PCCS configured in /etc/sgx_default_qcnl.conf. It works only inside an
// EGo enclave.
type EGoVerifier struct {
	verify func([]byte) (egoattestation.Report, error)
}

var _ QuoteVerifier = (*EGoVerifier)(nil)

// NewEGoVerifier returns the SGX quote verifier. It fails outside an EGo
// enclave.
func NewEGoVerifier() (*EGoVerifier, error) {
	if _, err := enclave.GetSelfReport(); err != nil {
		return nil, fmt.Errorf("endorser: EGo quote verification needs an SGX enclave: %w", err)
	}
	return &EGoVerifier{verify: enclave.VerifyRemoteReport}, nil
}

// VerifyQuote verifies an Open Enclave remote report. A TCB level that is
// not up to date is not an error: its status goes into the report and the
// peers' policies decide.
func (v *EGoVerifier) VerifyQuote(ctx context.Context, report []byte) (Verdict, error) {
	if err := ctx.Err(); err != nil {
		return Verdict{}, err
	}
	r, err := v.verify(report)
	return verdictFromEGo(r, err)
}

// verdictFromEGo turns VerifyRemoteReport's answer into a Verdict.
func verdictFromEGo(r egoattestation.Report, err error) (Verdict, error) {
	var status string
	switch {
	case err == nil:
		// Open Enclave returns success only for an up-to-date TCB; a report
		// without a TCB status claim is that.
		status = StatusFromTCB(r.TCBStatus)
		if r.TCBStatus == tcbstatus.Unknown {
			status = StatusFromTCB(tcbstatus.UpToDate)
		}
	case errors.Is(err, egoattestation.ErrTCBLevelInvalid):
		status = StatusFromTCB(r.TCBStatus)
	case strings.Contains(err.Error(), "QUOTE_PROVIDER"):
		// OE_QUOTE_PROVIDER_LOAD_ERROR, OE_QUOTE_PROVIDER_CALL_ERROR: the
		// host's DCAP quote provider or its PCCS failed.
		return Verdict{}, fmt.Errorf("%w: %w", ErrUnavailable, err)
	default:
		return Verdict{}, fmt.Errorf("%w: %w", ErrQuoteRejected, err)
	}
	if len(r.UniqueID) != 32 || len(r.SignerID) != 32 || len(r.Data) != 64 || len(r.ProductID) < 2 || r.SecurityVersion > 0xffff {
		return Verdict{}, fmt.Errorf("%w: unexpected claim sizes", ErrQuoteRejected)
	}
	v := Verdict{
		Status:    status,
		ISVProdID: binary.LittleEndian.Uint16(r.ProductID),
		ISVSVN:    uint16(r.SecurityVersion),
		Debug:     r.Debug,
	}
	if len(r.TCBAdvisories) <= 64 {
		v.Advisories = r.TCBAdvisories
	}
	copy(v.MREnclave[:], r.UniqueID)
	copy(v.MRSigner[:], r.SignerID)
	copy(v.ReportData[:], r.Data)
	return v, nil
}
