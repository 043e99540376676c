package attestation

import (
	"encoding/binary"
	"fmt"
)

// Open Enclave report layout (EGo's enclave.GetRemoteReport returns one): a
// 16-byte header, then the report proper, which for an SGX remote report is
// the DCAP quote.
//
//	offset 0  uint32 version      (OEReportHeaderVersion)
//	offset 4  uint32 report type  (OEReportTypeSGXRemote for remote reports)
//	offset 8  uint64 report size  (bytes after the header)
//	offset 16 the SGX quote: 48-byte quote header, 384-byte report body,
//	          uint32 signature data length, signature data
//
// All integers are little-endian. The quote body an attestation report
// carries (isvEnclaveQuoteBody) is the first QuoteBodySize bytes of the quote.
const (
	// OEReportHeaderSize is the size of the Open Enclave report header.
	OEReportHeaderSize = 16
	// OEReportHeaderVersion is the only header version Open Enclave writes.
	OEReportHeaderVersion = 1
	// OEReportTypeSGXLocal marks a local-attestation report (not accepted).
	OEReportTypeSGXLocal = 1
	// OEReportTypeSGXRemote marks a remote-attestation report: a quote.
	OEReportTypeSGXRemote = 2
	// MinSGXQuoteSize is the smallest SGX quote: the quote body and the
	// 4-byte signature data length.
	MinSGXQuoteSize = QuoteBodySize + 4
	// MaxQuoteSize caps the evidence an endorser accepts: a DCAP quote with
	// its PCK certificate chain is about 5 KiB, Open Enclave caps reports at
	// 10 KiB; anything over 64 KiB is refused before it is parsed.
	MaxQuoteSize = 64 << 10
)

// OEReport is a parsed Open Enclave remote report.
type OEReport struct {
	// Version is the header version (always OEReportHeaderVersion).
	Version uint32
	// Type is the report type (always OEReportTypeSGXRemote).
	Type uint32
	// Quote is the SGX quote the header wraps: the quote body, the
	// signature data length and the signature data. It aliases the parsed
	// bytes.
	Quote []byte
	// Body is the parsed quote body (the first QuoteBodySize bytes of
	// Quote).
	Body *QuoteBody
}

// ParseOEReport parses an Open Enclave remote report around an SGX quote.
// It refuses, with errors wrapping ErrMalformedReport: evidence over
// MaxQuoteSize, a truncated header, another header version, a report type
// other than SGX remote, a report size that is not exactly the bytes after
// the header, a quote shorter than MinSGXQuoteSize, a signature data length
// that does not end exactly at the end of the quote, and a quote body whose
// version and key type are not a valid pair. It checks structure only: the
// quote's signature chain is verified by the endorser's quote verifier
// (EGo's enclave.VerifyRemoteReport).
func ParseOEReport(b []byte) (*OEReport, error) {
	bad := func(format string, a ...any) (*OEReport, error) {
		return nil, fmt.Errorf("%w: open enclave report: %s", ErrMalformedReport, fmt.Sprintf(format, a...))
	}
	if len(b) > MaxQuoteSize {
		return bad("%d bytes, over the %d-byte limit", len(b), MaxQuoteSize)
	}
	if len(b) < OEReportHeaderSize {
		return bad("%d bytes, shorter than the %d-byte header", len(b), OEReportHeaderSize)
	}
	le := binary.LittleEndian
	r := &OEReport{Version: le.Uint32(b[0:]), Type: le.Uint32(b[4:])}
	size := le.Uint64(b[8:])
	if r.Version != OEReportHeaderVersion {
		return bad("header version %d, want %d", r.Version, OEReportHeaderVersion)
	}
	if r.Type != OEReportTypeSGXRemote {
		return bad("report type %d, want %d (SGX remote)", r.Type, OEReportTypeSGXRemote)
	}
	rest := uint64(len(b) - OEReportHeaderSize)
	if size != rest {
		if size > rest {
			return bad("truncated: header says %d report bytes, %d present", size, rest)
		}
		return bad("%d bytes after the %d-byte report", rest-size, size)
	}
	r.Quote = b[OEReportHeaderSize:]
	if len(r.Quote) < MinSGXQuoteSize {
		return bad("quote is %d bytes, want at least %d", len(r.Quote), MinSGXQuoteSize)
	}
	sigLen := uint64(le.Uint32(r.Quote[QuoteBodySize:]))
	if have := uint64(len(r.Quote) - MinSGXQuoteSize); sigLen != have {
		return bad("quote signature data is %d bytes, header says %d", have, sigLen)
	}
	body, err := ParseQuoteBody(r.Quote[:QuoteBodySize])
	if err != nil {
		return nil, fmt.Errorf("open enclave report: %w", err)
	}
	if body.Version != 3 {
		return bad("quote version %d, want 3 (ECDSA)", body.Version)
	}
	r.Body = body
	return r, nil
}

// QuoteBodyFromOEReport returns the 432-byte quote body of an Open Enclave
// remote report (see ParseOEReport for what is refused).
func QuoteBodyFromOEReport(b []byte) ([]byte, error) {
	r, err := ParseOEReport(b)
	if err != nil {
		return nil, err
	}
	return r.Quote[:QuoteBodySize], nil
}

// MarshalOEReport wraps an SGX quote in an Open Enclave remote report
// header, as enclave.GetRemoteReport returns it.
func MarshalOEReport(quote []byte) []byte {
	b := make([]byte, OEReportHeaderSize, OEReportHeaderSize+len(quote))
	le := binary.LittleEndian
	le.PutUint32(b[0:], OEReportHeaderVersion)
	le.PutUint32(b[4:], OEReportTypeSGXRemote)
	le.PutUint64(b[8:], uint64(len(quote)))
	return append(b, quote...)
}
