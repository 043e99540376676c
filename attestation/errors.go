package attestation

import "errors"

// Refusal reasons. Every error returned by a check wraps exactly one of
// these, so callers can tell with errors.Is which check refused.
var (
	// ErrNoCertificate: the peer presented no certificate.
	ErrNoCertificate = errors.New("attestation: no peer certificate")
	// ErrMalformedCertificate: the certificate is not in Teaclave's RA-TLS
	// shape (§16.2): not X.509, not a P-256 key, not exactly one extension.
	ErrMalformedCertificate = errors.New("attestation: malformed RA-TLS certificate")
	// ErrCertificateExpired: the RA-TLS certificate is outside its validity.
	ErrCertificateExpired = errors.New("attestation: certificate outside its validity period")
	// ErrMalformedEvidence: the extension payload is not the endorsed report
	// JSON with report, signature and certs (the legacy signing_cert form
	// lands here).
	ErrMalformedEvidence = errors.New("attestation: malformed endorsed report")
	// ErrUnknownRoot: the report's signing certificate chains to no root of
	// the policy.
	ErrUnknownRoot = errors.New("attestation: report signing certificate chains to no accepted root")
	// ErrEndorsementChain: the signing chain reaches an accepted root but is
	// invalid (expired, not a CA, ...).
	ErrEndorsementChain = errors.New("attestation: invalid report signing chain")
	// ErrBadReportSignature: the report signature does not verify under the
	// signing certificate.
	ErrBadReportSignature = errors.New("attestation: report signature invalid")
	// ErrMalformedReport: the report JSON or its quote body cannot be parsed.
	ErrMalformedReport = errors.New("attestation: malformed attestation report")
	// ErrReportVersion: the report is not version 4.
	ErrReportVersion = errors.New("attestation: attestation service API version not compatible")
	// ErrKeyMismatch: the report data is not the certificate key's X‖Y.
	ErrKeyMismatch = errors.New("attestation: certificate key does not match report data")
	// ErrReportTooOld: the report is older than the policy's maximum age.
	ErrReportTooOld = errors.New("attestation: report too old")
	// ErrReportFromFuture: the report is dated after the verifier's clock
	// (plus the allowed skew).
	ErrReportFromFuture = errors.New("attestation: report dated in the future")
	// ErrStatusNotAccepted: the quote status is not accepted by the policy.
	ErrStatusNotAccepted = errors.New("attestation: quote status not accepted")
	// ErrDebugForbidden: the enclave is a debug enclave and the policy
	// forbids them.
	ErrDebugForbidden = errors.New("attestation: debug enclave not allowed")
	// ErrSimulatedRoot: a simulated root in a production policy or build.
	ErrSimulatedRoot = errors.New("attestation: simulated root not allowed in production")
	// ErrMREnclaveMismatch: the peer's MRENCLAVE is not the expected one.
	ErrMREnclaveMismatch = errors.New("attestation: unexpected mr_enclave")
	// ErrMRSignerMismatch: the peer's MRSIGNER is not the expected one.
	ErrMRSignerMismatch = errors.New("attestation: unexpected mr_signer")
	// ErrUnknownEnclave: the peer's measurement is in no enclave info entry.
	ErrUnknownEnclave = errors.New("attestation: measurement not in enclave info")
	// ErrUnknownService: the enclave info has no entry for a service name.
	ErrUnknownService = errors.New("attestation: service not in enclave info")
	// ErrCallerNotAllowed: the peer is a known service that is not on the
	// callee's inbound list.
	ErrCallerNotAllowed = errors.New("attestation: caller not in inbound list")
	// ErrInvalidPolicy: the policy is malformed or inconsistent.
	ErrInvalidPolicy = errors.New("attestation: invalid policy")

	// ErrMalformedEnclaveInfo: enclave_info.toml cannot be parsed.
	ErrMalformedEnclaveInfo = errors.New("attestation: malformed enclave info")
	// ErrEnclaveInfoUnverified: enclave info was used without verifying its
	// auditor signatures.
	ErrEnclaveInfoUnverified = errors.New("attestation: enclave info not verified")
	// ErrMissingSignature: fewer distinct auditors signed the enclave info
	// than the policy's threshold (zero signatures never pass).
	ErrMissingSignature = errors.New("attestation: not enough auditor signatures")
	// ErrRepeatedSignature: two signatures of the same auditor.
	ErrRepeatedSignature = errors.New("attestation: repeated auditor signature")
	// ErrTooManySignatures: more signatures than configured auditors.
	ErrTooManySignatures = errors.New("attestation: more auditor signatures than auditors")
	// ErrBadAuditorSignature: a signature that verifies under no configured
	// auditor key.
	ErrBadAuditorSignature = errors.New("attestation: auditor signature invalid")
)
