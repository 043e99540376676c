//go:build !teaclave_production

package auth

import (
	"context"
	"testing"

	"go.uber.org/fx"
	"go.uber.org/fx/fxtest"

	"github.com/teaclave-go/teaclave"
	"github.com/teaclave-go/teaclave/attestation"
	"github.com/teaclave-go/teaclave/rpc"
	"github.com/teaclave-go/teaclave/rpc/rpctest"
	storagextest "github.com/teaclave-go/teaclave/storage/xtest"
)

func TestModule(t *testing.T) {
	cfg := testConfig()
	var (
		a    Authenticator
		d    Directory
		svc  *Service
		regs []rpc.Registration
	)
	app := fxtest.New(t,
		fx.Supply(fx.Annotate(storagextest.NewMemStore(), fx.As(new(teaclave.Store)), fx.ResultTags(`name:"`+StoreName+`"`))),
		fx.Supply(&cfg),
		Module,
		fx.Populate(&a, &d, &svc),
		fx.Invoke(func(r struct {
			fx.In
			All []rpc.Registration `group:"grpc_services"`
		}) {
			regs = r.All
		}),
	)
	app.RequireStart()
	kinds := map[rpc.EndpointKind]bool{}
	for _, r := range regs {
		if r.Service != attestation.ServiceAuthentication || r.Register == nil {
			t.Errorf("registration %+v", r)
		}
		kinds[r.Kind] = true
	}
	if len(regs) != 2 || !kinds[rpc.APIEndpoint] || !kinds[rpc.InternalEndpoint] {
		t.Errorf("want one api and one internal registration, got %+v", regs)
	}
	tok, err := svc.UserLogin(context.Background(), "admin", "teaclave")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := a.UserAuthenticate(context.Background(), "admin", tok); err != nil {
		t.Fatal(err)
	}
	if ex, err := d.UsersExist(context.Background(), []string{"admin"}); err != nil || !ex[0] {
		t.Fatal(ex, err)
	}
	app.RequireStop()
	_, err = a.UserAuthenticate(context.Background(), "admin", tok)
	wantKind(t, err, teaclave.KindUnavailable, "after the app stopped")
}

// TestRemoteModule: the frontend's transport reaches the internal
// endpoint through the graph's Dialer.
func TestRemoteModule(t *testing.T) {
	e := newEnv(t)
	env := rpctest.NewEnv(t)
	_, internalAddr := serveAttested(t, env, e.s)
	var (
		a Authenticator
		d Directory
	)
	app := fxtest.New(t,
		fx.Supply(env.Transport(t, attestation.ServiceFrontend), rpc.Endpoints{attestation.ServiceAuthentication: internalAddr}),
		rpc.DialerModule,
		RemoteModule,
		fx.Populate(&a, &d),
	)
	app.RequireStart()
	defer app.RequireStop()
	if _, ok := a.(*Client); !ok {
		t.Fatalf("Authenticator is %T", a)
	}
	tok := e.login("admin", "teaclave")
	c, err := a.UserAuthenticate(context.Background(), "admin", tok)
	if err != nil || c.Subject != "admin" {
		t.Fatal(c, err)
	}
	if ex, err := d.UsersExist(context.Background(), []string{"admin", "nobody"}); err != nil || !ex[0] || ex[1] {
		t.Fatal(ex, err)
	}
}
