package starlark

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
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

// task returns a task running src with the arguments args (a JSON object)
// and the inputs of rt.
func task(src, args string, rt *fakeRuntime) *executor.Task {
	var inputs []string
	for name := range rt.inputs {
		inputs = append(inputs, name)
	}
	return &executor.Task{Payload: []byte(src), Arguments: json.RawMessage(args), Inputs: inputs}
}

// run runs src and returns its result as a string.
func run(ctx context.Context, e *Executor, src, args string, rt *fakeRuntime) (string, error) {
	res, err := e.Execute(ctx, task(src, args, rt), rt)
	return string(res.ReturnValue), err
}

func readTestdata(t testing.TB, name string) string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func newExecutor(t testing.TB, cfg Config) *Executor {
	t.Helper()
	e, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return e
}
