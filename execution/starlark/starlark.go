package starlark

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"sync/atomic"

	starlarkmath "go.starlark.net/lib/math"
	"go.starlark.net/starlark"
	"go.starlark.net/starlarkstruct"
	"go.starlark.net/syntax"

	"github.com/teaclave-go/teaclave"
	"github.com/teaclave-go/teaclave/execution/executor"
)

// MesaPy's result strings, successful results in Teaclave (functions.md
// §3.2).
const (
	// ResultExecError is the result of a payload that failed: any error,
	// or an entrypoint returning something other than a string.
	ResultExecError = "MESAPY_EXEC_ERROR"
	// ResultTooLong is the result of a payload returning more than
	// MaxResult bytes.
	ResultTooLong = "MESAPY_ERROR_BUFFER_TOO_SHORT"
	// MaxResult is the longest result MesaPy returned (MAXPYBUFLEN).
	MaxResult = 20480
)

// LogModule is the module name of the executor's own lines in a task's
// log: why a payload failed. What a payload prints is logged under
// PrintModule.
const (
	LogModule   = "teaclave_executor::mesapy"
	PrintModule = "teaclave_function::python"
)

// fileOptions enables what Python has and core Starlark makes optional.
var fileOptions = syntax.FileOptions{
	Set:             true,
	While:           true,
	TopLevelControl: true,
	GlobalReassign:  true,
	Recursion:       true,
}

// Executor runs Python-style functions (type "python", executor
// "mesapy") written in Starlark. It is safe for concurrent use.
type Executor struct {
	cfg Config
	// predeclared is what every payload sees besides Starlark's
	// built-ins: frozen, so shared by tasks.
	predeclared starlark.StringDict
}

var _ executor.Executor = (*Executor)(nil)

// New returns an Executor configured by cfg (after Defaults).
func New(cfg Config) (*Executor, error) {
	cfg = cfg.Defaults()
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	open := starlark.NewBuiltin("teaclave_open", teaclaveOpen)
	hasInput := starlark.NewBuiltin("teaclave_has_input", teaclaveHasInput)
	g := newGuard(cfg.MaxOperationBytes)
	// The guarded built-ins take the place of Starlark's own.
	predeclared := g.universe()
	for name, v := range (starlark.StringDict{
		"teaclave_open":      open,
		"teaclave_has_input": hasInput,
		// MesaPy's module teaclave, as a value: teaclave.open(...).
		"teaclave": &starlarkstruct.Module{Name: "teaclave", Members: starlark.StringDict{
			"open": open, "has_input": hasInput,
		}},
		"math": starlarkmath.Module,
		"json": g.json(),
	}) {
		predeclared[name] = v
	}
	predeclared.Freeze()
	return &Executor{cfg: cfg, predeclared: predeclared}, nil
}

// Name implements executor.Executor: tasks that ask for "mesapy".
func (e *Executor) Name() teaclave.Executor { return teaclave.ExecutorMesaPy }

// Limits that stop a payload; they fail the task.
var (
	errStepLimit  = errors.New("step limit")
	errHeapBudget = errors.New("heap budget")
)

// Execute implements executor.Executor. It runs the payload's top level,
// then entrypoint(argv) with argv the task's arguments as a flat list of
// strings, and returns the string entrypoint returns. As in MesaPy, a
// payload that fails (a syntax error, a runtime error, fail(), no
// entrypoint, a result that is not a string) yields the successful result
// MESAPY_EXEC_ERROR and one over 20480 bytes MESAPY_ERROR_BUFFER_TOO_SHORT,
// with the reason in the task's log. A payload over its step limit or
// heap budget, or bad arguments, fail the task. A canceled or timed-out
// ctx stops the payload and returns ctx's error.
func (e *Executor) Execute(ctx context.Context, task *executor.Task, rt executor.Runtime) (executor.Result, error) {
	argv, err := executor.Argv(task.Arguments)
	if err != nil {
		return executor.Result{}, err
	}
	if err := ctx.Err(); err != nil {
		return executor.Result{}, err
	}
	log := rt.Logger(LogModule)
	printLog := rt.Logger(PrintModule)
	fs := &files{rt: rt, log: log, inputs: map[string]bool{}}
	for _, in := range task.Inputs {
		fs.inputs[in] = true
	}

	var limit atomic.Pointer[error]
	stop := func(why error) {
		limit.CompareAndSwap(nil, &why)
	}
	thread := &starlark.Thread{
		Name:  "task " + task.ID.String(),
		Print: func(_ *starlark.Thread, msg string) { printLog.Info(msg) },
		Load: func(*starlark.Thread, string) (starlark.StringDict, error) {
			return nil, errors.New("load is not available: payloads cannot import modules")
		},
		OnMaxSteps: func(th *starlark.Thread) {
			stop(errStepLimit)
			th.Cancel("step limit reached")
		},
	}
	thread.SetMaxExecutionSteps(e.cfg.MaxSteps)
	thread.SetLocal(filesKey, fs)

	// Stop the thread when ctx ends or the heap passes its budget.
	wctx, cancel := context.WithCancel(ctx)
	defer cancel()
	var wg sync.WaitGroup
	wg.Add(2)
	go func() {
		defer wg.Done()
		<-wctx.Done()
		thread.Cancel("the task was stopped")
	}()
	go func() {
		defer wg.Done()
		w := heapWatch{budget: e.cfg.HeapBudget, interval: e.cfg.HeapCheckInterval, gcEvery: 5 * e.cfg.HeapCheckInterval,
			exceeded: func(int64) {
				stop(errHeapBudget)
				thread.Cancel("heap budget exceeded")
			}}
		w.watch(wctx)
	}()
	// The payload runs on a goroutine of its own: when ctx ends, Execute
	// returns at once even if a built-in call keeps the thread busy a
	// while before it sees the cancellation (then it closes the files).
	type outcome struct {
		value starlark.Value
		err   error
	}
	done := make(chan outcome, 1)
	go func() {
		v, err := e.run(thread, task.Payload, argv)
		fs.closeAll()
		done <- outcome{v, err}
	}()
	var o outcome
	select {
	case o = <-done:
	case <-ctx.Done():
		return executor.Result{}, ctx.Err()
	}
	cancel()
	wg.Wait()
	value, runErr := o.value, o.err

	if err := ctx.Err(); err != nil {
		return executor.Result{}, err
	}
	if p := limit.Load(); p != nil {
		switch *p {
		case errStepLimit:
			return executor.Result{}, fmt.Errorf("the function exceeded its limit of %d Starlark steps", e.cfg.MaxSteps)
		default:
			return executor.Result{}, fmt.Errorf("the function exceeded its heap budget of %d MiB", e.cfg.HeapBudget>>20)
		}
	}
	if runErr != nil {
		logFailure(log, runErr)
		return executor.Result{ReturnValue: []byte(ResultExecError)}, nil
	}
	var out string
	switch v := value.(type) {
	case starlark.String:
		out = string(v)
	case starlark.Bytes:
		out = string(v)
	case starlark.NoneType:
	default:
		log.Error(fmt.Sprintf("entrypoint returned a %s, not a string", value.Type()))
		return executor.Result{ReturnValue: []byte(ResultExecError)}, nil
	}
	if len(out) > MaxResult {
		log.Error(fmt.Sprintf("entrypoint returned %d bytes, more than the %d a result holds", len(out), MaxResult))
		return executor.Result{ReturnValue: []byte(ResultTooLong)}, nil
	}
	return executor.Result{ReturnValue: []byte(out)}, nil
}

// run compiles the payload, runs its top level and calls entrypoint.
func (e *Executor) run(thread *starlark.Thread, payload []byte, argv []string) (starlark.Value, error) {
	// Teaclave handed the source to C with a NUL after it: it ended at the
	// first NUL.
	if i := bytes.IndexByte(payload, 0); i >= 0 {
		payload = payload[:i]
	}
	predeclared := e.predeclared
	opts := fileOptions
	f, err := opts.Parse("payload.py", payload, 0)
	if err != nil {
		return nil, err
	}
	if err := rewrite(f); err != nil {
		return nil, err
	}
	prog, err := starlark.FileProgram(f, func(name string) bool {
		return predeclared.Has(name) || name == "entrypoint_argv"
	})
	if err != nil {
		return nil, err
	}
	args := make([]starlark.Value, len(argv))
	for i, a := range argv {
		args[i] = starlark.String(a)
	}
	list := starlark.NewList(args)
	// MesaPy also set the global entrypoint_argv.
	env := make(starlark.StringDict, len(predeclared)+1)
	for k, v := range predeclared {
		env[k] = v
	}
	env["entrypoint_argv"] = list
	// Init, not ExecFile: the globals stay mutable, as in Python.
	globals, err := prog.Init(thread, env)
	if err != nil {
		return nil, err
	}
	entry, ok := globals["entrypoint"].(starlark.Callable)
	if !ok {
		return nil, errors.New("the payload defines no function entrypoint")
	}
	return starlark.Call(thread, entry, starlark.Tuple{list}, nil)
}

// logFailure puts a payload's error, with its Starlark backtrace, in the
// task's log.
func logFailure(log *slog.Logger, err error) {
	var ee *starlark.EvalError
	if errors.As(err, &ee) {
		log.Error("the function failed: " + ee.Backtrace())
		return
	}
	log.Error("the function failed: " + err.Error())
}
