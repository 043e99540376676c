//go:build !teaclave_production

package frontend_test

import (
	"context"
	"encoding/json"
	"strings"
	"testing"

	"github.com/teaclave-go/teaclave"
	"github.com/teaclave-go/teaclave/frontend"
	mxtest "github.com/teaclave-go/teaclave/management/xtest"
	"github.com/teaclave-go/teaclave/rpc/pb/commonpb"
	"github.com/teaclave-go/teaclave/rpc/pb/frontendpb"
)

// TestTeaclaveFunctional reproduces Teaclave's frontend functional tests
// (tests/functional/enclave/src/frontend_service.rs, protocol §19.6):
// "authorized" is frontend_user, a PlatformAdmin, with a valid token;
// "unauthorized" is frontend_user with the token "InvalidToken", refused
// UNAUTHENTICATED. Every check is on. test_invoke_task, test_cancel_task
// and test_fail_task stop where Teaclave hands over to the scheduler: the
// staged task (and the cancellation) are asserted in the storage queues.
func TestTeaclaveFunctional(t *testing.T) {
	forEachWiring(t, func(t *testing.T, w wiring) {
		e := newEnv(t, w, frontend.Config{})
		for _, tc := range []struct {
			name string
			run  func(*testing.T, *env)
		}{
			{"register_input_file", feRegisterInputFile},
			{"update_input_file", feUpdateInputFile},
			{"register_output_file", feRegisterOutputFile},
			{"update_output_file", feUpdateOutputFile},
			{"register_fusion_output", feRegisterFusionOutput},
			{"register_input_from_output", feRegisterInputFromOutput},
			{"get_output_file", feGetOutputFile},
			{"get_input_file", feGetInputFile},
			{"register_function", feRegisterFunction},
			{"get_function", feGetFunction},
			{"create_task", feCreateTask},
			{"get_task", feGetTask},
			{"assign_data", feAssignData},
			{"approve_task", feApproveTask},
			{"invoke_task", feInvokeTask},
			{"cancel_task", feCancelTask},
			{"fail_task", feFailTask},
		} {
			t.Run(tc.name, func(t *testing.T) {
				e.t = t
				tc.run(t, e)
			})
		}
	})
}

func unauthorized(t *testing.T, err error, what string) {
	t.Helper()
	wantKind(t, err, teaclave.KindUnauthenticated, "unauthorized "+what)
}

// good acts as the logged-in frontend_user; bad sends a wrong token.
func (e *env) good() context.Context { return e.as("frontend_user") }
func (e *env) bad() context.Context  { return e.withToken("frontend_user", "InvalidToken") }

func feRegisterInputFile(t *testing.T, e *env) {
	req := &frontendpb.RegisterInputFileRequest{Url: fileURL, Cmac: mockCmac, CryptoInfo: pfsCrypto()}
	_, err := e.api.RegisterInputFile(e.good(), req)
	wantOK(t, err, "authorized")
	_, err = e.api.RegisterInputFile(e.bad(), req)
	unauthorized(t, err, "register input file")
}

func feUpdateInputFile(t *testing.T, e *env) {
	r, err := e.api.RegisterInputFile(e.good(), &frontendpb.RegisterInputFileRequest{Url: fileURL, Cmac: mockCmac, CryptoInfo: pfsCrypto()})
	wantOK(t, err, "register")
	u, err := e.api.UpdateInputFile(e.good(), &frontendpb.UpdateInputFileRequest{DataId: r.GetDataId(), Url: "https://external-storage.com/filepath-new?presigned_token"})
	wantOK(t, err, "update")
	if u.GetDataId() == r.GetDataId() {
		t.Fatal("update returned the old id")
	}
}

func feRegisterOutputFile(t *testing.T, e *env) {
	req := &frontendpb.RegisterOutputFileRequest{Url: fileURL, CryptoInfo: pfsCrypto()}
	_, err := e.api.RegisterOutputFile(e.good(), req)
	wantOK(t, err, "authorized")
	_, err = e.api.RegisterOutputFile(e.bad(), req)
	unauthorized(t, err, "register output file")
}

func feUpdateOutputFile(t *testing.T, e *env) {
	r, err := e.api.RegisterOutputFile(e.good(), &frontendpb.RegisterOutputFileRequest{Url: fileURL, CryptoInfo: pfsCrypto()})
	wantOK(t, err, "register")
	u, err := e.api.UpdateOutputFile(e.good(), &frontendpb.UpdateOutputFileRequest{DataId: r.GetDataId(), Url: "https://external-storage.com/filepath-new?presigned_token"})
	wantOK(t, err, "update")
	if u.GetDataId() == r.GetDataId() {
		t.Fatal("update returned the old id")
	}
}

func feRegisterFusionOutput(t *testing.T, e *env) {
	req := &frontendpb.RegisterFusionOutputRequest{OwnerList: []string{"frontend_user", "mock_user"}}
	_, err := e.api.RegisterFusionOutput(e.good(), req)
	wantOK(t, err, "authorized")
	_, err = e.api.RegisterFusionOutput(e.bad(), req)
	unauthorized(t, err, "register fusion output")
}

func feRegisterInputFromOutput(t *testing.T, e *env) {
	req := &frontendpb.RegisterInputFromOutputRequest{DataId: mxtest.FixtureOutput1.String()}
	_, err := e.api.RegisterInputFromOutput(e.good(), req)
	wantOK(t, err, "authorized")
	_, err = e.api.RegisterInputFromOutput(e.bad(), req)
	unauthorized(t, err, "register input from output")
}

func feGetOutputFile(t *testing.T, e *env) {
	r, err := e.api.RegisterOutputFile(e.good(), &frontendpb.RegisterOutputFileRequest{Url: fileURL, CryptoInfo: pfsCrypto()})
	wantOK(t, err, "register")
	_, err = e.api.GetOutputFile(e.good(), &frontendpb.GetOutputFileRequest{DataId: r.GetDataId()})
	wantOK(t, err, "owner reads")
	_, err = e.api.GetOutputFile(e.bad(), &frontendpb.GetOutputFileRequest{DataId: r.GetDataId()})
	unauthorized(t, err, "get output file")
}

func feGetInputFile(t *testing.T, e *env) {
	r, err := e.api.RegisterInputFile(e.good(), &frontendpb.RegisterInputFileRequest{Url: fileURL, Cmac: mockCmac, CryptoInfo: pfsCrypto()})
	wantOK(t, err, "register")
	_, err = e.api.GetInputFile(e.good(), &frontendpb.GetInputFileRequest{DataId: r.GetDataId()})
	wantOK(t, err, "owner reads")
	_, err = e.api.GetInputFile(e.bad(), &frontendpb.GetInputFileRequest{DataId: r.GetDataId()})
	unauthorized(t, err, "get input file")
}

// feRegisterFunction also checks the audit log as Teaclave's test does
// after waiting for its 30 s audit agent (here: a flush).
func feRegisterFunction(t *testing.T, e *env) {
	// Teaclave registered RegisterFunctionRequest::default(); ours needs a
	// name, so the minimal valid request is a named builtin function.
	req := &frontendpb.RegisterFunctionRequest{Name: "default", ExecutorType: "builtin", Public: true, UsageQuota: -1}
	_, err := e.api.RegisterFunction(e.good(), req)
	wantOK(t, err, "authorized")
	_, err = e.api.RegisterFunction(e.bad(), req)
	unauthorized(t, err, "register function")
	e.flush()
	query := func(q string) []*commonpb.Entry {
		r, err := e.api.QueryAuditLogs(e.good(), &frontendpb.QueryAuditLogsRequest{Query: q, Limit: 100})
		wantOK(t, err, "query "+q)
		return r.GetLogs()
	}
	n := 0
	for _, l := range query("user:frontend_user") {
		if l.GetMessage() == "register_function" {
			n++
			if !l.GetResult() {
				t.Errorf("register_function entry of frontend_user with result false")
			}
		}
	}
	if n != 1 {
		t.Errorf("%d register_function entries of frontend_user, want 1", n)
	}
	// Newest first: the refused call came second. (Teaclave's test expected
	// the success first, relying on tantivy's second-precision ties.)
	logs := query("message:register_function")
	if len(logs) != 2 {
		t.Fatalf("message:register_function gave %d entries, want 2", len(logs))
	}
	if logs[0].GetResult() || logs[0].GetUser() != "" || !logs[1].GetResult() || !strings.Contains(logs[1].GetUser(), "user: frontend_user") {
		t.Errorf("entries %v", logs)
	}
	for _, l := range query("message:authenticate") {
		if l.GetUser() != "" || l.GetResult() {
			t.Errorf("authentication failure entry %v", l)
		}
	}
}

func feGetFunction(t *testing.T, e *env) {
	req := &frontendpb.GetFunctionRequest{FunctionId: mxtest.FixtureFunction1.String()}
	_, err := e.api.GetFunction(e.good(), req)
	wantOK(t, err, "authorized")
	_, err = e.api.GetFunction(e.bad(), req)
	unauthorized(t, err, "get function")
}

func createOnFunc2(outputOwners ...string) *frontendpb.CreateTaskRequest {
	return &frontendpb.CreateTaskRequest{
		FunctionId: mxtest.FixtureFunction2.String(), FunctionArguments: `{"arg1":"arg1_value"}`, Executor: "mesapy",
		OutputsOwnership: owners(map[string][]string{"output": outputOwners}),
	}
}

func feCreateTask(t *testing.T, e *env) {
	_, err := e.api.CreateTask(e.good(), createOnFunc2("frontend_user", "mock_user"))
	wantOK(t, err, "authorized")
	_, err = e.api.CreateTask(e.bad(), createOnFunc2("frontend_user", "mock_user"))
	unauthorized(t, err, "create task")
}

func feGetTask(t *testing.T, e *env) {
	r, err := e.api.CreateTask(e.good(), createOnFunc2("frontend_user", "mock_user"))
	wantOK(t, err, "create")
	_, err = e.api.GetTask(e.good(), &frontendpb.GetTaskRequest{TaskId: r.GetTaskId()})
	wantOK(t, err, "creator reads")
	_, err = e.api.GetTask(e.bad(), &frontendpb.GetTaskRequest{TaskId: r.GetTaskId()})
	unauthorized(t, err, "get task")
}

// assigned creates a task on mock-func-2 whose output frontend_user owns
// alone, and assigns a new output to it.
func assigned(t *testing.T, e *env) string {
	r, err := e.api.CreateTask(e.good(), createOnFunc2("frontend_user"))
	wantOK(t, err, "create")
	o, err := e.api.RegisterOutputFile(e.good(), &frontendpb.RegisterOutputFileRequest{Url: fileURL, CryptoInfo: pfsCrypto()})
	wantOK(t, err, "register output")
	req := &frontendpb.AssignDataRequest{TaskId: r.GetTaskId(), Outputs: dm(map[string]string{"output": o.GetDataId()})}
	_, err = e.api.AssignData(e.bad(), req)
	unauthorized(t, err, "assign data")
	_, err = e.api.AssignData(e.good(), req)
	wantOK(t, err, "authorized assign")
	return r.GetTaskId()
}

func feAssignData(t *testing.T, e *env) { assigned(t, e) }

func approved(t *testing.T, e *env) string {
	task := assigned(t, e)
	_, err := e.api.ApproveTask(e.bad(), &frontendpb.ApproveTaskRequest{TaskId: task})
	unauthorized(t, err, "approve task")
	_, err = e.api.ApproveTask(e.good(), &frontendpb.ApproveTaskRequest{TaskId: task})
	wantOK(t, err, "authorized approve")
	return task
}

func feApproveTask(t *testing.T, e *env) { approved(t, e) }

func invoked(t *testing.T, e *env) string {
	task := approved(t, e)
	_, err := e.api.InvokeTask(e.bad(), &frontendpb.InvokeTaskRequest{TaskId: task})
	unauthorized(t, err, "invoke task")
	_, err = e.api.InvokeTask(e.good(), &frontendpb.InvokeTaskRequest{TaskId: task})
	wantOK(t, err, "authorized invoke")
	r, err := e.api.GetTask(e.good(), &frontendpb.GetTaskRequest{TaskId: task})
	wantOK(t, err, "get task")
	if r.GetStatus() != commonpb.TaskStatus_Staged {
		t.Fatalf("status %v, want Staged", r.GetStatus())
	}
	// Where Teaclave pulls from the scheduler: the staged task is queued.
	staged := e.drain(teaclave.QueueStagedTasks)
	if len(staged) != 1 {
		t.Fatalf("%d staged tasks", len(staged))
	}
	var st teaclave.StagedTask
	wantOK(t, json.Unmarshal(staged[0], &st), "decode staged task")
	if st.TaskID.String() != task || st.FunctionID != mxtest.FixtureFunction2 || st.UserID != "frontend_user" || len(st.OutputData) != 1 {
		t.Fatalf("staged task %+v", st)
	}
	return task
}

func feInvokeTask(t *testing.T, e *env) { invoked(t, e) }

// feCancelTask: Teaclave cancels the staged task and lets the scheduler
// finish the cancellation; here the cancellation is asserted queued and
// recorded on the task.
func feCancelTask(t *testing.T, e *env) {
	task := invoked(t, e)
	_, err := e.api.CancelTask(e.bad(), &frontendpb.CancelTaskRequest{TaskId: task})
	unauthorized(t, err, "cancel task")
	_, err = e.api.CancelTask(e.good(), &frontendpb.CancelTaskRequest{TaskId: task})
	wantOK(t, err, "authorized cancel")
	cancels := e.drain(teaclave.QueueCancel)
	if len(cancels) != 1 {
		t.Fatalf("%d cancellations queued", len(cancels))
	}
	var c teaclave.TaskCancel
	wantOK(t, json.Unmarshal(cancels[0], &c), "decode cancellation")
	if c.TaskID.String() != task || c.RequestedBy != "frontend_user" {
		t.Fatalf("cancellation %+v", c)
	}
}

// feFailTask: everything up to the point where the scheduler's liveness
// check takes over.
func feFailTask(t *testing.T, e *env) { invoked(t, e) }
