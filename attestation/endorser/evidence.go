package endorser

import (
	"crypto/sha256"
	"crypto/x509"
	"errors"
	"fmt"

	"github.com/teaclave-go/teaclave/attestation"
)

// RootReportData returns the report data of the evidence an endorser gives
// for its root (examples/attestation-service -root-out): the SHA-256 of the
// root certificate's DER, then 32 zero bytes.
func RootReportData(root *x509.Certificate) [64]byte {
	var rd [64]byte
	sum := sha256.Sum256(root.Raw)
	copy(rd[:], sum[:])
	return rd
}

// CheckRootEvidence checks the claims of a root's evidence, as verified by
// a DCAP verifier (EGo's eclient.VerifyRemoteReport on a host, or
// enclave.VerifyRemoteReport): the report data must bind root, the enclave
// must be the teaclave_attestation_service of the auditor-signed enclave
// info, and not a debug enclave. It is what an operator checks before
// pinning an endorser's root.
func CheckRootEvidence(v Verdict, root *x509.Certificate, info *attestation.EnclaveInfo) error {
	if root == nil || info == nil || !info.Verified() {
		return errors.New("endorser: root evidence needs the root and verified enclave info")
	}
	if v.ReportData != RootReportData(root) {
		return errors.New("endorser: evidence does not bind this root certificate")
	}
	if v.Debug {
		return fmt.Errorf("endorser: root evidence: %w", attestation.ErrDebugForbidden)
	}
	id, ok := info.Identity(attestation.ServiceAttestation)
	if !ok {
		return fmt.Errorf("endorser: %w: %s", attestation.ErrUnknownService, attestation.ServiceAttestation)
	}
	switch {
	case v.MREnclave != id.MREnclave:
		return fmt.Errorf("endorser: root evidence: %w", attestation.ErrMREnclaveMismatch)
	case v.MRSigner != id.MRSigner:
		return fmt.Errorf("endorser: root evidence: %w", attestation.ErrMRSignerMismatch)
	}
	return nil
}
