//go:build !teaclave_production

package main

import (
	"bufio"
	"context"
	"errors"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/teaclave-go/teaclave/attestation"
	"github.com/teaclave-go/teaclave/examples/deploy"
	"github.com/teaclave-go/teaclave/rpc"
	"github.com/teaclave-go/teaclave/rpc/pb/authpb"
	"github.com/teaclave-go/teaclave/rpc/pb/commonpb"
	"github.com/teaclave-go/teaclave/rpc/pb/frontendpb"
)

// readmePlatformCommand returns the first command of the README's
// "Run the platform" section.
func readmePlatformCommand(t *testing.T, readme string) string {
	t.Helper()
	data, err := os.ReadFile(readme)
	if err != nil {
		t.Fatal(err)
	}
	_, section, ok := strings.Cut(string(data), "## Run the platform")
	if !ok {
		t.Fatal("README has no 'Run the platform' section")
	}
	_, block, ok := strings.Cut(section, "```sh\n")
	if !ok {
		t.Fatal("no sh block in 'Run the platform'")
	}
	cmd, _, _ := strings.Cut(block, "\n")
	return strings.TrimSpace(cmd)
}

func freePort(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().String()
}

// TestREADMEPlatformCommand clones the repository, runs the README's
// platform command verbatim with the environment pointing it at free ports
// and a temporary data folder, runs an echo task against it, and stops it
// with SIGINT.
func TestREADMEPlatformCommand(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs the platform")
	}
	git, err := exec.LookPath("git")
	if err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatal("git is required in CI")
		}
		t.Skip("git not found")
	}
	top, err := exec.Command(git, "rev-parse", "--show-toplevel").Output()
	if err != nil {
		t.Skipf("not in a git checkout: %v", err)
	}
	clone := filepath.Join(t.TempDir(), "teaclave")
	if out, err := exec.Command(git, "clone", "-q", strings.TrimSpace(string(top)), clone).CombinedOutput(); err != nil {
		t.Fatalf("clone: %v\n%s", err, out)
	}
	command := readmePlatformCommand(t, filepath.Join(clone, "README.md"))
	dataDir := t.TempDir()
	authAddr, frontAddr := freePort(t), freePort(t)

	ctx, cancel := context.WithTimeout(context.Background(), 4*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, "sh", "-c", "exec "+command)
	cmd.Dir = clone
	// Its own process group, so that SIGINT reaches the platform under
	// `go run` as a terminal's Ctrl-C would.
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	cmd.Cancel = func() error { return syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL) }
	cmd.Env = append(os.Environ(),
		deploy.EnvAuthAddr+"="+authAddr,
		deploy.EnvFrontendAddr+"="+frontAddr,
		deploy.EnvDataDir+"="+dataDir,
	)
	stderr, err := cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	ready := make(chan struct{})
	var logTail []string
	go func() {
		sc := bufio.NewScanner(stderr)
		for sc.Scan() {
			line := sc.Text()
			logTail = append(logTail, line)
			if strings.Contains(line, "platform ready") {
				close(ready)
			}
		}
	}()
	select {
	case <-ready:
	case <-ctx.Done():
		syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
		t.Fatalf("platform did not become ready; log:\n%s", strings.Join(logTail, "\n"))
	}

	verifier, err := deploy.ClientTrust(dataDir)
	if err != nil {
		t.Fatal(err)
	}
	authConn, err := rpc.DialAPI(authAddr, attestation.ServiceAuthentication, verifier, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer authConn.Close()
	login, err := authpb.NewTeaclaveAuthenticationApiClient(authConn).UserLogin(ctx, &authpb.UserLoginRequest{Id: "admin", Password: "teaclave"})
	if err != nil {
		t.Fatalf("login: %v", err)
	}
	admin := rpc.WithCredentials(ctx, rpc.Credentials{ID: "admin", Token: login.Token})
	feConn, err := rpc.DialAPI(frontAddr, attestation.ServiceFrontend, verifier, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer feConn.Close()
	fe := frontendpb.NewTeaclaveFrontendClient(feConn)
	fn, err := fe.RegisterFunction(admin, &frontendpb.RegisterFunctionRequest{
		Name: "builtin-echo", ExecutorType: "builtin", Public: true, UsageQuota: -1,
		Arguments: []*frontendpb.FunctionArgument{{Key: "message", AllowOverwrite: true}},
	})
	if err != nil {
		t.Fatal(err)
	}
	task, err := fe.CreateTask(admin, &frontendpb.CreateTaskRequest{FunctionId: fn.FunctionId, FunctionArguments: `{"message":"Hello, Teaclave!"}`, Executor: "builtin"})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := fe.InvokeTask(admin, &frontendpb.InvokeTaskRequest{TaskId: task.TaskId}); err != nil {
		t.Fatal(err)
	}
	for {
		got, err := fe.GetTask(admin, &frontendpb.GetTaskRequest{TaskId: task.TaskId})
		if err != nil {
			t.Fatal(err)
		}
		if got.Status == commonpb.TaskStatus_Finished {
			if rv := string(got.Result.GetOk().GetReturnValue()); rv != "Hello, Teaclave!" {
				t.Fatalf("echo returned %q", rv)
			}
			break
		}
		if got.Status == commonpb.TaskStatus_Failed || got.Status == commonpb.TaskStatus_Canceled {
			t.Fatalf("task ended %v: %v", got.Status, got.Result)
		}
		time.Sleep(20 * time.Millisecond)
	}

	// SIGINT stops it gracefully: exit status 0. Under `go run` the
	// platform is the go command's child; signal it, as the go command
	// itself reports an interrupt as a failure.
	for _, pid := range platformPIDs(cmd.Process.Pid) {
		if err := syscall.Kill(pid, syscall.SIGINT); err != nil {
			t.Fatal(err)
		}
	}
	if err := cmd.Wait(); err != nil {
		var exit *exec.ExitError
		if errors.As(err, &exit) {
			t.Fatalf("platform exited with %v after SIGINT; log:\n%s", err, strings.Join(logTail, "\n"))
		}
		t.Fatal(err)
	}
}

// platformPIDs returns the children of pid (the program `go run` built),
// or pid itself when it has none. A child is listed under the thread that
// started it, so every thread is looked at.
func platformPIDs(pid int) []int {
	files, _ := filepath.Glob(filepath.Join("/proc", strconv.Itoa(pid), "task", "*", "children"))
	var pids []int
	for _, f := range files {
		data, err := os.ReadFile(f)
		if err != nil {
			continue
		}
		for _, field := range strings.Fields(string(data)) {
			if n, err := strconv.Atoi(field); err == nil {
				pids = append(pids, n)
			}
		}
	}
	if len(pids) == 0 {
		return []int{pid}
	}
	return pids
}
