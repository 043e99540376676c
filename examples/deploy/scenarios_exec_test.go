//go:build !teaclave_production

package deploy_test

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/teaclave-go/teaclave/examples/deploy/deploytest"
	"github.com/teaclave-go/teaclave/execution/filecrypto"
	"github.com/teaclave-go/teaclave/rpc/pb/commonpb"
	"github.com/teaclave-go/teaclave/rpc/pb/frontendpb"
)

// wasmSources holds the C payloads the wasm executor's own tests build.
const wasmSources = "../../execution/wasm/testdata"

func readTestdataFile(t *testing.T, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// sealGCM encrypts plain as an aes-gcm input file (ciphertext ‖ tag, AAD
// 8 zero bytes) and returns the file and its cmac.
func sealGCM(t *testing.T, info filecrypto.CryptoInfo, plain []byte) ([]byte, []byte) {
	t.Helper()
	var buf bytes.Buffer
	var nonces filecrypto.NonceSet
	w, err := filecrypto.NewWriter(&buf, info, filecrypto.WriterOptions{ClaimNonce: nonces.Claim})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := w.Write(plain); err != nil {
		t.Fatal(err)
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	tag, err := w.Tag()
	if err != nil {
		t.Fatal(err)
	}
	return buf.Bytes(), tag[:]
}

// buildWasm compiles a C payload of the wasm executor's tests for the MVP
// feature set, as Teaclave's recipe does (§3.1). It skips the test when
// clang or wasm-ld is missing, and fails it under CI=true.
func buildWasm(t *testing.T, name string) []byte {
	t.Helper()
	for _, tool := range []string{"clang", "wasm-ld"} {
		if _, err := exec.LookPath(tool); err != nil {
			if os.Getenv("CI") == "true" {
				t.Fatalf("%s is needed to build the test payloads (Debian packages clang and lld)", tool)
			}
			t.Skipf("%s is missing: install Debian's clang and lld to build the test payloads", tool)
		}
	}
	out := filepath.Join(t.TempDir(), name+".wasm")
	args := []string{
		"--target=wasm32", "-mcpu=mvp", "-O2", "-nostdlib",
		"-Wl,--no-entry", "-Wl,--export-if-defined=entrypoint",
		"-o", out, filepath.Join(wasmSources, name+".c"),
	}
	var stderr bytes.Buffer
	cmd := exec.Command("clang", args...)
	cmd.Stderr = &stderr
	if err := cmd.Run(); err != nil {
		t.Fatalf("clang %s: %v\n%s", strings.Join(args, " "), err, stderr.String())
	}
	wasm, err := os.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	return wasm
}

// sortedLines returns the non-empty lines of s, sorted.
func sortedLines(s string) []string {
	var out []string
	for _, l := range strings.Split(s, "\n") {
		if l != "" {
			out = append(out, l)
		}
	}
	slices.Sort(out)
	return out
}

// mustFinish waits for the task as each of ctxs and fails the test unless it
// finished with the return value want.
func mustFinish(t *testing.T, fe frontendpb.TeaclaveFrontendClient, id, want string, ctxs ...context.Context) *frontendpb.GetTaskResponse {
	t.Helper()
	var got *frontendpb.GetTaskResponse
	for _, ctx := range ctxs {
		got = waitTask(t, fe, ctx, id)
		if got.Status != commonpb.TaskStatus_Finished || string(got.Result.GetOk().GetReturnValue()) != want {
			t.Fatalf("task %v: %v; want return value %q", got.Status, got.Result, want)
		}
	}
	return got
}

// TestScenarioPythonFusion is functions.md's A7 (Teaclave's
// mesapy_data_fusion test): a python function fuses an aes-gcm-128 input of
// user0 and an aes-gcm-256 input of user1 into a fusion output owned by
// both; a word count task then reads that output through
// RegisterInputFromOutput, and cannot run until both owners approve.
func TestScenarioPythonFusion(t *testing.T) {
	files := newFileServer(t)
	p := deploytest.StartWith(t, deploytest.Options{FileAgentAllowlist: []string{files.Addr()}})
	u := users(t, p, "user0", "user1")
	fe := frontendpb.NewTeaclaveFrontendClient(p.DialFrontend(t))

	// The inputs as Teaclave's test.sh encrypts them (§4.4), which gives the
	// cmacs that test registers.
	inputs := []struct {
		plain, name, slot, cmac string
		info                    filecrypto.CryptoInfo
	}{
		{"fusion_input1.txt", "input1.enc", "InPartyA", "e8afd048b339fc835733e16c761a301c",
			filecrypto.CryptoInfo{Schema: filecrypto.SchemaAESGCM128, Key: mustHex("00000000000000000000000000000001"), IV: mustHex("123456781234567812345678")}},
		{"fusion_input2.txt", "input2.enc", "InPartyB", "75d7cf7a7843dee709e29ba0dcb865d2",
			filecrypto.CryptoInfo{Schema: filecrypto.SchemaAESGCM256, Key: mustHex("0000000000000000000000000000000000000000000000000000000000000002"), IV: mustHex("012345670123456701234567")}},
	}

	fusion := try(fe.RegisterFunction(u[0], &frontendpb.RegisterFunctionRequest{
		Name: "mesapy-data-fusion", ExecutorType: "python", Public: true, UsageQuota: -1,
		Payload: readTestdataFile(t, "data_fusion.star"),
		Inputs:  []*frontendpb.FunctionInput{{Name: "InPartyA"}, {Name: "InPartyB"}},
		Outputs: []*frontendpb.FunctionOutput{{Name: "OutFusionData"}},
	})).must(t)
	task := try(fe.CreateTask(u[0], &frontendpb.CreateTaskRequest{
		FunctionId: fusion.FunctionId, Executor: "mesapy", FunctionArguments: `{}`,
		InputsOwnership:  []*frontendpb.OwnerList{{DataName: "InPartyA", Uids: []string{"user0"}}, {DataName: "InPartyB", Uids: []string{"user1"}}},
		OutputsOwnership: []*frontendpb.OwnerList{{DataName: "OutFusionData", Uids: []string{"user0", "user1"}}},
	})).must(t)
	for i, in := range inputs {
		enc, cmac := sealGCM(t, in.info, readTestdataFile(t, in.plain))
		if got := fmt.Sprintf("%x", cmac); got != in.cmac {
			t.Fatalf("%s: cmac %s, Teaclave's test registers %s", in.plain, got, in.cmac)
		}
		files.Put(in.name, enc)
		data := try(fe.RegisterInputFile(u[i], &frontendpb.RegisterInputFileRequest{
			Url: files.URL(in.name), Cmac: cmac,
			CryptoInfo: &commonpb.FileCryptoInfo{Schema: string(in.info.Schema), Key: in.info.Key, Iv: in.info.IV},
		})).must(t)
		try(fe.AssignData(u[i], &frontendpb.AssignDataRequest{TaskId: task.TaskId,
			Inputs: []*frontendpb.DataMap{{DataName: in.slot, DataId: data.DataId}}})).must(t)
	}
	fused := try(fe.RegisterFusionOutput(u[0], &frontendpb.RegisterFusionOutputRequest{OwnerList: []string{"user0", "user1"}})).must(t)
	try(fe.AssignData(u[0], &frontendpb.AssignDataRequest{TaskId: task.TaskId,
		Outputs: []*frontendpb.DataMap{{DataName: "OutFusionData", DataId: fused.DataId}}})).must(t)
	for _, ctx := range u {
		try(fe.ApproveTask(ctx, &frontendpb.ApproveTaskRequest{TaskId: task.TaskId})).must(t)
	}
	try(fe.InvokeTask(u[0], &frontendpb.InvokeTaskRequest{TaskId: task.TaskId})).must(t)
	mustFinish(t, fe, task.TaskId, "Mixed 5 lines of data", u...)

	// Word count over the fused file, as an input owned by both users.
	wlc := try(fe.RegisterFunction(u[1], &frontendpb.RegisterFunctionRequest{
		Name: "wlc", ExecutorType: "python", Public: true, UsageQuota: -1,
		Payload:   readTestdataFile(t, "word_count.star"),
		Arguments: []*frontendpb.FunctionArgument{{Key: "query", AllowOverwrite: true}},
		Inputs:    []*frontendpb.FunctionInput{{Name: "InputData"}},
	})).must(t)
	count := try(fe.CreateTask(u[1], &frontendpb.CreateTaskRequest{
		FunctionId: wlc.FunctionId, Executor: "mesapy", FunctionArguments: `{"query":"teaclave"}`,
		InputsOwnership: []*frontendpb.OwnerList{{DataName: "InputData", Uids: []string{"user0", "user1"}}},
	})).must(t)
	in := try(fe.RegisterInputFromOutput(u[1], &frontendpb.RegisterInputFromOutputRequest{DataId: fused.DataId})).must(t)
	try(fe.AssignData(u[1], &frontendpb.AssignDataRequest{TaskId: count.TaskId,
		Inputs: []*frontendpb.DataMap{{DataName: "InputData", DataId: in.DataId}}})).must(t)
	try(fe.ApproveTask(u[1], &frontendpb.ApproveTaskRequest{TaskId: count.TaskId})).must(t)
	if _, err := fe.InvokeTask(u[1], &frontendpb.InvokeTaskRequest{TaskId: count.TaskId}); err == nil {
		t.Fatal("word count invoked before user0, an owner of its input, approved")
	}
	try(fe.ApproveTask(u[0], &frontendpb.ApproveTaskRequest{TaskId: count.TaskId})).must(t)
	try(fe.InvokeTask(u[1], &frontendpb.InvokeTaskRequest{TaskId: count.TaskId})).must(t)
	// The fused file is "u1_hello\nu1_teaclaveu2_welcome\nu2_to\nu2_teaclave":
	// 2 of its lines hold "teaclave".
	mustFinish(t, fe, count.TaskId, "2", u...)
}

// TestScenarioWasm is functions.md's A8: WebAssembly payloads built from C
// run through the whole platform on the wamr executor. simple_add relies
// on the sorted argv; the two-party PSI reads both parties'
// teaclave-file-128 inputs (Teaclave's own wamr_rust_psi fixtures) over
// HTTP and uploads one output for each.
func TestScenarioWasm(t *testing.T) {
	add, psi := buildWasm(t, "simple_add"), buildWasm(t, "psi")
	files := newFileServer(t)
	p := deploytest.StartWith(t, deploytest.Options{FileAgentAllowlist: []string{files.Addr()}})
	u := users(t, p, "user0", "user1")
	fe := frontendpb.NewTeaclaveFrontendClient(p.DialFrontend(t))

	t.Run("simple_add", func(t *testing.T) {
		fn := try(fe.RegisterFunction(u[0], &frontendpb.RegisterFunctionRequest{
			Name: "entrypoint", ExecutorType: "wamr", Public: true, UsageQuota: -1, Payload: add,
			Arguments: []*frontendpb.FunctionArgument{{Key: "adder1", AllowOverwrite: true}, {Key: "adder2", AllowOverwrite: true}},
		})).must(t)
		task := try(fe.CreateTask(u[0], &frontendpb.CreateTaskRequest{FunctionId: fn.FunctionId, Executor: "wamr",
			FunctionArguments: `{"adder1":"3","adder2":"4"}`})).must(t)
		try(fe.InvokeTask(u[0], &frontendpb.InvokeTaskRequest{TaskId: task.TaskId})).must(t)
		mustFinish(t, fe, task.TaskId, "7", u[0])
	})

	t.Run("psi", func(t *testing.T) {
		plain0, err := os.ReadFile(filepath.Join(wasmSources, "psi0.txt"))
		if err != nil {
			t.Fatal(err)
		}
		plain1, err := os.ReadFile(filepath.Join(wasmSources, "psi1.txt"))
		if err != nil {
			t.Fatal(err)
		}
		var common []string
		other := sortedLines(string(plain1))
		for _, l := range sortedLines(string(plain0)) {
			if slices.Contains(other, l) {
				common = append(common, l)
			}
		}
		if len(common) != 6 {
			t.Fatalf("the fixtures share %d tokens, functions.md says 6", len(common))
		}

		fn := try(fe.RegisterFunction(u[0], &frontendpb.RegisterFunctionRequest{
			Name: "rust-wasm-ordered-set-intersect", ExecutorType: "wamr", Public: true, UsageQuota: -1, Payload: psi,
			Arguments: []*frontendpb.FunctionArgument{{Key: "input1_fid", AllowOverwrite: true}, {Key: "input2_fid", AllowOverwrite: true}, {Key: "output1_fid", AllowOverwrite: true}, {Key: "output2_fid", AllowOverwrite: true}},
			Inputs:    []*frontendpb.FunctionInput{{Name: "input_data1"}, {Name: "input_data2"}},
			Outputs:   []*frontendpb.FunctionOutput{{Name: "output_result1"}, {Name: "output_result2"}},
		})).must(t)
		task := try(fe.CreateTask(u[0], &frontendpb.CreateTaskRequest{
			FunctionId: fn.FunctionId, Executor: "wamr",
			FunctionArguments: `{"input1_fid":"input_data1","input2_fid":"input_data2","output1_fid":"output_result1","output2_fid":"output_result2"}`,
			InputsOwnership:   []*frontendpb.OwnerList{{DataName: "input_data1", Uids: []string{"user0"}}, {DataName: "input_data2", Uids: []string{"user1"}}},
			OutputsOwnership:  []*frontendpb.OwnerList{{DataName: "output_result1", Uids: []string{"user0"}}, {DataName: "output_result2", Uids: []string{"user1"}}},
		})).must(t)
		for i, c := range []struct{ fixture, in, cmac, out, slotIn, slotOut string }{
			{"wamr_psi0.txt.enc", "psi0.txt.enc", "fd9b319ae0fc595a98ee4135667ac0ac", "output_psi0.enc", "input_data1", "output_result1"},
			{"wamr_psi1.txt.enc", "psi1.txt.enc", "93cc677d7bac5910cd7199f7d6b9ac15", "output_psi1.enc", "input_data2", "output_result2"},
		} {
			// Teaclave's files embed the names psi{0,1}.txt.enc, so they are
			// served under those names.
			files.Put(c.in, readTestdataFile(t, c.fixture))
			in := try(fe.RegisterInputFile(u[i], &frontendpb.RegisterInputFileRequest{Url: files.URL(c.in), Cmac: mustHex(c.cmac), CryptoInfo: pfs()})).must(t)
			out := try(fe.RegisterOutputFile(u[i], &frontendpb.RegisterOutputFileRequest{Url: files.URL(c.out), CryptoInfo: pfs()})).must(t)
			try(fe.AssignData(u[i], &frontendpb.AssignDataRequest{TaskId: task.TaskId,
				Inputs: []*frontendpb.DataMap{{DataName: c.slotIn, DataId: in.DataId}}, Outputs: []*frontendpb.DataMap{{DataName: c.slotOut, DataId: out.DataId}}})).must(t)
		}
		for _, ctx := range u {
			try(fe.ApproveTask(ctx, &frontendpb.ApproveTaskRequest{TaskId: task.TaskId})).must(t)
		}
		try(fe.InvokeTask(u[0], &frontendpb.InvokeTaskRequest{TaskId: task.TaskId})).must(t)
		mustFinish(t, fe, task.TaskId, "6", u...)
		for _, name := range []string{"output_psi0.enc", "output_psi1.enc"} {
			out := decryptPFS(t, name, uploaded(t, files, name))
			if !strings.HasSuffix(out, "\ndone\n") {
				t.Errorf("%s: %q does not end with done", name, out)
			}
			if tokens := sortedLines(strings.TrimSuffix(out, "done\n")); !slices.Equal(tokens, common) {
				t.Errorf("%s: tokens %v, want %v", name, tokens, common)
			}
		}
	})
}
