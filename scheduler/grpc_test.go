//go:build !teaclave_production

package scheduler_test

import (
	"context"
	"encoding/json"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"
	"google.golang.org/grpc"

	"github.com/teaclave-go/teaclave"
	"github.com/teaclave-go/teaclave/attestation"
	"github.com/teaclave-go/teaclave/management"
	mxtest "github.com/teaclave-go/teaclave/management/xtest"
	"github.com/teaclave-go/teaclave/rpc"
	"github.com/teaclave-go/teaclave/rpc/pb/commonpb"
	"github.com/teaclave-go/teaclave/rpc/pb/frontendpb"
	"github.com/teaclave-go/teaclave/rpc/pb/schedulerpb"
	"github.com/teaclave-go/teaclave/rpc/rpctest"
	"github.com/teaclave-go/teaclave/scheduler"
)

// wire is a scheduler served on an attested internal endpoint on
// 127.0.0.1, reached from an execution enclave.
type wire struct {
	env      *rpctest.Env
	addr     string
	teaclave schedulerpb.TeaclaveSchedulerClient
	client   *scheduler.Client
}

func serve(t *testing.T, s *scheduler.Service, kind rpc.EndpointKind) *wire {
	t.Helper()
	env := rpctest.NewEnv(t)
	srv := env.Transport(t, attestation.ServiceScheduler).NewServer(kind)
	s.Register(srv)
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	go func() { _ = srv.Serve(lis) }()
	t.Cleanup(srv.Stop)
	cc := dial(t, env, attestation.ServiceExecution, lis.Addr().String())
	return &wire{env: env, addr: lis.Addr().String(), teaclave: schedulerpb.NewTeaclaveSchedulerClient(cc), client: scheduler.NewClient(cc)}
}

func dial(t *testing.T, env *rpctest.Env, as, addr string) *grpc.ClientConn {
	t.Helper()
	cc, err := env.Transport(t, as).Dial(addr, attestation.ServiceScheduler)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cc.Close() })
	return cc
}

func executorID() string { return uuid.NewString() }

// TestTeaclaveSchedulerService reproduces Teaclave's scheduler functional
// tests (protocol §19.4) over attested gRPC, with Teaclave's RPCs.
func TestTeaclaveSchedulerService(t *testing.T) {
	t.Run("test_pull_task", func(t *testing.T) {
		store := newStore()
		w := serve(t, startScheduler(t, store, fastConfig()), rpc.InternalEndpoint)
		id := stage(t, store, taskSpec{})
		want := readStagedFunction(t, store, id)
		ctx := ctxFor(t)
		resp, err := w.teaclave.PullTask(ctx, &schedulerpb.PullTaskRequest{ExecutorId: executorID()})
		wantOK(t, err, "pull")
		var st teaclave.StagedTask
		wantOK(t, json.Unmarshal(resp.GetStagedTask(), &st), "decode staged task")
		if st.TaskID != id || st.FunctionID != want {
			t.Fatalf("pulled %s of %s, want %s of %s", st.TaskID, st.FunctionID, id, want)
		}
		_, err = w.teaclave.PullTask(ctx, &schedulerpb.PullTaskRequest{ExecutorId: executorID()})
		wantKind(t, err, teaclave.KindNotFound, "pull from an empty queue")
		_, err = w.teaclave.PullTask(ctx, &schedulerpb.PullTaskRequest{ExecutorId: "not-a-uuid"})
		wantKind(t, err, teaclave.KindInvalidArgument, "pull with a bad executor id")
	})
	t.Run("test_update_task_status_result", func(t *testing.T) {
		store := newStore()
		w := serve(t, startScheduler(t, store, fastConfig()), rpc.InternalEndpoint)
		id := stage(t, store, taskSpec{})
		ctx := ctxFor(t)
		_, err := w.teaclave.PullTask(ctx, &schedulerpb.PullTaskRequest{ExecutorId: executorID()})
		wantOK(t, err, "pull")
		bare := id.UUID().String()
		_, err = w.teaclave.UpdateTaskStatus(ctx, &schedulerpb.UpdateTaskStatusRequest{TaskId: bare, TaskStatus: commonpb.TaskStatus_Running})
		wantOK(t, err, "update status")
		if got := readTask(t, store, id).Status; got != teaclave.TaskRunning {
			t.Fatalf("status %s", got)
		}
		_, err = w.teaclave.UpdateTaskResult(ctx, &schedulerpb.UpdateTaskResultRequest{TaskId: bare})
		wantKind(t, err, teaclave.KindInvalidArgument, "result missing (Teaclave crashed)")
		_, err = w.teaclave.UpdateTaskResult(ctx, &schedulerpb.UpdateTaskResultRequest{TaskId: bare, Result: &commonpb.TaskResult{
			Result: &commonpb.TaskResult_Ok{Ok: &commonpb.TaskOutputs{ReturnValue: []byte("return value")}},
		}})
		wantOK(t, err, "update result")
		task := readTask(t, store, id)
		if task.Status != teaclave.TaskFinished || string(task.Result.Ok.ReturnValue) != "return value" {
			t.Fatalf("task %s %+v", task.Status, task.Result)
		}
		_, err = w.teaclave.UpdateTaskResult(ctx, &schedulerpb.UpdateTaskResultRequest{TaskId: bare, Result: &commonpb.TaskResult{
			Result: &commonpb.TaskResult_Err{Err: &commonpb.TaskFailure{Reason: "late"}},
		}})
		wantKind(t, err, teaclave.KindFailedPrecondition, "a second result")
	})
	t.Run("unimplemented", func(t *testing.T) {
		w := serve(t, startScheduler(t, newStore(), fastConfig()), rpc.InternalEndpoint)
		_, err := w.teaclave.Subscribe(ctxFor(t), nil)
		wantKind(t, err, teaclave.KindUnimplemented, "Subscribe")
		_, err = w.teaclave.PublishTask(ctxFor(t), &schedulerpb.PublishTaskRequest{StagedTask: []byte("{}")})
		wantKind(t, err, teaclave.KindUnimplemented, "PublishTask")
	})
}

func readStagedFunction(t *testing.T, store teaclave.Store, id teaclave.ID) teaclave.ID {
	t.Helper()
	// stage names the function only in the staged task; read it back
	// through the task record, which names the same function.
	return readTask(t, store, id).FunctionID
}

// TestOnlyExecutionNodes: the endpoint's topology refuses other enclaves
// at the handshake, and the handlers refuse any caller that is not an
// attested execution node even if the service is mistakenly registered
// on an endpoint without client attestation.
func TestOnlyExecutionNodes(t *testing.T) {
	s := startScheduler(t, newStore(), fastConfig())
	w := serve(t, s, rpc.InternalEndpoint)
	mgmt := schedulerpb.NewTeaclaveSchedulerClient(dial(t, w.env, attestation.ServiceManagement, w.addr))
	ctx, cancel := context.WithTimeout(ctxFor(t), 5*time.Second)
	defer cancel()
	if _, err := mgmt.PullTask(ctx, &schedulerpb.PullTaskRequest{ExecutorId: executorID()}); err == nil {
		t.Fatal("management enclave reached the scheduler")
	}

	api := serve(t, s, rpc.APIEndpoint)
	_, err := api.teaclave.Heartbeat(ctxFor(t), &schedulerpb.HeartbeatRequest{ExecutorId: executorID()})
	wantKind(t, err, teaclave.KindPermissionDenied, "Teaclave RPC without an attested caller")
	_, err = api.client.RegisterNode(ctxFor(t), scheduler.NodeSpec{Executors: []teaclave.Executor{teaclave.ExecutorBuiltin}, Capacity: 1})
	wantKind(t, err, teaclave.KindPermissionDenied, "extension RPC without an attested caller")
}

// TestClientOverWire runs a task through scheduler.Client: registration,
// the work stream, start, fencing errors and the result all cross the
// wire with their kinds.
func TestClientOverWire(t *testing.T) {
	store := newStore()
	s := startScheduler(t, store, fastConfig())
	w := serve(t, s, rpc.InternalEndpoint)
	n := newFakeNode(t, w.client, 2)
	id := stage(t, store, taskSpec{outputs: []string{"out"}})
	a := n.assignment()
	if a.Lease.TaskID != id || a.Task.TaskID != id || a.Task.OutputData["out"].URL == "" {
		t.Fatalf("assignment %+v", a)
	}
	ctx := ctxFor(t)
	wantOK(t, w.client.StartTask(ctx, a.Lease), "start")
	wantKind(t, w.client.StartTask(ctx, scheduler.Lease{ID: "other", TaskID: id}), teaclave.KindFailedPrecondition, "foreign lease")
	wantOK(t, w.client.CompleteTask(ctx, a.Lease, scheduler.Completion{Result: teaclave.TaskResult{Ok: &teaclave.TaskOutputs{
		ReturnValue: []byte("v"), TagsMap: map[string]teaclave.FileAuthTag{"out": ok(7)}, Log: []string{"l"},
	}}}), "complete")
	task := readTask(t, store, id)
	if task.Status != teaclave.TaskFinished || *readOutput(t, store, task.AssignedOutputs["out"].ID).Cmac != ok(7) {
		t.Fatalf("task %s %+v", task.Status, task.Result)
	}
	wantKind(t, w.client.CompleteTask(ctx, a.Lease, scheduler.Completion{Canceled: true}), teaclave.KindFailedPrecondition, "late")

	fn := teaclave.NewID(teaclave.PrefixFunction)
	wantOK(t, store.Put(ctx, teaclave.PayloadKey(fn), []byte("payload")), "seed payload")
	p, err := w.client.FetchPayload(ctx, fn, teaclave.DigestOf([]byte("payload")))
	if err != nil || string(p) != "payload" {
		t.Fatalf("payload %q, %v", p, err)
	}
	d := scheduler.NonceDigest([]byte("k"), []byte("iv"))
	wantOK(t, w.client.ClaimNonce(ctx, d), "claim")
	wantKind(t, w.client.ClaimNonce(ctx, d), teaclave.KindAlreadyExists, "claim again")
	_, err = w.client.Heartbeat(ctx, uuid.NewString(), nil)
	wantKind(t, err, teaclave.KindNotFound, "unknown node")
}

// frontendUser acts as Teaclave's functional tests' logged-in user.
func frontendUser(t *testing.T) context.Context {
	return teaclave.WithCaller(ctxFor(t), teaclave.Caller{ID: "frontend_user", Role: teaclave.Role{Kind: teaclave.RolePlatformAdmin}})
}

// invokedTask creates, assigns and invokes a task on Teaclave's seeded
// mock-func-2 through management, as Teaclave's frontend tests do, and
// returns its id once it is Staged.
func invokedTask(t *testing.T, mgmt *management.Service) string {
	t.Helper()
	ctx := frontendUser(t)
	out, err := mgmt.RegisterOutputFile(ctx, &frontendpb.RegisterOutputFileRequest{
		Url: "https://localhost:6789/fixtures/output.enc", CryptoInfo: &commonpb.FileCryptoInfo{Schema: "teaclave-file-128", Key: make([]byte, 16)},
	})
	wantOK(t, err, "register output")
	task, err := mgmt.CreateTask(ctx, &frontendpb.CreateTaskRequest{
		FunctionId: mxtest.FixtureFunction2.String(), FunctionArguments: `{"arg1":"data1"}`, Executor: "mesapy",
		OutputsOwnership: []*frontendpb.OwnerList{{DataName: "output", Uids: []string{"frontend_user"}}},
	})
	wantOK(t, err, "create task")
	_, err = mgmt.AssignData(ctx, &frontendpb.AssignDataRequest{TaskId: task.GetTaskId(), Outputs: []*frontendpb.DataMap{{DataName: "output", DataId: out.GetDataId()}}})
	wantOK(t, err, "assign")
	_, err = mgmt.InvokeTask(ctx, &frontendpb.InvokeTaskRequest{TaskId: task.GetTaskId()})
	wantOK(t, err, "invoke")
	if s := status(t, mgmt, task.GetTaskId()); s != commonpb.TaskStatus_Staged {
		t.Fatalf("status %s after invoke", s)
	}
	return task.GetTaskId()
}

func status(t *testing.T, mgmt *management.Service, id string) commonpb.TaskStatus {
	t.Helper()
	r, err := mgmt.GetTask(frontendUser(t), &frontendpb.GetTaskRequest{TaskId: id})
	wantOK(t, err, "get task")
	return r.GetStatus()
}

func newManagement(t *testing.T, store teaclave.Store) *management.Service {
	t.Helper()
	wantOK(t, mxtest.SeedTeaclaveFixtures(ctxFor(t), store), "seed fixtures")
	m, err := management.New(management.Config{}.Defaults(), management.Deps{Store: store, Directory: mxtest.NewDirectory(mxtest.TeaclaveUsers...), Logger: quiet})
	wantOK(t, err, "management")
	return m
}

// TestTeaclaveFrontendSchedulerHalves reproduces the scheduler halves of
// Teaclave's frontend and management functional tests (§19.6
// test_invoke_task, test_cancel_task, test_fail_task; §19.7
// test_invoke_task): management in process, a Teaclave executor speaking
// Teaclave's scheduler RPCs over attested gRPC. Teaclave waited seconds
// between steps for its polling loops; here each step takes effect at once
// and the final states are asserted.
func TestTeaclaveFrontendSchedulerHalves(t *testing.T) {
	setup := func(t *testing.T) (*management.Service, *wire) {
		store := newStore()
		mgmt := newManagement(t, store)
		return mgmt, serve(t, startScheduler(t, store, fastConfig()), rpc.InternalEndpoint)
	}
	heartbeat := func(t *testing.T, w *wire, exec string, st commonpb.ExecutorStatus) commonpb.ExecutorCommand {
		t.Helper()
		r, err := w.teaclave.Heartbeat(ctxFor(t), &schedulerpb.HeartbeatRequest{ExecutorId: exec, Status: st})
		wantOK(t, err, "heartbeat")
		return r.GetCommand()
	}
	t.Run("test_invoke_task", func(t *testing.T) {
		mgmt, w := setup(t)
		task := invokedTask(t, mgmt)
		r, err := w.teaclave.PullTask(ctxFor(t), &schedulerpb.PullTaskRequest{ExecutorId: executorID()})
		wantOK(t, err, "pull after invoke")
		var st teaclave.StagedTask
		wantOK(t, json.Unmarshal(r.GetStagedTask(), &st), "decode")
		if st.TaskID.String() != task || st.FunctionName != "mock-func-2" {
			t.Fatalf("pulled %s %q", st.TaskID, st.FunctionName)
		}
	})
	t.Run("test_cancel_task", func(t *testing.T) {
		mgmt, w := setup(t)
		exec := executorID()
		if c := heartbeat(t, w, exec, commonpb.ExecutorStatus_Idle); c != commonpb.ExecutorCommand_NoAction {
			t.Fatalf("idle heartbeat with nothing staged: %s", c)
		}
		task := invokedTask(t, mgmt)
		if c := heartbeat(t, w, exec, commonpb.ExecutorStatus_Idle); c != commonpb.ExecutorCommand_NewTask {
			t.Fatalf("idle heartbeat: %s, want NewTask", c)
		}
		_, err := mgmt.CancelTask(frontendUser(t), &frontendpb.CancelTaskRequest{TaskId: task})
		wantOK(t, err, "cancel")
		waitCanceled(t, mgmt, task)
		_, err = w.teaclave.PullTask(ctxFor(t), &schedulerpb.PullTaskRequest{ExecutorId: exec})
		wantKind(t, err, teaclave.KindFailedPrecondition, "pull of the canceled task")
		if !strings.Contains(err.Error(), "canceled") {
			t.Fatalf("error %q", err)
		}
		if s := status(t, mgmt, task); s != commonpb.TaskStatus_Canceled {
			t.Fatalf("status %s", s)
		}
	})
	t.Run("test_fail_task", func(t *testing.T) {
		mgmt, w := setup(t)
		task := invokedTask(t, mgmt)
		// Every lease the task gets goes to an executor that pulls it,
		// says it executes, and is never heard from again.
		for range fastConfig().MaxAttempts {
			exec := executorID()
			if c := heartbeat(t, w, exec, commonpb.ExecutorStatus_Idle); c != commonpb.ExecutorCommand_NewTask {
				t.Fatalf("idle heartbeat: %s, want NewTask", c)
			}
			_, err := w.teaclave.PullTask(ctxFor(t), &schedulerpb.PullTaskRequest{ExecutorId: exec})
			wantOK(t, err, "pull")
			_, err = w.teaclave.UpdateTaskStatus(ctxFor(t), &schedulerpb.UpdateTaskStatusRequest{TaskId: strings.TrimPrefix(task, "task-"), TaskStatus: commonpb.TaskStatus_Running})
			wantOK(t, err, "update status")
			if c := heartbeat(t, w, exec, commonpb.ExecutorStatus_Executing); c != commonpb.ExecutorCommand_NoAction {
				t.Fatalf("executing heartbeat: %s, want NoAction", c)
			}
			waitStatusByID(t, mgmt, task, commonpb.TaskStatus_Staged, commonpb.TaskStatus_Failed)
		}
		r, err := mgmt.GetTask(frontendUser(t), &frontendpb.GetTaskRequest{TaskId: task})
		wantOK(t, err, "get task")
		if r.GetStatus() != commonpb.TaskStatus_Failed || !strings.Contains(r.GetResult().GetErr().GetReason(), "Executor Timeout") {
			t.Fatalf("task %s %v", r.GetStatus(), r.GetResult())
		}
	})
}

func waitCanceled(t *testing.T, mgmt *management.Service, id string) {
	t.Helper()
	waitStatusByID(t, mgmt, id, commonpb.TaskStatus_Canceled)
}

// waitStatusByID waits until the task is in one of the statuses.
func waitStatusByID(t *testing.T, mgmt *management.Service, id string, want ...commonpb.TaskStatus) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for {
		s := status(t, mgmt, id)
		for _, w := range want {
			if s == w {
				return
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("task %s is %s, want one of %v", id, s, want)
		}
		time.Sleep(5 * time.Millisecond)
	}
}
