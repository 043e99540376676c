package functions

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"testing"

	"github.com/teaclave-go/teaclave/execution/executor"
)

// fakeRuntime is an in-memory executor.Runtime: inputs are byte slices (or
// readers made on demand), outputs are kept when closed, and log lines are
// recorded as the execution node records them.
type fakeRuntime struct {
	mu      sync.Mutex
	inputs  map[string]func() io.Reader
	outputs map[string]*bytes.Buffer // declared outputs; nil until closed
	created map[string]bool
	closes  map[string]int
	log     bytes.Buffer
}

var _ executor.Runtime = (*fakeRuntime)(nil)

func newRuntime(outputs ...string) *fakeRuntime {
	rt := &fakeRuntime{
		inputs:  map[string]func() io.Reader{},
		outputs: map[string]*bytes.Buffer{},
		created: map[string]bool{},
		closes:  map[string]int{},
	}
	for _, o := range outputs {
		rt.outputs[o] = nil
	}
	return rt
}

// input declares an input with the given content.
func (rt *fakeRuntime) input(name string, data []byte) *fakeRuntime {
	rt.inputs[name] = func() io.Reader { return bytes.NewReader(data) }
	return rt
}

// inputFile declares an input with the content of a testdata file.
func (rt *fakeRuntime) inputFile(t testing.TB, name, path string) *fakeRuntime {
	return rt.input(name, readTestdata(t, path))
}

// inputReader declares an input whose readers come from mk.
func (rt *fakeRuntime) inputReader(name string, mk func() io.Reader) *fakeRuntime {
	rt.inputs[name] = mk
	return rt
}

func (rt *fakeRuntime) OpenInput(name string) (io.ReadCloser, error) {
	rt.mu.Lock()
	defer rt.mu.Unlock()
	mk, ok := rt.inputs[name]
	if !ok {
		return nil, executor.ErrInvalidInput
	}
	return io.NopCloser(mk()), nil
}

func (rt *fakeRuntime) CreateOutput(name string) (io.WriteCloser, error) {
	rt.mu.Lock()
	defer rt.mu.Unlock()
	if _, ok := rt.outputs[name]; !ok {
		return nil, executor.ErrInvalidOutput
	}
	if rt.created[name] {
		return nil, executor.ErrOutputExists
	}
	rt.created[name] = true
	return &fakeOutput{rt: rt, name: name}, nil
}

type fakeOutput struct {
	rt   *fakeRuntime
	name string
	buf  bytes.Buffer
}

func (o *fakeOutput) Write(p []byte) (int, error) { return o.buf.Write(p) }

func (o *fakeOutput) Close() error {
	o.rt.mu.Lock()
	defer o.rt.mu.Unlock()
	o.rt.closes[o.name]++
	if o.rt.closes[o.name] > 1 {
		return fmt.Errorf("output %q closed twice", o.name)
	}
	b := bytes.Clone(o.buf.Bytes())
	o.rt.outputs[o.name] = bytes.NewBuffer(b)
	return nil
}

func (rt *fakeRuntime) Logger(module string) *slog.Logger {
	return slog.New(&lineHandler{rt: rt, module: module})
}

// output returns a closed output's content, failing the test if it was
// not written and closed exactly once.
func (rt *fakeRuntime) output(t testing.TB, name string) []byte {
	t.Helper()
	rt.mu.Lock()
	defer rt.mu.Unlock()
	if rt.closes[name] != 1 {
		t.Fatalf("output %q closed %d times, want 1", name, rt.closes[name])
	}
	return rt.outputs[name].Bytes()
}

func (rt *fakeRuntime) logText() string {
	rt.mu.Lock()
	defer rt.mu.Unlock()
	return rt.log.String()
}

// lineHandler writes "[LEVEL module] message" lines, the task log format.
type lineHandler struct {
	rt     *fakeRuntime
	module string
}

func (h *lineHandler) Enabled(context.Context, slog.Level) bool { return true }

func (h *lineHandler) Handle(_ context.Context, r slog.Record) error {
	h.rt.mu.Lock()
	defer h.rt.mu.Unlock()
	fmt.Fprintf(&h.rt.log, "[%s %s] %s\n", r.Level, h.module, r.Message)
	return nil
}

func (h *lineHandler) WithAttrs([]slog.Attr) slog.Handler { return h }
func (h *lineHandler) WithGroup(string) slog.Handler      { return h }

func readTestdata(t testing.TB, path string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", path))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// function returns the built-in named name from All.
func function(t testing.TB, name string) Function {
	t.Helper()
	for _, f := range All() {
		if f.Name == name {
			return f
		}
	}
	t.Fatalf("no built-in %q", name)
	return Function{}
}

// run runs the named built-in with default limits.
func run(t testing.TB, name, args string, rt *fakeRuntime) ([]byte, error) {
	t.Helper()
	return function(t, name).Run(context.Background(), []byte(args), rt)
}

// sortedLines returns the lines of b, sorted, for comparing outputs whose
// line order Teaclave left to a hash map.
func sortedLines(b []byte) []string {
	l := strings.Split(strings.TrimSuffix(string(b), "\n"), "\n")
	sort.Strings(l)
	return l
}
