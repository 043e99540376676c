//go:build !teaclave_production

package execution_test

import (
	"bytes"
	"context"
	"crypto/rsa"
	"crypto/x509"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/teaclave-go/teaclave"
	"github.com/teaclave-go/teaclave/attestation"
	"github.com/teaclave-go/teaclave/attestation/sim"
	"github.com/teaclave-go/teaclave/execution"
	"github.com/teaclave-go/teaclave/execution/builtin"
	"github.com/teaclave-go/teaclave/execution/executor"
	"github.com/teaclave-go/teaclave/rpc"
	"github.com/teaclave-go/teaclave/rpc/pb/commonpb"
	"github.com/teaclave-go/teaclave/rpc/pb/frontendpb"
	"github.com/teaclave-go/teaclave/rpc/rpctest"
	"github.com/teaclave-go/teaclave/scheduler"
)

// The test binary doubles as an execution node process: with
// childEnvDir set it runs a node against the scheduler named in that
// folder instead of the tests. The folder holds what the child needs to
// rebuild the parent's simulated attestation environment (the
// attestation service's PEM, the auditor's public key, the signed enclave
// info) and the scheduler's address.
const (
	childEnvDir  = "TEACLAVE_TEST_EXECUTION_CHILD_DIR"
	childEnvMode = "TEACLAVE_TEST_EXECUTION_CHILD_MODE"
)

func TestMain(m *testing.M) {
	if dir := os.Getenv(childEnvDir); dir != "" {
		if err := childNode(dir, os.Getenv(childEnvMode)); err != nil {
			fmt.Fprintln(os.Stderr, "child node:", err)
			os.Exit(1)
		}
		os.Exit(0)
	}
	os.Exit(m.Run())
}

// crashFunction is "test-crash": in a child started with mode "hang" it
// never returns (the process is killed under it); otherwise it returns
// "survived".
func crashFunction(mode string) builtin.Function {
	return builtin.Function{Name: "test-crash", Run: func(ctx context.Context, _ json.RawMessage, _ executor.Runtime) (string, error) {
		if mode == "hang" {
			<-ctx.Done()
			return "", ctx.Err()
		}
		return "survived", nil
	}}
}

// childNode runs an execution node talking to the parent's scheduler over
// attested gRPC until it is killed or told to stop.
func childNode(dir, mode string) error {
	read := func(name string) []byte {
		b, err := os.ReadFile(filepath.Join(dir, name))
		if err != nil {
			panic(err)
		}
		return b
	}
	quietLog := slog.New(slog.NewTextHandler(io.Discard, nil))
	svc, err := sim.LoadAttestationService(read("attestation.pem"), sim.Options{Logger: quietLog})
	if err != nil {
		return err
	}
	block, _ := pem.Decode(read("auditor.pem"))
	if block == nil {
		return errors.New("no auditor key")
	}
	parsed, err := x509.ParsePKIXPublicKey(block.Bytes)
	if err != nil {
		return err
	}
	pub, ok := parsed.(*rsa.PublicKey)
	if !ok {
		return errors.New("auditor key is not RSA")
	}
	policy := &attestation.Policy{
		Roots:            []attestation.Root{svc.Root()},
		Auditors:         []attestation.Auditor{{Name: "rpctest", Key: pub}},
		AuditorThreshold: 1,
		MaxReportAge:     rpctest.MaxReportAge,
		ClockSkew:        time.Minute,
	}
	info, err := attestation.LoadEnclaveInfo(read("enclave_info.toml"), [][]byte{read("enclave_info.sig")}, policy)
	if err != nil {
		return err
	}
	verifier, err := attestation.NewVerifier(policy, info)
	if err != nil {
		return err
	}
	m := rpctest.Measurement(attestation.ServiceExecution)
	attestor, err := attestation.NewAttestor(&sim.Quoter{MREnclave: m.MREnclave, MRSigner: m.MRSigner}, svc, attestation.AttestorConfig{MaxReportAge: rpctest.MaxReportAge})
	if err != nil {
		return err
	}
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM)
	defer stop()
	tr, err := rpc.NewTransport(ctx, rpc.TransportConfig{Service: attestation.ServiceExecution, Attestor: attestor, Verifier: verifier, Logger: quietLog})
	if err != nil {
		return err
	}
	defer tr.Close()
	cc, err := tr.Dial(strings.TrimSpace(string(read("scheduler.addr"))), attestation.ServiceScheduler)
	if err != nil {
		return err
	}
	defer cc.Close()
	ex, err := builtin.New(crashFunction(mode))
	if err != nil {
		return err
	}
	node, err := execution.New(execution.Config{Capacity: 1, ScratchDir: dir}.Defaults(), execution.Deps{
		Dispatcher: scheduler.NewClient(cc), Executors: []executor.Executor{ex}, Logger: quietLog,
	})
	if err != nil {
		return err
	}
	if err := node.Start(ctx); err != nil {
		return err
	}
	fmt.Println("node started")
	<-ctx.Done()
	sctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	return node.Stop(sctx)
}

// writeChildEnv writes what a child node needs into a fresh folder.
func writeChildEnv(t *testing.T, env *rpctest.Env, schedAddr string) string {
	t.Helper()
	dir := t.TempDir()
	write := func(name string, data []byte) {
		if err := os.WriteFile(filepath.Join(dir, name), data, 0o600); err != nil {
			t.Fatal(err)
		}
	}
	svcPEM := must(env.AttestationService.MarshalPEM())(t)
	write("attestation.pem", svcPEM)
	pub := must(x509.MarshalPKIXPublicKey(&env.Auditor.PublicKey))(t)
	write("auditor.pem", pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: pub}))
	data := must(attestation.MarshalEnclaveInfo(env.Info.Measurements()))(t)
	write("enclave_info.toml", data)
	write("enclave_info.sig", must(attestation.SignEnclaveInfo(data, env.Auditor))(t))
	write("scheduler.addr", []byte(schedAddr))
	return dir
}

// startChild starts the test binary as an execution node process.
func startChild(t *testing.T, dir, mode string) *exec.Cmd {
	t.Helper()
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), childEnvDir+"="+dir, childEnvMode+"="+mode)
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		_ = cmd.Process.Kill()
		_ = cmd.Wait()
		if t.Failed() {
			t.Logf("child %s output:\n%s", mode, out.String())
		}
	})
	return cmd
}

// leaseOf reads the lease the scheduler's job record holds on task.
func leaseOf(t *testing.T, store teaclave.Store, task string) (scheduler.Lease, int) {
	t.Helper()
	id := must(teaclave.ParseID(task, teaclave.PrefixTask))(t)
	kvs := must(store.Range(ctxFor(t), []byte("scheduler/job/"), teaclave.PrefixEnd([]byte("scheduler/job/")), 0, false))(t)
	for _, kv := range kvs {
		var rec struct {
			Lease   string `json:"lease"`
			Attempt int    `json:"attempt"`
		}
		if json.Unmarshal(kv.Value, &rec) != nil || rec.Lease == "" {
			continue
		}
		staged, _, err := store.Get(ctxFor(t), []byte("scheduler/staged/"+strings.TrimPrefix(string(kv.Key), "scheduler/job/")))
		if err != nil {
			t.Fatal(err)
		}
		var st teaclave.StagedTask
		if json.Unmarshal(staged, &st) == nil && st.TaskID == id {
			return scheduler.Lease{ID: rec.Lease, TaskID: id}, rec.Attempt
		}
	}
	t.Fatalf("no lease on %s", task)
	return scheduler.Lease{}, 0
}

// TestKilledNodeProcess: an execution node process killed with SIGKILL in
// the middle of a task loses its lease when its heartbeats stop; the task
// is staged again and completes on another node process, and a late
// result under the killed node's lease is refused.
func TestKilledNodeProcess(t *testing.T) {
	if testing.Short() {
		t.Skip("starts node processes")
	}
	p := newPlatform(t, platformOptions{noNode: true, sched: scheduler.Config{HeartbeatInterval: 50 * time.Millisecond, LeaseTimeout: 500 * time.Millisecond}})
	env := rpctest.NewEnv(t)
	srv := env.Transport(t, attestation.ServiceScheduler).NewServer(rpc.InternalEndpoint)
	p.sched.Register(srv)
	lis := must(net.Listen("tcp", "127.0.0.1:0"))(t)
	go func() { _ = srv.Serve(lis) }()
	t.Cleanup(srv.Stop)
	dir := writeChildEnv(t, env, lis.Addr().String())

	hang := startChild(t, dir, "hang")
	fn := p.registerFunction("alice", "test-crash", nil, nil, nil)
	task := must(p.mgmt.CreateTask(p.as("alice"), &frontendpb.CreateTaskRequest{FunctionId: fn, FunctionArguments: `{}`, Executor: "builtin"}))(t).GetTaskId()
	must(p.mgmt.InvokeTask(p.as("alice"), &frontendpb.InvokeTaskRequest{TaskId: task}))(t)
	p.wait("alice", task, commonpb.TaskStatus_Running)
	killed, attempt := leaseOf(t, p.store, task)
	if attempt != 1 {
		t.Fatalf("attempt %d", attempt)
	}
	if err := hang.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	_ = hang.Wait()

	startChild(t, dir, "fast")
	r := p.wait("alice", task)
	if r.GetStatus() != commonpb.TaskStatus_Finished || string(r.GetResult().GetOk().GetReturnValue()) != "survived" {
		t.Fatalf("task %s %v", r.GetStatus(), r.GetResult())
	}

	// The killed node's lease, reported late by an execution enclave.
	cc := must(env.Transport(t, attestation.ServiceExecution).Dial(lis.Addr().String(), attestation.ServiceScheduler))(t)
	t.Cleanup(func() { cc.Close() })
	late := scheduler.NewClient(cc).CompleteTask(ctxFor(t), killed, scheduler.Completion{Result: teaclave.TaskResult{Ok: &teaclave.TaskOutputs{ReturnValue: []byte("zombie"), TagsMap: map[string]teaclave.FileAuthTag{}}}})
	if teaclave.KindOf(late) != teaclave.KindFailedPrecondition {
		t.Fatalf("late result: %v, want FailedPrecondition", late)
	}
	if r := p.wait("alice", task); string(r.GetResult().GetOk().GetReturnValue()) != "survived" {
		t.Fatalf("late result changed the task: %v", r.GetResult())
	}
}
