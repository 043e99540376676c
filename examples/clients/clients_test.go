//go:build !teaclave_production

// The example client programs, each built and run as a user would run it
// against a development platform started in this process on 127.0.0.1.
package clients_test

import (
	"bytes"
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/teaclave-go/teaclave/examples/deploy/deploytest"
)

// startStorage starts the users' file storage (GET returns what PUT
// stored) and returns its address.
func startStorage(t *testing.T) string {
	return deploytest.StartFileServer(t, nil).Addr()
}

// buildClients builds every program of this folder into a temporary
// folder.
func buildClients(t *testing.T) string {
	t.Helper()
	goTool := filepath.Join(runtime.GOROOT(), "bin", "go")
	if _, err := os.Stat(goTool); err != nil {
		if goTool, err = exec.LookPath("go"); err != nil {
			t.Skip("no go tool to build the clients with")
		}
	}
	dir := t.TempDir()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, goTool, "build", "-o", dir+string(filepath.Separator), "./...")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	return dir
}

func TestClients(t *testing.T) {
	bin := buildClients(t)
	store := startStorage(t)
	p := deploytest.StartWith(t, deploytest.Options{FileAgentAllowlist: []string{store}})
	env := append(os.Environ(),
		"TEACLAVE_AUTH_ADDR="+p.AuthAddr,
		"TEACLAVE_FRONTEND_ADDR="+p.FrontendAddr,
		"TEACLAVE_DATA_DIR="+p.Config.Data.Dir,
		"TEACLAVE_STORAGE_URL=http://"+store,
	)
	for _, c := range []struct {
		name string
		args []string
		want []string // lines of stdout, in order
	}{
		{"echo", nil, []string{"Hello From Teaclave!"}},
		{"echo", []string{"-message", "second run"}, []string{"second run"}},
		{"psi", nil, []string{
			"3 common items",
			"psi_user0: 01011 (bob@example.com, dave@example.com, erin@example.com)",
			"psi_user1: 1110 (bob@example.com, dave@example.com, erin@example.com)",
		}},
		{"join", nil, []string{
			"3 users join the task in total.",
			"join_bank0: bob, 10000; carol, 1000",
			"join_bank1: bob, 10000; carol, 1000",
			"join_bank2: bob, 10000; carol, 1000",
		}},
		{"password", nil, []string{"exposed: true"}},
		{"password", []string{"-password-to-check", "correct horse battery staple"}, []string{"exposed: false"}},
		{"wasm", nil, []string{"3 + 4 = 7"}},
		{"wasm", []string{"-adder1", "-40", "-adder2", "2"}, []string{"-40 + 2 = -38"}},
		{"python", nil, []string{
			"Mixed 5 lines of data",
			"word count invoked before pyfusion_user0 approved: refused",
			"2",
		}},
	} {
		t.Run(c.name+strings.Join(c.args, "_"), func(t *testing.T) {
			ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
			defer cancel()
			cmd := exec.CommandContext(ctx, filepath.Join(bin, c.name), c.args...)
			cmd.Env = env
			var stdout, stderr bytes.Buffer
			cmd.Stdout, cmd.Stderr = &stdout, &stderr
			if err := cmd.Run(); err != nil {
				t.Fatalf("%s: %v\nstdout:\n%s\nstderr:\n%s", c.name, err, stdout.String(), stderr.String())
			}
			got := strings.Split(strings.TrimRight(stdout.String(), "\n"), "\n")
			if strings.Join(got, "\n") != strings.Join(c.want, "\n") {
				t.Fatalf("%s printed\n%s\nwant\n%s\nstderr:\n%s", c.name, stdout.String(), strings.Join(c.want, "\n"), stderr.String())
			}
		})
	}

	// The explicit insecure mode works without trust material, loudly.
	t.Run("insecure", func(t *testing.T) {
		cmd := exec.Command(filepath.Join(bin, "echo"), "-data-dir", t.TempDir(), "-insecure-skip-verification", "-message", "unverified")
		cmd.Env = env
		var stdout, stderr bytes.Buffer
		cmd.Stdout, cmd.Stderr = &stdout, &stderr
		if err := cmd.Run(); err != nil || stdout.String() != "unverified\n" || !strings.Contains(stderr.String(), "INSECURE") {
			t.Fatalf("insecure echo: %v\nstdout: %s\nstderr: %s", err, stdout.String(), stderr.String())
		}
	})

	// Without trust material the programs refuse to run.
	t.Run("no trust", func(t *testing.T) {
		cmd := exec.Command(filepath.Join(bin, "echo"), "-data-dir", t.TempDir())
		cmd.Env = env
		out, err := cmd.CombinedOutput()
		if err == nil || !strings.Contains(string(out), "attestation root") {
			t.Fatalf("echo without trust: %v\n%s", err, out)
		}
	})
}
