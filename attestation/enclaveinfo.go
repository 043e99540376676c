package attestation

import (
	"bytes"
	"crypto"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"maps"
	"slices"

	"github.com/BurntSushi/toml"
)

// MaxEnclaveInfoSize bounds enclave_info.toml.
const MaxEnclaveInfoSize = 64 << 10

// EnclaveInfo maps service names to their measurements (enclave_info.toml,
// §16.5). Expected identities come only from it. Several services may share
// a measurement: one binary may run several services (the all-in-one
// platform runs all of them), and a peer with that measurement may then act
// as any of them.
type EnclaveInfo struct {
	services map[string]Measurement
	byM      map[Measurement][]string // service names, sorted
	verified bool
}

// ParseEnclaveInfo parses enclave_info.toml without checking signatures (for
// tools; services use LoadEnclaveInfo). Every top-level table is a service
// with exactly the keys mr_enclave and mr_signer, each 64 hex digits; no
// other content.
func ParseEnclaveInfo(data []byte) (*EnclaveInfo, error) {
	if len(data) > MaxEnclaveInfoSize {
		return nil, fmt.Errorf("%w: larger than %d bytes", ErrMalformedEnclaveInfo, MaxEnclaveInfoSize)
	}
	var raw map[string]any
	if _, err := toml.Decode(string(data), &raw); err != nil {
		return nil, fmt.Errorf("%w: %w", ErrMalformedEnclaveInfo, err)
	}
	info := &EnclaveInfo{services: make(map[string]Measurement, len(raw)), byM: make(map[Measurement][]string, len(raw))}
	for _, name := range slices.Sorted(maps.Keys(raw)) {
		if !validServiceName(name) {
			return nil, fmt.Errorf("%w: bad service name %.64q", ErrMalformedEnclaveInfo, name)
		}
		table, ok := raw[name].(map[string]any)
		if !ok {
			return nil, fmt.Errorf("%w: %s is not a table", ErrMalformedEnclaveInfo, name)
		}
		if len(table) != 2 {
			return nil, fmt.Errorf("%w: %s must have exactly mr_enclave and mr_signer", ErrMalformedEnclaveInfo, name)
		}
		var m Measurement
		if err := decodeHex32(table["mr_enclave"], &m.MREnclave); err != nil {
			return nil, fmt.Errorf("%w: %s.mr_enclave: %w", ErrMalformedEnclaveInfo, name, err)
		}
		if err := decodeHex32(table["mr_signer"], &m.MRSigner); err != nil {
			return nil, fmt.Errorf("%w: %s.mr_signer: %w", ErrMalformedEnclaveInfo, name, err)
		}
		info.services[name] = m
		info.byM[m] = append(info.byM[m], name) // names come in sorted order
	}
	return info, nil
}

func validServiceName(s string) bool {
	if s == "" || len(s) > 128 {
		return false
	}
	for _, c := range []byte(s) {
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '_' || c == '-') {
			return false
		}
	}
	return true
}

func decodeHex32(v any, out *[32]byte) error {
	s, ok := v.(string)
	if !ok {
		return fmt.Errorf("missing or not a string")
	}
	if len(s) != 64 {
		return fmt.Errorf("%d characters, want 64 hex digits", len(s))
	}
	if _, err := hex.Decode(out[:], []byte(s)); err != nil {
		return fmt.Errorf("not hex")
	}
	return nil
}

// LoadEnclaveInfo verifies the auditors' signatures over the exact bytes of
// enclave_info.toml and parses it. Each signature (raw RSA PKCS#1 v1.5
// SHA-256, as openssl dgst -sha256 -sign writes) must verify under one of
// the policy's auditor keys; each auditor counts once; at least the policy's
// threshold of distinct auditors must have signed. Zero signatures never
// pass.
func LoadEnclaveInfo(data []byte, signatures [][]byte, policy *Policy) (*EnclaveInfo, error) {
	if err := policy.Validate(); err != nil {
		return nil, err
	}
	if err := VerifyAuditorSignatures(data, signatures, policy.Auditors, policy.AuditorThreshold); err != nil {
		return nil, err
	}
	info, err := ParseEnclaveInfo(data)
	if err != nil {
		return nil, err
	}
	info.verified = true
	return info, nil
}

// VerifyAuditorSignatures checks signatures over data as LoadEnclaveInfo
// does.
func VerifyAuditorSignatures(data []byte, signatures [][]byte, auditors []Auditor, threshold int) error {
	if threshold < 1 || len(auditors) == 0 {
		return fmt.Errorf("%w: the policy names no auditor threshold", ErrMissingSignature)
	}
	if len(signatures) > len(auditors) {
		return fmt.Errorf("%w: %d signatures for %d auditors", ErrTooManySignatures, len(signatures), len(auditors))
	}
	digest := sha256.Sum256(data)
	used := make([]bool, len(auditors))
	distinct := 0
	for i, sig := range signatures {
		who := -1
		for j, a := range auditors {
			if rsa.VerifyPKCS1v15(a.Key, crypto.SHA256, digest[:], sig) == nil {
				who = j
				break
			}
		}
		if who < 0 {
			return fmt.Errorf("%w: signature %d verifies under no auditor key", ErrBadAuditorSignature, i)
		}
		if used[who] {
			return fmt.Errorf("%w: auditor %q signed twice", ErrRepeatedSignature, auditors[who].Name)
		}
		used[who] = true
		distinct++
	}
	if distinct < threshold {
		return fmt.Errorf("%w: %d distinct auditors signed, %d required", ErrMissingSignature, distinct, threshold)
	}
	return nil
}

// Verified reports whether the info came from LoadEnclaveInfo.
func (e *EnclaveInfo) Verified() bool { return e != nil && e.verified }

// Lookup returns the services whose measurement is m, sorted by name.
func (e *EnclaveInfo) Lookup(m Measurement) (services []string, ok bool) {
	if e == nil {
		return nil, false
	}
	services, ok = e.byM[m]
	return slices.Clone(services), ok
}

// Identity returns the expected identity of service.
func (e *EnclaveInfo) Identity(service string) (Identity, bool) {
	if e == nil {
		return Identity{}, false
	}
	m, ok := e.services[service]
	if !ok {
		return Identity{}, false
	}
	return Identity{Service: service, MREnclave: m.MREnclave, MRSigner: m.MRSigner}, true
}

// Services returns the service names, sorted.
func (e *EnclaveInfo) Services() []string {
	if e == nil {
		return nil
	}
	return slices.Sorted(maps.Keys(e.services))
}

// Measurements returns a copy of the service → measurement map.
func (e *EnclaveInfo) Measurements() map[string]Measurement {
	if e == nil {
		return nil
	}
	return maps.Clone(e.services)
}

// MarshalEnclaveInfo writes enclave_info.toml for the given services: one
// table per service in name order, lowercase hex. The bytes written are the
// bytes auditors sign.
func MarshalEnclaveInfo(services map[string]Measurement) ([]byte, error) {
	var b bytes.Buffer
	for i, name := range slices.Sorted(maps.Keys(services)) {
		if !validServiceName(name) {
			return nil, fmt.Errorf("%w: bad service name %.64q", ErrMalformedEnclaveInfo, name)
		}
		m := services[name]
		if i > 0 {
			b.WriteByte('\n')
		}
		fmt.Fprintf(&b, "[%s]\nmr_enclave = %q\nmr_signer = %q\n", name,
			hex.EncodeToString(m.MREnclave[:]), hex.EncodeToString(m.MRSigner[:]))
	}
	return b.Bytes(), nil
}

// SignEnclaveInfo signs enclave_info.toml bytes as an auditor: raw RSA
// PKCS#1 v1.5 over SHA-256, the content of <auditor>.sign.sha256.
func SignEnclaveInfo(data []byte, key *rsa.PrivateKey) ([]byte, error) {
	digest := sha256.Sum256(data)
	sig, err := rsa.SignPKCS1v15(rand.Reader, key, crypto.SHA256, digest[:])
	if err != nil {
		return nil, fmt.Errorf("attestation: sign enclave info: %w", err)
	}
	return sig, nil
}
