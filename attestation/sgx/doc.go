// Package sgx is attestation on Intel SGX through EGo: a Quoter on
// enclave.GetRemoteReport (an Open Enclave report around a DCAP quote, which
// the endorsing attestation service of attestation/endorser turns into
// Teaclave's report), NewAttestor that wires it to an endorser client, a
// Sealer on the enclave's product seal key, and SelfMeasurement, the
// enclave's own MRENCLAVE and MRSIGNER for a check against the signed
// enclave info at start. docs/sgx.md is the deployment guide.
//
// EGo's enclave package needs cgo, so the implementation is in cgo builds;
// without cgo every method returns errors.ErrUnsupported. Outside an enclave
// EGo returns an all-zero seal key without error: the Sealer first proves it
// runs in an enclave (enclave.GetSelfReport) and refuses a zero key.
package sgx
