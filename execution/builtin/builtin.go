package builtin

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"

	"github.com/teaclave-go/teaclave"
	"github.com/teaclave-go/teaclave/execution/builtin/functions"
	"github.com/teaclave-go/teaclave/execution/executor"
)

// Function is a built-in function.
type Function struct {
	// Name is the name functions are registered under, e.g.
	// "builtin-echo".
	Name string
	// Run runs the function on the task's merged arguments (a JSON object)
	// and returns its summary. Its error's message becomes the task's
	// failure reason; it must not contain secrets.
	Run func(ctx context.Context, args json.RawMessage, rt executor.Runtime) (string, error)
}

// Executor runs built-in functions.
type Executor struct {
	fns map[string]Function
}

var _ executor.Executor = (*Executor)(nil)

// ErrFunctionNotFound is Teaclave's error for an unknown built-in.
var ErrFunctionNotFound = errors.New("Function not found.")

// ErrArguments is Teaclave's error for arguments a built-in cannot use.
var ErrArguments = functions.ErrArguments

// Functions returns the built-in functions this package ships: echo and
// the functions of package functions.
func Functions() []Function {
	fns := []Function{{Name: "builtin-echo", Run: Echo}}
	for _, f := range functions.All() {
		run := f.Run
		fns = append(fns, Function{Name: f.Name, Run: func(ctx context.Context, args json.RawMessage, rt executor.Runtime) (string, error) {
			out, err := run(ctx, args, rt)
			return string(out), err
		}})
	}
	return fns
}

// New returns an executor of Functions() and extra; a function of extra
// replaces a shipped one of the same name.
func New(extra ...Function) (*Executor, error) {
	e := &Executor{fns: map[string]Function{}}
	for _, f := range append(Functions(), extra...) {
		if f.Name == "" || f.Run == nil {
			return nil, fmt.Errorf("builtin: function %q needs a name and a Run", f.Name)
		}
		e.fns[f.Name] = f
	}
	return e, nil
}

// Name implements executor.Executor.
func (e *Executor) Name() teaclave.Executor { return teaclave.ExecutorBuiltin }

// Execute implements executor.Executor.
func (e *Executor) Execute(ctx context.Context, task *executor.Task, rt executor.Runtime) (executor.Result, error) {
	f, ok := e.fns[task.FunctionName]
	if !ok {
		return executor.Result{}, ErrFunctionNotFound
	}
	if err := ctx.Err(); err != nil {
		return executor.Result{}, err
	}
	out, err := f.Run(ctx, task.Arguments, rt)
	if err != nil {
		return executor.Result{}, err
	}
	return executor.Result{ReturnValue: []byte(out)}, nil
}

// Echo is builtin-echo: it returns its argument "message" (a JSON string)
// unchanged and logs it at INFO under teaclave_function::echo, so that a
// task with save_log has the line "[INFO teaclave_function::echo] <message>"
// in its log.
func Echo(_ context.Context, args json.RawMessage, rt executor.Runtime) (string, error) {
	var a struct {
		Message *string `json:"message"`
	}
	if err := json.Unmarshal(args, &a); err != nil || a.Message == nil {
		return "", ErrArguments
	}
	rt.Logger("teaclave_function::echo").Info(*a.Message)
	return *a.Message, nil
}
