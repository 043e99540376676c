// Package sgx is attestation on Intel SGX through EGo: a Quoter on
// enclave.GetRemoteReport (an Open Enclave report around a DCAP quote, which
// the endorsing attestation service turns into Teaclave's report) and a
// Sealer on the enclave's product seal key.
//
// EGo's enclave package needs cgo, so the implementation is in cgo builds;
// without cgo every method returns errors.ErrUnsupported. Outside an enclave
// EGo returns an all-zero seal key without error: the Sealer first proves it
// runs in an enclave (enclave.GetSelfReport) and refuses a zero key.
package sgx
