//go:build !teaclave_production

package execution_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"google.golang.org/grpc"

	"github.com/teaclave-go/teaclave/attestation"
	"github.com/teaclave-go/teaclave/execution"
	"github.com/teaclave-go/teaclave/execution/builtin"
	"github.com/teaclave-go/teaclave/execution/executor"
	"github.com/teaclave-go/teaclave/execution/filecrypto"
	"github.com/teaclave-go/teaclave/rpc"
	"github.com/teaclave-go/teaclave/rpc/pb/commonpb"
	"github.com/teaclave-go/teaclave/rpc/pb/frontendpb"
	"github.com/teaclave-go/teaclave/rpc/rpctest"
	"github.com/teaclave-go/teaclave/scheduler"
)

var wirings = []wiring{inProcess, overGRPC}

// TestEcho: builtin-echo returns its message, with the log line Teaclave's
// execution test expects when save_log is set (§19.5 test_execute_function),
// in process and over attested gRPC.
func TestEcho(t *testing.T) {
	for _, w := range wirings {
		t.Run(string(w), func(t *testing.T) {
			p := newPlatform(t, platformOptions{wiring: w})
			const msg = "Hello, Teaclave Tests!"
			r := p.wait("alice", p.invokeEcho(msg, true))
			if r.GetStatus() != commonpb.TaskStatus_Finished {
				t.Fatalf("task %s %v", r.GetStatus(), r.GetResult())
			}
			ok := r.GetResult().GetOk()
			if string(ok.GetReturnValue()) != msg {
				t.Fatalf("return value %q", ok.GetReturnValue())
			}
			if want := "[INFO teaclave_function::echo] " + msg; !slices.Contains(ok.GetLog(), want) {
				t.Fatalf("log %q lacks %q", ok.GetLog(), want)
			}
			r = p.wait("alice", p.invokeEcho("quiet", false))
			if string(r.GetResult().GetOk().GetReturnValue()) != "quiet" || len(r.GetResult().GetOk().GetLog()) != 0 {
				t.Fatalf("without save_log: %v", r.GetResult())
			}
		})
	}
}

// TestEchoFailure: a function that fails ends the task Failed with its
// reason (Teaclave: Finished with an Err result).
func TestEchoFailure(t *testing.T) {
	p := newPlatform(t, platformOptions{})
	fn := p.registerFunction("alice", "builtin-echo", []string{"message"}, nil, nil)
	task := must(p.mgmt.CreateTask(p.as("alice"), &frontendpb.CreateTaskRequest{FunctionId: fn, FunctionArguments: `{"message":42}`, Executor: "builtin"}))(t).GetTaskId()
	must(p.mgmt.InvokeTask(p.as("alice"), &frontendpb.InvokeTaskRequest{TaskId: task}))(t)
	wantFailed(t, p.wait("alice", task), "Cannot deserialize arguments")

	fn = p.registerFunction("alice", "builtin-no-such-function", nil, nil, nil)
	task = must(p.mgmt.CreateTask(p.as("alice"), &frontendpb.CreateTaskRequest{FunctionId: fn, FunctionArguments: `{}`, Executor: "builtin"}))(t).GetTaskId()
	must(p.mgmt.InvokeTask(p.as("alice"), &frontendpb.InvokeTaskRequest{TaskId: task}))(t)
	wantFailed(t, p.wait("alice", task), "Function not found.")
}

// TestSaveLogOwnLinesOnly: concurrent tasks on one node each get only
// their own log lines.
func TestSaveLogOwnLinesOnly(t *testing.T) {
	p := newPlatform(t, platformOptions{node: execution.Config{Capacity: 4}})
	var tasks []string
	for i := range 8 {
		tasks = append(tasks, p.invokeEcho(fmt.Sprintf("message %d", i), true))
	}
	for i, task := range tasks {
		r := p.wait("alice", task)
		want := []string{fmt.Sprintf("[INFO teaclave_function::echo] message %d", i)}
		if got := r.GetResult().GetOk().GetLog(); !slices.Equal(got, want) {
			t.Errorf("task %d log %q, want %q", i, got, want)
		}
	}
}

// twoParty sets up Teaclave's two-party shape: alice and bob each own one
// teaclave-file-128 fixture input (served over HTTP on 127.0.0.1) and one
// output (alice's teaclave-file-128, bob's aes-gcm-128, both uploaded by
// HTTP PUT), and both own a fusion output. It returns the task and the
// output ids.
type twoParty struct {
	task                     string
	outAlice, outBob, fusion string
	aliceKey, bobKey, bobIV  []byte
}

func setupTwoParty(t *testing.T, p *platform, cmac1 []byte) twoParty {
	t.Helper()
	alice, bob := p.as("alice"), p.as("bob")
	fn := p.registerFunction("carol", "test-intersect", nil, []string{"input_data1", "input_data2"}, []string{"output_result1", "output_result2", "fusion_out"})
	tp := twoParty{aliceKey: bytes.Repeat([]byte{0xa1}, 16), bobKey: bytes.Repeat([]byte{0xb0}, 16), bobIV: bytes.Repeat([]byte{0xb1}, 12)}
	in1 := must(p.mgmt.RegisterInputFile(alice, &frontendpb.RegisterInputFileRequest{Url: p.files.URL + "/fixtures/psi0.txt.enc", Cmac: cmac1, CryptoInfo: zeroKeyPFS()}))(t).GetDataId()
	in2 := must(p.mgmt.RegisterInputFile(bob, &frontendpb.RegisterInputFileRequest{Url: p.files.URL + "/fixtures/psi1.txt.enc", Cmac: fixtureCmac(t, "psi1.txt.enc"), CryptoInfo: zeroKeyPFS()}))(t).GetDataId()
	tp.outAlice = must(p.mgmt.RegisterOutputFile(alice, &frontendpb.RegisterOutputFileRequest{Url: p.files.URL + "/upload/result1.enc", CryptoInfo: &commonpb.FileCryptoInfo{Schema: "teaclave-file-128", Key: tp.aliceKey}}))(t).GetDataId()
	tp.outBob = must(p.mgmt.RegisterOutputFile(bob, &frontendpb.RegisterOutputFileRequest{Url: p.files.URL + "/upload/result2.bin", CryptoInfo: &commonpb.FileCryptoInfo{Schema: "aes-gcm-128", Key: tp.bobKey, Iv: tp.bobIV}}))(t).GetDataId()
	tp.fusion = must(p.mgmt.RegisterFusionOutput(alice, &frontendpb.RegisterFusionOutputRequest{OwnerList: []string{"alice", "bob"}}))(t).GetDataId()
	tp.task = must(p.mgmt.CreateTask(alice, &frontendpb.CreateTaskRequest{
		FunctionId: fn, FunctionArguments: `{"save_log":"true"}`, Executor: "builtin",
		InputsOwnership: []*frontendpb.OwnerList{{DataName: "input_data1", Uids: []string{"alice"}}, {DataName: "input_data2", Uids: []string{"bob"}}},
		OutputsOwnership: []*frontendpb.OwnerList{
			{DataName: "output_result1", Uids: []string{"alice"}}, {DataName: "output_result2", Uids: []string{"bob"}},
			{DataName: "fusion_out", Uids: []string{"alice", "bob"}},
		},
	}))(t).GetTaskId()
	must(p.mgmt.AssignData(alice, &frontendpb.AssignDataRequest{TaskId: tp.task,
		Inputs:  []*frontendpb.DataMap{{DataName: "input_data1", DataId: in1}},
		Outputs: []*frontendpb.DataMap{{DataName: "output_result1", DataId: tp.outAlice}, {DataName: "fusion_out", DataId: tp.fusion}},
	}))(t)
	must(p.mgmt.AssignData(bob, &frontendpb.AssignDataRequest{TaskId: tp.task,
		Inputs:  []*frontendpb.DataMap{{DataName: "input_data2", DataId: in2}},
		Outputs: []*frontendpb.DataMap{{DataName: "output_result2", DataId: tp.outBob}},
	}))(t)
	must(p.mgmt.ApproveTask(alice, &frontendpb.ApproveTaskRequest{TaskId: tp.task}))(t)
	must(p.mgmt.ApproveTask(bob, &frontendpb.ApproveTaskRequest{TaskId: tp.task}))(t)
	must(p.mgmt.InvokeTask(alice, &frontendpb.InvokeTaskRequest{TaskId: tp.task}))(t)
	return tp
}

// expectedCommon is the intersection of the two fixtures, in psi1's order.
func expectedCommon(t *testing.T) []string {
	a := map[string]bool{}
	for _, l := range lines(must(os.ReadFile(filepath.Join("testdata", "psi0.txt")))(t)) {
		a[l] = true
	}
	var out []string
	for _, l := range lines(must(os.ReadFile(filepath.Join("testdata", "psi1.txt")))(t)) {
		if a[l] {
			out = append(out, l)
		}
	}
	return out
}

// TestTwoPartyTask: a two-party task over Teaclave's teaclave-file-128
// fixtures served by HTTP; its outputs are uploaded encrypted, decrypt
// under their owners' keys to the expected lines, and carry the cmacs the
// platform recorded; its fusion output stays in the platform and is the
// input of a second task. In process and over attested gRPC.
func TestTwoPartyTask(t *testing.T) {
	for _, w := range wirings {
		t.Run(string(w), func(t *testing.T) {
			p := newPlatform(t, platformOptions{wiring: w})
			tp := setupTwoParty(t, p, fixtureCmac(t, "psi0.txt.enc"))
			want := expectedCommon(t)
			if len(want) == 0 {
				t.Fatal("fixtures have nothing in common")
			}
			r := p.wait("alice", tp.task)
			if r.GetStatus() != commonpb.TaskStatus_Finished {
				t.Fatalf("task %s %v", r.GetStatus(), r.GetResult())
			}
			ok := r.GetResult().GetOk()
			if got := string(ok.GetReturnValue()); got != fmt.Sprintf("%d common items", len(want)) {
				t.Fatalf("return value %q", got)
			}
			if !slices.Contains(ok.GetLog(), fmt.Sprintf("[INFO teaclave_function::test_intersect] intersected common=%d", len(want))) {
				t.Errorf("log %q", ok.GetLog())
			}
			body := []byte(strings.Join(want, "\n") + "\n")
			// Alice's output: teaclave-file-128 under her key, named
			// after its URL, cmac as recorded.
			cmac1 := must(p.mgmt.GetOutputFile(p.as("alice"), &frontendpb.GetOutputFileRequest{DataId: tp.outAlice}))(t).GetCmac()
			up1, found := p.files.upload("result1.enc")
			if !found || !bytes.Equal(ok.GetTagsMap()["output_result1"], cmac1) {
				t.Fatalf("alice's upload %v, tag %x, recorded %x", found, ok.GetTagsMap()["output_result1"], cmac1)
			}
			if got := decrypt(t, up1, filecrypto.CryptoInfo{Schema: filecrypto.SchemaTeaclaveFile128, Key: tp.aliceKey}, "result1.enc", cmac1); !bytes.Equal(got, body) {
				t.Fatalf("alice's output %q, want %q", got, body)
			}
			// Bob's output: aes-gcm-128 under his key and iv.
			cmac2 := must(p.mgmt.GetOutputFile(p.as("bob"), &frontendpb.GetOutputFileRequest{DataId: tp.outBob}))(t).GetCmac()
			up2, found := p.files.upload("result2.bin")
			if !found || !bytes.Equal(ok.GetTagsMap()["output_result2"], cmac2) || !bytes.Equal(up2[len(up2)-16:], cmac2) {
				t.Fatalf("bob's upload %v, tag %x, recorded %x", found, ok.GetTagsMap()["output_result2"], cmac2)
			}
			if got := decrypt(t, up2, filecrypto.CryptoInfo{Schema: filecrypto.SchemaAESGCM128, Key: tp.bobKey, IV: tp.bobIV}, "", cmac2); !bytes.Equal(got, body) {
				t.Fatalf("bob's output %q, want %q", got, body)
			}
			if p.files.putCount() != 2 {
				t.Errorf("%d uploads, want 2 (the fusion output stays in the platform)", p.files.putCount())
			}
			// The fusion output becomes bob's input for a second task
			// both must approve.
			fusionIn := must(p.mgmt.RegisterInputFromOutput(p.as("bob"), &frontendpb.RegisterInputFromOutputRequest{DataId: tp.fusion}))(t).GetDataId()
			fn := p.registerFunction("carol", "test-cat", nil, []string{"in"}, nil)
			task2 := must(p.mgmt.CreateTask(p.as("bob"), &frontendpb.CreateTaskRequest{FunctionId: fn, FunctionArguments: `{}`, Executor: "builtin",
				InputsOwnership: []*frontendpb.OwnerList{{DataName: "in", Uids: []string{"alice", "bob"}}}}))(t).GetTaskId()
			must(p.mgmt.AssignData(p.as("bob"), &frontendpb.AssignDataRequest{TaskId: task2, Inputs: []*frontendpb.DataMap{{DataName: "in", DataId: fusionIn}}}))(t)
			_, err := p.mgmt.InvokeTask(p.as("bob"), &frontendpb.InvokeTaskRequest{TaskId: task2})
			if err == nil {
				t.Fatal("invoked before alice approved")
			}
			must(p.mgmt.ApproveTask(p.as("alice"), &frontendpb.ApproveTaskRequest{TaskId: task2}))(t)
			must(p.mgmt.ApproveTask(p.as("bob"), &frontendpb.ApproveTaskRequest{TaskId: task2}))(t)
			must(p.mgmt.InvokeTask(p.as("bob"), &frontendpb.InvokeTaskRequest{TaskId: task2}))(t)
			r2 := p.wait("bob", task2)
			if r2.GetStatus() != commonpb.TaskStatus_Finished || !bytes.Equal(r2.GetResult().GetOk().GetReturnValue(), body) {
				t.Fatalf("second task %s %v", r2.GetStatus(), r2.GetResult())
			}
		})
	}
}

// TestWrongInputCmac: an input whose cmac is not the registered one fails
// the task before the function runs, and no output is written or
// recorded.
func TestWrongInputCmac(t *testing.T) {
	p := newPlatform(t, platformOptions{})
	bad := fixtureCmac(t, "psi0.txt.enc")
	bad[0] ^= 1
	tp := setupTwoParty(t, p, bad)
	r := p.wait("alice", tp.task)
	wantFailed(t, r, "input input_data1: cmac mismatch")
	if n := p.files.putCount(); n != 0 {
		t.Fatalf("%d outputs uploaded", n)
	}
	for _, id := range []struct{ user, id string }{{"alice", tp.outAlice}, {"bob", tp.outBob}, {"alice", tp.fusion}} {
		if c := must(p.mgmt.GetOutputFile(p.as(id.user), &frontendpb.GetOutputFileRequest{DataId: id.id}))(t).GetCmac(); len(c) != 0 {
			t.Errorf("output %s has a cmac", id.id)
		}
	}
}

// blockTask creates and invokes a task of test-block, which runs until
// its task ends.
func (p *platform) invokeBlock() string {
	p.t.Helper()
	fn := p.registerFunction("alice", "test-block", nil, nil, nil)
	task := must(p.mgmt.CreateTask(p.as("alice"), &frontendpb.CreateTaskRequest{FunctionId: fn, FunctionArguments: `{}`, Executor: "builtin"}))(p.t).GetTaskId()
	must(p.mgmt.InvokeTask(p.as("alice"), &frontendpb.InvokeTaskRequest{TaskId: task}))(p.t)
	return task
}

// TestTimeLimit: a task over its time limit ends Failed with the reason.
func TestTimeLimit(t *testing.T) {
	p := newPlatform(t, platformOptions{node: execution.Config{TaskTimeout: 200 * time.Millisecond}})
	wantFailed(t, p.wait("alice", p.invokeBlock()), "exceeded its time limit of 200ms")
}

// TestCancelRunningTask: canceling a running task stops it on its node and
// ends it Canceled; the node then takes the next task.
func TestCancelRunningTask(t *testing.T) {
	for _, w := range wirings {
		t.Run(string(w), func(t *testing.T) {
			p := newPlatform(t, platformOptions{wiring: w, node: execution.Config{Capacity: 1}})
			task := p.invokeBlock()
			p.wait("alice", task, commonpb.TaskStatus_Running)
			must(p.mgmt.CancelTask(p.as("alice"), &frontendpb.CancelTaskRequest{TaskId: task}))(t)
			r := p.wait("alice", task)
			if r.GetStatus() != commonpb.TaskStatus_Canceled || r.GetResult().GetErr().GetReason() != "Task Canceled by the user" {
				t.Fatalf("task %s %v", r.GetStatus(), r.GetResult())
			}
			if r := p.wait("alice", p.invokeEcho("after", false)); r.GetStatus() != commonpb.TaskStatus_Finished {
				t.Fatalf("next task %s %v", r.GetStatus(), r.GetResult())
			}
		})
	}
}

// TestCancelStagedNoNode: a staged task is canceled with no execution node
// at all.
func TestCancelStagedNoNode(t *testing.T) {
	p := newPlatform(t, platformOptions{noNode: true})
	task := p.invokeEcho("never", false)
	must(p.mgmt.CancelTask(p.as("alice"), &frontendpb.CancelTaskRequest{TaskId: task}))(t)
	if r := p.wait("alice", task); r.GetStatus() != commonpb.TaskStatus_Canceled {
		t.Fatalf("task %s", r.GetStatus())
	}
}

// TestManyTasksTwoNodes: tasks spread over two nodes and all finish.
func TestManyTasksTwoNodes(t *testing.T) {
	p := newPlatform(t, platformOptions{node: execution.Config{Capacity: 2}})
	p.startNode(execution.Config{Capacity: 2})
	var tasks []string
	for i := range 40 {
		tasks = append(tasks, p.invokeEcho(fmt.Sprint("m", i), false))
	}
	var wg sync.WaitGroup
	for i, task := range tasks {
		wg.Add(1)
		go func() {
			defer wg.Done()
			r := p.wait("alice", task)
			if string(r.GetResult().GetOk().GetReturnValue()) != fmt.Sprint("m", i) {
				t.Errorf("task %d: %s %v", i, r.GetStatus(), r.GetResult())
			}
		}()
	}
	wg.Wait()
}

// TestSchedulerRestart: the scheduler stops with one task running on a
// node and two staged, and a new scheduler starts on the same store and
// address. The node registers again with the lease it holds, reports its
// task under it, and runs the others: no task is lost.
func TestSchedulerRestart(t *testing.T) {
	gate := make(chan struct{})
	gated := builtin.Function{Name: "test-gate", Run: func(ctx context.Context, _ json.RawMessage, _ executor.Runtime) (string, error) {
		select {
		case <-gate:
			return "opened", nil
		case <-ctx.Done():
			return "", ctx.Err()
		}
	}}
	p := newPlatform(t, platformOptions{noNode: true})
	env := rpctest.NewEnv(t)
	serveAt := func(s *scheduler.Service, addr string) (*grpc.Server, string) {
		srv := env.Transport(t, attestation.ServiceScheduler).NewServer(rpc.InternalEndpoint)
		s.Register(srv)
		lis := must(net.Listen("tcp", addr))(t)
		go func() { _ = srv.Serve(lis) }()
		t.Cleanup(srv.Stop)
		return srv, lis.Addr().String()
	}
	srv1, addr := serveAt(p.sched, "127.0.0.1:0")
	cc := must(env.Transport(t, attestation.ServiceExecution).Dial(addr, attestation.ServiceScheduler))(t)
	t.Cleanup(func() { cc.Close() })
	p.disp = scheduler.NewClient(cc)
	p.startNode(execution.Config{Capacity: 1}, gated)

	fn := p.registerFunction("alice", "test-gate", nil, nil, nil)
	invoke := func() string {
		task := must(p.mgmt.CreateTask(p.as("alice"), &frontendpb.CreateTaskRequest{FunctionId: fn, FunctionArguments: `{}`, Executor: "builtin"}))(t).GetTaskId()
		must(p.mgmt.InvokeTask(p.as("alice"), &frontendpb.InvokeTaskRequest{TaskId: task}))(t)
		return task
	}
	running := invoke()
	p.wait("alice", running, commonpb.TaskStatus_Running)
	staged := []string{invoke(), invoke()}

	srv1.Stop()
	must(struct{}{}, p.sched.Stop(ctxFor(t)))(t)
	cfg := scheduler.Config{HeartbeatInterval: 20 * time.Millisecond, LeaseTimeout: 300 * time.Millisecond}.Defaults()
	s2 := must(scheduler.New(cfg, scheduler.Deps{Store: p.store, Logger: quiet}))(t)
	must(struct{}{}, s2.Start(ctxFor(t)))(t)
	t.Cleanup(func() { _ = s2.Stop(context.Background()) })
	serveAt(s2, addr)
	close(gate)
	for _, task := range append([]string{running}, staged...) {
		r := p.wait("alice", task)
		if r.GetStatus() != commonpb.TaskStatus_Finished || string(r.GetResult().GetOk().GetReturnValue()) != "opened" {
			t.Errorf("task %s: %s %v", task, r.GetStatus(), r.GetResult())
		}
	}
}
