package starlark

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"go.starlark.net/starlark"

	"github.com/teaclave-go/teaclave"
)

// TestExamples runs the Starlark versions of Teaclave's Python examples
// and checks Teaclave's expected results: echo, data fusion then word
// count over its output (scenario A7), and optional files with and
// without the input.
func TestExamples(t *testing.T) {
	e := newExecutor(t, Config{})
	ctx := context.Background()
	if got := e.Name(); got != teaclave.ExecutorMesaPy {
		t.Errorf("Name() = %q, want %q", got, teaclave.ExecutorMesaPy)
	}

	echo := readTestdata(t, "echo.star")
	if got, err := run(ctx, e, echo, `{"message":"Hello From Teaclave!"}`, newRuntime(nil)); err != nil || got != "Hello From Teaclave!" {
		t.Errorf("echo: got %q, %v", got, err)
	}

	rt := newRuntime(map[string]string{
		"InPartyA": readTestdata(t, "fusion_input1.txt"),
		"InPartyB": readTestdata(t, "fusion_input2.txt"),
	}, "OutFusionData")
	if got, err := run(ctx, e, readTestdata(t, "data_fusion.star"), `{}`, rt); err != nil || got != "Mixed 5 lines of data" {
		t.Fatalf("data fusion: got %q, %v", got, err)
	}
	fused := rt.Output(t, "OutFusionData")
	// input1 has no newline at its end, so its last line runs into input2.
	if want := "u1_hello\nu1_teaclaveu2_welcome\nu2_to\nu2_teaclave"; fused != want {
		t.Errorf("fused output %q, want %q", fused, want)
	}
	wlc := readTestdata(t, "word_count.star")
	if got, err := run(ctx, e, wlc, `{"query":"teaclave"}`, newRuntime(map[string]string{"InputData": fused})); err != nil || got != "2" {
		t.Errorf("word count: got %q, %v; want 2", got, err)
	}

	optional := readTestdata(t, "optional_files.star")
	train := readTestdata(t, "train.txt")
	if got, err := run(ctx, e, optional, `{}`, newRuntime(map[string]string{"input_data1": train})); err != nil || got != "4.8,3.0,1.4,0.3,3.0\n" {
		t.Errorf("optional files with the input: got %q, %v", got, err)
	}
	if got, err := run(ctx, e, optional, `{}`, newRuntime(nil)); err != nil || got != "input_data1 does not exist" {
		t.Errorf("optional files without the input: got %q, %v", got, err)
	}
}

// TestExecError: a failing payload gives MesaPy's MESAPY_EXEC_ERROR as a
// successful result, with the reason in the log.
func TestExecError(t *testing.T) {
	e := newExecutor(t, Config{})
	for name, c := range map[string]struct{ src, args, log string }{
		"fail":           {readTestdata(t, "echo.star"), `{"text":"hi"}`, "want exactly the argument message"},
		"syntax error":   {"def entrypoint(argv)\n  return ''\n", `{}`, "got newline, want ':'"},
		"python syntax":  {"def entrypoint(argv):\n    assert argv\n    return 'x'\n", `{}`, "payload.py:2"},
		"runtime error":  {"def entrypoint(argv):\n    return argv[5]\n", `{}`, "index 5 out of range"},
		"no entrypoint":  {"x = 1\n", `{}`, "defines no function entrypoint"},
		"not callable":   {"entrypoint = 3\n", `{}`, "defines no function entrypoint"},
		"top level fail": {"fail('at load')\ndef entrypoint(argv):\n    return ''\n", `{}`, "at load"},
		"int result":     {"def entrypoint(argv):\n    return 42\n", `{}`, "returned a int, not a string"},
		"list result":    {"def entrypoint(argv):\n    return ['a']\n", `{}`, "returned a list"},
		"undefined name": {"def entrypoint(argv):\n    return open('/etc/passwd')\n", `{}`, "undefined: open"},
	} {
		rt := newRuntime(nil)
		got, err := run(context.Background(), e, c.src, c.args, rt)
		if err != nil || got != ResultExecError {
			t.Errorf("%s: got %q, %v; want %s", name, got, err, ResultExecError)
			continue
		}
		if log := rt.LogText(); !strings.Contains(log, "[ERROR "+LogModule+"]") || !strings.Contains(log, c.log) {
			t.Errorf("%s: the log %q does not say %q", name, log, c.log)
		}
	}
}

// TestResults: MesaPy's result rules: str and bytes as they are, None
// empty, and over 20480 bytes MESAPY_ERROR_BUFFER_TOO_SHORT; the source
// ends at its first NUL; entrypoint_argv is set; globals stay mutable;
// print goes to the log.
func TestResults(t *testing.T) {
	e := newExecutor(t, Config{})
	for name, c := range map[string]struct{ src, want string }{
		"none":       {"def entrypoint(argv):\n    return None\n", ""},
		"bytes":      {"def entrypoint(argv):\n    return b'\\x00\\xff'\n", "\x00\xff"},
		"max":        {"def entrypoint(argv):\n    return 'y' * 20480\n", strings.Repeat("y", 20480)},
		"too long":   {"def entrypoint(argv):\n    return 'y' * 20481\n", ResultTooLong},
		"nul":        {"def entrypoint(argv):\n    return 'a'\n\x00this is not Starlark(", "a"},
		"argv":       {"def entrypoint(argv):\n    return ','.join(entrypoint_argv) + '|' + ','.join(argv)\n", "k,v|k,v"},
		"mutable":    {"seen = []\ndef entrypoint(argv):\n    seen.append(1)\n    seen.append(2)\n    return str(len(seen))\n", "2"},
		"recursion":  {"def f(n):\n    return 0 if n == 0 else 1 + f(n - 1)\ndef entrypoint(argv):\n    return str(f(500))\n", "500"},
		"set, while": {"def entrypoint(argv):\n    s = set([1, 1, 2])\n    n = 0\n    while n < len(s):\n        n += 1\n    return str(n)\n", "2"},
		"math, json": {"def entrypoint(argv):\n    return json.encode({'r': math.sqrt(16)})\n", `{"r":4.0}`},
		"top level":  {"x = 0\nfor i in range(3):\n    x += i\ndef entrypoint(argv):\n    return str(x)\n", "3"},
	} {
		got, err := run(context.Background(), e, c.src, `{"k":"v"}`, newRuntime(nil))
		if err != nil || got != c.want {
			t.Errorf("%s: got %.40q, %v; want %.40q", name, got, err, c.want)
		}
	}
	rt := newRuntime(nil)
	if _, err := run(context.Background(), e, "def entrypoint(argv):\n    print('hello', 42)\n", `{}`, rt); err != nil {
		t.Fatal(err)
	}
	if log := rt.LogText(); !strings.Contains(log, "[INFO "+PrintModule+"] hello 42") {
		t.Errorf("print did not reach the log: %q", log)
	}
}

// TestArguments: argv is k1, v1, ... in byte-wise key order, string values
// raw and others as compact JSON; arguments that are not an object fail
// the task.
func TestArguments(t *testing.T) {
	e := newExecutor(t, Config{})
	src := "def entrypoint(argv):\n    return '|'.join(argv)\n"
	args := `{"n": 3, "B": true, "l": [1, 2], "s": "a b", "o": {"k": null}, "f": 0.5, "save_log": "true"}`
	if got, err := run(context.Background(), e, src, args, newRuntime(nil)); err != nil || got != `B|true|f|0.5|l|[1,2]|n|3|o|{"k":null}|s|a b|save_log|true` {
		t.Errorf("got %q, %v", got, err)
	}
	if got, err := run(context.Background(), e, src, ``, newRuntime(nil)); err != nil || got != "" {
		t.Errorf("no arguments: got %q, %v", got, err)
	}
	for _, bad := range []string{`[1]`, `null`, `{"a":`, `"s"`} {
		if got, err := run(context.Background(), e, src, bad, newRuntime(nil)); err == nil {
			t.Errorf("%s: got %q, want an error", bad, got)
		}
	}
}

// waitDone fails the test if f does not return within a generous bound:
// a guard against a hang, not a timing assertion.
func waitDone(t *testing.T, what string, f func()) {
	t.Helper()
	done := make(chan struct{})
	go func() {
		defer close(done)
		f()
	}()
	select {
	case <-done:
	case <-time.After(60 * time.Second):
		t.Fatalf("%s did not return", what)
	}
}

// TestDeadLoop: the dead-loop payload is stopped by a cancel, by the
// task's deadline and by the step limit; the first two return the
// context's error, the last fails the task with the reason.
func TestDeadLoop(t *testing.T) {
	src := readTestdata(t, "dead_loop.star")
	e := newExecutor(t, Config{})
	ctx, cancel := context.WithCancel(context.Background())
	time.AfterFunc(50*time.Millisecond, cancel)
	var err error
	waitDone(t, "the canceled loop", func() { _, err = run(ctx, e, src, `{}`, newRuntime(nil)) })
	if !errors.Is(err, context.Canceled) {
		t.Errorf("cancel: got %v", err)
	}

	ctx, cancel = context.WithTimeout(context.Background(), 50*time.Millisecond)
	waitDone(t, "the timed-out loop", func() { _, err = run(ctx, e, src, `{}`, newRuntime(nil)) })
	cancel()
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("deadline: got %v", err)
	}

	e = newExecutor(t, Config{MaxSteps: 1_000_000})
	waitDone(t, "the loop over its steps", func() { _, err = run(context.Background(), e, src, `{}`, newRuntime(nil)) })
	if err == nil || !strings.Contains(err.Error(), "limit of 1000000 Starlark steps") {
		t.Errorf("step limit: got %v", err)
	}
	// Under the limit, the same executor runs the next task.
	if got, err := run(context.Background(), e, "def entrypoint(argv):\n    return 'ok'\n", `{}`, newRuntime(nil)); err != nil || got != "ok" {
		t.Errorf("after the step limit: got %q, %v", got, err)
	}
}

// TestBigString: a payload building a 1 GiB string is stopped by the heap
// watchdog, and one asking for it at once by the operation guard;
// the test process stays up either way and runs the next task.
func TestBigString(t *testing.T) {
	e := newExecutor(t, Config{HeapBudget: 32 << 20})
	var got string
	var err error
	waitDone(t, "the 1 GiB string", func() {
		got, err = run(context.Background(), e, readTestdata(t, "big_string.star"), `{}`, newRuntime(nil))
	})
	if err == nil || !strings.Contains(err.Error(), "heap budget of 32 MiB") {
		t.Errorf("doubling: got %.40q, %v; want the heap budget error", got, err)
	}
	rt := newRuntime(nil)
	got, err = run(context.Background(), e, "def entrypoint(argv):\n    return 'x' * (1 << 30)\n", `{}`, rt)
	if err != nil || got != ResultExecError || !strings.Contains(rt.LogText(), "Error in *: repetition would take 1073741824 bytes") {
		t.Errorf("repeat: got %.40q, %v, log %q", got, err, rt.LogText())
	}
	if got, err := run(context.Background(), e, readTestdata(t, "echo.star"), `{"message":"still up"}`, newRuntime(nil)); err != nil || got != "still up" {
		t.Errorf("after: got %q, %v", got, err)
	}
}

// TestHeapWatchDefaults: the default budget also stops the 1 GiB string.
func TestHeapWatchDefaults(t *testing.T) {
	if testing.Short() {
		t.Skip("allocates up to about 1 GiB")
	}
	e := newExecutor(t, Config{})
	var err error
	waitDone(t, "the 1 GiB string", func() {
		_, err = run(context.Background(), e, readTestdata(t, "big_string.star"), `{}`, newRuntime(nil))
	})
	if err == nil || !strings.Contains(err.Error(), "heap budget of 512 MiB") {
		t.Errorf("got %v; want the heap budget error", err)
	}
}

// TestSandbox: a payload reaches no host file, network, clock,
// randomness or module: the names it could use are exactly Starlark's
// built-ins and ours, load fails, and teaclave_open reaches only the
// task's declared files.
func TestSandbox(t *testing.T) {
	e := newExecutor(t, Config{})
	var names []string
	for name := range starlark.Universe {
		names = append(names, name)
	}
	for name := range e.predeclared {
		names = append(names, name)
	}
	slices.Sort(names)
	names = slices.Compact(names)
	want := []string{"False", "None", "True", "__teaclave_attr", "__teaclave_iter", "__teaclave_mod", "__teaclave_mul", "abs", "all", "any", "bool", "bytes", "chr", "dict", "dir",
		"enumerate", "fail", "float", "getattr", "hasattr", "hash", "int", "json", "len", "list", "math",
		"max", "min", "ord", "print", "range", "repr", "reversed", "set", "sorted", "str", "teaclave",
		"teaclave_has_input", "teaclave_open", "tuple", "type", "zip"}
	if !slices.Equal(names, want) {
		t.Errorf("a payload sees %v\nwant only %v", names, want)
	}
	for name, c := range map[string]struct{ src, log string }{
		"load":           {"load('os', 'system')\ndef entrypoint(argv):\n    return ''\n", "load is not available"},
		"load json":      {"load('json.star', 'x')\ndef entrypoint(argv):\n    return ''\n", "load is not available"},
		"host path":      {"def entrypoint(argv):\n    return teaclave_open('/etc/passwd', 'rb').read()\n", "fileio_init: teaclave_ffi_error"},
		"relative path":  {"def entrypoint(argv):\n    return teaclave_open('../in', 'rb').read()\n", "fileio_init: teaclave_ffi_error"},
		"output as path": {"def entrypoint(argv):\n    return teaclave_open('/tmp/x', 'wb').write('x')\n", "fileio_init: teaclave_ffi_error"},
		"time":           {"def entrypoint(argv):\n    return str(time.now())\n", "undefined: time"},
		"random":         {"def entrypoint(argv):\n    return str(random.random())\n", "undefined: random"},
		"socket":         {"def entrypoint(argv):\n    return socket.connect('127.0.0.1:80')\n", "undefined: socket"},
		"import":         {"import os\ndef entrypoint(argv):\n    return ''\n", "payload.py:1"},
		"class":          {"class A:\n    pass\ndef entrypoint(argv):\n    return ''\n", "payload.py:1"},
	} {
		rt := newRuntime(map[string]string{"in": "data"}, "out")
		got, err := run(context.Background(), e, c.src, `{}`, rt)
		if err != nil || got != ResultExecError || !strings.Contains(rt.LogText(), c.log) {
			t.Errorf("%s: got %q, %v, log %q; want %s and %q", name, got, err, rt.LogText(), ResultExecError, c.log)
		}
	}
}

// TestConcurrentTasks runs payloads at once on one executor (run it with
// -race): each task has its own files, limits and globals.
func TestConcurrentTasks(t *testing.T) {
	e := newExecutor(t, Config{})
	src := "total = [0]\ndef entrypoint(argv):\n    f = teaclave_open('out', 'wb')\n    for line in teaclave_open('in', 'rb'):\n        total[0] += int(line.strip())\n    f.write(str(total[0]))\n    return str(total[0])\n"
	var wg sync.WaitGroup
	for i := range 16 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			rt := newRuntime(map[string]string{"in": fmt.Sprintf("%d\n%d\n", i, i)}, "out")
			got, err := run(context.Background(), e, src, `{}`, rt)
			out, closed := rt.Written("out")
			if want := fmt.Sprint(2 * i); err != nil || got != want || !closed || out != want {
				t.Errorf("task %d: got %q, %v, output %q", i, got, err, out)
			}
		}()
	}
	wg.Wait()
}

// TestConfig: Defaults fills every field and Validate refuses bad ones.
func TestConfig(t *testing.T) {
	c := Config{}.Defaults()
	if err := c.Validate(); err != nil {
		t.Fatal(err)
	}
	for name, bad := range map[string]Config{
		"budget":   {HeapBudget: 1000},
		"interval": {HeapCheckInterval: time.Nanosecond},
		"slow":     {HeapCheckInterval: time.Hour},
	} {
		if _, err := New(bad); err == nil {
			t.Errorf("%s: New accepted %+v", name, bad)
		}
	}
}
