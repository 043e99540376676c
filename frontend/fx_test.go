//go:build !teaclave_production

package frontend_test

import (
	"context"
	"strings"
	"testing"

	"go.uber.org/fx"
	"go.uber.org/fx/fxtest"

	"github.com/teaclave-go/teaclave"
	"github.com/teaclave-go/teaclave/frontend"
	fetest "github.com/teaclave-go/teaclave/frontend/xtest"
	"github.com/teaclave-go/teaclave/management"
	mxtest "github.com/teaclave-go/teaclave/management/xtest"
	"github.com/teaclave-go/teaclave/rpc"
	sxtest "github.com/teaclave-go/teaclave/storage/xtest"
)

// TestModule wires the frontend and management with fx.
func TestModule(t *testing.T) {
	store := sxtest.NewMemStore()
	wantOK(t, mxtest.SeedTeaclaveFixtures(context.Background(), store), "seed")
	authn := fetest.NewAuthenticator()
	tok := authn.Add("alice", doRole)
	var api frontend.API
	var regs []rpc.Registration
	app := fxtest.New(t,
		fx.NopLogger,
		fx.Supply(frontend.Config{}, management.Config{}),
		fx.Provide(
			func() teaclave.Store { return store },
			func() management.Directory { return mxtest.NewDirectory("alice") },
			func() frontend.Authenticator { return authn },
			func() frontend.Authorizer { return fetest.TeaclavePolicy() },
		),
		management.Module,
		frontend.Module,
		fx.Populate(&api),
		fx.Invoke(fx.Annotate(func(r []rpc.Registration) { regs = r }, fx.ParamTags(`group:"grpc_services"`))),
	)
	app.RequireStart()
	_, err := api.GetFunction(creds("alice", tok), getFn1)
	wantOK(t, err, "get through the modules")
	app.RequireStop()
	kinds := map[rpc.EndpointKind]int{}
	for _, r := range regs {
		kinds[r.Kind]++
	}
	if kinds[rpc.APIEndpoint] != 1 || kinds[rpc.InternalEndpoint] != 1 {
		t.Fatalf("registrations %+v", regs)
	}
	// Stop saved the entry of the call.
	d, err := mxtest.Dump(context.Background(), store)
	wantOK(t, err, "dump")
	saved := false
	for k := range d {
		saved = saved || strings.HasPrefix(k, "audit-")
	}
	if !saved {
		t.Fatal("no audit entry saved at stop")
	}
}
