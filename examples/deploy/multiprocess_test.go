//go:build !teaclave_production

package deploy_test

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/teaclave-go/teaclave"
	"github.com/teaclave-go/teaclave/examples/deploy"
	"github.com/teaclave-go/teaclave/examples/deploy/deploytest"
	"github.com/teaclave-go/teaclave/rpc/pb/commonpb"
	"github.com/teaclave-go/teaclave/rpc/pb/frontendpb"
)

// mainPackages returns the commands of a multi-process deployment, by the
// short service name each runs.
func mainPackages() map[string]string {
	return map[string]string{
		deploy.ServiceAuthentication: "authentication",
		deploy.ServiceFrontend:       "frontend",
		deploy.ServiceManagement:     "management",
		deploy.ServiceStorage:        "storage",
		deploy.ServiceAccessControl:  "accesscontrol",
		deploy.ServiceScheduler:      "scheduler",
		deploy.ServiceExecution:      "execution",
	}
}

// buildMains builds the service commands into a temporary folder and
// returns their paths by short service name.
func buildMains(ctx context.Context, t *testing.T) map[string]string {
	t.Helper()
	goTool, err := exec.LookPath("go")
	if err != nil {
		t.Skip("go tool not found")
	}
	dir := t.TempDir()
	args := []string{"build", "-o", dir + string(filepath.Separator)}
	bins := map[string]string{}
	for service, pkg := range mainPackages() {
		args = append(args, "github.com/teaclave-go/teaclave/examples/"+pkg)
		bins[service] = filepath.Join(dir, pkg)
	}
	cmd := exec.CommandContext(ctx, goTool, args...)
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	return bins
}

// freeAddr returns a 127.0.0.1 address with a port that was free a moment
// ago.
func freeAddr(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().String()
}

// proc is one process of the deployment, restartable.
type proc struct {
	name string
	bin  string
	args []string

	mu    sync.Mutex
	cmd   *exec.Cmd
	done  chan struct{}
	ready chan struct{}
	lines []string // every log line of every run, for failure messages
}

// start starts the process and waits until it logs that it is ready.
func (p *proc) start(ctx context.Context, t *testing.T) {
	t.Helper()
	p.launch(t)
	p.waitReady(ctx, t)
}

// launch starts the process.
func (p *proc) launch(t *testing.T) {
	t.Helper()
	cmd := exec.Command(p.bin, p.args...)
	stderr, err := cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatalf("start %s: %v", p.name, err)
	}
	ready := make(chan struct{})
	done := make(chan struct{})
	p.mu.Lock()
	p.cmd, p.done, p.ready = cmd, done, ready
	p.mu.Unlock()
	go func() {
		defer close(done)
		sc := bufio.NewScanner(stderr)
		sc.Buffer(make([]byte, 64<<10), 1<<20)
		signalled := false
		for sc.Scan() {
			line := sc.Text()
			p.mu.Lock()
			p.lines = append(p.lines, line)
			p.mu.Unlock()
			if !signalled && strings.Contains(line, `msg="service ready"`) {
				signalled = true
				close(ready)
			}
		}
		io.Copy(io.Discard, stderr)
		cmd.Wait()
	}()
}

// waitReady waits until the process logs that it is ready.
func (p *proc) waitReady(ctx context.Context, t *testing.T) {
	t.Helper()
	p.mu.Lock()
	ready, done := p.ready, p.done
	p.mu.Unlock()
	select {
	case <-ready:
	case <-done:
		t.Fatalf("%s exited before it was ready:\n%s", p.name, p.log())
	case <-ctx.Done():
		p.kill()
		t.Fatalf("%s not ready: %v\n%s", p.name, ctx.Err(), p.log())
	}
}

// kill SIGKILLs the process, if running, and waits for it to end.
func (p *proc) kill() {
	p.mu.Lock()
	cmd, done := p.cmd, p.done
	p.cmd = nil
	p.mu.Unlock()
	if cmd == nil {
		return
	}
	cmd.Process.Signal(syscall.SIGKILL)
	<-done
}

// running reports whether the process is still alive.
func (p *proc) running() bool {
	p.mu.Lock()
	done := p.done
	p.mu.Unlock()
	select {
	case <-done:
		return false
	default:
		return true
	}
}

// count returns how many log lines, of every run, contain substr.
func (p *proc) count(substr string) int {
	p.mu.Lock()
	defer p.mu.Unlock()
	n := 0
	for _, l := range p.lines {
		if strings.Contains(l, substr) {
			n++
		}
	}
	return n
}

func (p *proc) log() string {
	p.mu.Lock()
	defer p.mu.Unlock()
	lines := p.lines
	if len(lines) > 60 {
		lines = lines[len(lines)-60:]
	}
	return strings.Join(lines, "\n")
}

// TestMultiProcessDeployment builds the seven service commands, runs them
// as separate processes on 127.0.0.1 with two execution nodes from one
// configuration file, and runs echo tasks and a two-party task (Teaclave's
// ordered set intersection) through the api endpoints. Mid-way it kills
// the scheduler with SIGKILL, invokes tasks while it is down, kills the
// storage service holding them with SIGKILL, and starts both again: every
// task still finishes with its result, and nothing registered before the
// crashes is lost.
func TestMultiProcessDeployment(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs the services as processes")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 6*time.Minute)
	defer cancel()
	bins := buildMains(ctx, t)

	files := newFileServer(t)
	dir := t.TempDir()
	dataDir := filepath.Join(dir, "data")
	authAddr, frontAddr := freeAddr(t), freeAddr(t)
	var internal strings.Builder
	for _, key := range deploy.InternalKeys() {
		a := freeAddr(t)
		fmt.Fprintf(&internal, "%s = { listen_address = %q, advertised_address = %q }\n", key, a, "https://"+a)
	}
	configPath := filepath.Join(dir, "runtime.config.toml")
	config := fmt.Sprintf(`[api_endpoints]
authentication = { listen_address = %q }
frontend = { listen_address = %q }

[internal_endpoints]
%s
[data]
dir = %q

[execution]
workers = 2
file_agent_allowlist = [%q]

[[execution.nodes]]
name = "node0"

[[execution.nodes]]
name = "node1"
workers = 1
`, authAddr, frontAddr, internal.String(), dataDir, files.Addr())
	if err := os.WriteFile(configPath, []byte(config), 0o600); err != nil {
		t.Fatal(err)
	}

	// Trust: the enclave info lists each binary's own measurement.
	exes := map[string]string{}
	for service, bin := range bins {
		exes[deploy.AttestedName(service)] = bin
	}
	if err := deploy.WriteDevelopmentEnclaveInfo(dataDir, exes); err != nil {
		t.Fatal(err)
	}

	procs := map[string]*proc{}
	var all []*proc
	add := func(name, bin string, args ...string) *proc {
		p := &proc{name: name, bin: bin, args: append([]string{"-config", configPath}, args...)}
		procs[name] = p
		all = append(all, p)
		return p
	}
	for _, s := range deploy.ServiceNames() {
		if s != deploy.ServiceExecution {
			add(s, bins[s])
		}
	}
	add("node0", bins[deploy.ServiceExecution], "-node", "node0")
	add("node1", bins[deploy.ServiceExecution], "-node", "node1")
	t.Cleanup(func() {
		for _, p := range all {
			p.kill()
		}
		if t.Failed() {
			for _, p := range all {
				t.Logf("--- %s log:\n%s", p.name, p.log())
			}
		}
	})
	// No start order is needed: connections are made at the first call,
	// and the scheduler waits for storage. Start the dependents first to
	// show it.
	for i := len(all) - 1; i >= 0; i-- {
		all[i].launch(t)
	}
	for _, p := range all {
		p.waitReady(ctx, t)
	}

	verifier, err := deploy.ClientTrust(dataDir)
	if err != nil {
		t.Fatal(err)
	}
	p := &deploytest.Platform{AuthAddr: authAddr, FrontendAddr: frontAddr, Verifier: verifier}
	u := users(t, p, "user0", "user1")
	fe := frontendpb.NewTeaclaveFrontendClient(p.DialFrontend(t))

	// Echo, before any crash.
	echo := try(fe.RegisterFunction(u[0], &frontendpb.RegisterFunctionRequest{
		Name: "builtin-echo", ExecutorType: "builtin", Public: true, UsageQuota: -1,
		Arguments: []*frontendpb.FunctionArgument{{Key: "message", AllowOverwrite: true}},
	})).must(t)
	runEcho := func(msg string) string {
		task := try(fe.CreateTask(u[0], &frontendpb.CreateTaskRequest{FunctionId: echo.FunctionId, Executor: "builtin",
			FunctionArguments: fmt.Sprintf(`{"message":%q}`, msg)})).must(t)
		try(fe.InvokeTask(u[0], &frontendpb.InvokeTaskRequest{TaskId: task.TaskId})).must(t)
		return task.TaskId
	}
	first := runEcho("before the crashes")
	mustFinish(t, fe, first, "before the crashes", u[0])

	// The scheduler crashes. A two-party task and a batch of echo tasks
	// are invoked meanwhile: staged in storage, waiting for a scheduler.
	procs[deploy.ServiceScheduler].kill()
	psi := try(fe.RegisterFunction(u[0], &frontendpb.RegisterFunctionRequest{
		Name: "builtin-ordered-set-intersect", ExecutorType: "builtin", Public: true, UsageQuota: -1,
		Arguments: []*frontendpb.FunctionArgument{{Key: "order", AllowOverwrite: true}},
		Inputs:    []*frontendpb.FunctionInput{{Name: "input_data1"}, {Name: "input_data2"}},
		Outputs:   []*frontendpb.FunctionOutput{{Name: "output_result1"}, {Name: "output_result2"}},
	})).must(t)
	twoParty := try(fe.CreateTask(u[0], &frontendpb.CreateTaskRequest{
		FunctionId: psi.FunctionId, Executor: "builtin", FunctionArguments: `{"order":"ascending"}`,
		InputsOwnership:  []*frontendpb.OwnerList{{DataName: "input_data1", Uids: []string{"user0"}}, {DataName: "input_data2", Uids: []string{"user1"}}},
		OutputsOwnership: []*frontendpb.OwnerList{{DataName: "output_result1", Uids: []string{"user0"}}, {DataName: "output_result2", Uids: []string{"user1"}}},
	})).must(t)
	for i, c := range []struct{ in, cmac, out, slotIn, slotOut string }{
		{"psi0.txt.enc", "92f686d4ac2ba6b4ffd93bc7ac5dbf58", "output_psi0.enc", "input_data1", "output_result1"},
		{"psi1.txt.enc", "8b3104972a6f0de949315e0b45d5dd66", "output_psi1.enc", "input_data2", "output_result2"},
	} {
		in := try(fe.RegisterInputFile(u[i], &frontendpb.RegisterInputFileRequest{Url: files.URL(c.in), Cmac: mustHex(c.cmac), CryptoInfo: pfs()})).must(t)
		out := try(fe.RegisterOutputFile(u[i], &frontendpb.RegisterOutputFileRequest{Url: files.URL(c.out), CryptoInfo: pfs()})).must(t)
		try(fe.AssignData(u[i], &frontendpb.AssignDataRequest{TaskId: twoParty.TaskId,
			Inputs: []*frontendpb.DataMap{{DataName: c.slotIn, DataId: in.DataId}}, Outputs: []*frontendpb.DataMap{{DataName: c.slotOut, DataId: out.DataId}}})).must(t)
	}
	for _, caller := range u {
		try(fe.ApproveTask(caller, &frontendpb.ApproveTaskRequest{TaskId: twoParty.TaskId})).must(t)
	}
	try(fe.InvokeTask(u[0], &frontendpb.InvokeTaskRequest{TaskId: twoParty.TaskId})).must(t)
	batch := map[string]string{}
	for i := range 8 {
		msg := fmt.Sprintf("echo %d", i)
		batch[runEcho(msg)] = msg
	}

	// Storage crashes too, with the staged tasks in it. Both come back,
	// the scheduler first: it waits for storage.
	procs[deploy.ServiceStorage].kill()
	procs[deploy.ServiceScheduler].launch(t)
	procs[deploy.ServiceStorage].launch(t)
	procs[deploy.ServiceStorage].waitReady(ctx, t)
	procs[deploy.ServiceScheduler].waitReady(ctx, t)

	// Every task finishes with its result; nothing was lost.
	waitOK(ctx, t, fe, u[0], twoParty.TaskId, "3 common items")
	waitOK(ctx, t, fe, u[1], twoParty.TaskId, "3 common items")
	if got := decryptPFS(t, "output_psi0.enc", uploaded(t, files, "output_psi0.enc")); got != "0101010" {
		t.Errorf("output 1 = %q", got)
	}
	if got := decryptPFS(t, "output_psi1.enc", uploaded(t, files, "output_psi1.enc")); got != "01101" {
		t.Errorf("output 2 = %q", got)
	}
	for id, msg := range batch {
		waitOK(ctx, t, fe, u[0], id, msg)
	}
	waitOK(ctx, t, fe, u[0], first, "before the crashes")
	// What was registered before the crashes is still there, and the
	// restarted services take new work.
	if got := try(fe.GetFunction(u[1], &frontendpb.GetFunctionRequest{FunctionId: psi.FunctionId})).must(t); got.Name != "builtin-ordered-set-intersect" {
		t.Errorf("function after the crashes: %+v", got)
	}
	after := runEcho("after the crashes")
	waitOK(ctx, t, fe, u[0], after, "after the crashes")
	login(t, p, "user1", "password")

	for _, p := range all {
		if !p.running() {
			t.Errorf("%s exited:\n%s", p.name, p.log())
		}
	}
	// Both nodes register with the scheduler again after it came back. A
	// node that found the scheduler down backs off between attempts, and
	// the other node may have run every task meanwhile, so wait for it.
	for _, n := range []*proc{procs["node0"], procs["node1"]} {
		deadline := time.Now().Add(30 * time.Second)
		for n.count(`msg="execution node registered"`) < 2 && time.Now().Before(deadline) {
			time.Sleep(100 * time.Millisecond)
		}
		if c := n.count(`msg="execution node registered"`); c < 2 {
			t.Errorf("%s registered %d times, want at least 2 (before and after the scheduler crashed)", n.name, c)
		}
	}
}

// waitOK polls the task until it ends, riding out a service that is
// restarting, and fails the test unless it finished with want.
func waitOK(ctx context.Context, t *testing.T, fe frontendpb.TeaclaveFrontendClient, caller context.Context, id, want string) {
	t.Helper()
	for {
		got, err := fe.GetTask(caller, &frontendpb.GetTaskRequest{TaskId: id})
		switch {
		case errors.Is(err, teaclave.ErrUnavailable) || teaclave.KindOf(err) == teaclave.KindUnavailable:
		case err != nil:
			t.Fatalf("task %s: %v", id, err)
		case got.Status == commonpb.TaskStatus_Finished:
			if rv := string(got.Result.GetOk().GetReturnValue()); rv != want {
				t.Fatalf("task %s returned %q, want %q", id, rv, want)
			}
			return
		case got.Status == commonpb.TaskStatus_Failed || got.Status == commonpb.TaskStatus_Canceled:
			t.Fatalf("task %s ended %v: %v", id, got.Status, got.Result)
		}
		select {
		case <-ctx.Done():
			t.Fatalf("task %s did not finish: %v (last: %v)", id, ctx.Err(), err)
		case <-time.After(50 * time.Millisecond):
		}
	}
}
