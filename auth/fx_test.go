//go:build !teaclave_production

package auth

import (
	"context"
	"testing"

	"go.uber.org/fx"
	"go.uber.org/fx/fxtest"
	"google.golang.org/grpc"

	"github.com/teaclave-go/teaclave"
	storagextest "github.com/teaclave-go/teaclave/storage/xtest"
)

func TestModule(t *testing.T) {
	cfg := testConfig()
	var (
		a   Authenticator
		d   Directory
		svc *Service
	)
	app := fxtest.New(t,
		fx.Supply(fx.Annotate(storagextest.NewMemStore(), fx.As(new(teaclave.Store)), fx.ResultTags(`name:"`+StoreName+`"`))),
		fx.Supply(&cfg),
		Module,
		fx.Populate(&a, &d, &svc),
	)
	app.RequireStart()
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

func TestRemoteModule(t *testing.T) {
	e := newEnv(t)
	g := serveGRPC(t, e.s)
	var (
		a Authenticator
		d Directory
	)
	app := fxtest.New(t,
		fx.Supply(fx.Annotate(g.intlConn, fx.As(new(grpc.ClientConnInterface)), fx.ResultTags(`name:"`+ConnName+`"`))),
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
