//go:build !teaclave_production

package sim

import (
	"context"
	"crypto"
	"crypto/sha256"
	"crypto/x509"
	"encoding/binary"
	"fmt"
	"io"
	"log/slog"
	"os"
	"time"

	"github.com/teaclave-go/teaclave/attestation"
)

// Quoter produces software quotes in the 432-byte quote body layout
// (version 3, ECDSA P-256 attestation key type, like DCAP). Its fields are
// the simulated enclave's identity; tests may set them directly.
type Quoter struct {
	MREnclave [32]byte
	MRSigner  [32]byte
	ISVProdID uint16
	ISVSVN    uint16
	Debug     bool
}

var _ attestation.Quoter = (*Quoter)(nil)

// NewQuoter returns a quoter whose mr_enclave is the SHA-256 of the running
// executable and whose mr_signer is SignerID(signer).
func NewQuoter(signer crypto.PublicKey) (*Quoter, error) {
	exe, err := os.Executable()
	if err != nil {
		return nil, fmt.Errorf("sim: find executable: %w", err)
	}
	mre, err := MeasureExecutable(exe)
	if err != nil {
		return nil, err
	}
	mrs, err := SignerID(signer)
	if err != nil {
		return nil, err
	}
	return &Quoter{MREnclave: mre, MRSigner: mrs}, nil
}

// MeasureExecutable returns the simulated MRENCLAVE of a binary: the SHA-256
// of its bytes.
func MeasureExecutable(path string) ([32]byte, error) {
	var m [32]byte
	f, err := os.Open(path)
	if err != nil {
		return m, fmt.Errorf("sim: measure executable: %w", err)
	}
	defer f.Close()
	h := sha256.New()
	if _, err := io.Copy(h, f); err != nil {
		return m, fmt.Errorf("sim: measure executable: %w", err)
	}
	copy(m[:], h.Sum(nil))
	return m, nil
}

// SignerID returns the simulated MRSIGNER of a signing key: the SHA-256 of
// its PKIX DER encoding.
func SignerID(pub crypto.PublicKey) ([32]byte, error) {
	der, err := x509.MarshalPKIXPublicKey(pub)
	if err != nil {
		return [32]byte{}, fmt.Errorf("sim: signer key: %w", err)
	}
	return sha256.Sum256(der), nil
}

// Quote returns a 432-byte quote body carrying reportData.
func (q *Quoter) Quote(ctx context.Context, reportData [64]byte) ([]byte, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	body := attestation.QuoteBody{
		Version:    3,
		SignType:   2, // ECDSA P-256
		MREnclave:  q.MREnclave,
		MRSigner:   q.MRSigner,
		ISVProdID:  q.ISVProdID,
		ISVSVN:     q.ISVSVN,
		ReportData: reportData,
	}
	flags := uint64(attestation.AttributeInit | attestation.AttributeMode64Bit)
	if q.Debug {
		flags |= attestation.AttributeDebug
	}
	binary.LittleEndian.PutUint64(body.Attributes[:8], flags)
	binary.LittleEndian.PutUint64(body.Attributes[8:], 0x03) // XFRM: x87 and SSE
	return body.MarshalBinary()
}

// NewAttestor returns an attestor for the simulated enclave q endorsed by
// svc, logging that it is insecure.
func NewAttestor(svc *AttestationService, q *Quoter, maxReportAge time.Duration, logger *slog.Logger) (attestation.Attestor, error) {
	if logger == nil {
		logger = slog.Default()
	}
	logger.Warn(warning, "component", "attestor", "measurement", attestation.Measurement{MREnclave: q.MREnclave, MRSigner: q.MRSigner}.String())
	return attestation.NewAttestor(q, svc, attestation.AttestorConfig{MaxReportAge: maxReportAge})
}

// EnclaveInfo writes enclave_info.toml for simulated binaries: each
// service's mr_enclave is the SHA-256 of its executable, every mr_signer is
// SignerID(signer). Sign the result with attestation.SignEnclaveInfo.
func EnclaveInfo(executables map[string]string, signer crypto.PublicKey) ([]byte, error) {
	mrs, err := SignerID(signer)
	if err != nil {
		return nil, err
	}
	ms := make(map[string]attestation.Measurement, len(executables))
	for service, path := range executables {
		mre, err := MeasureExecutable(path)
		if err != nil {
			return nil, err
		}
		ms[service] = attestation.Measurement{MREnclave: mre, MRSigner: mrs}
	}
	return attestation.MarshalEnclaveInfo(ms)
}
