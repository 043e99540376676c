//go:build !teaclave_production

package main

import (
	"crypto"

	"github.com/teaclave-go/teaclave/attestation/sim"
)

// simulatedEnclaveInfo writes enclave info for simulated binaries.
func simulatedEnclaveInfo(executables map[string]string, signer crypto.PublicKey) ([]byte, error) {
	return sim.EnclaveInfo(executables, signer)
}
