// Package pythoncompat holds the compatibility test against Apache
// Teaclave's Python SDK: its tests run teaclave_compat.py, which makes the
// calls of Teaclave's Python examples with the SDK's TLS settings and
// attestation checks, against an in-process development platform, once
// with SGX_MODE=SW and once verified against the platform's attestation
// root, auditor-signed enclave info and auditor key.
//
// The tests need /usr/bin/python3 with Debian's python3-grpcio,
// python3-protobuf, python3-cryptography, python3-openssl and
// python3-toml, and protoc with grpc_python_plugin (Debian's
// protobuf-compiler and protobuf-compiler-grpc). Without them they skip,
// unless CI=true, where they fail.
package pythoncompat
