// Package xtest helps test executors: Runtime is an in-memory
// executor.Runtime with declared inputs and outputs and a log that is
// always on, so an executor's tests need no execution node.
package xtest

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"maps"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/teaclave-go/teaclave/execution/executor"
)

// Runtime is an in-memory executor.Runtime. It is safe for concurrent use.
type Runtime struct {
	mu      sync.Mutex
	inputs  map[string][]byte
	outputs map[string]*output
	logs    []string
}

type output struct {
	created, closed bool
	buf             bytes.Buffer
}

var _ executor.Runtime = (*Runtime)(nil)

// NewRuntime returns a runtime with the given inputs (name → content) and
// declared outputs.
func NewRuntime(inputs map[string]string, outputs ...string) *Runtime {
	rt := &Runtime{inputs: map[string][]byte{}, outputs: map[string]*output{}}
	for k, v := range inputs {
		rt.inputs[k] = []byte(v)
	}
	for _, o := range outputs {
		rt.outputs[o] = &output{}
	}
	return rt
}

// OpenInput implements executor.Runtime.
func (rt *Runtime) OpenInput(name string) (io.ReadCloser, error) {
	b, ok := rt.inputs[name]
	if !ok {
		return nil, executor.ErrInvalidInput
	}
	return io.NopCloser(bytes.NewReader(b)), nil
}

// CreateOutput implements executor.Runtime.
func (rt *Runtime) CreateOutput(name string) (io.WriteCloser, error) {
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
	return &writer{rt: rt, o: o}, nil
}

type writer struct {
	rt *Runtime
	o  *output
}

func (w *writer) Write(p []byte) (int, error) {
	w.rt.mu.Lock()
	defer w.rt.mu.Unlock()
	if w.o.closed {
		return 0, errors.New("output closed")
	}
	return w.o.buf.Write(p)
}

func (w *writer) Close() error {
	w.rt.mu.Lock()
	defer w.rt.mu.Unlock()
	w.o.closed = true
	return nil
}

// Inputs returns the names of the declared inputs, sorted.
func (rt *Runtime) Inputs() []string {
	rt.mu.Lock()
	defer rt.mu.Unlock()
	return slices.Sorted(maps.Keys(rt.inputs))
}

// Outputs returns the names of the declared outputs, sorted.
func (rt *Runtime) Outputs() []string {
	rt.mu.Lock()
	defer rt.mu.Unlock()
	return slices.Sorted(maps.Keys(rt.outputs))
}

// Written returns an output's content so far and whether it was closed.
func (rt *Runtime) Written(name string) (content string, closed bool) {
	rt.mu.Lock()
	defer rt.mu.Unlock()
	o := rt.outputs[name]
	if o == nil {
		return "", false
	}
	return o.buf.String(), o.closed
}

// Output returns a closed output's content; it fails the test if the
// function did not create and close it.
func (rt *Runtime) Output(t testing.TB, name string) string {
	t.Helper()
	rt.mu.Lock()
	defer rt.mu.Unlock()
	o := rt.outputs[name]
	if o == nil || !o.created || !o.closed {
		t.Fatalf("output %s was not written and closed", name)
	}
	return o.buf.String()
}

// Logger implements executor.Runtime: lines are recorded as
// "[<LEVEL> <module>] <message>".
func (rt *Runtime) Logger(module string) *slog.Logger {
	return slog.New(&logHandler{rt: rt, module: module})
}

// LogText returns the recorded log lines, one per line.
func (rt *Runtime) LogText() string {
	rt.mu.Lock()
	defer rt.mu.Unlock()
	return strings.Join(rt.logs, "\n")
}

type logHandler struct {
	rt     *Runtime
	module string
}

func (h *logHandler) Enabled(context.Context, slog.Level) bool { return true }

func (h *logHandler) Handle(_ context.Context, r slog.Record) error {
	h.rt.mu.Lock()
	defer h.rt.mu.Unlock()
	h.rt.logs = append(h.rt.logs, fmt.Sprintf("[%s %s] %s", r.Level, h.module, r.Message))
	return nil
}

func (h *logHandler) WithAttrs([]slog.Attr) slog.Handler { return h }
func (h *logHandler) WithGroup(string) slog.Handler      { return h }
