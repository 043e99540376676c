package attestation

import (
	"encoding/binary"
	"fmt"
)

// QuoteBodySize is the size of the quote body an attestation report carries
// (isvEnclaveQuoteBody): the quote header and the enclave's report body.
const QuoteBodySize = 432

// Attribute flags of an SGX report body (the first 8 bytes of Attributes).
const (
	AttributeInit      = 0x01
	AttributeDebug     = 0x02
	AttributeMode64Bit = 0x04
)

// QuoteBody is the first 432 bytes of an SGX quote (§16.4): the quote header
// and the report body, little-endian. The reserved fields are kept so that
// parsing and marshalling round-trip byte for byte (newer SGX versions use
// parts of them, e.g. for the config id).
type QuoteBody struct {
	Version uint16 // 1, 2 = EPID; 3 = ECDSA
	// SignType is the EPID signature type (0 unlinkable, 1 linkable) or the
	// ECDSA attestation key type (2 = P-256, 3 = P-384).
	SignType   uint16
	EPIDGroup  [4]byte // EPID group id; reserved for ECDSA
	QESVN      uint16
	PCESVN     uint16
	QEVendorID [16]byte
	UserData   [20]byte

	CPUSVN     [16]byte
	MiscSelect uint32
	Reserved1  [28]byte
	Attributes [16]byte
	MREnclave  [32]byte
	Reserved2  [32]byte
	MRSigner   [32]byte
	Reserved3  [96]byte
	ISVProdID  uint16
	ISVSVN     uint16
	Reserved4  [60]byte
	ReportData [64]byte
}

// ParseQuoteBody parses exactly QuoteBodySize bytes and checks that the
// version and signature/key type form a valid pair.
func ParseQuoteBody(b []byte) (*QuoteBody, error) {
	if len(b) != QuoteBodySize {
		return nil, fmt.Errorf("%w: quote body is %d bytes, want %d", ErrMalformedReport, len(b), QuoteBodySize)
	}
	le := binary.LittleEndian
	q := &QuoteBody{
		Version:    le.Uint16(b[0:]),
		SignType:   le.Uint16(b[2:]),
		QESVN:      le.Uint16(b[8:]),
		PCESVN:     le.Uint16(b[10:]),
		MiscSelect: le.Uint32(b[64:]),
		ISVProdID:  le.Uint16(b[304:]),
		ISVSVN:     le.Uint16(b[306:]),
	}
	copy(q.EPIDGroup[:], b[4:8])
	copy(q.QEVendorID[:], b[12:28])
	copy(q.UserData[:], b[28:48])
	copy(q.CPUSVN[:], b[48:64])
	copy(q.Reserved1[:], b[68:96])
	copy(q.Attributes[:], b[96:112])
	copy(q.MREnclave[:], b[112:144])
	copy(q.Reserved2[:], b[144:176])
	copy(q.MRSigner[:], b[176:208])
	copy(q.Reserved3[:], b[208:304])
	copy(q.Reserved4[:], b[308:368])
	copy(q.ReportData[:], b[368:432])
	if err := q.check(); err != nil {
		return nil, err
	}
	return q, nil
}

func (q *QuoteBody) check() error {
	switch {
	case (q.Version == 1 || q.Version == 2) && q.SignType <= 1:
	case q.Version == 3 && (q.SignType == 2 || q.SignType == 3):
	default:
		return fmt.Errorf("%w: quote version %d with sign/key type %d", ErrMalformedReport, q.Version, q.SignType)
	}
	return nil
}

// MarshalBinary returns the 432-byte encoding of q.
func (q *QuoteBody) MarshalBinary() ([]byte, error) {
	if err := q.check(); err != nil {
		return nil, err
	}
	b := make([]byte, QuoteBodySize)
	le := binary.LittleEndian
	le.PutUint16(b[0:], q.Version)
	le.PutUint16(b[2:], q.SignType)
	copy(b[4:8], q.EPIDGroup[:])
	le.PutUint16(b[8:], q.QESVN)
	le.PutUint16(b[10:], q.PCESVN)
	copy(b[12:28], q.QEVendorID[:])
	copy(b[28:48], q.UserData[:])
	copy(b[48:64], q.CPUSVN[:])
	le.PutUint32(b[64:], q.MiscSelect)
	copy(b[68:96], q.Reserved1[:])
	copy(b[96:112], q.Attributes[:])
	copy(b[112:144], q.MREnclave[:])
	copy(b[144:176], q.Reserved2[:])
	copy(b[176:208], q.MRSigner[:])
	copy(b[208:304], q.Reserved3[:])
	le.PutUint16(b[304:], q.ISVProdID)
	le.PutUint16(b[306:], q.ISVSVN)
	copy(b[308:368], q.Reserved4[:])
	copy(b[368:432], q.ReportData[:])
	return b, nil
}

// Debug reports whether the enclave's DEBUG attribute is set.
func (q *QuoteBody) Debug() bool {
	return binary.LittleEndian.Uint64(q.Attributes[:8])&AttributeDebug != 0
}
