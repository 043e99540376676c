//go:build !teaclave_production

package main

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/teaclave-go/teaclave/examples/deploy"
)

const (
	walkthroughBegin = "<!-- walkthrough:begin -->"
	walkthroughEnd   = "<!-- walkthrough:end -->"
)

// walkthroughBlock returns the ```sh block of the walkthrough section:
// from the repository's README.md when it has the section's markers, else
// from WALKTHROUGH.md beside this test.
func walkthroughBlock(t *testing.T) (block, source string) {
	t.Helper()
	for _, p := range []string{filepath.Join("..", "..", "README.md"), "WALKTHROUGH.md"} {
		data, err := os.ReadFile(p)
		if err != nil {
			continue
		}
		_, rest, ok := strings.Cut(string(data), walkthroughBegin)
		if !ok {
			continue
		}
		section, _, ok := strings.Cut(rest, walkthroughEnd)
		if !ok {
			t.Fatalf("%s: %s without %s", p, walkthroughBegin, walkthroughEnd)
		}
		_, after, ok := strings.Cut(section, "```sh\n")
		if !ok {
			t.Fatalf("%s: the walkthrough section has no ```sh block", p)
		}
		block, _, ok = strings.Cut(after, "\n```")
		if !ok {
			t.Fatalf("%s: unterminated ```sh block", p)
		}
		return block + "\n", p
	}
	t.Fatal("no walkthrough section in README.md or WALKTHROUGH.md")
	return "", ""
}

func freeAddr(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().String()
}

// lockedBuffer collects a process's output while the test reads it.
type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// TestWalkthrough builds the platform and the CLI, starts the platform on
// free ports with a temporary data folder, and runs the walkthrough's shell
// block verbatim with bash -euo pipefail and teaclave on PATH.
func TestWalkthrough(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs the platform and the CLI")
	}
	bash, err := exec.LookPath("bash")
	if err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatal("bash is required in CI")
		}
		t.Skip("bash not found")
	}
	block, source := walkthroughBlock(t)
	goTool := filepath.Join(runtime.GOROOT(), "bin", "go")
	if _, err := os.Stat(goTool); err != nil {
		if goTool, err = exec.LookPath("go"); err != nil {
			t.Skip("the go command is not available")
		}
	}

	ctx, cancel := context.WithTimeout(context.Background(), 8*time.Minute)
	defer cancel()
	bin := t.TempDir()
	for _, pkg := range []string{"../platform", "."} {
		name := "teaclave"
		if pkg != "." {
			name = "platform"
		}
		cmd := exec.CommandContext(ctx, goTool, "build", "-o", filepath.Join(bin, name), pkg)
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("go build %s: %v\n%s", pkg, err, out)
		}
	}

	dataDir := t.TempDir()
	authAddr, frontAddr := freeAddr(t), freeAddr(t)
	platformEnv := append(cleanEnv(),
		deploy.EnvAuthAddr+"="+authAddr,
		deploy.EnvFrontendAddr+"="+frontAddr,
		deploy.EnvDataDir+"="+dataDir,
	)
	platform := exec.CommandContext(ctx, filepath.Join(bin, "platform"))
	platform.Dir = t.TempDir()
	platform.Env = platformEnv
	stderr, err := platform.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := platform.Start(); err != nil {
		t.Fatal(err)
	}
	// stop stops the platform with SIGINT, as Ctrl-C does, and returns how
	// it exited.
	var stopOnce sync.Once
	var stopErr error
	stop := func() error {
		stopOnce.Do(func() {
			platform.Process.Signal(syscall.SIGINT)
			done := make(chan error, 1)
			go func() { done <- platform.Wait() }()
			select {
			case stopErr = <-done:
			case <-time.After(30 * time.Second):
				platform.Process.Kill()
				<-done
				stopErr = errors.New("did not stop within 30s of SIGINT")
			}
		})
		return stopErr
	}
	defer func() { _ = stop() }()
	var platformLog lockedBuffer
	ready := make(chan struct{})
	go func() {
		sc := bufio.NewScanner(stderr)
		once := sync.Once{}
		for sc.Scan() {
			platformLog.Write([]byte(sc.Text() + "\n"))
			if strings.Contains(sc.Text(), "platform ready") {
				once.Do(func() { close(ready) })
			}
		}
	}()
	select {
	case <-ready:
	case <-time.After(2 * time.Minute):
		t.Fatalf("the platform did not become ready; log:\n%s", platformLog.String())
	}

	home := t.TempDir()
	work := t.TempDir()
	sh := exec.CommandContext(ctx, bash, "-euo", "pipefail", "-c", block)
	sh.Dir = work
	sh.Env = append(platformEnv,
		"PATH="+bin+string(os.PathListSeparator)+os.Getenv("PATH"),
		"HOME="+home,
		"XDG_CONFIG_HOME="+filepath.Join(home, ".config"),
	)
	var out, errOut lockedBuffer
	sh.Stdout, sh.Stderr = &out, &errOut
	if err := sh.Run(); err != nil {
		t.Fatalf("the walkthrough of %s failed: %v\nstdout:\n%s\nstderr:\n%s\nplatform log:\n%s", source, err, out.String(), errOut.String(), platformLog.String())
	}
	stdout := out.String()
	for _, want := range []string{"attestation verified", "Logged in as admin", "Registered alice", "Hello, Teaclave!\n", "\ntrue\n", "return value:  true"} {
		if !strings.Contains(stdout, want) {
			t.Errorf("the walkthrough's output lacks %q:\n%s", want, stdout)
		}
	}
	creds := filepath.Join(home, ".config", "teaclave", "credentials.json")
	if st, err := os.Stat(creds); err != nil || st.Mode().Perm() != 0o600 {
		t.Errorf("credentials file: %v, %v", st, err)
	}

	if err := stop(); err != nil {
		t.Errorf("platform after SIGINT: %v", err)
	}
}

// cleanEnv is the test's environment without the CLI's and platform's
// own variables, so that a developer's settings do not leak in.
func cleanEnv() []string {
	var env []string
	for _, kv := range os.Environ() {
		if strings.HasPrefix(kv, "TEACLAVE_") || strings.HasPrefix(kv, "XDG_CONFIG_HOME=") || strings.HasPrefix(kv, "HOME=") {
			continue
		}
		env = append(env, kv)
	}
	return env
}
