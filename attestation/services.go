package attestation

import (
	"encoding/hex"
	"slices"
)

// Service names as they appear in enclave_info.toml, the topology and the
// build config of Teaclave (§1.2, §16.5).
const (
	ServiceAuthentication = "teaclave_authentication_service"
	ServiceFrontend       = "teaclave_frontend_service"
	ServiceManagement     = "teaclave_management_service"
	ServiceStorage        = "teaclave_storage_service"
	ServiceAccessControl  = "teaclave_access_control_service"
	ServiceScheduler      = "teaclave_scheduler_service"
	ServiceExecution      = "teaclave_execution_service"
	// ServiceAttestation is the endorsing attestation service of SGX
	// deployments; its measurement is part of the signed enclave info.
	ServiceAttestation = "teaclave_attestation_service"
)

// Services returns the names of all services this package knows, in a fixed
// order.
func Services() []string {
	return []string{
		ServiceAuthentication, ServiceFrontend, ServiceManagement, ServiceStorage,
		ServiceAccessControl, ServiceScheduler, ServiceExecution, ServiceAttestation,
	}
}

// Measurement is the code identity of an enclave: MRENCLAVE and MRSIGNER.
type Measurement struct {
	MREnclave [32]byte
	MRSigner  [32]byte
}

// String renders the measurement as lowercase hex, enclave first.
func (m Measurement) String() string {
	return "mr_enclave=" + hex.EncodeToString(m.MREnclave[:]) + " mr_signer=" + hex.EncodeToString(m.MRSigner[:])
}

// Identity is a verified peer: the service name the enclave info records for
// its measurement.
type Identity struct {
	Service   string
	MREnclave [32]byte
	MRSigner  [32]byte
}

// Measurement returns the identity's code measurement.
func (id Identity) Measurement() Measurement {
	return Measurement{MREnclave: id.MREnclave, MRSigner: id.MRSigner}
}

// Topology says which services may call which internal endpoint: it maps a
// callee's service name to the service names of its allowed callers (the
// inbound lists of §1.2). Endpoints that are not keys (the authentication
// API, the frontend) require no client certificate and are not governed by
// the topology.
type Topology map[string][]string

// DefaultTopology returns Teaclave's inbound lists (§1.2), plus management on
// authentication's internal list (management asks authentication's directory
// whether owner ids exist).
func DefaultTopology() Topology {
	return Topology{
		ServiceAuthentication: {ServiceFrontend, ServiceManagement},
		ServiceManagement:     {ServiceFrontend},
		ServiceAccessControl:  {ServiceFrontend, ServiceManagement},
		ServiceStorage:        {ServiceManagement, ServiceScheduler},
		ServiceScheduler:      {ServiceExecution},
	}
}

// Allowed reports whether caller is on callee's inbound list.
func (t Topology) Allowed(caller, callee string) bool {
	return caller != "" && slices.Contains(t[callee], caller)
}

// Clone returns a deep copy.
func (t Topology) Clone() Topology {
	if t == nil {
		return nil
	}
	c := make(Topology, len(t))
	for k, v := range t {
		c[k] = slices.Clone(v)
	}
	return c
}
