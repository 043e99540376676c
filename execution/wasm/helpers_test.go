package wasm

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/teaclave-go/teaclave/execution/executor"
	"github.com/teaclave-go/teaclave/execution/executor/xtest"
)

// fakeRuntime is the in-memory executor.Runtime of executor/xtest.
type fakeRuntime = xtest.Runtime

func newRuntime(inputs map[string]string, outputs ...string) *fakeRuntime {
	return xtest.NewRuntime(inputs, outputs...)
}

// builds caches the payloads built by this test binary.
var builds sync.Map // string -> *build

type build struct {
	once sync.Once
	wasm []byte
	err  error
}

// needClang skips the test when clang or wasm-ld is missing, and fails it
// under CI=true, where .ci/run installs them.
func needClang(tb testing.TB) {
	tb.Helper()
	for _, tool := range []string{"clang", "wasm-ld"} {
		if _, err := exec.LookPath(tool); err != nil {
			if os.Getenv("CI") == "true" {
				tb.Fatalf("%s is needed to build the test payloads (Debian packages clang and lld)", tool)
			}
			tb.Skipf("%s is missing: install Debian's clang and lld to build the test payloads", tool)
		}
	}
}

// payload builds testdata/<name>.c for the MVP feature set, exporting
// entrypoint if it is defined, with extra clang flags.
func payload(tb testing.TB, name string, flags ...string) []byte {
	tb.Helper()
	needClang(tb)
	key := name + "\x00" + strings.Join(flags, "\x00")
	v, _ := builds.LoadOrStore(key, &build{})
	b := v.(*build)
	b.once.Do(func() {
		dir, err := os.MkdirTemp("", "wasm-payload-")
		if err != nil {
			b.err = err
			return
		}
		defer os.RemoveAll(dir)
		out := filepath.Join(dir, name+".wasm")
		args := append([]string{
			"--target=wasm32", "-mcpu=mvp", "-O2", "-nostdlib",
			"-Wl,--no-entry", "-Wl,--export-if-defined=entrypoint",
			"-o", out, filepath.Join("testdata", name+".c"),
		}, flags...)
		cmd := exec.Command("clang", args...)
		var stderr bytes.Buffer
		cmd.Stderr = &stderr
		if err := cmd.Run(); err != nil {
			b.err = fmt.Errorf("clang %s: %v\n%s", strings.Join(args, " "), err, stderr.String())
			return
		}
		b.wasm, b.err = os.ReadFile(out)
	})
	if b.err != nil {
		tb.Fatal(b.err)
	}
	return b.wasm
}

// newExecutor returns an Executor closed at the end of the test.
func newExecutor(tb testing.TB, cfg Config) *Executor {
	tb.Helper()
	e, err := New(context.Background(), cfg)
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { e.Close(context.Background()) })
	return e
}

// engines are the two ways to run modules; most tests run on both.
var engines = []Engine{EngineCompiler, EngineInterpreter}

// task returns a task running payload with the arguments args (a JSON
// object).
func task(payload []byte, args string) *executor.Task {
	return &executor.Task{Payload: payload, Arguments: json.RawMessage(args)}
}

// run runs a task and returns its result as a string.
func run(ctx context.Context, e *Executor, payload []byte, args string, rt executor.Runtime) (string, error) {
	res, err := e.Execute(ctx, task(payload, args), rt)
	return string(res.ReturnValue), err
}

func readTestdata(t *testing.T, name string) string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// lines returns the non-empty lines of s, sorted.
func lines(s string) []string {
	var out []string
	for _, l := range strings.Split(s, "\n") {
		if l = strings.TrimSuffix(l, "\r"); l != "" {
			out = append(out, l)
		}
	}
	slices.Sort(out)
	return out
}
