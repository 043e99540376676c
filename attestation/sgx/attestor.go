package sgx

import (
	"time"

	"github.com/teaclave-go/teaclave/attestation"
)

// NewAttestor returns the attestor of a service in an EGo enclave: each
// Attest makes a fresh key, gets EGo's remote report whose report data is
// the key's X‖Y, sends it to the endorsing attestation service e (an
// endorser.Client over Teaclave's HTTP protocol or an endorser.GRPCClient),
// and builds Teaclave's RA-TLS certificate from the answer.
//
// When the endorser is unreachable at refresh time, rpc.Transport keeps
// serving the current certificate (peers accept it until its report's age
// limit) and logs an error at every retry.
func NewAttestor(e attestation.Endorser, maxReportAge time.Duration) (attestation.Attestor, error) {
	return attestation.NewAttestor(NewQuoter(), e, attestation.AttestorConfig{MaxReportAge: maxReportAge})
}
