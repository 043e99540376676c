//go:build !teaclave_production

package sdk_test

import (
	"context"
	"fmt"
	"io"
	"os"
	"sync"
	"testing"

	"github.com/teaclave-go/teaclave/examples/deploy/deploytest"
)

// The package's tests and runnable examples share one development
// platform, started by TestMain on 127.0.0.1 with a temporary data folder
// and announced to the examples as a real deployment is to a client: in
// the environment variables TEACLAVE_AUTH_ADDR, TEACLAVE_FRONTEND_ADDR and
// TEACLAVE_DATA_DIR. A file server beside it (TEACLAVE_FILE_SERVER) plays
// the role of the users' storage: GET returns what PUT stored.

// shared is the platform of this test binary.
type shared struct {
	platform *deploytest.Platform
	files    *deploytest.FileServer
}

var env shared

func TestMain(m *testing.M) {
	os.Exit(runMain(m))
}

func runMain(m *testing.M) (code int) {
	tb := &mainTB{name: "TestMain"}
	defer func() {
		if r := recover(); r != nil {
			if _, ok := r.(mainFatal); !ok {
				panic(r)
			}
			code = 1
		}
		tb.cleanup()
	}()
	files, err := deploytest.NewFileServer(nil)
	if err != nil {
		fmt.Fprintln(os.Stderr, "file server:", err)
		return 1
	}
	tb.Cleanup(func() { files.Close() })
	p := deploytest.StartWith(tb, deploytest.Options{FileAgentAllowlist: []string{files.Addr()}})
	env = shared{platform: p, files: files}
	for k, v := range map[string]string{
		"TEACLAVE_AUTH_ADDR":     p.AuthAddr,
		"TEACLAVE_FRONTEND_ADDR": p.FrontendAddr,
		"TEACLAVE_DATA_DIR":      p.Config.Data.Dir,
		"TEACLAVE_FILE_SERVER":   "http://" + files.Addr(),
	} {
		os.Setenv(k, v)
	}
	return m.Run()
}

// mainFatal is the panic with which mainTB stops TestMain.
type mainFatal struct{}

// mainTB is the testing.TB that TestMain hands deploytest, which starts a
// platform for a testing.TB: it keeps cleanups and temporary folders until
// TestMain ends, reports to stderr, and stops TestMain on Fatal.
type mainTB struct {
	testing.TB // unexported methods only; every exported one is below
	name       string
	mu         sync.Mutex
	cleanups   []func()
	failed     bool
}

func (t *mainTB) cleanup() {
	for i := len(t.cleanups) - 1; i >= 0; i-- {
		t.cleanups[i]()
	}
}

func (t *mainTB) ArtifactDir() string               { return t.TempDir() }
func (t *mainTB) Attr(key, value string)            {}
func (t *mainTB) Cleanup(f func())                  { t.mu.Lock(); t.cleanups = append(t.cleanups, f); t.mu.Unlock() }
func (t *mainTB) Error(args ...any)                 { t.Log(args...); t.Fail() }
func (t *mainTB) Errorf(format string, args ...any) { t.Logf(format, args...); t.Fail() }
func (t *mainTB) Fail()                             { t.mu.Lock(); t.failed = true; t.mu.Unlock() }
func (t *mainTB) FailNow()                          { t.Fail(); panic(mainFatal{}) }
func (t *mainTB) Failed() bool                      { t.mu.Lock(); defer t.mu.Unlock(); return t.failed }
func (t *mainTB) Fatal(args ...any)                 { t.Log(args...); t.FailNow() }
func (t *mainTB) Fatalf(format string, args ...any) { t.Logf(format, args...); t.FailNow() }
func (t *mainTB) Helper()                           {}
func (t *mainTB) Log(args ...any)                   { fmt.Fprintln(os.Stderr, args...) }
func (t *mainTB) Logf(format string, args ...any)   { fmt.Fprintf(os.Stderr, format+"\n", args...) }
func (t *mainTB) Name() string                      { return t.name }
func (t *mainTB) Setenv(key, value string)          { os.Setenv(key, value) }
func (t *mainTB) Chdir(dir string)                  { t.Fatal("mainTB: Chdir is not supported") }
func (t *mainTB) Skip(args ...any)                  { t.Fatal(append([]any{"mainTB: cannot skip:"}, args...)...) }
func (t *mainTB) SkipNow()                          { t.Fatal("mainTB: cannot skip") }
func (t *mainTB) Skipf(format string, args ...any)  { t.Fatalf("mainTB: cannot skip: "+format, args...) }
func (t *mainTB) Skipped() bool                     { return false }
func (t *mainTB) Context() context.Context          { return context.Background() }
func (t *mainTB) Output() io.Writer                 { return os.Stderr }
func (t *mainTB) TempDir() string {
	dir, err := os.MkdirTemp("", "sdk-test-")
	if err != nil {
		t.Fatalf("TempDir: %v", err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	return dir
}
