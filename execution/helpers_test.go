//go:build !teaclave_production

package execution_test

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/teaclave-go/teaclave"
	"github.com/teaclave-go/teaclave/attestation"
	"github.com/teaclave-go/teaclave/execution"
	"github.com/teaclave-go/teaclave/execution/builtin"
	"github.com/teaclave-go/teaclave/execution/executor"
	"github.com/teaclave-go/teaclave/execution/filecrypto"
	"github.com/teaclave-go/teaclave/management"
	mxtest "github.com/teaclave-go/teaclave/management/xtest"
	"github.com/teaclave-go/teaclave/rpc"
	"github.com/teaclave-go/teaclave/rpc/pb/commonpb"
	"github.com/teaclave-go/teaclave/rpc/pb/frontendpb"
	"github.com/teaclave-go/teaclave/rpc/rpctest"
	"github.com/teaclave-go/teaclave/scheduler"
	sxtest "github.com/teaclave-go/teaclave/storage/xtest"
)

var quiet = slog.New(slog.NewTextHandler(io.Discard, nil))

type wiring string

const (
	inProcess wiring = "in-process"
	overGRPC  wiring = "grpc"
)

func ctxFor(t testing.TB) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	t.Cleanup(cancel)
	return ctx
}

// fileServer serves testdata under /fixtures/ and keeps what is PUT under
// /upload/, on 127.0.0.1.
type fileServer struct {
	*httptest.Server
	mu      sync.Mutex
	uploads map[string][]byte
	puts    int
}

func newFileServer(t testing.TB) *fileServer {
	t.Helper()
	fs := &fileServer{uploads: map[string][]byte{}}
	mux := http.NewServeMux()
	mux.Handle("GET /fixtures/", http.StripPrefix("/fixtures/", http.FileServer(http.Dir("testdata"))))
	mux.HandleFunc("PUT /upload/{name}", func(w http.ResponseWriter, r *http.Request) {
		body, err := io.ReadAll(io.LimitReader(r.Body, 64<<20))
		if err != nil {
			http.Error(w, "read", http.StatusBadRequest)
			return
		}
		fs.mu.Lock()
		fs.uploads[r.PathValue("name")] = body
		fs.puts++
		fs.mu.Unlock()
	})
	fs.Server = httptest.NewServer(mux)
	t.Cleanup(fs.Close)
	return fs
}

func (fs *fileServer) upload(name string) ([]byte, bool) {
	fs.mu.Lock()
	defer fs.mu.Unlock()
	b, ok := fs.uploads[name]
	return b, ok
}

func (fs *fileServer) putCount() int {
	fs.mu.Lock()
	defer fs.mu.Unlock()
	return fs.puts
}

func (fs *fileServer) hostPort() string { return strings.TrimPrefix(fs.URL, "http://") }

// platform is management, the scheduler and an execution node on an
// in-memory store, wired in process or with the node reaching the
// scheduler over attested gRPC.
type platform struct {
	t     testing.TB
	store teaclave.Store
	mgmt  *management.Service
	sched *scheduler.Service
	node  *execution.Node
	files *fileServer
	disp  scheduler.Dispatcher // what the node calls
}

type platformOptions struct {
	wiring    wiring
	sched     scheduler.Config
	node      execution.Config
	functions []builtin.Function
	noNode    bool
}

func newPlatform(t testing.TB, o platformOptions) *platform {
	t.Helper()
	store := sxtest.NewMemStore()
	mgmt, err := management.New(management.Config{}.Defaults(), management.Deps{Store: store, Directory: mxtest.NewDirectory("alice", "bob", "carol"), Logger: quiet})
	if err != nil {
		t.Fatal(err)
	}
	if o.sched.LeaseTimeout == 0 {
		o.sched = scheduler.Config{HeartbeatInterval: 20 * time.Millisecond, LeaseTimeout: 300 * time.Millisecond}
	}
	sched, err := scheduler.New(o.sched.Defaults(), scheduler.Deps{Store: store, Logger: quiet})
	if err != nil {
		t.Fatal(err)
	}
	if err := sched.Start(ctxFor(t)); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = sched.Stop(context.Background()) })
	p := &platform{t: t, store: store, mgmt: mgmt, sched: sched, files: newFileServer(t), disp: sched}
	if o.wiring == overGRPC {
		p.disp = serveScheduler(t, sched)
	}
	if !o.noNode {
		p.node = p.startNode(o.node, o.functions...)
	}
	return p
}

// serveScheduler serves sched on an attested internal endpoint on
// 127.0.0.1 and returns a client from an execution enclave.
func serveScheduler(t testing.TB, sched *scheduler.Service) *scheduler.Client {
	t.Helper()
	env := rpctest.NewEnv(t)
	srv := env.Transport(t, attestation.ServiceScheduler).NewServer(rpc.InternalEndpoint)
	sched.Register(srv)
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	go func() { _ = srv.Serve(lis) }()
	t.Cleanup(srv.Stop)
	cc, err := env.Transport(t, attestation.ServiceExecution).Dial(lis.Addr().String(), attestation.ServiceScheduler)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cc.Close() })
	return scheduler.NewClient(cc)
}

// nodeConfig is a node configuration for tests: files on the test's file
// server are allowed, fusion files go to a temporary folder.
func (p *platform) nodeConfig(cfg execution.Config) execution.Config {
	cfg.Files.Allow = append(cfg.Files.Allow, p.files.hostPort())
	if cfg.Files.FusionDir == "" {
		cfg.Files.FusionDir = p.t.TempDir()
	}
	if cfg.ScratchDir == "" {
		cfg.ScratchDir = p.t.TempDir()
	}
	return cfg.Defaults()
}

func (p *platform) startNode(cfg execution.Config, fns ...builtin.Function) *execution.Node {
	p.t.Helper()
	ex, err := builtin.New(append(testFunctions(), fns...)...)
	if err != nil {
		p.t.Fatal(err)
	}
	n, err := execution.New(p.nodeConfig(cfg), execution.Deps{Dispatcher: p.disp, Executors: []executor.Executor{ex}, Logger: quiet})
	if err != nil {
		p.t.Fatal(err)
	}
	if err := n.Start(ctxFor(p.t)); err != nil {
		p.t.Fatal(err)
	}
	p.t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_ = n.Stop(ctx)
	})
	return n
}

// as acts for user with the PlatformAdmin role (management checks
// ownership; roles are the frontend's business).
func (p *platform) as(user string) context.Context {
	return teaclave.WithCaller(ctxFor(p.t), teaclave.Caller{ID: user, Role: teaclave.Role{Kind: teaclave.RolePlatformAdmin}})
}

// must returns v, failing the test given to the result if err is set:
// must(f())(t).
func must[T any](v T, err error) func(testing.TB) T {
	return func(t testing.TB) T {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
		return v
	}
}

// registerFunction registers a public builtin function.
func (p *platform) registerFunction(owner, name string, args []string, inputs, outputs []string) string {
	p.t.Helper()
	req := &frontendpb.RegisterFunctionRequest{Name: name, Description: "test", ExecutorType: "builtin", Public: true, UsageQuota: -1}
	for _, a := range args {
		req.Arguments = append(req.Arguments, &frontendpb.FunctionArgument{Key: a, AllowOverwrite: true})
	}
	for _, in := range inputs {
		req.Inputs = append(req.Inputs, &frontendpb.FunctionInput{Name: in, Description: in})
	}
	for _, out := range outputs {
		req.Outputs = append(req.Outputs, &frontendpb.FunctionOutput{Name: out, Description: out})
	}
	return must(p.mgmt.RegisterFunction(p.as(owner), req))(p.t).GetFunctionId()
}

// runEcho registers builtin-echo, creates and invokes a task with message
// and returns the task id.
func (p *platform) invokeEcho(message string, saveLog bool) string {
	p.t.Helper()
	fn := p.registerFunction("alice", "builtin-echo", []string{"message"}, nil, nil)
	args, _ := json.Marshal(map[string]any{"message": message, "save_log": map[bool]string{true: "true", false: "false"}[saveLog]})
	task := must(p.mgmt.CreateTask(p.as("alice"), &frontendpb.CreateTaskRequest{FunctionId: fn, FunctionArguments: string(args), Executor: "builtin"}))(p.t).GetTaskId()
	must(p.mgmt.InvokeTask(p.as("alice"), &frontendpb.InvokeTaskRequest{TaskId: task}))(p.t)
	return task
}

// wait waits until the task is in a terminal status, or in want.
func (p *platform) wait(user, task string, want ...commonpb.TaskStatus) *frontendpb.GetTaskResponse {
	p.t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for {
		r := must(p.mgmt.GetTask(p.as(user), &frontendpb.GetTaskRequest{TaskId: task}))(p.t)
		s := r.GetStatus()
		for _, w := range want {
			if s == w {
				return r
			}
		}
		if len(want) == 0 && (s == commonpb.TaskStatus_Finished || s == commonpb.TaskStatus_Failed || s == commonpb.TaskStatus_Canceled) {
			return r
		}
		if time.Now().After(deadline) {
			p.t.Fatalf("task %s is %s (%v), want %v", task, s, r.GetResult(), want)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func wantFailed(t testing.TB, r *frontendpb.GetTaskResponse, reason string) {
	t.Helper()
	if r.GetStatus() != commonpb.TaskStatus_Failed || !strings.Contains(r.GetResult().GetErr().GetReason(), reason) {
		t.Fatalf("task %s %v, want Failed with %q", r.GetStatus(), r.GetResult(), reason)
	}
}

func zeroKeyPFS() *commonpb.FileCryptoInfo {
	return &commonpb.FileCryptoInfo{Schema: "teaclave-file-128", Key: make([]byte, 16)}
}

// fixtureCmac reads the cmac of a teaclave-file-128 fixture.
func fixtureCmac(t testing.TB, name string) []byte {
	t.Helper()
	data := must(os.ReadFile(filepath.Join("testdata", name)))(t)
	r := must(filecrypto.NewReader(bytes.NewReader(data), int64(len(data)), filecrypto.CryptoInfo{Schema: filecrypto.SchemaTeaclaveFile128, Key: make([]byte, 16)}, filecrypto.ReaderOptions{Name: name}))(t)
	tag, _ := r.Tag()
	return tag.Bytes()
}

func decrypt(t testing.TB, data []byte, info filecrypto.CryptoInfo, name string, tag []byte) []byte {
	t.Helper()
	want := must(filecrypto.TagFromBytes(tag))(t)
	r := must(filecrypto.NewReader(bytes.NewReader(data), int64(len(data)), info, filecrypto.ReaderOptions{Name: name, ExpectedTag: &want}))(t)
	return must(io.ReadAll(r))(t)
}

func lines(b []byte) []string {
	var out []string
	s := bufio.NewScanner(bytes.NewReader(b))
	for s.Scan() {
		if l := strings.TrimSpace(s.Text()); l != "" {
			out = append(out, l)
		}
	}
	return out
}

// testFunctions are test-only built-ins standing in for real ones.
func testFunctions() []builtin.Function {
	return []builtin.Function{
		{Name: "test-intersect", Run: intersect},
		{Name: "test-cat", Run: cat},
		{Name: "test-block", Run: block},
	}
}

// intersect reads input_data1 and input_data2, writes their common lines
// to output_result1, output_result2 and fusion_out (each if the task has
// it), and returns "<n> common items".
func intersect(_ context.Context, _ json.RawMessage, rt executor.Runtime) (string, error) {
	read := func(name string) (map[string]bool, []string, error) {
		r, err := rt.OpenInput(name)
		if err != nil {
			return nil, nil, err
		}
		defer r.Close()
		b, err := io.ReadAll(r)
		if err != nil {
			return nil, nil, err
		}
		set := map[string]bool{}
		ls := lines(b)
		for _, l := range ls {
			set[l] = true
		}
		return set, ls, nil
	}
	a, _, err := read("input_data1")
	if err != nil {
		return "", err
	}
	_, bl, err := read("input_data2")
	if err != nil {
		return "", err
	}
	var common []string
	for _, l := range bl {
		if a[l] {
			common = append(common, l)
		}
	}
	body := strings.Join(common, "\n") + "\n"
	for _, out := range []string{"output_result1", "output_result2", "fusion_out"} {
		w, err := rt.CreateOutput(out)
		if errors.Is(err, executor.ErrInvalidOutput) {
			continue
		}
		if err != nil {
			return "", err
		}
		if _, err := io.WriteString(w, body); err != nil {
			return "", err
		}
		if err := w.Close(); err != nil {
			return "", err
		}
	}
	rt.Logger("teaclave_function::test_intersect").Info("intersected", "common", len(common))
	return strconv.Itoa(len(common)) + " common items", nil
}

// cat returns the content of input "in".
func cat(_ context.Context, _ json.RawMessage, rt executor.Runtime) (string, error) {
	r, err := rt.OpenInput("in")
	if err != nil {
		return "", err
	}
	defer r.Close()
	b, err := io.ReadAll(r)
	return string(b), err
}

// block waits until its task ends (a cancellation or the time limit).
func block(ctx context.Context, _ json.RawMessage, _ executor.Runtime) (string, error) {
	<-ctx.Done()
	return "", ctx.Err()
}
