// Package attestation holds what Teaclave's services believe about each other:
// remote-attestation evidence, the RA-TLS certificate that carries it, the
// compiled-in trust [Policy], the [Verifier] that checks a peer's certificate
// against that policy, and the auditor-signed [EnclaveInfo] that maps
// measurements to service names.
//
// A service obtains a [Credential] from an [Attestor]: a fresh ECDSA P-256
// key whose X‖Y coordinates are the report data of an enclave quote, endorsed
// by an attestation service into an IAS-v4-style signed report and embedded in
// a self-signed certificate in Teaclave's exact layout (see
// [CreateCertificate]). A peer verifies that certificate with
// [Verifier.VerifyPeer]: the report signature chains to a root of the policy,
// the report is version 4, fresh, of an accepted status, not a debug enclave
// unless allowed, and its report data equals the certificate's key. The peer's
// identity then comes only from the enclave info ([Verifier.VerifyService] for
// a client pinning the service it dials, [Verifier.VerifyCaller] for a server
// checking its inbound list).
//
// Every refusal wraps a distinct sentinel error (ErrUnknownRoot,
// ErrReportTooOld, ErrMREnclaveMismatch, ...), so callers and tests can tell
// which check refused with [errors.Is].
//
// Simulation lives in package attestation/sim, which binaries built with the
// tag teaclave_production do not contain; such binaries also refuse any
// policy that lists a simulated root ([ProductionBuild]). SGX support through
// EGo lives in attestation/sgx.
//
// Usage, in a service:
//
//	policy, err := attestation.ParsePolicy(embeddedPolicyTOML)
//	info, err := attestation.LoadEnclaveInfo(infoBytes, signatures, policy)
//	verifier, err := attestation.NewVerifier(policy, info)
//	attestor, err := attestation.NewAttestor(quoter, endorser, attestation.AttestorConfig{MaxReportAge: policy.MaxReportAge})
//	cred, err := attestor.Attest(ctx)  // cred.Certificate for tls.Config, refresh at cred.RefreshAt
//	report, err := verifier.VerifyService(time.Now(), rawCerts, attestation.ServiceStorage)
package attestation
