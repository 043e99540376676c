//go:build !teaclave_production

package accesscontrol_test

import (
	"context"
	"net"
	"testing"

	"go.uber.org/fx"
	"go.uber.org/fx/fxtest"

	"github.com/teaclave-go/teaclave/accesscontrol"
	"github.com/teaclave-go/teaclave/attestation"
	"github.com/teaclave-go/teaclave/rpc"
	"github.com/teaclave-go/teaclave/rpc/rpctest"
)

func TestModule(t *testing.T) {
	var a accesscontrol.Authorizer
	var s *accesscontrol.Service
	var regs []rpc.Registration
	app := fxtest.New(t, accesscontrol.Module, fx.Populate(&a, &s), fx.Invoke(func(r struct {
		fx.In
		All []rpc.Registration `group:"grpc_services"`
	}) {
		regs = r.All
	}))
	app.RequireStart()
	defer app.RequireStop()
	if a != accesscontrol.Authorizer(s) {
		t.Fatal("Module's Authorizer is not its *Service")
	}
	if len(regs) != 1 || regs[0].Service != attestation.ServiceAccessControl || regs[0].Kind != rpc.InternalEndpoint || regs[0].Register == nil {
		t.Fatalf("registrations %+v", regs)
	}
	if ok, err := a.Authorize(context.Background(), "FunctionOwner", "approve_task"); !ok || err != nil {
		t.Fatalf("Authorize = %v, %v", ok, err)
	}
}

// TestRemoteModule: the frontend's transport reaches the attested
// internal endpoint through the graph's Dialer.
func TestRemoteModule(t *testing.T) {
	s, err := accesscontrol.New(accesscontrol.Defaults(), accesscontrol.Deps{})
	if err != nil {
		t.Fatal(err)
	}
	env := rpctest.NewEnv(t)
	srv := env.Transport(t, attestation.ServiceAccessControl).NewServer(rpc.InternalEndpoint)
	accesscontrol.Register(srv, s)
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	go srv.Serve(lis)
	t.Cleanup(srv.Stop)
	var a accesscontrol.Authorizer
	app := fxtest.New(t,
		fx.Supply(env.Transport(t, attestation.ServiceFrontend), rpc.Endpoints{attestation.ServiceAccessControl: lis.Addr().String()}),
		rpc.DialerModule,
		accesscontrol.RemoteModule,
		fx.Populate(&a),
	)
	app.RequireStart()
	defer app.RequireStop()
	if _, ok := a.(*accesscontrol.Client); !ok {
		t.Fatalf("RemoteModule provided %T, want *Client", a)
	}
	if ok, err := a.Authorize(context.Background(), "FunctionOwner", "invoke_task"); ok || err != nil {
		t.Fatalf("Authorize = %v, %v; want false, nil", ok, err)
	}
}
