package execution

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"slices"
	"strings"
	"sync"

	"github.com/teaclave-go/teaclave/execution/executor"
	"github.com/teaclave-go/teaclave/execution/fileagent"
)

// taskRuntime is a task's executor.Runtime: its staged inputs, the outputs
// it writes and its log.
type taskRuntime struct {
	scratch     *fileagent.Scratch
	inputs      map[string]*fileagent.Buffer
	outputNames []string
	maxFile     int64
	log         *taskLog

	mu      sync.Mutex
	outputs map[string]*output
}

type output struct {
	buf    *fileagent.Buffer
	closed bool
}

var _ executor.Runtime = (*taskRuntime)(nil)

func newRuntime(scratch *fileagent.Scratch, inputs map[string]*fileagent.Buffer, outputs []string, saveLog bool, maxLog int, maxFile int64) *taskRuntime {
	return &taskRuntime{
		scratch: scratch, inputs: inputs, outputNames: outputs, maxFile: maxFile,
		log: &taskLog{on: saveLog, max: maxLog}, outputs: map[string]*output{},
	}
}

// OpenInput implements executor.Runtime.
func (rt *taskRuntime) OpenInput(name string) (io.ReadCloser, error) {
	b, ok := rt.inputs[name]
	if !ok {
		return nil, executor.ErrInvalidInput
	}
	return io.NopCloser(b.Reader()), nil
}

// CreateOutput implements executor.Runtime.
func (rt *taskRuntime) CreateOutput(name string) (io.WriteCloser, error) {
	if !slices.Contains(rt.outputNames, name) {
		return nil, executor.ErrInvalidOutput
	}
	rt.mu.Lock()
	defer rt.mu.Unlock()
	if _, ok := rt.outputs[name]; ok {
		return nil, executor.ErrOutputExists
	}
	o := &output{buf: rt.scratch.NewBuffer(rt.maxFile)}
	rt.outputs[name] = o
	return &outputWriter{rt: rt, o: o}, nil
}

type outputWriter struct {
	rt *taskRuntime
	o  *output
}

func (w *outputWriter) Write(p []byte) (int, error) {
	w.rt.mu.Lock()
	closed := w.o.closed
	w.rt.mu.Unlock()
	if closed {
		return 0, errors.New("output already closed")
	}
	return w.o.buf.Write(p)
}

func (w *outputWriter) Close() error {
	w.rt.mu.Lock()
	defer w.rt.mu.Unlock()
	w.o.closed = true
	return nil
}

// finished returns an output's plaintext once the function closed it.
func (rt *taskRuntime) finished(name string) (*fileagent.Buffer, error) {
	rt.mu.Lock()
	defer rt.mu.Unlock()
	o, ok := rt.outputs[name]
	switch {
	case !ok:
		return nil, errors.New("the function did not write it")
	case !o.closed:
		return nil, errors.New("the function did not close it")
	}
	return o.buf, nil
}

// Logger implements executor.Runtime.
func (rt *taskRuntime) Logger(module string) *slog.Logger {
	return slog.New(&logHandler{log: rt.log, module: module})
}

// taskLog collects a task's own log lines, when the task asked for them,
// up to max bytes.
type taskLog struct {
	on  bool
	max int

	mu    sync.Mutex
	size  int
	cut   bool
	items []string
}

func (l *taskLog) add(line string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.cut {
		return
	}
	if l.size+len(line) > l.max {
		l.cut = true
		l.items = append(l.items, "[WARN teaclave_execution] log cut at its size limit")
		return
	}
	l.size += len(line)
	l.items = append(l.items, line)
}

func (l *taskLog) lines() []string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return append([]string{}, l.items...)
}

// logHandler formats records as Teaclave's task logs do:
// "[<LEVEL> <module>] <message>", attributes after the message as
// key=value.
type logHandler struct {
	log    *taskLog
	module string
	attrs  []slog.Attr
	group  string
}

func (h *logHandler) Enabled(context.Context, slog.Level) bool { return h.log.on }

func (h *logHandler) Handle(_ context.Context, r slog.Record) error {
	var b strings.Builder
	b.WriteString("[")
	b.WriteString(levelName(r.Level))
	b.WriteString(" ")
	b.WriteString(h.module)
	b.WriteString("] ")
	b.WriteString(r.Message)
	write := func(a slog.Attr) bool {
		if a.Equal(slog.Attr{}) {
			return true
		}
		b.WriteString(" ")
		if h.group != "" {
			b.WriteString(h.group + ".")
		}
		b.WriteString(a.Key)
		b.WriteString("=")
		b.WriteString(a.Value.Resolve().String())
		return true
	}
	for _, a := range h.attrs {
		write(a)
	}
	r.Attrs(write)
	h.log.add(b.String())
	return nil
}

func (h *logHandler) WithAttrs(attrs []slog.Attr) slog.Handler {
	c := *h
	c.attrs = append(slices.Clip(h.attrs), attrs...)
	return &c
}

func (h *logHandler) WithGroup(name string) slog.Handler {
	c := *h
	if c.group != "" {
		name = c.group + "." + name
	}
	c.group = name
	return &c
}

// levelName spells levels as Rust's log crate does.
func levelName(l slog.Level) string {
	switch {
	case l < slog.LevelDebug:
		return "TRACE"
	case l < slog.LevelInfo:
		return "DEBUG"
	case l < slog.LevelWarn:
		return "INFO"
	case l < slog.LevelError:
		return "WARN"
	}
	return "ERROR"
}
