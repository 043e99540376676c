//go:build !teaclave_production

package auth

import (
	"context"
	"errors"
	"net"
	"testing"
	"time"

	"github.com/teaclave-go/teaclave"
	"github.com/teaclave-go/teaclave/attestation"
	"github.com/teaclave-go/teaclave/rpc"
	"github.com/teaclave-go/teaclave/rpc/pb/authpb"
	"github.com/teaclave-go/teaclave/rpc/rpctest"
)

// serveAttested serves the service's api and internal endpoints over the
// attested transport on 127.0.0.1 and returns their addresses.
func serveAttested(t *testing.T, env *rpctest.Env, s *Service) (apiAddr, internalAddr string) {
	t.Helper()
	tr := env.Transport(t, attestation.ServiceAuthentication)
	start := func(kind rpc.EndpointKind) string {
		srv := tr.NewServer(kind)
		switch kind {
		case rpc.APIEndpoint:
			RegisterAPI(srv, s)
		case rpc.InternalEndpoint:
			RegisterInternal(srv, s)
		}
		lis, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		go srv.Serve(lis)
		t.Cleanup(srv.Stop)
		return lis.Addr().String()
	}
	return start(rpc.APIEndpoint), start(rpc.InternalEndpoint)
}

// TestOverAttestedTransport: clients log in at the attested api endpoint;
// the frontend authenticates tokens and management checks users at the
// internal endpoint; any other enclave is refused there.
func TestOverAttestedTransport(t *testing.T) {
	e := newEnv(t)
	e.register("alice", "alice-password", teaclave.NewRole(teaclave.RoleNameDataOwner, "org"))
	env := rpctest.NewEnv(t)
	apiAddr, internalAddr := serveAttested(t, env, e.s)
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()

	// A client (here any enclave's transport: the api endpoint does not
	// look at client certificates) pins the authentication service.
	cc, err := env.Transport(t, attestation.ServiceExecution).Dial(apiAddr, attestation.ServiceAuthentication)
	if err != nil {
		t.Fatal(err)
	}
	defer cc.Close()
	api := authpb.NewTeaclaveAuthenticationApiClient(cc)
	resp, err := api.UserLogin(ctx, &authpb.UserLoginRequest{Id: "alice", Password: "alice-password"})
	if err != nil {
		t.Fatalf("login over the api endpoint: %v", err)
	}
	if _, err := api.UserLogin(ctx, &authpb.UserLoginRequest{Id: "alice", Password: "wrong"}); !errors.Is(err, teaclave.ErrUnauthenticated) {
		t.Errorf("wrong password: %v, want Unauthenticated", err)
	}

	// The frontend authenticates the token at the internal endpoint.
	fc, err := env.Transport(t, attestation.ServiceFrontend).Dial(internalAddr, attestation.ServiceAuthentication)
	if err != nil {
		t.Fatal(err)
	}
	defer fc.Close()
	claims, err := NewClient(fc).UserAuthenticate(ctx, "alice", resp.Token)
	if err != nil || claims.Subject != "alice" {
		t.Fatalf("authenticate over the internal endpoint: %+v %v", claims, err)
	}

	// Management asks whether users exist.
	mc, err := env.Transport(t, attestation.ServiceManagement).Dial(internalAddr, attestation.ServiceAuthentication)
	if err != nil {
		t.Fatal(err)
	}
	defer mc.Close()
	exist, err := NewClient(mc).UsersExist(ctx, []string{"alice", "nobody"})
	if err != nil || len(exist) != 2 || !exist[0] || exist[1] {
		t.Fatalf("UsersExist = %v %v", exist, err)
	}

	// The scheduler is not on the internal endpoint's inbound list.
	sc, err := env.Transport(t, attestation.ServiceScheduler).Dial(internalAddr, attestation.ServiceAuthentication)
	if err != nil {
		t.Fatal(err)
	}
	defer sc.Close()
	short, cancelShort := context.WithTimeout(ctx, 5*time.Second)
	defer cancelShort()
	if _, err := NewClient(sc).UserAuthenticate(short, "alice", resp.Token); err == nil {
		t.Fatal("the scheduler could authenticate tokens")
	}
}
