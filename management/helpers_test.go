//go:build !teaclave_production

package management_test

import (
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net"
	"testing"
	"time"

	"github.com/teaclave-go/teaclave"
	"github.com/teaclave-go/teaclave/attestation"
	"github.com/teaclave-go/teaclave/management"
	mxtest "github.com/teaclave-go/teaclave/management/xtest"
	"github.com/teaclave-go/teaclave/rpc"
	"github.com/teaclave-go/teaclave/rpc/pb/commonpb"
	"github.com/teaclave-go/teaclave/rpc/pb/frontendpb"
	"github.com/teaclave-go/teaclave/rpc/rpctest"
	sxtest "github.com/teaclave-go/teaclave/storage/xtest"
)

// faultStore is the part of storage/memstore's fault switches the tests use.
type faultStore interface {
	teaclave.Store
	FailCommit(bool)
	FailGet(bool)
}

// env is a management service on an in-memory store with Teaclave's
// fixtures and users, reached through api: the service itself, or a
// management.Client over attested gRPC.
type env struct {
	t     testing.TB
	store faultStore
	dir   *mxtest.Directory
	svc   *management.Service
	api   management.API
}

type wiring string

const (
	inProcess wiring = "in-process"
	overGRPC  wiring = "grpc"
)

var wirings = []wiring{inProcess, overGRPC}

var quiet = slog.New(slog.NewTextHandler(io.Discard, nil))

func newEnv(t testing.TB, w wiring, cfg management.Config) *env {
	t.Helper()
	store := sxtest.NewMemStore()
	if err := mxtest.SeedTeaclaveFixtures(context.Background(), store); err != nil {
		t.Fatal(err)
	}
	dir := mxtest.NewDirectory(mxtest.TeaclaveUsers...)
	svc, err := management.New(cfg.Defaults(), management.Deps{Store: store, Directory: dir, Logger: quiet})
	if err != nil {
		t.Fatal(err)
	}
	e := &env{t: t, store: store, dir: dir, svc: svc, api: svc}
	if w == overGRPC {
		e.api = serveOverGRPC(t, svc)
	}
	return e
}

// serveOverGRPC serves api on an attested internal endpoint on 127.0.0.1
// and returns a client dialed from a frontend enclave.
func serveOverGRPC(t testing.TB, api management.API) *management.Client {
	t.Helper()
	renv := rpctest.NewEnv(t)
	srvT := renv.Transport(t, attestation.ServiceManagement)
	srv := srvT.NewServer(rpc.InternalEndpoint)
	management.RegisterServer(srv, api)
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	go srv.Serve(lis)
	t.Cleanup(srv.Stop)
	cliT := renv.Transport(t, attestation.ServiceFrontend)
	cc, err := cliT.Dial(lis.Addr().String(), attestation.ServiceManagement)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cc.Close() })
	return management.NewClient(cc)
}

func forEachWiring(t *testing.T, f func(t *testing.T, w wiring)) {
	for _, w := range wirings {
		t.Run(string(w), func(t *testing.T) { f(t, w) })
	}
}

func ctxFor(t testing.TB) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	t.Cleanup(cancel)
	return ctx
}

// as returns a context acting for user with role.
func (e *env) as(user string, role teaclave.Role) context.Context {
	return teaclave.WithCaller(ctxFor(e.t), teaclave.Caller{ID: user, Role: role})
}

var (
	admin     = teaclave.Role{Kind: teaclave.RolePlatformAdmin}
	fnOwner   = teaclave.Role{Kind: teaclave.RoleFunctionOwner}
	dataOwner = teaclave.Role{Kind: teaclave.RoleDataOwner, Attribute: "org"}
)

// admin acts as user with the PlatformAdmin role, as Teaclave's
// management functional tests do.
func (e *env) admin(user string) context.Context { return e.as(user, admin) }

func wantOK(t testing.TB, err error, what string) {
	t.Helper()
	if err != nil {
		t.Fatalf("%s: %v", what, err)
	}
}

func wantKind(t testing.TB, err error, k teaclave.Kind, what string) {
	t.Helper()
	if err == nil {
		t.Fatalf("%s: succeeded, want %s", what, k)
	}
	if got := teaclave.KindOf(err); got != k {
		t.Fatalf("%s: error %q is %s, want %s", what, err, got, k)
	}
}

// Requests.

func pfsCrypto() *commonpb.FileCryptoInfo {
	return &commonpb.FileCryptoInfo{Schema: "teaclave-file-128", Key: make([]byte, 16)}
}

const fileURL = "https://external-storage.com/filepath?presigned_token"

var mockCmac = []byte("deadbeefdeadbeef")

func (e *env) input(ctx context.Context) string {
	e.t.Helper()
	r, err := e.api.RegisterInputFile(ctx, &frontendpb.RegisterInputFileRequest{Url: fileURL, Cmac: mockCmac, CryptoInfo: pfsCrypto()})
	wantOK(e.t, err, "register input")
	return r.GetDataId()
}

func (e *env) output(ctx context.Context) string {
	e.t.Helper()
	r, err := e.api.RegisterOutputFile(ctx, &frontendpb.RegisterOutputFileRequest{Url: fileURL, CryptoInfo: pfsCrypto()})
	wantOK(e.t, err, "register output")
	return r.GetDataId()
}

func (e *env) fusion(ctx context.Context, owners ...string) string {
	e.t.Helper()
	r, err := e.api.RegisterFusionOutput(ctx, &frontendpb.RegisterFusionOutputRequest{OwnerList: owners})
	wantOK(e.t, err, "register fusion output")
	return r.GetDataId()
}

func owners(m map[string][]string) []*frontendpb.OwnerList {
	var out []*frontendpb.OwnerList
	for k, v := range m {
		out = append(out, &frontendpb.OwnerList{DataName: k, Uids: v})
	}
	return out
}

func dm(m map[string]string) []*frontendpb.DataMap {
	var out []*frontendpb.DataMap
	for k, v := range m {
		out = append(out, &frontendpb.DataMap{DataName: k, DataId: v})
	}
	return out
}

// validCreateTask is Teaclave's valid_create_task_request: mock-func-1
// with two inputs and two outputs owned by mock_user1..3.
func validCreateTask() *frontendpb.CreateTaskRequest {
	return &frontendpb.CreateTaskRequest{
		FunctionId:        mxtest.FixtureFunction1.String(),
		FunctionArguments: `{"arg1":"data1","arg2":"data2"}`,
		Executor:          "mesapy",
		InputsOwnership:   owners(map[string][]string{"input": {"mock_user1"}, "input2": {"mock_user2", "mock_user3"}}),
		OutputsOwnership:  owners(map[string][]string{"output": {"mock_user1"}, "output2": {"mock_user2", "mock_user3"}}),
	}
}

func (e *env) task(ctx context.Context, id string) *frontendpb.GetTaskResponse {
	e.t.Helper()
	r, err := e.api.GetTask(ctx, &frontendpb.GetTaskRequest{TaskId: id})
	wantOK(e.t, err, "get task")
	return r
}

func (e *env) status(id string) teaclave.TaskStatus {
	e.t.Helper()
	var t teaclave.Task
	data, _, err := e.store.Get(context.Background(), teaclave.TaskKey(mustID(e.t, id, teaclave.PrefixTask)))
	wantOK(e.t, err, "read task record")
	wantOK(e.t, json.Unmarshal(data, &t), "decode task record")
	return t.Status
}

func mustID(t testing.TB, s, prefix string) teaclave.ID {
	t.Helper()
	id, err := teaclave.ParseID(s, prefix)
	if err != nil {
		t.Fatal(err)
	}
	return id
}

// stagedTasks drains the staged-task queue.
func (e *env) stagedTasks() []teaclave.StagedTask {
	e.t.Helper()
	var out []teaclave.StagedTask
	for {
		v, err := e.store.Dequeue(context.Background(), []byte(teaclave.QueueStagedTasks))
		if teaclave.KindOf(err) == teaclave.KindNotFound {
			return out
		}
		wantOK(e.t, err, "dequeue staged task")
		var st teaclave.StagedTask
		wantOK(e.t, json.Unmarshal(v, &st), "decode staged task")
		out = append(out, st)
	}
}

// cancels drains the cancel queue.
func (e *env) cancels() []teaclave.TaskCancel {
	e.t.Helper()
	var out []teaclave.TaskCancel
	for {
		v, err := e.store.Dequeue(context.Background(), []byte(teaclave.QueueCancel))
		if teaclave.KindOf(err) == teaclave.KindNotFound {
			return out
		}
		wantOK(e.t, err, "dequeue cancel")
		var c teaclave.TaskCancel
		wantOK(e.t, json.Unmarshal(v, &c), "decode cancel")
		out = append(out, c)
	}
}
