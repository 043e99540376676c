//go:build !teaclave_production

package deploy_test

import (
	"fmt"
	"os"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/teaclave-go/teaclave/examples/deploy/deploytest"
	"github.com/teaclave-go/teaclave/rpc/pb/commonpb"
	"github.com/teaclave-go/teaclave/rpc/pb/frontendpb"
)

// TestScenarioPrivateJoinAndCompute is functions.md's A4: three data owners
// and a separate creator; every owner and the creator approve.
func TestScenarioPrivateJoinAndCompute(t *testing.T) {
	files := newFileServer(t)
	p := deploytest.StartWith(t, deploytest.Options{FileAgentAllowlist: []string{files.Addr()}})
	u := users(t, p, "user0", "user1", "user2", "user3")
	fe := frontendpb.NewTeaclaveFrontendClient(p.DialFrontend(t))
	var ins []*frontendpb.FunctionInput
	var outs []*frontendpb.FunctionOutput
	var inOwn, outOwn []*frontendpb.OwnerList
	for i := 0; i < 3; i++ {
		ins = append(ins, &frontendpb.FunctionInput{Name: fmt.Sprintf("input_data%d", i)})
		outs = append(outs, &frontendpb.FunctionOutput{Name: fmt.Sprintf("output_data%d", i)})
		inOwn = append(inOwn, &frontendpb.OwnerList{DataName: fmt.Sprintf("input_data%d", i), Uids: []string{fmt.Sprintf("user%d", i)}})
		outOwn = append(outOwn, &frontendpb.OwnerList{DataName: fmt.Sprintf("output_data%d", i), Uids: []string{fmt.Sprintf("user%d", i)}})
	}
	fn := try(fe.RegisterFunction(u[3], &frontendpb.RegisterFunctionRequest{
		Name: "builtin-private-join-and-compute", ExecutorType: "builtin", Public: true, UsageQuota: -1,
		Arguments: []*frontendpb.FunctionArgument{{Key: "num_user", AllowOverwrite: true}}, Inputs: ins, Outputs: outs,
	})).must(t)
	task := try(fe.CreateTask(u[3], &frontendpb.CreateTaskRequest{FunctionId: fn.FunctionId, Executor: "builtin",
		FunctionArguments: `{"num_user":3}`, InputsOwnership: inOwn, OutputsOwnership: outOwn})).must(t)
	for i, c := range []struct{ file, cmac string }{
		{"bank_a.enc", "f6a4585a4903f8dea0ee90ac84a50dba"},
		{"bank_b.enc", "ab6065314fcbacd6971ff55d3821b51e"},
		{"bank_c.enc", "9d7dbe465806731a43008ab094c97688"},
	} {
		in := try(fe.RegisterInputFile(u[i], &frontendpb.RegisterInputFileRequest{Url: files.URL(c.file), Cmac: mustHex(c.cmac), CryptoInfo: pfs()})).must(t)
		out := try(fe.RegisterOutputFile(u[i], &frontendpb.RegisterOutputFileRequest{Url: files.URL(fmt.Sprintf("user%d_output.enc", i)), CryptoInfo: pfs()})).must(t)
		try(fe.AssignData(u[i], &frontendpb.AssignDataRequest{TaskId: task.TaskId,
			Inputs:  []*frontendpb.DataMap{{DataName: fmt.Sprintf("input_data%d", i), DataId: in.DataId}},
			Outputs: []*frontendpb.DataMap{{DataName: fmt.Sprintf("output_data%d", i), DataId: out.DataId}}})).must(t)
	}
	for _, ctx := range u {
		try(fe.ApproveTask(ctx, &frontendpb.ApproveTaskRequest{TaskId: task.TaskId})).must(t)
	}
	try(fe.InvokeTask(u[3], &frontendpb.InvokeTaskRequest{TaskId: task.TaskId})).must(t)
	for i := 0; i < 3; i++ {
		got := waitTask(t, fe, u[i], task.TaskId)
		if got.Status != commonpb.TaskStatus_Finished || string(got.Result.GetOk().GetReturnValue()) != "3 users join the task in total." {
			t.Fatalf("user%d: task %v: %v", i, got.Status, got.Result)
		}
		name := fmt.Sprintf("user%d_output.enc", i)
		lines := strings.Split(strings.TrimSpace(decryptPFS(t, name, uploaded(t, files, name))), "\n")
		slices.Sort(lines)
		if !slices.Equal(lines, []string{"c, 470000", "e, 5033000"}) {
			t.Errorf("%s = %q", name, lines)
		}
	}
}

// TestScenarioCancelDeadLoop is functions.md's A9: a Python task that never
// returns is cancelled while Running and ends Canceled with Teaclave's
// reason.
func TestScenarioCancelDeadLoop(t *testing.T) {
	payload, err := os.ReadFile("testdata/dead_loop.star")
	if err != nil {
		t.Fatal(err)
	}
	p := deploytest.Start(t)
	admin := login(t, p, "admin", "teaclave")
	fe := frontendpb.NewTeaclaveFrontendClient(p.DialFrontend(t))
	fn := try(fe.RegisterFunction(admin, &frontendpb.RegisterFunctionRequest{Name: "mesapy-deadloop", ExecutorType: "python", Public: true, UsageQuota: -1, Payload: payload})).must(t)
	task := try(fe.CreateTask(admin, &frontendpb.CreateTaskRequest{FunctionId: fn.FunctionId, Executor: "mesapy", FunctionArguments: `{}`})).must(t)
	try(fe.InvokeTask(admin, &frontendpb.InvokeTaskRequest{TaskId: task.TaskId})).must(t)
	for {
		got := try(fe.GetTask(admin, &frontendpb.GetTaskRequest{TaskId: task.TaskId})).must(t)
		if got.Status == commonpb.TaskStatus_Running {
			break
		}
		if got.Status != commonpb.TaskStatus_Staged {
			t.Fatalf("task %v before cancel: %v", got.Status, got.Result)
		}
		time.Sleep(5 * time.Millisecond)
	}
	try(fe.CancelTask(admin, &frontendpb.CancelTaskRequest{TaskId: task.TaskId})).must(t)
	got := waitTask(t, fe, admin, task.TaskId)
	if got.Status != commonpb.TaskStatus_Canceled || got.Result.GetErr().GetReason() != "Task Canceled by the user" {
		t.Fatalf("task %v: %v", got.Status, got.Result)
	}
}

// TestScenarioFunctionLifecycle is functions.md's A10 (Teaclave's
// test_disable_function): after disabling one of two functions the list
// has one fewer.
func TestScenarioFunctionLifecycle(t *testing.T) {
	p := deploytest.Start(t)
	u := users(t, p, "user0")
	fe := frontendpb.NewTeaclaveFrontendClient(p.DialFrontend(t))
	var ids []string
	for i := 0; i < 2; i++ {
		fn := try(fe.RegisterFunction(u[0], &frontendpb.RegisterFunctionRequest{Name: "func_test1", ExecutorType: "builtin", Public: true, UsageQuota: -1})).must(t)
		ids = append(ids, fn.FunctionId)
	}
	count := func() int {
		l := try(fe.ListFunctions(u[0], &frontendpb.ListFunctionsRequest{UserId: "user0"})).must(t)
		return len(l.RegisteredFunctions)
	}
	before := count()
	try(fe.DisableFunction(u[0], &frontendpb.DisableFunctionRequest{FunctionId: ids[1]})).must(t)
	if after := count(); after != before-1 {
		t.Errorf("functions listed: %d before disabling one, %d after", before, after)
	}
}

// TestScenarioOnlineDecryptAndRSASign is functions.md's A11.
func TestScenarioOnlineDecryptAndRSASign(t *testing.T) {
	files := newFileServer(t)
	p := deploytest.StartWith(t, deploytest.Options{FileAgentAllowlist: []string{files.Addr()}})
	u := users(t, p, "rsa_sign_user1", "rsa_sign_user2")
	fe := frontendpb.NewTeaclaveFrontendClient(p.DialFrontend(t))

	dec := try(fe.RegisterFunction(u[0], &frontendpb.RegisterFunctionRequest{
		Name: "builtin_online_decrypt", ExecutorType: "builtin", Public: true, UsageQuota: -1,
		Arguments: []*frontendpb.FunctionArgument{{Key: "key", AllowOverwrite: true}, {Key: "nonce", AllowOverwrite: true}, {Key: "encrypted_data", AllowOverwrite: true}, {Key: "algorithm", AllowOverwrite: true}},
	})).must(t)
	task := try(fe.CreateTask(u[0], &frontendpb.CreateTaskRequest{FunctionId: dec.FunctionId, Executor: "builtin",
		FunctionArguments: `{"algorithm":"aes256gcm","encrypted_data":"CaZd8qSMMlBp8SjSXj2I4dQIuC9KkZ5DI/ATo1sWJw==","key":"aqUdgZ0lJnuz9yiPkoDxM6ZcTcVVpd4KKLqzbHD88Lg=","nonce":"AAECAwQFBgcICQoL"}`})).must(t)
	try(fe.InvokeTask(u[0], &frontendpb.InvokeTaskRequest{TaskId: task.TaskId})).must(t)
	if got := waitTask(t, fe, u[0], task.TaskId); string(got.Result.GetOk().GetReturnValue()) != "Hello Teaclave!" {
		t.Fatalf("online decrypt: %v %v", got.Status, got.Result)
	}

	key := try(fe.RegisterInputFile(u[0], &frontendpb.RegisterInputFileRequest{Url: files.URL("rsakey.enc"), Cmac: mustHex("620c16ab588ca638f3b0a2692ab078cf"), CryptoInfo: pfs()})).must(t)
	sign := try(fe.RegisterFunction(u[1], &frontendpb.RegisterFunctionRequest{
		Name: "builtin-rsa-sign", ExecutorType: "builtin", Public: true, UsageQuota: -1,
		Arguments: []*frontendpb.FunctionArgument{{Key: "data", AllowOverwrite: true}},
		Inputs:    []*frontendpb.FunctionInput{{Name: "rsa_key"}},
	})).must(t)
	st := try(fe.CreateTask(u[1], &frontendpb.CreateTaskRequest{FunctionId: sign.FunctionId, Executor: "builtin", FunctionArguments: `{"data":"test data"}`,
		InputsOwnership: []*frontendpb.OwnerList{{DataName: "rsa_key", Uids: []string{"rsa_sign_user1"}}}})).must(t)
	try(fe.AssignData(u[0], &frontendpb.AssignDataRequest{TaskId: st.TaskId, Inputs: []*frontendpb.DataMap{{DataName: "rsa_key", DataId: key.DataId}}})).must(t)
	for _, ctx := range u {
		try(fe.ApproveTask(ctx, &frontendpb.ApproveTaskRequest{TaskId: st.TaskId})).must(t)
	}
	try(fe.InvokeTask(u[1], &frontendpb.InvokeTaskRequest{TaskId: st.TaskId})).must(t)
	want, err := os.ReadFile("testdata/expected_rsasign.txt")
	if err != nil {
		t.Fatal(err)
	}
	got := waitTask(t, fe, u[1], st.TaskId)
	if string(got.Result.GetOk().GetReturnValue()) != strings.TrimRight(string(want), "\n") {
		t.Fatalf("rsa sign: %v %v", got.Status, got.Result)
	}
}
