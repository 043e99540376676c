//go:build !teaclave_production

package endorser

import (
	"context"
	"encoding/binary"
	"fmt"
	"log/slog"
	"slices"

	"github.com/teaclave-go/teaclave/attestation"
)

// devWarning is logged when the insecure development verifier is set up.
const devWarning = "INSECURE DEVELOPMENT ENDORSER: quotes are checked for shape only, their signatures are NOT verified; " +
	"its root must be marked simulated; never for real data"

// InsecureDevVerifier is for development without SGX: it checks that a quote
// is a well-formed Open Enclave report and trusts its claims without
// verifying any signature. An endorser using it must have its root marked
// simulated in policies. Binaries built with the tag teaclave_production do
// not contain it.
type InsecureDevVerifier struct {
	status string
}

var _ QuoteVerifier = (*InsecureDevVerifier)(nil)

// NewInsecureDevVerifier returns the development verifier, reporting status
// (empty means OK), and logs a loud warning.
func NewInsecureDevVerifier(status string, logger *slog.Logger) (*InsecureDevVerifier, error) {
	if status == "" {
		status = attestation.StatusOK
	}
	if !slices.Contains(attestation.KnownStatuses(), status) {
		return nil, fmt.Errorf("endorser: unknown quote status %q", status)
	}
	if logger == nil {
		logger = slog.Default()
	}
	logger.Warn(devWarning, "component", "endorser")
	return &InsecureDevVerifier{status: status}, nil
}

// VerifyQuote parses report and returns its claims unverified.
func (v *InsecureDevVerifier) VerifyQuote(ctx context.Context, report []byte) (Verdict, error) {
	if err := ctx.Err(); err != nil {
		return Verdict{}, err
	}
	r, err := attestation.ParseOEReport(report)
	if err != nil {
		return Verdict{}, fmt.Errorf("%w: %w", ErrQuoteRejected, err)
	}
	b := r.Body
	return Verdict{Status: v.status, MREnclave: b.MREnclave, MRSigner: b.MRSigner, ISVProdID: b.ISVProdID,
		ISVSVN: b.ISVSVN, Debug: b.Debug(), ReportData: b.ReportData}, nil
}

// DevQuoter wraps a quoter that produces bare 432-byte quote bodies (the
// simulated quoter of attestation/sim) into Open Enclave remote reports
// with empty signature data, the shape an endorser accepts. Only the
// InsecureDevVerifier accepts them.
type DevQuoter struct {
	Inner attestation.Quoter
}

var _ attestation.Quoter = DevQuoter{}

// Quote returns an Open Enclave report around the inner quoter's body.
func (q DevQuoter) Quote(ctx context.Context, reportData [64]byte) ([]byte, error) {
	body, err := q.Inner.Quote(ctx, reportData)
	if err != nil {
		return nil, err
	}
	if len(body) != attestation.QuoteBodySize {
		return nil, fmt.Errorf("endorser: inner quote is %d bytes, want %d", len(body), attestation.QuoteBodySize)
	}
	quote := binary.LittleEndian.AppendUint32(body, 0)
	return attestation.MarshalOEReport(quote), nil
}
