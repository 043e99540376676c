//go:build !teaclave_production

package management_test

import (
	"context"
	"testing"

	"go.uber.org/fx"
	"go.uber.org/fx/fxtest"

	"github.com/teaclave-go/teaclave"
	"github.com/teaclave-go/teaclave/management"
	mxtest "github.com/teaclave-go/teaclave/management/xtest"
	"github.com/teaclave-go/teaclave/rpc"
	"github.com/teaclave-go/teaclave/rpc/pb/frontendpb"
	sxtest "github.com/teaclave-go/teaclave/storage/xtest"
)

// TestModule wires the service with fx and calls it through the API the
// graph provides; its registration goes to the internal endpoint.
func TestModule(t *testing.T) {
	store := sxtest.NewMemStore()
	wantOK(t, mxtest.SeedTeaclaveFixtures(context.Background(), store), "seed")
	var api management.API
	var regs []rpc.Registration
	app := fxtest.New(t,
		fx.NopLogger,
		fx.Supply(management.Config{}),
		fx.Provide(
			func() teaclave.Store { return store },
			func() management.Directory { return mxtest.NewDirectory(mxtest.TeaclaveUsers...) },
		),
		management.Module,
		fx.Populate(&api),
		fx.Invoke(fx.Annotate(func(r []rpc.Registration) { regs = r }, fx.ParamTags(`group:"grpc_services"`))),
	)
	app.RequireStart()
	defer app.RequireStop()
	if len(regs) != 1 || regs[0].Kind != rpc.InternalEndpoint {
		t.Fatalf("registrations %+v", regs)
	}
	ctx := teaclave.WithCaller(context.Background(), teaclave.Caller{ID: "mock_user", Role: teaclave.Role{Kind: teaclave.RoleDataOwner}})
	_, err := api.GetFunction(ctx, &frontendpb.GetFunctionRequest{FunctionId: mxtest.FixtureFunction1.String()})
	wantOK(t, err, "get through the module")
}
