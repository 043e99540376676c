package wasm

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/teaclave-go/teaclave/execution/executor"
)

// fakeRuntime is an in-memory executor.Runtime: declared inputs with
// their contents, declared outputs, and a log that is always on.
type fakeRuntime struct {
	mu      sync.Mutex
	inputs  map[string][]byte
	outputs map[string]*fakeOutput
	logs    []string
}

type fakeOutput struct {
	created, closed bool
	buf             bytes.Buffer
}

var _ executor.Runtime = (*fakeRuntime)(nil)

func newRuntime(inputs map[string]string, outputs ...string) *fakeRuntime {
	rt := &fakeRuntime{inputs: map[string][]byte{}, outputs: map[string]*fakeOutput{}}
	for k, v := range inputs {
		rt.inputs[k] = []byte(v)
	}
	for _, o := range outputs {
		rt.outputs[o] = &fakeOutput{}
	}
	return rt
}

func (rt *fakeRuntime) OpenInput(name string) (io.ReadCloser, error) {
	b, ok := rt.inputs[name]
	if !ok {
		return nil, executor.ErrInvalidInput
	}
	return io.NopCloser(bytes.NewReader(b)), nil
}

func (rt *fakeRuntime) CreateOutput(name string) (io.WriteCloser, error) {
	rt.mu.Lock()
	defer rt.mu.Unlock()
	o, ok := rt.outputs[name]
	if !ok {
		return nil, executor.ErrInvalidOutput
	}
	if o.created {
		return nil, executor.ErrOutputExists
	}
	o.created = true
	return &fakeWriter{rt: rt, o: o}, nil
}

type fakeWriter struct {
	rt *fakeRuntime
	o  *fakeOutput
}

func (w *fakeWriter) Write(p []byte) (int, error) {
	w.rt.mu.Lock()
	defer w.rt.mu.Unlock()
	if w.o.closed {
		return 0, errors.New("output closed")
	}
	return w.o.buf.Write(p)
}

func (w *fakeWriter) Close() error {
	w.rt.mu.Lock()
	defer w.rt.mu.Unlock()
	w.o.closed = true
	return nil
}

// output returns a closed output's content; it fails the test if the
// function did not create and close it.
func (rt *fakeRuntime) output(t *testing.T, name string) string {
	t.Helper()
	rt.mu.Lock()
	defer rt.mu.Unlock()
	o := rt.outputs[name]
	if o == nil || !o.created || !o.closed {
		t.Fatalf("output %s was not written and closed", name)
	}
	return o.buf.String()
}

func (rt *fakeRuntime) Logger(module string) *slog.Logger {
	return slog.New(&fakeLog{rt: rt, module: module})
}

func (rt *fakeRuntime) logText() string {
	rt.mu.Lock()
	defer rt.mu.Unlock()
	return strings.Join(rt.logs, "\n")
}

type fakeLog struct {
	rt     *fakeRuntime
	module string
}

func (h *fakeLog) Enabled(context.Context, slog.Level) bool { return true }
func (h *fakeLog) Handle(_ context.Context, r slog.Record) error {
	h.rt.mu.Lock()
	defer h.rt.mu.Unlock()
	h.rt.logs = append(h.rt.logs, fmt.Sprintf("[%s %s] %s", r.Level, h.module, r.Message))
	return nil
}
func (h *fakeLog) WithAttrs([]slog.Attr) slog.Handler { return h }
func (h *fakeLog) WithGroup(string) slog.Handler      { return h }

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
