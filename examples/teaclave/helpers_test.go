//go:build !teaclave_production

package main

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net"
	"net/http"
	"os"
	"path"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/teaclave-go/teaclave/examples/deploy"
	"github.com/teaclave-go/teaclave/examples/deploy/deploytest"
)

// cli runs the CLI in process with its own environment: a platform's
// addresses and data folder, and a private config folder.
type cli struct {
	t   *testing.T
	p   *deploytest.Platform
	env map[string]string
}

// newCLI returns a CLI environment with a private config folder and no
// platform.
func newCLI(t *testing.T) *cli {
	t.Helper()
	return &cli{t: t, env: map[string]string{"XDG_CONFIG_HOME": t.TempDir()}}
}

// withPlatform starts a development platform on free ports and points the
// CLI at it. The file agent may reach the given host:port pairs.
func withPlatform(t *testing.T, allow ...string) *cli {
	t.Helper()
	c := newCLI(t)
	c.p = deploytest.StartWith(t, deploytest.Options{FileAgentAllowlist: allow})
	c.env[deploy.EnvAuthAddr] = c.p.AuthAddr
	c.env[deploy.EnvFrontendAddr] = c.p.FrontendAddr
	c.env[deploy.EnvDataDir] = c.p.Config.Data.Dir
	return c
}

type result struct {
	stdout, stderr string
	code           int
}

// runIn runs the CLI with stdin and extra environment variables
// (KEY=VALUE).
func (c *cli) runIn(stdin string, extraEnv []string, args ...string) result {
	c.t.Helper()
	env := map[string]string{}
	for k, v := range c.env {
		env[k] = v
	}
	for _, kv := range extraEnv {
		k, v, _ := strings.Cut(kv, "=")
		env[k] = v
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	var out, errOut bytes.Buffer
	code := run(ctx, args, strings.NewReader(stdin), &out, &errOut, func(k string) string { return env[k] })
	return result{out.String(), errOut.String(), code}
}

func (c *cli) run(args ...string) result {
	c.t.Helper()
	return c.runIn("", nil, args...)
}

// ok runs the CLI and fails the test unless it exits 0; it returns the
// standard output, trimmed.
func (c *cli) ok(args ...string) string {
	c.t.Helper()
	return c.okIn("", nil, args...)
}

func (c *cli) okIn(stdin string, extraEnv []string, args ...string) string {
	c.t.Helper()
	r := c.runIn(stdin, extraEnv, args...)
	if r.code != 0 {
		c.t.Fatalf("teaclave %s: exit %d\nstdout: %s\nstderr: %s", strings.Join(args, " "), r.code, r.stdout, r.stderr)
	}
	return strings.TrimSpace(r.stdout)
}

// fail runs the CLI, requires exit status code, and requires stderr to
// contain each of want.
func (c *cli) fail(code int, want []string, args ...string) result {
	c.t.Helper()
	return c.failIn("", nil, code, want, args...)
}

func (c *cli) failIn(stdin string, extraEnv []string, code int, want []string, args ...string) result {
	c.t.Helper()
	r := c.runIn(stdin, extraEnv, args...)
	if r.code != code {
		c.t.Fatalf("teaclave %s: exit %d, want %d\nstdout: %s\nstderr: %s", strings.Join(args, " "), r.code, code, r.stdout, r.stderr)
	}
	for _, w := range want {
		if !strings.Contains(r.stderr, w) {
			c.t.Fatalf("teaclave %s: stderr lacks %q:\n%s", strings.Join(args, " "), w, r.stderr)
		}
	}
	return r
}

// login logs id in with password.
func (c *cli) login(id, password string) {
	c.t.Helper()
	c.okIn(password+"\n", nil, "login", "--id", id)
}

// adminWithUsers logs in as the development admin and registers
// PlatformAdmin users with password "password".
func (c *cli) adminWithUsers(ids ...string) {
	c.t.Helper()
	c.login("admin", "teaclave")
	for _, id := range ids {
		c.okIn("password\n", nil, "user", "register", id, "--role", "PlatformAdmin", "--as", "admin")
		c.login(id, "password")
	}
}

// jsonOut runs the CLI with --json and decodes its output into v.
func (c *cli) jsonOut(v any, args ...string) {
	c.t.Helper()
	out := c.ok(append(args, "--json")...)
	if err := json.Unmarshal([]byte(out), v); err != nil {
		c.t.Fatalf("teaclave %s --json: %v\n%s", strings.Join(args, " "), err, out)
	}
}

// fileServer serves a folder over HTTP on 127.0.0.1: GET reads a file of
// it, PUT writes one, as Teaclave's example file server does.
type fileServer struct {
	dir  string
	addr string
}

func newFileServer(t *testing.T) *fileServer {
	t.Helper()
	fs := &fileServer{dir: t.TempDir()}
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	fs.addr = lis.Addr().String()
	srv := &http.Server{Handler: fs, ReadHeaderTimeout: 10 * time.Second}
	go srv.Serve(lis)
	t.Cleanup(func() { srv.Close() })
	return fs
}

func (fs *fileServer) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	p := filepath.Join(fs.dir, path.Base(r.URL.Path))
	switch r.Method {
	case http.MethodGet:
		http.ServeFile(w, r, p)
	case http.MethodPut:
		data, err := io.ReadAll(io.LimitReader(r.Body, 16<<20))
		if err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		if err := os.WriteFile(p, data, 0o600); err != nil {
			http.Error(w, err.Error(), http.StatusInternalServerError)
		}
	default:
		http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
	}
}

func (fs *fileServer) url(name string) string { return "http://" + fs.addr + "/" + name }

func writeFile(t *testing.T, dir, name, content string) string {
	t.Helper()
	p := filepath.Join(dir, name)
	if err := os.WriteFile(p, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}
