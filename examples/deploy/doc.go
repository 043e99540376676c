// Package deploy is the deployment side of the reference platform: the
// configuration file (one TOML file in the shape of Teaclave's
// runtime.config.toml), its loader with environment and flag overrides,
// the development trust material, and the fx compositions that run the
// services: all of them in one process (Platform, the embedded default),
// or one per process (Service, Node, and Main for the commands under
// examples/; docs/deploy.md).
//
// Only host-level facts live in the configuration: addresses, folders, the
// enclave info file and its signatures. What the platform trusts is
// compiled in, except in development builds, which create a simulated
// attestation root and a development auditor key once in the data folder
// and trust those (see DevelopmentTrust and docs/security.md). In a
// multi-process deployment the enclave info is generated once for the
// set of binaries (WriteDevelopmentEnclaveInfo) and each process only
// loads it (DevelopmentServiceTrust).
package deploy
