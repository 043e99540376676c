//go:build !teaclave_production

package deploy_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/teaclave-go/teaclave"
	"github.com/teaclave-go/teaclave/examples/deploy/deploytest"
	"github.com/teaclave-go/teaclave/rpc"
	"github.com/teaclave-go/teaclave/rpc/pb/authpb"
	"github.com/teaclave-go/teaclave/rpc/pb/commonpb"
	"github.com/teaclave-go/teaclave/rpc/pb/frontendpb"
)

func ctxT(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	t.Cleanup(cancel)
	return ctx
}

func login(t *testing.T, p *deploytest.Platform, id, password string) context.Context {
	t.Helper()
	return loginTB(t, p, id, password)
}

// loginTB logs id in at the platform's authentication endpoint and returns
// a context carrying the credentials, valid until the test ends.
func loginTB(t testing.TB, p *deploytest.Platform, id, password string) context.Context {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)
	resp, err := authpb.NewTeaclaveAuthenticationApiClient(p.DialAuth(t)).UserLogin(ctx, &authpb.UserLoginRequest{Id: id, Password: password})
	if err != nil {
		t.Fatalf("login %s: %v", id, err)
	}
	return rpc.WithCredentials(ctx, rpc.Credentials{ID: id, Token: resp.Token})
}

// TestPlatformServesTeaclaveFlow: through the attested api endpoints, the
// development admin logs in and registers a user, who registers
// builtin-echo, creates and invokes a task, and reads its result.
func TestPlatformServesTeaclaveFlow(t *testing.T) {
	p := deploytest.Start(t)
	admin := login(t, p, "admin", "teaclave")
	authAPI := authpb.NewTeaclaveAuthenticationApiClient(p.DialAuth(t))
	if _, err := authAPI.UserRegister(admin, &authpb.UserRegisterRequest{Id: "alice", Password: "alice-password", Role: "PlatformAdmin"}); err != nil {
		t.Fatal(err)
	}
	alice := login(t, p, "alice", "alice-password")
	fe := frontendpb.NewTeaclaveFrontendClient(p.DialFrontend(t))
	fn, err := fe.RegisterFunction(alice, &frontendpb.RegisterFunctionRequest{
		Name: "builtin-echo", Description: "echo", ExecutorType: "builtin", Public: true,
		Arguments: []*frontendpb.FunctionArgument{{Key: "message", AllowOverwrite: true}}, UsageQuota: -1,
	})
	if err != nil {
		t.Fatal(err)
	}
	task, err := fe.CreateTask(alice, &frontendpb.CreateTaskRequest{FunctionId: fn.FunctionId, FunctionArguments: `{"message":"Hello, Teaclave!"}`, Executor: "builtin"})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := fe.InvokeTask(alice, &frontendpb.InvokeTaskRequest{TaskId: task.TaskId}); err != nil {
		t.Fatal(err)
	}
	got := waitTask(t, fe, alice, task.TaskId)
	if got.Status != commonpb.TaskStatus_Finished {
		t.Fatalf("task ended %v: %v", got.Status, got.Result)
	}
	if rv := string(got.Result.GetOk().GetReturnValue()); rv != "Hello, Teaclave!" {
		t.Errorf("echo returned %q", rv)
	}
	// A bad token is refused with UNAUTHENTICATED.
	bad := rpc.WithCredentials(ctxT(t), rpc.Credentials{ID: "alice", Token: "not-a-token"})
	if _, err := fe.GetTask(bad, &frontendpb.GetTaskRequest{TaskId: task.TaskId}); !errors.Is(err, teaclave.ErrUnauthenticated) {
		t.Errorf("bad token: %v", err)
	}
}

// waitTask polls the task until it ends, as Teaclave's SDK does.
func waitTask(t *testing.T, fe frontendpb.TeaclaveFrontendClient, ctx context.Context, id string) *frontendpb.GetTaskResponse {
	t.Helper()
	for {
		got, err := fe.GetTask(ctx, &frontendpb.GetTaskRequest{TaskId: id})
		if err != nil {
			t.Fatal(err)
		}
		switch got.Status {
		case commonpb.TaskStatus_Finished, commonpb.TaskStatus_Failed, commonpb.TaskStatus_Canceled:
			return got
		}
		select {
		case <-ctx.Done():
			t.Fatalf("task still %v: %v", got.Status, ctx.Err())
		case <-time.After(10 * time.Millisecond):
		}
	}
}

// TestPlatformRestartKeepsState stops the platform gracefully and starts it
// again on the same data folder: users and tasks are still there, and a
// token issued before the restart still works.
func TestPlatformRestartKeepsState(t *testing.T) {
	dir := t.TempDir()
	p := deploytest.StartWith(t, deploytest.Options{DataDir: dir})
	admin := login(t, p, "admin", "teaclave")
	authAPI := authpb.NewTeaclaveAuthenticationApiClient(p.DialAuth(t))
	if _, err := authAPI.UserRegister(admin, &authpb.UserRegisterRequest{Id: "bob", Password: "bob-password", Role: "PlatformAdmin"}); err != nil {
		t.Fatal(err)
	}
	bob := login(t, p, "bob", "bob-password")
	fe := frontendpb.NewTeaclaveFrontendClient(p.DialFrontend(t))
	fn, err := fe.RegisterFunction(bob, &frontendpb.RegisterFunctionRequest{Name: "builtin-echo", ExecutorType: "builtin", Public: true, UsageQuota: -1})
	if err != nil {
		t.Fatal(err)
	}
	p.Stop(t)

	q := deploytest.StartWith(t, deploytest.Options{DataDir: dir})
	fe2 := frontendpb.NewTeaclaveFrontendClient(q.DialFrontend(t))
	got, err := fe2.GetFunction(bob, &frontendpb.GetFunctionRequest{FunctionId: fn.FunctionId})
	if err != nil {
		t.Fatalf("function after restart (token from before): %v", err)
	}
	if got.Name != "builtin-echo" {
		t.Errorf("function after restart: %+v", got)
	}
	login(t, q, "bob", "bob-password")
}
