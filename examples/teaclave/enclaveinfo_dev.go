//go:build !teaclave_production

package main

import (
	"crypto"

	"github.com/teaclave-go/teaclave/attestation/sim"
	"github.com/teaclave-go/teaclave/examples/deploy"
)

// simulatedEnclaveInfo writes enclave info for simulated binaries.
func simulatedEnclaveInfo(executables map[string]string, signer crypto.PublicKey) ([]byte, error) {
	return sim.EnclaveInfo(executables, signer)
}

// writeDevelopmentEnclaveInfo writes and signs the enclave info of a
// multi-process development deployment's data folder.
func writeDevelopmentEnclaveInfo(dataDir string, executables map[string]string) error {
	return deploy.WriteDevelopmentEnclaveInfo(dataDir, executables)
}
