//go:build !teaclave_production

package frontend_test

import (
	"context"
	"encoding/json"
	"strings"
	"testing"

	"google.golang.org/grpc/metadata"

	"github.com/teaclave-go/teaclave"
	"github.com/teaclave-go/teaclave/frontend"
	mxtest "github.com/teaclave-go/teaclave/management/xtest"
	"github.com/teaclave-go/teaclave/rpc/pb/commonpb"
	"github.com/teaclave-go/teaclave/rpc/pb/frontendpb"
)

// refusalFixtures are records the refusal table refers to, made before
// the store is dumped.
type refusalFixtures struct {
	privateFn, publicFn      string
	aliceInput, aliceOutput  string
	unwrittenFusion          string
	createdTask, finishedTsk string
}

func setupRefusals(t *testing.T, e *env) refusalFixtures {
	var f refusalFixtures
	fo := e.as("fo")
	r, err := e.api.RegisterFunction(fo, &frontendpb.RegisterFunctionRequest{Name: "private", ExecutorType: "builtin", UsageQuota: -1,
		Inputs: []*frontendpb.FunctionInput{{Name: "in"}}, Outputs: []*frontendpb.FunctionOutput{{Name: "out"}}})
	wantOK(t, err, "register private function")
	f.privateFn = r.GetFunctionId()
	r, err = e.api.RegisterFunction(fo, &frontendpb.RegisterFunctionRequest{Name: "public", ExecutorType: "builtin", Public: true, UsageQuota: -1,
		Arguments: []*frontendpb.FunctionArgument{{Key: "arg", AllowOverwrite: true}},
		Inputs:    []*frontendpb.FunctionInput{{Name: "in"}}, Outputs: []*frontendpb.FunctionOutput{{Name: "out"}}})
	wantOK(t, err, "register public function")
	f.publicFn = r.GetFunctionId()
	in, err := e.api.RegisterInputFile(e.as("alice"), &frontendpb.RegisterInputFileRequest{Url: fileURL, Cmac: mockCmac, CryptoInfo: pfsCrypto()})
	wantOK(t, err, "register input")
	f.aliceInput = in.GetDataId()
	out, err := e.api.RegisterOutputFile(e.as("alice"), &frontendpb.RegisterOutputFileRequest{Url: fileURL, CryptoInfo: pfsCrypto()})
	wantOK(t, err, "register output")
	f.aliceOutput = out.GetDataId()
	fu, err := e.api.RegisterFusionOutput(e.as("alice"), &frontendpb.RegisterFusionOutputRequest{OwnerList: []string{"alice", "bob"}})
	wantOK(t, err, "register fusion output")
	f.unwrittenFusion = fu.GetDataId()
	create := &frontendpb.CreateTaskRequest{FunctionId: f.publicFn, FunctionArguments: `{"arg":"x"}`, Executor: "builtin",
		InputsOwnership: owners(map[string][]string{"in": {"bob"}}), OutputsOwnership: owners(map[string][]string{"out": {"alice"}})}
	c, err := e.api.CreateTask(e.as("alice"), create)
	wantOK(t, err, "create task")
	f.createdTask = c.GetTaskId()
	c, err = e.api.CreateTask(e.as("alice"), create)
	wantOK(t, err, "create task")
	f.finishedTsk = c.GetTaskId()
	// The scheduler would have run it: mark it finished.
	key := teaclave.TaskKey(mustID(t, f.finishedTsk))
	data, _, err := e.store.Get(context.Background(), key)
	wantOK(t, err, "read task")
	var task teaclave.Task
	wantOK(t, json.Unmarshal(data, &task), "decode task")
	task.Status, task.Result = teaclave.TaskFinished, teaclave.TaskResult{Ok: &teaclave.TaskOutputs{}}
	data, _ = json.Marshal(&task)
	wantOK(t, e.store.Put(context.Background(), key, data), "write task")
	return f
}

func mustID(t *testing.T, s string) teaclave.ID {
	id, err := teaclave.ParseID(s, teaclave.PrefixTask)
	if err != nil {
		t.Fatal(err)
	}
	return id
}

// TestRefusals sends malformed and unauthorized requests through the
// frontend, each refused with its code, and shows from a dump of the store
// before and after that nothing changed but the audit log, which gained
// one entry with result false per refused call.
func TestRefusals(t *testing.T) {
	forEachWiring(t, func(t *testing.T, w wiring) {
		e := newEnv(t, w, frontend.Config{})
		e.addUser("carol", doRole)
		e.addUser("ghostrole", teaclave.Role{})
		f := setupRefusals(t, e)
		e.addUser("revoked", doRole)
		revokedCtx := e.as("revoked")
		e.authn.Revoke("revoked")
		api := e.api
		alice, bob, carol, fo, admin := e.as("alice"), e.as("bob"), e.as("carol"), e.as("fo"), e.as("frontend_user")
		noCreds := ctxFor(t)
		pfs := pfsCrypto()
		raw := &commonpb.FileCryptoInfo{Schema: "raw"}
		cases := []struct {
			what string
			call func() error
			want teaclave.Kind
		}{
			{"no credentials", func() error {
				_, err := api.GetFunction(noCreds, &frontendpb.GetFunctionRequest{FunctionId: f.publicFn})
				return err
			}, teaclave.KindUnauthenticated},
			{"wrong token", func() error {
				_, err := api.GetFunction(e.withToken("alice", "InvalidToken"), &frontendpb.GetFunctionRequest{FunctionId: f.publicFn})
				return err
			}, teaclave.KindUnauthenticated},
			{"unknown user", func() error {
				_, err := api.GetFunction(e.withToken("nobody", e.tokens["alice"]), &frontendpb.GetFunctionRequest{FunctionId: f.publicFn})
				return err
			}, teaclave.KindUnauthenticated},
			{"another user's token", func() error {
				_, err := api.GetFunction(e.withToken("alice", e.tokens["bob"]), &frontendpb.GetFunctionRequest{FunctionId: f.publicFn})
				return err
			}, teaclave.KindUnauthenticated},
			{"revoked token", func() error {
				_, err := api.GetFunction(revokedCtx, &frontendpb.GetFunctionRequest{FunctionId: f.publicFn})
				return err
			}, teaclave.KindUnauthenticated},
			{"user without a valid role", func() error {
				_, err := api.GetFunction(e.as("ghostrole"), &frontendpb.GetFunctionRequest{FunctionId: f.publicFn})
				return err
			}, teaclave.KindUnauthenticated},
			{"FunctionOwner creates a task", func() error {
				_, err := api.CreateTask(fo, &frontendpb.CreateTaskRequest{FunctionId: f.publicFn, FunctionArguments: "{}", Executor: "builtin"})
				return err
			}, teaclave.KindPermissionDenied},
			{"DataOwner registers a function", func() error {
				_, err := api.RegisterFunction(alice, &frontendpb.RegisterFunctionRequest{Name: "x", ExecutorType: "builtin"})
				return err
			}, teaclave.KindPermissionDenied},
			{"DataOwner queries audit logs", func() error {
				_, err := api.QueryAuditLogs(alice, &frontendpb.QueryAuditLogsRequest{Limit: 1})
				return err
			}, teaclave.KindPermissionDenied},
			{"FunctionOwner registers an input", func() error {
				_, err := api.RegisterInputFile(fo, &frontendpb.RegisterInputFileRequest{Url: fileURL, Cmac: mockCmac, CryptoInfo: pfs})
				return err
			}, teaclave.KindPermissionDenied},
			{"fusion URL input", func() error {
				_, err := api.RegisterInputFile(alice, &frontendpb.RegisterInputFileRequest{Url: teaclave.FusionURLPrefix + "x.fusion", Cmac: mockCmac, CryptoInfo: pfs})
				return err
			}, teaclave.KindInvalidArgument},
			{"unknown URL scheme", func() error {
				_, err := api.RegisterInputFile(alice, &frontendpb.RegisterInputFileRequest{Url: "input://path", Cmac: mockCmac, CryptoInfo: pfs})
				return err
			}, teaclave.KindInvalidArgument},
			{"file URL without roots", func() error {
				_, err := api.RegisterInputFile(alice, &frontendpb.RegisterInputFileRequest{Url: "file:///etc/shadow", Cmac: mockCmac, CryptoInfo: pfs})
				return err
			}, teaclave.KindInvalidArgument},
			{"15-byte cmac", func() error {
				_, err := api.RegisterInputFile(alice, &frontendpb.RegisterInputFileRequest{Url: fileURL, Cmac: mockCmac[1:], CryptoInfo: pfs})
				return err
			}, teaclave.KindInvalidArgument},
			{"missing crypto info", func() error {
				_, err := api.RegisterInputFile(alice, &frontendpb.RegisterInputFileRequest{Url: fileURL, Cmac: mockCmac})
				return err
			}, teaclave.KindInvalidArgument},
			{"aes-gcm-128 with a 32-byte key", func() error {
				_, err := api.RegisterInputFile(alice, &frontendpb.RegisterInputFileRequest{Url: fileURL, Cmac: mockCmac,
					CryptoInfo: &commonpb.FileCryptoInfo{Schema: "aes-gcm-128", Key: make([]byte, 32), Iv: make([]byte, 12)}})
				return err
			}, teaclave.KindInvalidArgument},
			{"raw input on a platform without raw", func() error {
				_, err := api.RegisterInputFile(alice, &frontendpb.RegisterInputFileRequest{Url: fileURL, Cmac: mockCmac, CryptoInfo: raw})
				return err
			}, teaclave.KindInvalidArgument},
			{"raw output", func() error {
				_, err := api.RegisterOutputFile(alice, &frontendpb.RegisterOutputFileRequest{Url: fileURL, CryptoInfo: raw})
				return err
			}, teaclave.KindInvalidArgument},
			{"update a malformed input id", func() error {
				_, err := api.UpdateInputFile(alice, &frontendpb.UpdateInputFileRequest{DataId: "input-xyz", Url: fileURL})
				return err
			}, teaclave.KindInvalidArgument},
			{"update someone else's input", func() error {
				_, err := api.UpdateInputFile(bob, &frontendpb.UpdateInputFileRequest{DataId: f.aliceInput, Url: fileURL})
				return err
			}, teaclave.KindPermissionDenied},
			{"update someone else's output", func() error {
				_, err := api.UpdateOutputFile(bob, &frontendpb.UpdateOutputFileRequest{DataId: f.aliceOutput, Url: fileURL})
				return err
			}, teaclave.KindPermissionDenied},
			{"fusion output with one owner", func() error {
				_, err := api.RegisterFusionOutput(alice, &frontendpb.RegisterFusionOutputRequest{OwnerList: []string{"alice", "alice"}})
				return err
			}, teaclave.KindInvalidArgument},
			{"fusion output without the caller", func() error {
				_, err := api.RegisterFusionOutput(alice, &frontendpb.RegisterFusionOutputRequest{OwnerList: []string{"bob", "carol"}})
				return err
			}, teaclave.KindPermissionDenied},
			{"fusion output with an unknown owner", func() error {
				_, err := api.RegisterFusionOutput(alice, &frontendpb.RegisterFusionOutputRequest{OwnerList: []string{"alice", "ghost"}})
				return err
			}, teaclave.KindInvalidArgument},
			{"input from an unwritten output", func() error {
				_, err := api.RegisterInputFromOutput(alice, &frontendpb.RegisterInputFromOutputRequest{DataId: f.unwrittenFusion})
				return err
			}, teaclave.KindFailedPrecondition},
			{"read someone else's input", func() error {
				_, err := api.GetInputFile(bob, &frontendpb.GetInputFileRequest{DataId: f.aliceInput})
				return err
			}, teaclave.KindPermissionDenied},
			{"read an unknown output", func() error {
				_, err := api.GetOutputFile(alice, &frontendpb.GetOutputFileRequest{DataId: teaclave.NewID(teaclave.PrefixOutput).String()})
				return err
			}, teaclave.KindNotFound},
			{"function without a name", func() error {
				_, err := api.RegisterFunction(fo, &frontendpb.RegisterFunctionRequest{ExecutorType: "builtin"})
				return err
			}, teaclave.KindInvalidArgument},
			{"function with an unknown executor type", func() error {
				_, err := api.RegisterFunction(fo, &frontendpb.RegisterFunctionRequest{Name: "x", ExecutorType: "java"})
				return err
			}, teaclave.KindInvalidArgument},
			{"function allowlisting an unknown user", func() error {
				_, err := api.RegisterFunction(fo, &frontendpb.RegisterFunctionRequest{Name: "x", ExecutorType: "builtin", UserAllowlist: []string{"ghost"}})
				return err
			}, teaclave.KindInvalidArgument},
			{"update someone else's function", func() error {
				_, err := api.UpdateFunction(admin, &frontendpb.UpdateFunctionRequest{FunctionId: f.publicFn, Name: "x", ExecutorType: "builtin"})
				return err
			}, teaclave.KindPermissionDenied},
			{"delete someone else's function", func() error {
				_, err := api.DeleteFunction(admin, &frontendpb.DeleteFunctionRequest{FunctionId: f.publicFn})
				return err
			}, teaclave.KindPermissionDenied},
			{"read a private function", func() error {
				_, err := api.GetFunction(alice, &frontendpb.GetFunctionRequest{FunctionId: f.privateFn})
				return err
			}, teaclave.KindPermissionDenied},
			{"usage stats of a private function", func() error {
				_, err := api.GetFunctionUsageStats(alice, &frontendpb.GetFunctionUsageStatsRequest{FunctionId: f.privateFn})
				return err
			}, teaclave.KindPermissionDenied},
			{"list another user's functions", func() error {
				_, err := api.ListFunctions(alice, &frontendpb.ListFunctionsRequest{UserId: "fo"})
				return err
			}, teaclave.KindPermissionDenied},
			{"disable someone else's function", func() error {
				_, err := api.DisableFunction(alice, &frontendpb.DisableFunctionRequest{FunctionId: f.publicFn})
				return err
			}, teaclave.KindPermissionDenied},
			{"arguments not JSON", func() error {
				_, err := api.CreateTask(alice, &frontendpb.CreateTaskRequest{FunctionId: f.publicFn, FunctionArguments: "{arg", Executor: "builtin"})
				return err
			}, teaclave.KindInvalidArgument},
			{"arguments missing", func() error {
				_, err := api.CreateTask(alice, &frontendpb.CreateTaskRequest{FunctionId: f.publicFn, FunctionArguments: "{}", Executor: "builtin",
					InputsOwnership: owners(map[string][]string{"in": {"bob"}}), OutputsOwnership: owners(map[string][]string{"out": {"alice"}})})
				return err
			}, teaclave.KindInvalidArgument},
			{"unknown slot", func() error {
				_, err := api.CreateTask(alice, &frontendpb.CreateTaskRequest{FunctionId: f.publicFn, FunctionArguments: `{"arg":1}`, Executor: "builtin",
					InputsOwnership: owners(map[string][]string{"in": {"bob"}, "extra": {"bob"}}), OutputsOwnership: owners(map[string][]string{"out": {"alice"}})})
				return err
			}, teaclave.KindInvalidArgument},
			{"unknown owner", func() error {
				_, err := api.CreateTask(alice, &frontendpb.CreateTaskRequest{FunctionId: f.publicFn, FunctionArguments: `{"arg":1}`, Executor: "builtin",
					InputsOwnership: owners(map[string][]string{"in": {"ghost"}}), OutputsOwnership: owners(map[string][]string{"out": {"alice"}})})
				return err
			}, teaclave.KindInvalidArgument},
			{"executor that cannot run the function", func() error {
				_, err := api.CreateTask(alice, &frontendpb.CreateTaskRequest{FunctionId: f.publicFn, FunctionArguments: `{"arg":1}`, Executor: "wamr",
					InputsOwnership: owners(map[string][]string{"in": {"bob"}}), OutputsOwnership: owners(map[string][]string{"out": {"alice"}})})
				return err
			}, teaclave.KindInvalidArgument},
			{"task on a private function", func() error {
				_, err := api.CreateTask(alice, &frontendpb.CreateTaskRequest{FunctionId: f.privateFn, FunctionArguments: "{}", Executor: "builtin",
					InputsOwnership: owners(map[string][]string{"in": {"bob"}}), OutputsOwnership: owners(map[string][]string{"out": {"alice"}})})
				return err
			}, teaclave.KindPermissionDenied},
			{"read a task as a non-participant", func() error {
				_, err := api.GetTask(carol, &frontendpb.GetTaskRequest{TaskId: f.createdTask})
				return err
			}, teaclave.KindPermissionDenied},
			{"assign someone else's input", func() error {
				_, err := api.AssignData(bob, &frontendpb.AssignDataRequest{TaskId: f.createdTask, Inputs: dm(map[string]string{"in": f.aliceInput})})
				return err
			}, teaclave.KindPermissionDenied},
			{"assign to a task never created", func() error {
				_, err := api.AssignData(alice, &frontendpb.AssignDataRequest{TaskId: teaclave.NewID(teaclave.PrefixTask).String(), Outputs: dm(map[string]string{"out": f.aliceOutput})})
				return err
			}, teaclave.KindNotFound},
			{"approve before data", func() error {
				_, err := api.ApproveTask(alice, &frontendpb.ApproveTaskRequest{TaskId: f.createdTask})
				return err
			}, teaclave.KindFailedPrecondition},
			{"invoke by a non-creator", func() error {
				_, err := api.InvokeTask(bob, &frontendpb.InvokeTaskRequest{TaskId: f.createdTask})
				return err
			}, teaclave.KindPermissionDenied},
			{"invoke before approvals", func() error {
				_, err := api.InvokeTask(alice, &frontendpb.InvokeTaskRequest{TaskId: f.createdTask})
				return err
			}, teaclave.KindFailedPrecondition},
			{"cancel by a non-creator", func() error {
				_, err := api.CancelTask(bob, &frontendpb.CancelTaskRequest{TaskId: f.createdTask})
				return err
			}, teaclave.KindPermissionDenied},
			{"cancel a finished task", func() error {
				_, err := api.CancelTask(alice, &frontendpb.CancelTaskRequest{TaskId: f.finishedTsk})
				return err
			}, teaclave.KindFailedPrecondition},
			{"malformed task id", func() error {
				_, err := api.GetTask(alice, &frontendpb.GetTaskRequest{TaskId: strings.ToUpper(f.createdTask)})
				return err
			}, teaclave.KindInvalidArgument},
			{"audit query with an unknown field", func() error {
				_, err := api.QueryAuditLogs(admin, &frontendpb.QueryAuditLogsRequest{Query: "date:2020", Limit: 1})
				return err
			}, teaclave.KindInvalidArgument},
		}
		if len(cases) < 30 {
			t.Fatalf("only %d cases", len(cases))
		}
		e.flush()
		before, err := mxtest.Dump(context.Background(), e.store)
		wantOK(t, err, "dump before")
		for _, c := range cases {
			wantKind(t, c.call(), c.want, c.what)
		}
		e.flush()
		after, err := mxtest.Dump(context.Background(), e.store)
		wantOK(t, err, "dump after")
		added, removed, changed := mxtest.Diff(before, after)
		if len(removed)+len(changed) != 0 {
			t.Fatalf("refused calls removed %v and changed %v", removed, changed)
		}
		if len(added) != len(cases) {
			t.Fatalf("%d keys added for %d refused calls: %v", len(added), len(cases), added)
		}
		for _, k := range added {
			var en struct {
				Result  bool   `json:"result"`
				Message string `json:"message"`
			}
			if !strings.HasPrefix(k, "audit-") || json.Unmarshal(after[k], &en) != nil || en.Result {
				t.Errorf("added %s = %s, want an audit entry with result false", k, after[k])
			}
		}
		if n := len(e.drain(teaclave.QueueStagedTasks)) + len(e.drain(teaclave.QueueCancel)); n != 0 {
			t.Fatalf("refused calls enqueued %d elements", n)
		}
	})
}

// TestClientRoleIgnored: a role sent in metadata by a client is never
// used; the role comes from the verified token.
func TestClientRoleIgnored(t *testing.T) {
	e := newEnv(t, overGRPC, frontend.Config{})
	ctx := metadata.AppendToOutgoingContext(e.as("alice"), "role", "PlatformAdmin")
	_, err := e.api.QueryAuditLogs(ctx, &frontendpb.QueryAuditLogsRequest{Limit: 1})
	wantKind(t, err, teaclave.KindPermissionDenied, "data owner claiming PlatformAdmin queries audit logs")
	_, err = e.api.ListFunctions(ctx, &frontendpb.ListFunctionsRequest{UserId: "fo"})
	wantKind(t, err, teaclave.KindPermissionDenied, "data owner claiming PlatformAdmin lists another user's functions")
}
