// Package executor defines what an executor is: the code that runs one
// kind of function (built-in Go functions, WebAssembly, Python) inside an
// execution node. The node stages a task's files and hands the executor
// the task and a Runtime through which the function reads its inputs,
// writes its outputs and logs, all by name: an executor never sees a host
// path, a URL, a key or ciphertext.
//
// Executors are plugged in through an fx value group (group:"executors"),
// one per teaclave.Executor, never through a global registry; the
// execution node runs a task with the executor registered for the task's
// Executor. This package is separate from package execution so that
// executor packages (execution/builtin, ...) can implement the interface
// without importing the node.
package executor

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"log/slog"

	"github.com/teaclave-go/teaclave"
)

// Executor runs functions of one kind.
type Executor interface {
	// Name is the executor a task asks for (protocol §4.3): tasks whose
	// Executor is Name are run by this executor.
	Name() teaclave.Executor
	// Execute runs task. A returned error fails the task: its message is
	// the task's failure reason, as the function's users see it, so it
	// must not contain secrets (keys, file contents). Execute must return
	// soon after ctx ends (cancellation or the task's time limit).
	Execute(ctx context.Context, task *Task, rt Runtime) (Result, error)
}

// Task is what an executor runs.
type Task struct {
	// ID is the task's id.
	ID teaclave.ID
	// FunctionName selects a built-in function; other executors ignore
	// it.
	FunctionName string
	// ExecutorType is the function's type; Executor the runtime the task
	// asked for. The node checks that they pair before calling Execute.
	ExecutorType teaclave.ExecutorType
	Executor     teaclave.Executor
	// Payload is the function's code (ignored by built-ins). Shared with
	// the node's cache: read it, never change it.
	Payload []byte
	// Arguments is the merged argument object, compact JSON with keys in
	// sorted order (protocol §4.6).
	Arguments json.RawMessage
	// Inputs and Outputs are the names of the files the task has,
	// sorted.
	Inputs  []string
	Outputs []string
}

// Result is what a function returned.
type Result struct {
	// ReturnValue is the function's summary (the task result's
	// return_value).
	ReturnValue []byte
}

// Runtime is a task's view of its files and log. Its methods are safe for
// concurrent use by the task's goroutines.
type Runtime interface {
	// OpenInput returns the plaintext of the named input, from its start.
	// Each call returns an independent reader. An undeclared name is
	// ErrInvalidInput.
	OpenInput(name string) (io.ReadCloser, error)
	// CreateOutput returns a writer of the named output's plaintext; the
	// output is complete when the writer is closed. An undeclared name is
	// ErrInvalidOutput; an output is created once (ErrOutputExists).
	CreateOutput(name string) (io.WriteCloser, error)
	// Logger returns a logger for the function's own log lines, recorded
	// as "[<LEVEL> <module>] <message>" in the task's log when the task
	// asked for it (save_log), and discarded otherwise. The lines never
	// reach the node's own log, which the host can read.
	Logger(module string) *slog.Logger
}

// Errors a Runtime returns, with Teaclave's texts (functions.md §1.3).
var (
	ErrInvalidInput  = errors.New("Invalid input file identifier.")
	ErrInvalidOutput = errors.New("Invalid output file identifier")
	ErrOutputExists  = errors.New("output file already created")
)
