//go:build !teaclave_production

package main

import (
	"fmt"
	"log/slog"
	"os"
	"path/filepath"

	"github.com/teaclave-go/teaclave/attestation/endorser"
	"github.com/teaclave-go/teaclave/attestation/sim"
)

// devMode is the INSECURE development mode: quotes are checked for shape
// only and the identity is sealed with a key file. Its identity file is
// not the SGX one, so even run inside an enclave it can never sign with the
// root that SGX policies pin.
func devMode(o options, logger *slog.Logger) (*mode, error) {
	v, err := endorser.NewInsecureDevVerifier("", logger)
	if err != nil {
		return nil, err
	}
	keyFile := o.sealKey
	if keyFile == "" {
		keyFile = filepath.Join(o.dataDir, "seal-dev.key")
	}
	if err := os.MkdirAll(filepath.Dir(keyFile), 0o700); err != nil {
		return nil, fmt.Errorf("data folder: %w", err)
	}
	return &mode{verifier: v, sealer: sim.NewSealer(keyFile, logger), simulated: true, identity: "identity-dev.sealed"}, nil
}
