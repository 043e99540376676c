//go:build !teaclave_production

package rpc_test

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"net"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"

	"github.com/teaclave-go/teaclave/attestation"
	"github.com/teaclave-go/teaclave/attestation/sim"
	"github.com/teaclave-go/teaclave/rpc"
	"github.com/teaclave-go/teaclave/rpc/pb/accesscontrolpb"
	"github.com/teaclave-go/teaclave/rpc/rpctest"
)

// peerServer accepts AuthorizeApi iff the verified calling service is the
// one named in user_role, so a test sees what identity the handler saw.
type peerServer struct {
	accesscontrolpb.UnimplementedTeaclaveAccessControlServer
}

func (peerServer) AuthorizeApi(ctx context.Context, req *accesscontrolpb.AuthorizeApiRequest) (*accesscontrolpb.AuthorizeApiResponse, error) {
	p, ok := rpc.PeerFrom(ctx)
	if !ok {
		return &accesscontrolpb.AuthorizeApiResponse{}, nil
	}
	return &accesscontrolpb.AuthorizeApiResponse{Accept: p.Identity.Service == req.UserRole && p.Report != nil}, nil
}

// serve starts a gRPC server of tr on 127.0.0.1:0 and returns its address.
func serve(t *testing.T, tr *rpc.Transport, kind rpc.EndpointKind) string {
	t.Helper()
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := tr.NewServer(kind)
	accesscontrolpb.RegisterTeaclaveAccessControlServer(srv, peerServer{})
	go srv.Serve(lis)
	t.Cleanup(srv.Stop)
	return lis.Addr().String()
}

func dial(t *testing.T, tr *rpc.Transport, addr, service string) accesscontrolpb.TeaclaveAccessControlClient {
	t.Helper()
	cc, err := tr.Dial(addr, service)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cc.Close() })
	return accesscontrolpb.NewTeaclaveAccessControlClient(cc)
}

func ctxT(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	t.Cleanup(cancel)
	return ctx
}

// TestAttestedRPC runs two internal servers (storage and access control) and
// calls each from an allowed service over attested mTLS; each handler sees
// its caller's verified identity.
func TestAttestedRPC(t *testing.T) {
	env := rpctest.NewEnv(t)
	storageAddr := serve(t, env.Transport(t, attestation.ServiceStorage), rpc.InternalEndpoint)
	acAddr := serve(t, env.Transport(t, attestation.ServiceAccessControl), rpc.InternalEndpoint)

	for _, c := range []struct{ caller, callee, addr string }{
		{attestation.ServiceManagement, attestation.ServiceStorage, storageAddr},
		{attestation.ServiceScheduler, attestation.ServiceStorage, storageAddr},
		{attestation.ServiceFrontend, attestation.ServiceAccessControl, acAddr},
	} {
		client := dial(t, env.Transport(t, c.caller), c.addr, c.callee)
		resp, err := client.AuthorizeApi(ctxT(t), &accesscontrolpb.AuthorizeApiRequest{UserRole: c.caller})
		if err != nil {
			t.Fatalf("%s -> %s: %v", c.caller, c.callee, err)
		}
		if !resp.Accept {
			t.Errorf("%s -> %s: handler did not see the caller's verified identity", c.caller, c.callee)
		}
	}
}

// TestAPIEndpointTakesUnattestedClients: an API endpoint needs no client
// certificate, and its handlers see no attested identity.
func TestAPIEndpointTakesUnattestedClients(t *testing.T) {
	env := rpctest.NewEnv(t)
	server := env.Transport(t, attestation.ServiceFrontend)
	addr := serve(t, server, rpc.APIEndpoint)
	// A client that verifies the server but has no certificate of its own.
	client := env.Transport(t, attestation.ServiceExecution)
	cfg := client.ClientTLS(attestation.ServiceFrontend)
	cfg.GetClientCertificate = nil
	conn, err := tls.Dial("tcp", addr, cfg)
	if err != nil {
		t.Fatalf("API endpoint refused a client without certificate: %v", err)
	}
	conn.Close()
	// Over gRPC, handlers see no attested peer.
	resp, err := dial(t, client, addr, attestation.ServiceFrontend).AuthorizeApi(ctxT(t), &accesscontrolpb.AuthorizeApiRequest{UserRole: attestation.ServiceExecution})
	if err != nil || resp.Accept {
		t.Errorf("API endpoint handler saw an attested caller: %v %v", resp, err)
	}
}

// handshake runs one TLS handshake between a server and a client config on
// 127.0.0.1 and returns each side's error.
func handshake(t *testing.T, server, client *tls.Config) (serverErr, clientErr error) {
	t.Helper()
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer lis.Close()
	done := make(chan error, 1)
	go func() {
		c, err := lis.Accept()
		if err != nil {
			done <- err
			return
		}
		defer c.Close()
		tc := tls.Server(c, server)
		tc.SetDeadline(time.Now().Add(10 * time.Second))
		err = tc.Handshake()
		if err == nil {
			// TLS 1.3 clients finish before the server has seen the client
			// certificate; read once so a refusal reaches both sides.
			_, err = tc.Read(make([]byte, 1))
		}
		done <- err
	}()
	raw, err := net.Dial("tcp", lis.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	tc := tls.Client(raw, client)
	tc.SetDeadline(time.Now().Add(10 * time.Second))
	clientErr = tc.Handshake()
	if clientErr == nil {
		// Wait for the server's verdict on our certificate (TLS 1.3 sends
		// it after the client's handshake is done).
		_, _ = tc.Write([]byte{0})
		_, clientErr = tc.Read(make([]byte, 1))
	}
	tc.Close()
	return <-done, clientErr
}

// TestRefusals checks, for each reason a peer is refused, that the
// handshake fails and which check refused it.
func TestRefusals(t *testing.T) {
	env := rpctest.NewEnv(t)
	storage := env.Transport(t, attestation.ServiceStorage)

	// withQuoter makes a transport claiming to be service whose quotes are
	// changed by mutate.
	withQuoter := func(service string, mutate func(q *sim.Quoter)) *rpc.Transport {
		q := env.Quoter(service)
		mutate(q)
		return env.TransportWith(t, rpc.TransportConfig{Service: service, Attestor: env.Attestor(t, q)})
	}
	clientOf := func(tr *rpc.Transport, dialed string) *tls.Config { return tr.ClientTLS(dialed) }
	management := env.Transport(t, attestation.ServiceManagement)

	cases := []struct {
		name string
		// server and client TLS configurations
		server *tls.Config
		client *tls.Config
		// which side refuses, and why
		serverRefuses bool
		want          error
	}{
		{
			name:   "server with other mr_enclave",
			server: withQuoter(attestation.ServiceStorage, func(q *sim.Quoter) { q.MREnclave[0] ^= 1 }).ServerTLS(rpc.InternalEndpoint),
			client: clientOf(management, attestation.ServiceStorage),
			want:   attestation.ErrMREnclaveMismatch,
		},
		{
			name:   "server with other mr_signer",
			server: withQuoter(attestation.ServiceStorage, func(q *sim.Quoter) { q.MRSigner[0] ^= 1 }).ServerTLS(rpc.InternalEndpoint),
			client: clientOf(management, attestation.ServiceStorage),
			want:   attestation.ErrMRSignerMismatch,
		},
		{
			name:          "caller with other mr_enclave",
			server:        storage.ServerTLS(rpc.InternalEndpoint),
			client:        clientOf(withQuoter(attestation.ServiceManagement, func(q *sim.Quoter) { q.MREnclave[5] ^= 1 }), attestation.ServiceStorage),
			serverRefuses: true,
			want:          attestation.ErrMREnclaveMismatch,
		},
		{
			name:          "caller not in the inbound list",
			server:        storage.ServerTLS(rpc.InternalEndpoint),
			client:        clientOf(env.Transport(t, attestation.ServiceExecution), attestation.ServiceStorage),
			serverRefuses: true,
			want:          attestation.ErrCallerNotAllowed,
		},
		{
			name:   "debug enclave when forbidden",
			server: withQuoter(attestation.ServiceStorage, func(q *sim.Quoter) { q.Debug = true }).ServerTLS(rpc.InternalEndpoint),
			client: clientOf(management, attestation.ServiceStorage),
			want:   attestation.ErrDebugForbidden,
		},
		{
			name:   "status not accepted",
			server: statusTransport(t, env, "GROUP_OUT_OF_DATE").ServerTLS(rpc.InternalEndpoint),
			client: clientOf(management, attestation.ServiceStorage),
			want:   attestation.ErrStatusNotAccepted,
		},
		{
			name:   "report too old",
			server: storage.ServerTLS(rpc.InternalEndpoint),
			client: env.TransportWith(t, rpc.TransportConfig{
				Service:  attestation.ServiceManagement,
				Attestor: env.Attestor(t, env.Quoter(attestation.ServiceManagement)),
				Now:      func() time.Time { return time.Now().Add(rpctest.MaxReportAge + time.Minute) },
			}).ClientTLS(attestation.ServiceStorage),
			want: attestation.ErrReportTooOld,
		},
		{
			name:   "report signed under an unknown root",
			server: otherRootTransport(t, env).ServerTLS(rpc.InternalEndpoint),
			client: clientOf(management, attestation.ServiceStorage),
			want:   attestation.ErrUnknownRoot,
		},
		{
			name:   "certificate key not equal to report data",
			server: keySwapTransport(t, env).ServerTLS(rpc.InternalEndpoint),
			client: clientOf(management, attestation.ServiceStorage),
			want:   attestation.ErrKeyMismatch,
		},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			serverErr, clientErr := handshake(t, c.server, c.client)
			refusing, other := clientErr, serverErr
			if c.serverRefuses {
				refusing, other = serverErr, clientErr
			}
			if !errors.Is(refusing, c.want) {
				t.Errorf("refusal = %v, want %v", refusing, c.want)
			}
			if other == nil {
				t.Error("the other side completed the connection")
			}
		})
	}

	t.Run("no client certificate on an internal endpoint", func(t *testing.T) {
		cfg := management.ClientTLS(attestation.ServiceStorage)
		cfg.GetClientCertificate = nil
		serverErr, clientErr := handshake(t, storage.ServerTLS(rpc.InternalEndpoint), cfg)
		if serverErr == nil || clientErr == nil {
			t.Fatalf("connection without client certificate: server %v, client %v", serverErr, clientErr)
		}
	})

	t.Run("plain TCP", func(t *testing.T) {
		addr := serve(t, storage, rpc.InternalEndpoint)
		cc, err := grpc.NewClient(addr, grpc.WithTransportCredentials(insecure.NewCredentials()))
		if err != nil {
			t.Fatal(err)
		}
		defer cc.Close()
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		if _, err := healthpb.NewHealthClient(cc).Check(ctx, &healthpb.HealthCheckRequest{}); err == nil {
			t.Fatal("plain TCP call succeeded")
		}
	})

	t.Run("simulated root in a production policy", func(t *testing.T) {
		p := *env.Policy
		p.Production = true
		if _, err := attestation.NewVerifier(&p, nil); !errors.Is(err, attestation.ErrSimulatedRoot) {
			t.Errorf("production policy with a simulated root: %v", err)
		}
	})

	t.Run("over gRPC the refusal reaches the caller", func(t *testing.T) {
		addr := serve(t, withQuoter(attestation.ServiceStorage, func(q *sim.Quoter) { q.MREnclave[1] ^= 1 }), rpc.InternalEndpoint)
		_, err := dial(t, management, addr, attestation.ServiceStorage).AuthorizeApi(ctxT(t), &accesscontrolpb.AuthorizeApiRequest{})
		if err == nil {
			t.Fatal("call to an impostor succeeded")
		}
	})
}

func statusTransport(t *testing.T, env *rpctest.Env, status string) *rpc.Transport {
	svc, err := env.AttestationService.WithOptions(sim.Options{Status: status, Logger: env.Logger})
	if err != nil {
		t.Fatal(err)
	}
	a, err := attestation.NewAttestor(env.Quoter(attestation.ServiceStorage), svc, attestation.AttestorConfig{MaxReportAge: rpctest.MaxReportAge})
	if err != nil {
		t.Fatal(err)
	}
	return env.TransportWith(t, rpc.TransportConfig{Service: attestation.ServiceStorage, Attestor: a})
}

var otherService = sync.OnceValues(func() (*sim.AttestationService, error) {
	return sim.NewAttestationService(sim.Options{})
})

func otherRootTransport(t *testing.T, env *rpctest.Env) *rpc.Transport {
	svc, err := otherService()
	if err != nil {
		t.Fatal(err)
	}
	a, err := attestation.NewAttestor(env.Quoter(attestation.ServiceStorage), svc, attestation.AttestorConfig{MaxReportAge: rpctest.MaxReportAge})
	if err != nil {
		t.Fatal(err)
	}
	return env.TransportWith(t, rpc.TransportConfig{Service: attestation.ServiceStorage, Attestor: a})
}

// keySwapAttestor presents a certificate whose key is not the one the
// endorsed report binds.
type keySwapAttestor struct {
	env *rpctest.Env
	q   attestation.Quoter
}

func (a keySwapAttestor) Attest(ctx context.Context) (*attestation.Credential, error) {
	bound, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	other, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	rd, err := attestation.ReportData(&bound.PublicKey)
	if err != nil {
		return nil, err
	}
	quote, err := a.q.Quote(ctx, rd)
	if err != nil {
		return nil, err
	}
	ev, err := a.env.AttestationService.Endorse(ctx, quote)
	if err != nil {
		return nil, err
	}
	der, err := attestation.CreateCertificate(other, ev, time.Now())
	if err != nil {
		return nil, err
	}
	leaf, err := x509.ParseCertificate(der)
	if err != nil {
		return nil, err
	}
	return &attestation.Credential{
		Certificate: tls.Certificate{Certificate: [][]byte{der}, PrivateKey: other, Leaf: leaf},
		Expires:     time.Now().Add(time.Hour),
		RefreshAt:   time.Now().Add(30 * time.Minute),
	}, nil
}

func keySwapTransport(t *testing.T, env *rpctest.Env) *rpc.Transport {
	return env.TransportWith(t, rpc.TransportConfig{
		Service:  attestation.ServiceStorage,
		Attestor: keySwapAttestor{env: env, q: env.Quoter(attestation.ServiceStorage)},
	})
}

// TestRefreshUnderLoad replaces the server's and the clients' certificates
// while calls are in flight: no call fails, and handshakes after a refresh
// see the new certificate.
func TestRefreshUnderLoad(t *testing.T) {
	env := rpctest.NewEnv(t)
	server := env.Transport(t, attestation.ServiceStorage)
	addr := serve(t, server, rpc.InternalEndpoint)
	client := env.Transport(t, attestation.ServiceManagement)

	const workers, callsEach = 4, 150
	var failures, done atomic.Int64
	var wg sync.WaitGroup
	ctx := ctxT(t)
	persistent := dialFresh(t, client, addr)
	defer persistent.close()
	for w := 0; w < workers; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			// Even workers share one long-lived connection (in-flight calls
			// across refreshes); odd ones dial for every call (handshakes
			// during refreshes).
			for i := 0; i < callsEach; i++ {
				c := persistent
				if w%2 == 1 {
					c = dialFresh(t, client, addr)
				}
				if _, err := c.client.AuthorizeApi(ctx, &accesscontrolpb.AuthorizeApiRequest{UserRole: attestation.ServiceManagement}); err != nil {
					failures.Add(1)
					t.Logf("call failed: %v", err)
				}
				if w%2 == 1 {
					c.close()
				}
				done.Add(1)
			}
		}()
	}
	// Refresh at spread points of the load.
	waitFor := func(n int64) {
		for done.Load() < n && failures.Load() == 0 {
			time.Sleep(time.Millisecond)
		}
	}
	seen := map[string]bool{}
	for i := 0; i < 5; i++ {
		waitFor(int64(i+1) * workers * callsEach / 6)
		if err := server.Refresh(ctx); err != nil {
			t.Fatal(err)
		}
		if err := client.Refresh(ctx); err != nil {
			t.Fatal(err)
		}
		cur := server.Credential().Certificate.Leaf.Raw
		got, err := presentedCert(client, addr)
		if err != nil {
			t.Fatalf("handshake after refresh: %v", err)
		}
		if string(got) != string(cur) {
			t.Errorf("handshake after refresh %d did not present the new certificate", i)
		}
		seen[string(cur)] = true
	}
	wg.Wait()
	if n := failures.Load(); n != 0 {
		t.Errorf("%d calls failed during certificate refreshes", n)
	}
	if len(seen) != 5 {
		t.Errorf("refresh produced %d distinct certificates, want 5", len(seen))
	}
}

type freshConn struct {
	client accesscontrolpb.TeaclaveAccessControlClient
	close  func()
}

func dialFresh(t *testing.T, tr *rpc.Transport, addr string) freshConn {
	cc, err := tr.Dial(addr, attestation.ServiceStorage)
	if err != nil {
		t.Error(err)
		return freshConn{close: func() {}}
	}
	return freshConn{client: accesscontrolpb.NewTeaclaveAccessControlClient(cc), close: func() { cc.Close() }}
}

// presentedCert returns the certificate the server at addr presents.
func presentedCert(client *rpc.Transport, addr string) ([]byte, error) {
	conn, err := tls.Dial("tcp", addr, client.ClientTLS(attestation.ServiceStorage))
	if err != nil {
		return nil, err
	}
	defer conn.Close()
	return conn.ConnectionState().PeerCertificates[0].Raw, nil
}

// TestDialAPI: a client that is not an enclave pins a service's attested
// identity and presents no certificate; an impostor is refused.
func TestDialAPI(t *testing.T) {
	env := rpctest.NewEnv(t)
	addr := serve(t, env.Transport(t, attestation.ServiceFrontend), rpc.APIEndpoint)
	cc, err := rpc.DialAPI(addr, attestation.ServiceFrontend, env.Verifier, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer cc.Close()
	if _, err := accesscontrolpb.NewTeaclaveAccessControlClient(cc).AuthorizeApi(ctxT(t), &accesscontrolpb.AuthorizeApiRequest{}); err != nil {
		t.Fatalf("call through DialAPI: %v", err)
	}
	wrong, err := rpc.DialAPI(addr, attestation.ServiceAuthentication, env.Verifier, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer wrong.Close()
	if _, err := accesscontrolpb.NewTeaclaveAccessControlClient(wrong).AuthorizeApi(ctxT(t), &accesscontrolpb.AuthorizeApiRequest{}); err == nil {
		t.Fatal("a frontend was accepted as the authentication service")
	}
}
