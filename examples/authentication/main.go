// Command authentication runs the authentication service (its api
// endpoint and its internal endpoint) of a multi-process Teaclave for Go
// deployment, one process of several that share one configuration file
// (docs/deploy.md).
//
// Build it with the other commands and run it:
//
//	go build -o bin/ ./examples/...
//	bin/authentication -config runtime.config.toml
//
// In development builds the data folder must first hold the trust
// material and the enclave info that lists this binary (teaclave
// enclave-info generate --data-dir); teaclave_production builds load
// compiled-in trust and the auditor-signed enclave info named in [audit]
// instead (docs/sgx.md).
//
// Flags override the configuration file, and the environment
// (TEACLAVE_AUTH_ADDR, TEACLAVE_FRONTEND_ADDR, TEACLAVE_DATA_DIR)
// overrides the file. SIGINT or SIGTERM stops it gracefully.
package main

import "github.com/teaclave-go/teaclave/examples/deploy"

func main() { deploy.Run(deploy.ServiceAuthentication) }
