//go:build !teaclave_production

package management_test

import (
	"slices"
	"testing"

	"github.com/teaclave-go/teaclave"
	"github.com/teaclave-go/teaclave/management"
	mxtest "github.com/teaclave-go/teaclave/management/xtest"
	"github.com/teaclave-go/teaclave/rpc/pb/commonpb"
	"github.com/teaclave-go/teaclave/rpc/pb/frontendpb"
)

// TestTeaclaveFunctional reproduces Teaclave's management functional tests
// (tests/functional/enclave/src/management_service.rs, protocol §19.7):
// direct internal calls as PlatformAdmin with various user ids, against
// the seeded fixtures, every check on. Where Teaclave's test_invoke_task
// goes on to the scheduler, the staged task is asserted in the storage
// queue instead. Differences: URLs use https (Teaclave also took
// "input://path", a scheme we refuse); the seeded functions are python
// functions so that Teaclave's mesapy tasks pair with them.
func TestTeaclaveFunctional(t *testing.T) {
	forEachWiring(t, func(t *testing.T, w wiring) {
		e := newEnv(t, w, management.Config{})
		for _, tc := range []struct {
			name string
			run  func(*testing.T, *env)
		}{
			{"register_input_file", fnRegisterInputFile},
			{"register_output_file", fnRegisterOutputFile},
			{"register_fusion_output", fnRegisterFusionOutput},
			{"register_input_from_output", fnRegisterInputFromOutput},
			{"get_output_file", fnGetOutputFile},
			{"get_input_file", fnGetInputFile},
			{"register_function", fnRegisterFunction},
			{"register_private_function", fnRegisterPrivateFunction},
			{"delete_function", fnDeleteFunction},
			{"disable_function", fnDisableFunction},
			{"update_function", fnUpdateFunction},
			{"list_functions", fnListFunctions},
			{"get_function", fnGetFunction},
			{"create_task", fnCreateTask},
			{"get_task", fnGetTask},
			{"assign_data", fnAssignData},
			{"approve_task", fnApproveTask},
			{"invoke_task", fnInvokeTask},
		} {
			e.t = t
			t.Run(tc.name, func(t *testing.T) {
				e.t = t
				tc.run(t, e)
			})
		}
	})
}

func fnRegisterInputFile(t *testing.T, e *env) {
	_, err := e.api.RegisterInputFile(e.admin("mock_user"), &frontendpb.RegisterInputFileRequest{Url: fileURL, Cmac: mockCmac, CryptoInfo: pfsCrypto()})
	wantOK(t, err, "register input file")
}

func fnRegisterOutputFile(t *testing.T, e *env) {
	crypto := &commonpb.FileCryptoInfo{Schema: "aes-gcm-128", Key: slices.Repeat([]byte{0x90}, 16), Iv: slices.Repeat([]byte{0x89}, 12)}
	_, err := e.api.RegisterOutputFile(e.admin("mock_user"), &frontendpb.RegisterOutputFileRequest{Url: fileURL, CryptoInfo: crypto})
	wantOK(t, err, "register aes-gcm-128 output")
}

func fnRegisterFusionOutput(t *testing.T, e *env) {
	e.fusion(e.admin("mock_user"), "mock_user", "mock_user_b")
	_, err := e.api.RegisterFusionOutput(e.admin("mock_user"), &frontendpb.RegisterFusionOutputRequest{OwnerList: []string{"mock_user_c", "mock_user_b"}})
	wantKind(t, err, teaclave.KindPermissionDenied, "fusion output without the caller")
}

func fnRegisterInputFromOutput(t *testing.T, e *env) {
	req := &frontendpb.RegisterInputFromOutputRequest{DataId: mxtest.FixtureOutput1.String()}
	_, err := e.api.RegisterInputFromOutput(e.admin("mock_user_c"), req)
	wantKind(t, err, teaclave.KindPermissionDenied, "not an owner")
	user1 := e.admin("mock_user1")
	unwritten := e.output(user1)
	_, err = e.api.RegisterInputFromOutput(user1, &frontendpb.RegisterInputFromOutputRequest{DataId: unwritten})
	wantKind(t, err, teaclave.KindFailedPrecondition, "output not written")
	r, err := e.api.RegisterInputFromOutput(user1, req)
	wantOK(t, err, "owner of a written output")
	if want := teaclave.IDFromUUID(teaclave.PrefixInput, mxtest.FixtureOutput1.UUID()).String(); r.GetDataId() != want {
		t.Errorf("input id %s, want %s", r.GetDataId(), want)
	}
}

func fnGetOutputFile(t *testing.T, e *env) {
	id := e.output(e.admin("mock_user"))
	_, err := e.api.GetOutputFile(e.admin("mock_user"), &frontendpb.GetOutputFileRequest{DataId: id})
	wantOK(t, err, "owner reads output")
	_, err = e.api.GetOutputFile(e.admin("mock_another_user"), &frontendpb.GetOutputFileRequest{DataId: id})
	wantKind(t, err, teaclave.KindPermissionDenied, "another user reads output")
}

func fnGetInputFile(t *testing.T, e *env) {
	id := e.input(e.admin("mock_user"))
	r, err := e.api.GetInputFile(e.admin("mock_user"), &frontendpb.GetInputFileRequest{DataId: id})
	wantOK(t, err, "owner reads input")
	if string(r.GetCmac()) != string(mockCmac) || !slices.Equal(r.GetOwner(), []string{"mock_user"}) {
		t.Errorf("input = %v", r)
	}
	_, err = e.api.GetInputFile(e.admin("mock_another_user"), &frontendpb.GetInputFileRequest{DataId: id})
	wantKind(t, err, teaclave.KindPermissionDenied, "another user reads input")
}

func pythonFunction(public bool, allow ...string) *frontendpb.RegisterFunctionRequest {
	return &frontendpb.RegisterFunctionRequest{
		Name: "mock_function", ExecutorType: "python", Payload: []byte("def entrypoint:\n\treturn"), Public: public,
		Arguments:     []*frontendpb.FunctionArgument{{Key: "arg", AllowOverwrite: true}},
		Inputs:        []*frontendpb.FunctionInput{{Name: "input", Description: "input_desc"}},
		Outputs:       []*frontendpb.FunctionOutput{{Name: "output", Description: "output_desc"}},
		UserAllowlist: allow, UsageQuota: -1,
	}
}

func fnRegisterFunction(t *testing.T, e *env) {
	req := pythonFunction(true)
	req.UsageQuota = 0
	r, err := e.api.RegisterFunction(e.admin("mock_user"), req)
	wantOK(t, err, "python function with quota 0")
	s, err := e.api.GetFunctionUsageStats(e.admin("mock_user"), &frontendpb.GetFunctionUsageStatsRequest{FunctionId: r.GetFunctionId()})
	wantOK(t, err, "usage stats")
	if s.GetFunctionQuota() != 0 || s.GetCurrentUsage() != 0 {
		t.Errorf("stats = %v", s)
	}
}

func fnRegisterPrivateFunction(t *testing.T, e *env) {
	_, err := e.api.RegisterFunction(e.admin("mock_user"), pythonFunction(false, "mock_user", "mock_user1"))
	wantOK(t, err, "private function with an allowlist")
}

func fnDeleteFunction(t *testing.T, e *env) {
	r, err := e.api.RegisterFunction(e.admin("mock_user"), pythonFunction(true))
	wantOK(t, err, "register")
	_, err = e.api.DeleteFunction(e.admin("mock_user"), &frontendpb.DeleteFunctionRequest{FunctionId: r.GetFunctionId()})
	wantOK(t, err, "owner deletes")
}

func fnDisableFunction(t *testing.T, e *env) {
	r, err := e.api.RegisterFunction(e.admin("mock_user"), pythonFunction(true))
	wantOK(t, err, "register")
	_, err = e.api.DisableFunction(e.admin("mock_user"), &frontendpb.DisableFunctionRequest{FunctionId: r.GetFunctionId()})
	wantOK(t, err, "owner disables")
}

func updateRequest(id string) *frontendpb.UpdateFunctionRequest {
	r := pythonFunction(true)
	return &frontendpb.UpdateFunctionRequest{
		FunctionId: id, Name: r.Name, Description: "updated", ExecutorType: r.ExecutorType, Public: r.Public, Payload: r.Payload,
		Arguments: r.Arguments, Inputs: r.Inputs, Outputs: r.Outputs, UsageQuota: -1,
	}
}

func fnUpdateFunction(t *testing.T, e *env) {
	r, err := e.api.RegisterFunction(e.admin("mock_user"), pythonFunction(true))
	wantOK(t, err, "register")
	u, err := e.api.UpdateFunction(e.admin("mock_user"), updateRequest(r.GetFunctionId()))
	wantOK(t, err, "owner updates")
	if u.GetFunctionId() != r.GetFunctionId() {
		t.Errorf("update returned %s, want %s", u.GetFunctionId(), r.GetFunctionId())
	}
	_, err = e.api.UpdateFunction(e.admin("mock_user"), updateRequest(teaclave.NewID(teaclave.PrefixFunction).String()))
	wantKind(t, err, teaclave.KindNotFound, "update a non-existent function")
	_, err = e.api.UpdateFunction(e.admin("mock_another_user"), updateRequest(r.GetFunctionId()))
	wantKind(t, err, teaclave.KindPermissionDenied, "another user updates")
}

func fnListFunctions(t *testing.T, e *env) {
	r, err := e.api.ListFunctions(e.admin("mock_user"), &frontendpb.ListFunctionsRequest{UserId: "mock_user"})
	wantOK(t, err, "list own functions")
	if len(r.GetRegisteredFunctions()) == 0 {
		t.Error("no registered functions listed")
	}
}

func fnGetFunction(t *testing.T, e *env) {
	r, err := e.api.RegisterFunction(e.admin("mock_user"), pythonFunction(false))
	wantOK(t, err, "register private")
	get := &frontendpb.GetFunctionRequest{FunctionId: r.GetFunctionId()}
	_, err = e.api.GetFunction(e.admin("mock_user"), get)
	wantOK(t, err, "owner reads private function")
	_, err = e.api.GetFunction(e.admin("mock_unauthorized_user"), get)
	wantOK(t, err, "a PlatformAdmin non-owner reads it")
	_, err = e.api.GetFunction(e.as("mock_unauthorized_user", dataOwner), get)
	wantKind(t, err, teaclave.KindPermissionDenied, "a data owner non-owner reads it")
	_, err = e.api.GetFunction(e.admin("mock_unauthorized_user"), &frontendpb.GetFunctionRequest{FunctionId: mxtest.FixtureFunction1.String()})
	wantOK(t, err, "seeded public function")
	for _, u := range []string{"mock_user", "mock_user1"} {
		g, err := e.api.GetFunction(e.as(u, dataOwner), &frontendpb.GetFunctionRequest{FunctionId: mxtest.FixtureFunction3.String()})
		wantOK(t, err, "allowlisted user reads seeded private function")
		if u == "mock_user1" && (len(g.GetPayload()) != 0 || len(g.GetUserAllowlist()) != 0) {
			t.Errorf("allowlisted non-owner sees payload or allowlist: %v", g)
		}
	}
	_, err = e.api.GetFunction(e.admin("admin"), &frontendpb.GetFunctionRequest{FunctionId: mxtest.FixtureFunction3.String()})
	wantOK(t, err, "admin reads seeded private function")
}

func fnCreateTask(t *testing.T, e *env) {
	ctx := e.admin("mock_user")
	_, err := e.api.CreateTask(ctx, &frontendpb.CreateTaskRequest{Executor: "mesapy"})
	wantKind(t, err, teaclave.KindInvalidArgument, "request without function id")
	_, err = e.api.CreateTask(ctx, validCreateTask())
	wantOK(t, err, "valid task")
	_, err = e.api.CreateTask(ctx, &frontendpb.CreateTaskRequest{FunctionId: mxtest.FixtureFunction3.String(), FunctionArguments: `{"arg1":"data1"}`, Executor: "mesapy"})
	wantOK(t, err, "private function by an admin")
	req := validCreateTask()
	req.FunctionArguments = `{"arg2":"data2"}`
	_, err = e.api.CreateTask(ctx, req)
	wantKind(t, err, teaclave.KindInvalidArgument, "missing arg1")
	req = validCreateTask()
	req.InputsOwnership = slices.DeleteFunc(req.InputsOwnership, func(o *frontendpb.OwnerList) bool { return o.DataName == "input" })
	_, err = e.api.CreateTask(ctx, req)
	wantKind(t, err, teaclave.KindInvalidArgument, "missing input ownership")
	req = validCreateTask()
	req.OutputsOwnership = slices.DeleteFunc(req.OutputsOwnership, func(o *frontendpb.OwnerList) bool { return o.DataName == "output" })
	_, err = e.api.CreateTask(ctx, req)
	wantKind(t, err, teaclave.KindInvalidArgument, "missing output ownership")
	_, err = e.api.CreateTask(e.admin("mock_another_user"), &frontendpb.CreateTaskRequest{FunctionId: mxtest.FixtureFunction3.String(), FunctionArguments: `{"arg1":"data1"}`, Executor: "mesapy"})
	wantOK(t, err, "private function by another admin")
}

func fnGetTask(t *testing.T, e *env) {
	ctx := e.admin("mock_user")
	r, err := e.api.CreateTask(ctx, validCreateTask())
	wantOK(t, err, "create")
	task := e.task(ctx, r.GetTaskId())
	if want := []string{"mock_user", "mock_user1", "mock_user2", "mock_user3"}; !slices.Equal(task.GetParticipants(), want) {
		t.Errorf("participants %v, want %v (the public function's owner is not one)", task.GetParticipants(), want)
	}
}

// assignAll performs the successful assignments of Teaclave's
// test_assign_data: mock_user1 its input and output, mock_user2 the seeded
// fusion input, mock_user3 a new fusion output.
func assignAll(t *testing.T, e *env, task string) {
	u1, u2, u3 := e.admin("mock_user1"), e.admin("mock_user2"), e.admin("mock_user3")
	_, err := e.api.AssignData(u1, &frontendpb.AssignDataRequest{TaskId: task,
		Inputs: dm(map[string]string{"input": e.input(u1)}), Outputs: dm(map[string]string{"output": e.output(u1)})})
	wantOK(t, err, "mock_user1 assigns input and output")
	_, err = e.api.AssignData(u2, &frontendpb.AssignDataRequest{TaskId: task, Inputs: dm(map[string]string{"input2": mxtest.FixtureInput2.String()})})
	wantOK(t, err, "mock_user2 assigns the fusion input")
	fusion := e.fusion(u3, "mock_user2", "mock_user3")
	_, err = e.api.AssignData(u3, &frontendpb.AssignDataRequest{TaskId: task, Outputs: dm(map[string]string{"output2": fusion})})
	wantOK(t, err, "mock_user3 assigns a fusion output")
}

func approveAll(t *testing.T, e *env, task string) {
	for _, u := range []string{"mock_user", "mock_user1", "mock_user2", "mock_user3"} {
		_, err := e.api.ApproveTask(e.admin(u), &frontendpb.ApproveTaskRequest{TaskId: task})
		wantOK(t, err, u+" approves")
	}
}

func fnAssignData(t *testing.T, e *env) {
	r, err := e.api.CreateTask(e.admin("mock_user"), validCreateTask())
	wantOK(t, err, "create")
	task := r.GetTaskId()
	u1, u2, u3 := e.admin("mock_user1"), e.admin("mock_user2"), e.admin("mock_user3")
	in2 := e.input(u2)
	out2 := e.output(u2)
	refused := []struct {
		who  string
		req  *frontendpb.AssignDataRequest
		kind teaclave.Kind
		what string
	}{
		{"non-participant", &frontendpb.AssignDataRequest{TaskId: task, Inputs: dm(map[string]string{"input": in2})}, teaclave.KindPermissionDenied, "non-participant"},
		{"mock_user1", &frontendpb.AssignDataRequest{TaskId: task, Inputs: dm(map[string]string{"input": in2})}, teaclave.KindPermissionDenied, "someone else's input"},
		{"mock_user1", &frontendpb.AssignDataRequest{TaskId: task, Outputs: dm(map[string]string{"output": out2})}, teaclave.KindPermissionDenied, "someone else's output"},
		{"mock_user1", &frontendpb.AssignDataRequest{TaskId: task, Outputs: dm(map[string]string{"output": mxtest.FixtureOutput1.String()})}, teaclave.KindPermissionDenied, "a written output with other owners"},
		{"mock_user1", &frontendpb.AssignDataRequest{TaskId: task, Inputs: dm(map[string]string{"input": mxtest.FixtureInput2.String()})}, teaclave.KindPermissionDenied, "a fusion input owned by others"},
		{"mock_user2", &frontendpb.AssignDataRequest{TaskId: task, Inputs: dm(map[string]string{"none": in2})}, teaclave.KindInvalidArgument, "unknown input slot"},
		{"mock_user2", &frontendpb.AssignDataRequest{TaskId: task, Outputs: dm(map[string]string{"none": out2})}, teaclave.KindInvalidArgument, "unknown output slot"},
		{"mock_user2", &frontendpb.AssignDataRequest{TaskId: task, Inputs: dm(map[string]string{"input2": in2})}, teaclave.KindPermissionDenied, "input owners differ from the slot's"},
		{"mock_user2", &frontendpb.AssignDataRequest{TaskId: task, Inputs: dm(map[string]string{"input": in2})}, teaclave.KindPermissionDenied, "input owners differ (single owner slot)"},
		{"mock_user2", &frontendpb.AssignDataRequest{TaskId: task, Outputs: dm(map[string]string{"output2": out2})}, teaclave.KindPermissionDenied, "output owners differ from the slot's"},
		{"mock_user2", &frontendpb.AssignDataRequest{TaskId: task, Outputs: dm(map[string]string{"output1": out2})}, teaclave.KindInvalidArgument, "output slot output1"},
	}
	for _, c := range refused {
		_, err := e.api.AssignData(e.admin(c.who), c.req)
		wantKind(t, err, c.kind, c.what)
	}
	if s := e.task(u1, task); s.GetStatus() != commonpb.TaskStatus_Created || len(s.GetAssignedInputs())+len(s.GetAssignedOutputs()) != 0 {
		t.Fatalf("refused assignments changed the task: %v", s)
	}
	assignAll(t, e, task)
	if s := e.task(u3, task).GetStatus(); s != commonpb.TaskStatus_DataAssigned {
		t.Fatalf("status %v, want DataAssigned", s)
	}
	_, err = e.api.AssignData(u1, &frontendpb.AssignDataRequest{TaskId: task, Inputs: dm(map[string]string{"input": e.input(u1)})})
	wantKind(t, err, teaclave.KindFailedPrecondition, "assignment after DataAssigned")
}

func fnApproveTask(t *testing.T, e *env) {
	r, err := e.api.CreateTask(e.admin("mock_user"), validCreateTask())
	wantOK(t, err, "create")
	task := r.GetTaskId()
	_, err = e.api.ApproveTask(e.admin("mock_user1"), &frontendpb.ApproveTaskRequest{TaskId: task})
	wantKind(t, err, teaclave.KindFailedPrecondition, "approve before data assignment")
	assignAll(t, e, task)
	if s := e.task(e.admin("mock_user2"), task).GetStatus(); s != commonpb.TaskStatus_DataAssigned {
		t.Fatalf("status %v, want DataAssigned", s)
	}
	_, err = e.api.ApproveTask(e.admin("non-participant"), &frontendpb.ApproveTaskRequest{TaskId: task})
	wantKind(t, err, teaclave.KindPermissionDenied, "non-participant approves")
	approveAll(t, e, task)
	if s := e.task(e.admin("mock_user2"), task).GetStatus(); s != commonpb.TaskStatus_Approved {
		t.Fatalf("status %v, want Approved", s)
	}
}

func fnInvokeTask(t *testing.T, e *env) {
	ctx := e.admin("mock_user")
	r, err := e.api.CreateTask(ctx, validCreateTask())
	wantOK(t, err, "create")
	task := r.GetTaskId()
	assignAll(t, e, task)
	_, err = e.api.InvokeTask(ctx, &frontendpb.InvokeTaskRequest{TaskId: task})
	wantKind(t, err, teaclave.KindFailedPrecondition, "invoke before approvals")
	approveAll(t, e, task)
	if s := e.task(e.admin("mock_user2"), task).GetStatus(); s != commonpb.TaskStatus_Approved {
		t.Fatalf("status %v, want Approved", s)
	}
	_, err = e.api.InvokeTask(e.admin("mock_user2"), &frontendpb.InvokeTaskRequest{TaskId: task})
	wantKind(t, err, teaclave.KindPermissionDenied, "non-creator invokes")
	_, err = e.api.InvokeTask(ctx, &frontendpb.InvokeTaskRequest{TaskId: task})
	wantOK(t, err, "creator invokes")
	if s := e.task(e.admin("mock_user2"), task).GetStatus(); s != commonpb.TaskStatus_Staged {
		t.Fatalf("status %v, want Staged", s)
	}
	// Where Teaclave pulls the task from the scheduler: the staged task is
	// in the storage queue.
	staged := e.stagedTasks()
	if len(staged) != 1 || staged[0].TaskID.String() != task || staged[0].FunctionID != mxtest.FixtureFunction1 {
		t.Fatalf("staged tasks %+v", staged)
	}
	st := staged[0]
	if len(st.InputData) != 2 || len(st.OutputData) != 2 || st.FunctionName != "mock-func-1" || st.Executor != teaclave.ExecutorMesaPy ||
		st.UserID != "mock_user" || string(st.FunctionArguments) != `{"arg1":"data1","arg2":"data2"}` || st.PayloadSHA256 != teaclave.DigestOf([]byte("mock-payload")) {
		t.Errorf("staged task %+v", st)
	}
	if st.InputData["input2"].ID != mxtest.FixtureInput2 {
		t.Errorf("input2 staged as %v", st.InputData["input2"].ID)
	}
}
