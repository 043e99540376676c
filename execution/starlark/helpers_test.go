package starlark

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"testing"

	"github.com/teaclave-go/teaclave/execution/executor"
	"github.com/teaclave-go/teaclave/execution/executor/xtest"
)

// fakeRuntime is the in-memory executor.Runtime of executor/xtest.
type fakeRuntime = xtest.Runtime

func newRuntime(inputs map[string]string, outputs ...string) *fakeRuntime {
	return xtest.NewRuntime(inputs, outputs...)
}

// task returns a task running src with the arguments args (a JSON object)
// and the inputs of rt.
func task(src, args string, rt *fakeRuntime) *executor.Task {
	return &executor.Task{Payload: []byte(src), Arguments: json.RawMessage(args), Inputs: rt.Inputs()}
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
