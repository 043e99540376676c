//go:build teaclave_production

package main

import (
	"crypto"
	"errors"
)

// simulatedEnclaveInfo is refused in production builds, which contain no
// simulation.
func simulatedEnclaveInfo(map[string]string, crypto.PublicKey) ([]byte, error) {
	return nil, withHint(errors.New("enclave-info generate is for simulated binaries, which production builds do not support"),
		"take mr_enclave and mr_signer from 'ego uniqueid' and 'ego signerid' and write enclave_info.toml by hand")
}

// writeDevelopmentEnclaveInfo is refused in production builds.
func writeDevelopmentEnclaveInfo(string, map[string]string) error {
	return errors.New("enclave-info generate --data-dir is for development builds: for SGX binaries see docs/sgx.md")
}
