package rpc

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"slices"
	"sync"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials"
	"google.golang.org/grpc/health"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"
	"google.golang.org/grpc/keepalive"
	"google.golang.org/grpc/peer"

	"github.com/teaclave-go/teaclave/attestation"
)

// MaxMessageSize is the largest gRPC message any server or client of ours
// sends or accepts: Teaclave's 4 MiB.
const MaxMessageSize = 4 << 20

// EndpointKind says who may connect to a server.
type EndpointKind int

const (
	// APIEndpoint serves clients: it presents an attested certificate and
	// asks for none (the authentication API, the frontend).
	APIEndpoint EndpointKind = iota
	// InternalEndpoint serves other enclaves: the client must present an
	// attested certificate whose verified identity is on this service's
	// inbound list.
	InternalEndpoint
)

// String names the endpoint kind.
func (k EndpointKind) String() string {
	if k == InternalEndpoint {
		return "internal"
	}
	return "api"
}

// tls12Suites are the TLS 1.2 suites offered: ECDHE key exchange with an
// AEAD only (TLS 1.3's suites are all AEAD and not configurable). Our keys
// are ECDSA P-256, so RSA suites would never be chosen.
var tls12Suites = []uint16{
	tls.TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256,
	tls.TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384,
	tls.TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256,
}

// TLS12CipherSuites returns the TLS 1.2 suites the attested transport
// offers (ECDHE with an AEAD, for ECDSA keys), for other TLS endpoints of
// the platform that hold ECDSA keys, such as the endorsing attestation
// service.
func TLS12CipherSuites() []uint16 { return slices.Clone(tls12Suites) }

// TransportConfig configures NewTransport.
type TransportConfig struct {
	// Service is this enclave's service name in the enclave info, e.g.
	// attestation.ServiceStorage. Its internal endpoints admit the callers
	// the policy's topology lists for it.
	Service string
	// Attestor produces this enclave's attested certificates.
	Attestor attestation.Attestor
	// Verifier checks peers against the compiled-in policy and the signed
	// enclave info.
	Verifier *attestation.Verifier
	// Logger receives refusals and refresh failures; nil means
	// slog.Default().
	Logger *slog.Logger
	// Now is the clock; nil means time.Now.
	Now func() time.Time
	// RetryInterval is how long to wait after a failed certificate refresh
	// before trying again; zero means 10 s.
	RetryInterval time.Duration
}

// Transport makes attested gRPC servers and clients for one enclave. It
// holds the enclave's current certificate and replaces it before peers
// would refuse it as too old, without dropping connections: new handshakes
// pick up the new certificate, and servers close connections after one
// refresh interval so that clients reconnect with fresh evidence.
type Transport struct {
	cfg    TransportConfig
	logger *slog.Logger

	mu   sync.RWMutex
	cred *attestation.Credential

	stop    context.CancelFunc
	stopped chan struct{}
}

// NewTransport attests once (so a misconfigured enclave fails at start, not
// at the first call) and starts refreshing the certificate in the
// background until Close.
func NewTransport(ctx context.Context, cfg TransportConfig) (*Transport, error) {
	if cfg.Service == "" || cfg.Attestor == nil || cfg.Verifier == nil {
		return nil, errors.New("rpc: transport needs a service name, an attestor and a verifier")
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.RetryInterval <= 0 {
		cfg.RetryInterval = 10 * time.Second
	}
	cred, err := cfg.Attestor.Attest(ctx)
	if err != nil {
		return nil, fmt.Errorf("rpc: attest %s: %w", cfg.Service, err)
	}
	refreshCtx, cancel := context.WithCancel(context.Background())
	t := &Transport{
		cfg:     cfg,
		logger:  cfg.Logger.With("component", "rpc", "service", cfg.Service),
		cred:    cred,
		stop:    cancel,
		stopped: make(chan struct{}),
	}
	go t.refreshLoop(refreshCtx)
	return t, nil
}

// Close stops the certificate refresh. Servers and connections made by
// the transport keep working with the last certificate.
func (t *Transport) Close() {
	t.stop()
	<-t.stopped
}

// Service returns the transport's own service name.
func (t *Transport) Service() string { return t.cfg.Service }

// Credential returns the current attested credential.
func (t *Transport) Credential() *attestation.Credential {
	t.mu.RLock()
	defer t.mu.RUnlock()
	return t.cred
}

// Refresh attests now and, on success, serves the new certificate to every
// later handshake.
func (t *Transport) Refresh(ctx context.Context) error {
	cred, err := t.cfg.Attestor.Attest(ctx)
	if err != nil {
		return fmt.Errorf("rpc: refresh attestation of %s: %w", t.cfg.Service, err)
	}
	t.mu.Lock()
	t.cred = cred
	t.mu.Unlock()
	return nil
}

func (t *Transport) refreshLoop(ctx context.Context) {
	defer close(t.stopped)
	for {
		wait := t.Credential().RefreshAt.Sub(t.cfg.Now())
		timer := time.NewTimer(max(wait, 0))
		select {
		case <-ctx.Done():
			timer.Stop()
			return
		case <-timer.C:
		}
		for {
			err := t.Refresh(ctx)
			if err == nil {
				t.logger.Info("attested certificate refreshed", "expires", t.Credential().Expires)
				break
			}
			if ctx.Err() != nil {
				return
			}
			// Keep serving the current certificate: peers accept it until
			// its report's age limit.
			t.logger.Error("attested certificate refresh failed; keeping the current certificate",
				"error", err, "expires", t.Credential().Expires)
			select {
			case <-ctx.Done():
				return
			case <-time.After(t.cfg.RetryInterval):
			}
		}
	}
}

// refreshInterval is the time between a certificate's issue and its
// planned replacement: servers close connections that old, so that no
// connection outlives the evidence it was verified with.
func (t *Transport) refreshInterval() time.Duration {
	c := t.Credential()
	d := c.RefreshAt.Sub(c.Certificate.Leaf.NotBefore)
	if d < time.Minute {
		d = time.Minute
	}
	return d
}

func (t *Transport) certificate() (*tls.Certificate, error) {
	c := t.Credential()
	if c == nil {
		return nil, errors.New("rpc: no attested certificate")
	}
	return &c.Certificate, nil
}

func baseTLS() *tls.Config {
	return &tls.Config{
		MinVersion:   tls.VersionTLS12,
		CipherSuites: tls12Suites,
	}
}

// ServerTLS returns the TLS configuration of an endpoint of the given kind.
// An internal endpoint requires a client certificate and admits only
// callers the topology lists for this service.
func (t *Transport) ServerTLS(kind EndpointKind) *tls.Config {
	cfg := baseTLS()
	cfg.GetCertificate = func(*tls.ClientHelloInfo) (*tls.Certificate, error) { return t.certificate() }
	if kind == InternalEndpoint {
		// Any certificate is requested; the attestation check below, not
		// an X.509 chain, decides.
		cfg.ClientAuth = tls.RequireAnyClientCert
		cfg.VerifyConnection = func(cs tls.ConnectionState) error {
			_, _, err := t.cfg.Verifier.VerifyCaller(t.cfg.Now(), rawCerts(cs), t.cfg.Service)
			if err != nil {
				t.logger.Warn("refused internal caller", "error", err)
			}
			return err
		}
	}
	return cfg
}

// ClientTLS returns the TLS configuration for dialing service: the peer
// must prove it is that service by attestation. Host names and X.509
// chains play no part (Teaclave's certificates are self-signed).
func (t *Transport) ClientTLS(service string) *tls.Config {
	cfg := pinnedClientTLS(t.cfg.Verifier, t.cfg.Now, service)
	cfg.GetClientCertificate = func(*tls.CertificateRequestInfo) (*tls.Certificate, error) { return t.certificate() }
	return cfg
}

// pinnedClientTLS accepts a server only if verifier attests it as service.
func pinnedClientTLS(verifier *attestation.Verifier, now func() time.Time, service string) *tls.Config {
	cfg := baseTLS()
	cfg.InsecureSkipVerify = true // replaced by VerifyConnection's attestation check
	cfg.VerifyConnection = func(cs tls.ConnectionState) error {
		if _, err := verifier.VerifyService(now(), rawCerts(cs), service); err != nil {
			return fmt.Errorf("rpc: %s failed attestation: %w", service, err)
		}
		return nil
	}
	return cfg
}

func rawCerts(cs tls.ConnectionState) [][]byte {
	out := make([][]byte, len(cs.PeerCertificates))
	for i, c := range cs.PeerCertificates {
		out[i] = c.Raw
	}
	return out
}

// NewServer returns a gRPC server for an endpoint of the given kind, with
// the attested TLS credentials, message limits, connection age limit,
// error conversion, the verified peer in each call's context (see
// PeerFrom) and the gRPC health service. Extra options come after ours;
// unary interceptors among them run inside ours.
func (t *Transport) NewServer(kind EndpointKind, opts ...grpc.ServerOption) *grpc.Server {
	creds := &attestedCreds{TransportCredentials: credentials.NewTLS(t.ServerTLS(kind)), verifier: t.cfg.Verifier, now: t.cfg.Now, self: t.cfg.Service, kind: kind}
	age := t.refreshInterval()
	base := []grpc.ServerOption{
		grpc.Creds(creds),
		grpc.MaxRecvMsgSize(MaxMessageSize),
		grpc.MaxSendMsgSize(MaxMessageSize),
		grpc.KeepaliveParams(keepalive.ServerParameters{MaxConnectionAge: age, MaxConnectionAgeGrace: time.Minute}),
		// Order: errors outermost, so every refusal below it reaches the
		// client as a status with a vetted message.
		grpc.ChainUnaryInterceptor(UnaryServerErrors),
		grpc.ChainStreamInterceptor(StreamServerErrors),
	}
	srv := grpc.NewServer(append(base, opts...)...)
	healthpb.RegisterHealthServer(srv, health.NewServer())
	return srv
}

// Dial returns a client connection to service at addr, pinned to the
// service's attested identity, with message limits and error conversion
// (errors come back as *teaclave.Error) and the Caller in the context
// forwarded as metadata.
func (t *Transport) Dial(addr, service string, opts ...grpc.DialOption) (*grpc.ClientConn, error) {
	creds := &attestedCreds{TransportCredentials: credentials.NewTLS(t.ClientTLS(service)), verifier: t.cfg.Verifier, now: t.cfg.Now, service: service}
	base := []grpc.DialOption{
		grpc.WithTransportCredentials(creds),
		grpc.WithDefaultCallOptions(grpc.MaxCallRecvMsgSize(MaxMessageSize), grpc.MaxCallSendMsgSize(MaxMessageSize)),
		grpc.WithChainUnaryInterceptor(UnaryClientErrors, UnaryClientCaller),
	}
	cc, err := grpc.NewClient(addr, append(base, opts...)...)
	if err != nil {
		return nil, fmt.Errorf("rpc: dial %s at %s: %w", service, addr, err)
	}
	return cc, nil
}

// Peer is the verified identity of the other end of a call.
type Peer struct {
	// Identity is the peer's service and measurement. It is empty for
	// callers of an API endpoint, which are not attested.
	Identity attestation.Identity
	// Report is the peer's verified attestation report (nil on API
	// endpoints).
	Report *attestation.Report
}

// AuthInfo is the credentials.AuthInfo of an attested connection.
type AuthInfo struct {
	credentials.TLSInfo
	Peer Peer
}

// PeerFrom returns the verified peer of the call ctx belongs to. ok is
// false outside a call on one of our servers.
func PeerFrom(ctx context.Context) (Peer, bool) {
	p, ok := peer.FromContext(ctx)
	if !ok {
		return Peer{}, false
	}
	info, ok := p.AuthInfo.(AuthInfo)
	if !ok {
		return Peer{}, false
	}
	return info.Peer, true
}

// attestedCreds wraps gRPC's TLS credentials to attach the verified peer
// to the connection. The TLS configuration has already refused an
// unverified peer during the handshake; verifying again here hits the
// verifier's cache.
type attestedCreds struct {
	credentials.TransportCredentials
	verifier *attestation.Verifier
	now      func() time.Time
	self     string       // the server's own service, on the server side
	kind     EndpointKind // on the server side
	service  string       // the pinned service, on the client side
}

func (c *attestedCreds) ServerHandshake(raw net.Conn) (net.Conn, credentials.AuthInfo, error) {
	conn, info, err := c.TransportCredentials.ServerHandshake(raw)
	if err != nil {
		return nil, nil, err
	}
	tlsInfo, ok := info.(credentials.TLSInfo)
	if !ok {
		conn.Close()
		return nil, nil, errors.New("rpc: not a TLS connection")
	}
	out := AuthInfo{TLSInfo: tlsInfo}
	if c.kind == InternalEndpoint {
		report, id, err := c.verifier.VerifyCaller(c.now(), rawCerts(tlsInfo.State), c.self)
		if err != nil {
			conn.Close()
			return nil, nil, err
		}
		out.Peer = Peer{Identity: id, Report: report}
	}
	return conn, out, nil
}

func (c *attestedCreds) ClientHandshake(ctx context.Context, authority string, raw net.Conn) (net.Conn, credentials.AuthInfo, error) {
	conn, info, err := c.TransportCredentials.ClientHandshake(ctx, authority, raw)
	if err != nil {
		return nil, nil, err
	}
	tlsInfo, ok := info.(credentials.TLSInfo)
	if !ok {
		conn.Close()
		return nil, nil, errors.New("rpc: not a TLS connection")
	}
	report, err := c.verifier.VerifyService(c.now(), rawCerts(tlsInfo.State), c.service)
	if err != nil {
		conn.Close()
		return nil, nil, err
	}
	id, _ := c.verifier.EnclaveInfo().Identity(c.service)
	return conn, AuthInfo{TLSInfo: tlsInfo, Peer: Peer{Identity: id, Report: report}}, nil
}

func (c *attestedCreds) Clone() credentials.TransportCredentials {
	clone := *c
	clone.TransportCredentials = c.TransportCredentials.Clone()
	return &clone
}
