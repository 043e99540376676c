package rpc

import (
	"errors"
	"fmt"
	"sync"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/backoff"
)

// Endpoints maps service names (attestation.Service*) to the addresses of
// their internal endpoints. It comes from deployment configuration: it says
// where a service is, never whether to trust it.
type Endpoints map[string]string

// Dialer hands out one attested connection per remote service, each pinned
// to that service's identity. It is what every service's RemoteModule uses.
type Dialer struct {
	t         *Transport
	endpoints Endpoints

	mu    sync.Mutex
	conns map[string]*grpc.ClientConn
}

// NewDialer returns a dialer that reaches services at endpoints through t.
func NewDialer(t *Transport, endpoints Endpoints) *Dialer {
	eps := make(Endpoints, len(endpoints))
	for k, v := range endpoints {
		eps[k] = v
	}
	return &Dialer{t: t, endpoints: eps, conns: map[string]*grpc.ClientConn{}}
}

// redialBackoff is how a dialer's connections retry a service that went
// away: from 100 ms up to 2 s between attempts, instead of gRPC's default
// of up to two minutes, so that a restarted service is reached again
// within seconds.
func redialBackoff() grpc.DialOption {
	return grpc.WithConnectParams(grpc.ConnectParams{
		Backoff:           backoff.Config{BaseDelay: 100 * time.Millisecond, Multiplier: 1.6, Jitter: 0.2, MaxDelay: 2 * time.Second},
		MinConnectTimeout: 10 * time.Second,
	})
}

// Conn returns the connection to service, creating it on first use. The
// connection is lazy: the handshake, and with it the attestation check,
// happens at the first call. A connection whose service goes away tries
// again every 2 s at most, so a restarted service is found quickly.
func (d *Dialer) Conn(service string) (grpc.ClientConnInterface, error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	if cc, ok := d.conns[service]; ok {
		return cc, nil
	}
	addr, ok := d.endpoints[service]
	if !ok || addr == "" {
		return nil, fmt.Errorf("rpc: no address configured for %s", service)
	}
	cc, err := d.t.Dial(addr, service, redialBackoff())
	if err != nil {
		return nil, err
	}
	d.conns[service] = cc
	return cc, nil
}

// Close closes every connection the dialer made.
func (d *Dialer) Close() error {
	d.mu.Lock()
	defer d.mu.Unlock()
	var errs []error
	for s, cc := range d.conns {
		errs = append(errs, cc.Close())
		delete(d.conns, s)
	}
	return errors.Join(errs...)
}

// Registration is a gRPC service a service package contributes to one of
// the process's endpoints, which are named by service and kind (the
// authentication service has both an api and an internal endpoint).
type Registration struct {
	// Service is the service whose endpoint this belongs on
	// (attestation.Service*).
	Service string
	// Kind is the endpoint the service belongs on.
	Kind EndpointKind
	// Register registers the service's handlers.
	Register func(grpc.ServiceRegistrar)
}
