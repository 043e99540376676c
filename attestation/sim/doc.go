//go:build !teaclave_production

// Package sim is INSECURE simulated attestation for development and tests:
// a software quote in SGX's 432-byte quote body layout, a simulated
// attestation service that endorses it under a root marked simulated, and a
// Sealer on a key file. Every check of the verifier still runs; what is
// simulated is only the hardware root of trust, so a simulated deployment
// trusts its host.
//
// The package is built only without the tag teaclave_production: production
// binaries cannot contain it, and their policies refuse simulated roots.
//
//	svc, err := sim.NewAttestationService(sim.Options{})          // once; persist with svc.MarshalPEM
//	q, err := sim.NewQuoter(signerPublicKey)                      // mr_enclave = SHA-256 of this executable
//	attestor, err := sim.NewAttestor(svc, q, policy.MaxReportAge, logger)
//	policy.Roots = append(policy.Roots, svc.Root())              // development policy only
package sim
