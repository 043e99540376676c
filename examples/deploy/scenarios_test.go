//go:build !teaclave_production

package deploy_test

import (
	"bytes"
	"context"
	"encoding/hex"
	"io"
	"os"
	"strings"
	"testing"

	"github.com/teaclave-go/teaclave/examples/deploy/deploytest"
	"github.com/teaclave-go/teaclave/execution/filecrypto"
	"github.com/teaclave-go/teaclave/rpc/pb/authpb"
	"github.com/teaclave-go/teaclave/rpc/pb/commonpb"
	"github.com/teaclave-go/teaclave/rpc/pb/frontendpb"
)

// newFileServer starts Teaclave's example file server on 127.0.0.1: GET
// serves testdata and earlier uploads, PUT stores an upload in memory.
func newFileServer(t *testing.T) *deploytest.FileServer {
	return deploytest.StartFileServer(t, os.DirFS("testdata"))
}

// uploaded returns what a task uploaded to the file server as name.
func uploaded(t *testing.T, files *deploytest.FileServer, name string) []byte {
	t.Helper()
	data, ok := files.File(name)
	if !ok {
		t.Fatalf("%s was not uploaded", name)
	}
	return data
}

var zeroKey = make([]byte, 16)

func pfs() *commonpb.FileCryptoInfo {
	return &commonpb.FileCryptoInfo{Schema: "teaclave-file-128", Key: zeroKey}
}

func mustHex(s string) []byte {
	b, err := hex.DecodeString(s)
	if err != nil {
		panic(err)
	}
	return b
}

// decryptPFS decrypts an uploaded teaclave-file-128 output under key 0.
func decryptPFS(t *testing.T, name string, data []byte) string {
	t.Helper()
	r, err := filecrypto.NewReader(bytes.NewReader(data), int64(len(data)), filecrypto.CryptoInfo{Schema: filecrypto.SchemaTeaclaveFile128, Key: zeroKey}, filecrypto.ReaderOptions{Name: name})
	if err != nil {
		t.Fatalf("open %s: %v", name, err)
	}
	plain, err := io.ReadAll(r)
	if err != nil {
		t.Fatalf("decrypt %s: %v", name, err)
	}
	return string(plain)
}

// users registers PlatformAdmin users (password "password") and logs them
// in.
func users(t *testing.T, p *deploytest.Platform, ids ...string) []context.Context {
	t.Helper()
	admin := login(t, p, "admin", "teaclave")
	api := authpb.NewTeaclaveAuthenticationApiClient(p.DialAuth(t))
	var out []context.Context
	for _, id := range ids {
		if _, err := api.UserRegister(admin, &authpb.UserRegisterRequest{Id: id, Password: "password", Role: "PlatformAdmin"}); err != nil {
			t.Fatalf("register %s: %v", id, err)
		}
		out = append(out, login(t, p, id, "password"))
	}
	return out
}

// result carries a call's two results to must, which fails the test on
// an error: try(fe.CreateTask(...)).must(t).
type result[T any] struct {
	v   T
	err error
}

func try[T any](v T, err error) result[T] { return result[T]{v, err} }

func (r result[T]) must(t *testing.T) T {
	t.Helper()
	if r.err != nil {
		t.Fatal(r.err)
	}
	return r.v
}

// TestScenarioEchoWithLog is functions.md's A2 with save_log: the task's log
// holds the function's own line.
func TestScenarioEchoWithLog(t *testing.T) {
	p := deploytest.Start(t)
	admin := login(t, p, "admin", "teaclave")
	fe := frontendpb.NewTeaclaveFrontendClient(p.DialFrontend(t))
	fn := try(fe.RegisterFunction(admin, &frontendpb.RegisterFunctionRequest{
		Name: "builtin-echo", ExecutorType: "builtin", Public: true, UsageQuota: -1,
		Arguments: []*frontendpb.FunctionArgument{{Key: "message", AllowOverwrite: true}, {Key: "save_log", DefaultValue: "false", AllowOverwrite: true}},
	})).must(t)
	task := try(fe.CreateTask(admin, &frontendpb.CreateTaskRequest{FunctionId: fn.FunctionId, Executor: "builtin",
		FunctionArguments: `{"message":"Hello From Teaclave!","save_log":"true"}`})).must(t)
	try(fe.InvokeTask(admin, &frontendpb.InvokeTaskRequest{TaskId: task.TaskId})).must(t)
	got := waitTask(t, fe, admin, task.TaskId)
	ok := got.Result.GetOk()
	if got.Status != commonpb.TaskStatus_Finished || string(ok.GetReturnValue()) != "Hello From Teaclave!" {
		t.Fatalf("task %v: %v", got.Status, got.Result)
	}
	if want := "[INFO teaclave_function::echo] Hello From Teaclave!"; !strings.Contains(strings.Join(ok.GetLog(), "\n"), want) {
		t.Errorf("log %q lacks %q", ok.GetLog(), want)
	}
}

// TestScenarioOrderedSetIntersect is functions.md's A3: two parties, their
// teaclave-file-128 inputs downloaded over HTTP and outputs uploaded, both
// approvals needed.
func TestScenarioOrderedSetIntersect(t *testing.T) {
	files := newFileServer(t)
	p := deploytest.StartWith(t, deploytest.Options{FileAgentAllowlist: []string{files.Addr()}})
	u := users(t, p, "user0", "user1")
	fe := frontendpb.NewTeaclaveFrontendClient(p.DialFrontend(t))
	fn := try(fe.RegisterFunction(u[0], &frontendpb.RegisterFunctionRequest{
		Name: "builtin-ordered-set-intersect", ExecutorType: "builtin", Public: true, UsageQuota: -1,
		Arguments: []*frontendpb.FunctionArgument{{Key: "order", AllowOverwrite: true}},
		Inputs:    []*frontendpb.FunctionInput{{Name: "input_data1"}, {Name: "input_data2"}},
		Outputs:   []*frontendpb.FunctionOutput{{Name: "output_result1"}, {Name: "output_result2"}},
	})).must(t)
	task := try(fe.CreateTask(u[0], &frontendpb.CreateTaskRequest{
		FunctionId: fn.FunctionId, Executor: "builtin", FunctionArguments: `{"order":"ascending"}`,
		InputsOwnership:  []*frontendpb.OwnerList{{DataName: "input_data1", Uids: []string{"user0"}}, {DataName: "input_data2", Uids: []string{"user1"}}},
		OutputsOwnership: []*frontendpb.OwnerList{{DataName: "output_result1", Uids: []string{"user0"}}, {DataName: "output_result2", Uids: []string{"user1"}}},
	})).must(t)
	for i, c := range []struct{ in, cmac, out, slotIn, slotOut string }{
		{"psi0.txt.enc", "92f686d4ac2ba6b4ffd93bc7ac5dbf58", "output_psi0.enc", "input_data1", "output_result1"},
		{"psi1.txt.enc", "8b3104972a6f0de949315e0b45d5dd66", "output_psi1.enc", "input_data2", "output_result2"},
	} {
		in := try(fe.RegisterInputFile(u[i], &frontendpb.RegisterInputFileRequest{Url: files.URL(c.in), Cmac: mustHex(c.cmac), CryptoInfo: pfs()})).must(t)
		out := try(fe.RegisterOutputFile(u[i], &frontendpb.RegisterOutputFileRequest{Url: files.URL(c.out), CryptoInfo: pfs()})).must(t)
		try(fe.AssignData(u[i], &frontendpb.AssignDataRequest{TaskId: task.TaskId,
			Inputs: []*frontendpb.DataMap{{DataName: c.slotIn, DataId: in.DataId}}, Outputs: []*frontendpb.DataMap{{DataName: c.slotOut, DataId: out.DataId}}})).must(t)
	}
	try(fe.ApproveTask(u[0], &frontendpb.ApproveTaskRequest{TaskId: task.TaskId})).must(t)
	if _, err := fe.InvokeTask(u[0], &frontendpb.InvokeTaskRequest{TaskId: task.TaskId}); err == nil {
		t.Fatal("invoked before user1 approved")
	}
	try(fe.ApproveTask(u[1], &frontendpb.ApproveTaskRequest{TaskId: task.TaskId})).must(t)
	try(fe.InvokeTask(u[0], &frontendpb.InvokeTaskRequest{TaskId: task.TaskId})).must(t)
	for _, ctx := range u {
		got := waitTask(t, fe, ctx, task.TaskId)
		if got.Status != commonpb.TaskStatus_Finished || string(got.Result.GetOk().GetReturnValue()) != "3 common items" {
			t.Fatalf("task %v: %v", got.Status, got.Result)
		}
	}
	if got := decryptPFS(t, "output_psi0.enc", uploaded(t, files, "output_psi0.enc")); got != "0101010" {
		t.Errorf("output 1 = %q", got)
	}
	if got := decryptPFS(t, "output_psi1.enc", uploaded(t, files, "output_psi1.enc")); got != "01101" {
		t.Errorf("output 2 = %q", got)
	}
}

// TestScenarioPasswordCheck is functions.md's A5: a data: URL aes-gcm-128
// input and a teaclave-file-128 input over HTTP, a function without outputs.
func TestScenarioPasswordCheck(t *testing.T) {
	files := newFileServer(t)
	p := deploytest.StartWith(t, deploytest.Options{FileAgentAllowlist: []string{files.Addr()}})
	u := users(t, p, "user0", "user1")
	fe := frontendpb.NewTeaclaveFrontendClient(p.DialFrontend(t))
	fn := try(fe.RegisterFunction(u[0], &frontendpb.RegisterFunctionRequest{
		Name: "builtin-password-check", ExecutorType: "builtin", Public: true, UsageQuota: -1,
		Inputs: []*frontendpb.FunctionInput{{Name: "password"}, {Name: "exposed_passwords"}},
	})).must(t)
	task := try(fe.CreateTask(u[0], &frontendpb.CreateTaskRequest{
		FunctionId: fn.FunctionId, Executor: "builtin", FunctionArguments: `{}`,
		InputsOwnership: []*frontendpb.OwnerList{{DataName: "password", Uids: []string{"user0"}}, {DataName: "exposed_passwords", Uids: []string{"user1"}}},
	})).must(t)
	pw := try(fe.RegisterInputFile(u[0], &frontendpb.RegisterInputFileRequest{
		Url:        "data:text/plain;base64,c+mpvRfZ0fboR0j3rTgOGDBiubSzlCt9",
		Cmac:       mustHex("e84748f7ad380e183062b9b4b3942b7d"),
		CryptoInfo: &commonpb.FileCryptoInfo{Schema: "aes-gcm-128", Key: zeroKey, Iv: make([]byte, 12)},
	})).must(t)
	try(fe.AssignData(u[0], &frontendpb.AssignDataRequest{TaskId: task.TaskId, Inputs: []*frontendpb.DataMap{{DataName: "password", DataId: pw.DataId}}})).must(t)
	exposed := try(fe.RegisterInputFile(u[1], &frontendpb.RegisterInputFileRequest{
		Url: files.URL("exposed_passwords.txt.enc"), Cmac: mustHex("a31dd0b7de0b6cc7e0dec1dcf7a46479"), CryptoInfo: pfs(),
	})).must(t)
	try(fe.AssignData(u[1], &frontendpb.AssignDataRequest{TaskId: task.TaskId, Inputs: []*frontendpb.DataMap{{DataName: "exposed_passwords", DataId: exposed.DataId}}})).must(t)
	for _, ctx := range u {
		try(fe.ApproveTask(ctx, &frontendpb.ApproveTaskRequest{TaskId: task.TaskId})).must(t)
	}
	try(fe.InvokeTask(u[0], &frontendpb.InvokeTaskRequest{TaskId: task.TaskId})).must(t)
	for _, ctx := range u {
		got := waitTask(t, fe, ctx, task.TaskId)
		if got.Status != commonpb.TaskStatus_Finished || string(got.Result.GetOk().GetReturnValue()) != "true" {
			t.Fatalf("task %v: %v", got.Status, got.Result)
		}
	}
}

// TestScenarioPythonEcho runs Teaclave's mesapy_echo example as a
// Starlark payload: function type python, executor mesapy.
func TestScenarioPythonEcho(t *testing.T) {
	payload, err := os.ReadFile("testdata/echo.star")
	if err != nil {
		t.Fatal(err)
	}
	p := deploytest.Start(t)
	admin := login(t, p, "admin", "teaclave")
	fe := frontendpb.NewTeaclaveFrontendClient(p.DialFrontend(t))
	fn := try(fe.RegisterFunction(admin, &frontendpb.RegisterFunctionRequest{
		Name: "mesapy-echo", ExecutorType: "python", Public: true, UsageQuota: -1, Payload: payload,
		Arguments: []*frontendpb.FunctionArgument{{Key: "message", AllowOverwrite: true}},
	})).must(t)
	task := try(fe.CreateTask(admin, &frontendpb.CreateTaskRequest{FunctionId: fn.FunctionId, Executor: "mesapy",
		FunctionArguments: `{"message":"Hello, Teaclave!"}`})).must(t)
	try(fe.InvokeTask(admin, &frontendpb.InvokeTaskRequest{TaskId: task.TaskId})).must(t)
	got := waitTask(t, fe, admin, task.TaskId)
	if got.Status != commonpb.TaskStatus_Finished || string(got.Result.GetOk().GetReturnValue()) != "Hello, Teaclave!" {
		t.Fatalf("task %v: %v", got.Status, got.Result)
	}
}
