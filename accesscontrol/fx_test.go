package accesscontrol_test

import (
	"context"
	"errors"
	"testing"

	"go.uber.org/fx"
	"go.uber.org/fx/fxtest"
	"google.golang.org/grpc"

	"github.com/teaclave-go/teaclave/accesscontrol"
)

func errorsAs(err error, target any) bool { return errors.As(err, target) }

func TestModule(t *testing.T) {
	var a accesscontrol.Authorizer
	var s *accesscontrol.Service
	app := fxtest.New(t, accesscontrol.Module, fx.Populate(&a, &s))
	app.RequireStart()
	defer app.RequireStop()
	if a != accesscontrol.Authorizer(s) {
		t.Fatal("Module's Authorizer is not its *Service")
	}
	if ok, err := a.Authorize(context.Background(), "FunctionOwner", "approve_task"); !ok || err != nil {
		t.Fatalf("Authorize = %v, %v", ok, err)
	}
}

func TestRemoteModule(t *testing.T) {
	conn := serve(t)
	var a accesscontrol.Authorizer
	app := fxtest.New(t,
		fx.Supply(fx.Annotate(conn, fx.As(new(grpc.ClientConnInterface)), fx.ResultTags(`name:"`+accesscontrol.ConnName+`"`))),
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
