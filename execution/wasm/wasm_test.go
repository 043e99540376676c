package wasm

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/teaclave-go/teaclave"
)

// TestSimpleAdd is scenario A8's first half: simple_add with adder1 3 and
// adder2 4 returns 7, whatever order the keys come in and whether the
// values are JSON strings or numbers (numbers reach argv as JSON text).
func TestSimpleAdd(t *testing.T) {
	wasm := payload(t, "simple_add")
	for _, eng := range engines {
		e := newExecutor(t, Config{Engine: eng})
		for _, args := range []string{
			`{"adder1":"3","adder2":"4"}`,
			`{"adder2":"4","adder1":"3"}`,
			`{"adder1":3,"adder2":4}`,
		} {
			got, err := run(context.Background(), e, wasm, args, newRuntime(nil))
			if err != nil || got != "7" {
				t.Errorf("%s %s: got %q, %v; want 7", eng, args, got, err)
			}
		}
		// Fewer than four argv strings: the payload's own -1, as text.
		if got, err := run(context.Background(), e, wasm, `{"adder1":"3"}`, newRuntime(nil)); err != nil || got != "-1" {
			t.Errorf("%s one argument: got %q, %v; want -1", eng, got, err)
		}
	}
	if got := (&Executor{}).Name(); got != teaclave.ExecutorWAMR {
		t.Errorf("Name() = %q, want %q", got, teaclave.ExecutorWAMR)
	}
}

// TestMillionaire is Teaclave's WAMR unit test: inputs 4211037 and
// 1008611 give summary 7 and the output pf_in_a (its expected_output.txt).
func TestMillionaire(t *testing.T) {
	wasm := payload(t, "millionaire")
	a, b := readTestdata(t, "millionaire_a.txt"), readTestdata(t, "millionaire_b.txt")
	want := readTestdata(t, "millionaire_expected.txt")
	args := `{"input_file_id1":"pf_in_a","input_file_id2":"pf_in_b","output_file_id":"pf_out"}`
	for _, eng := range engines {
		e := newExecutor(t, Config{Engine: eng})
		rt := newRuntime(map[string]string{"pf_in_a": a, "pf_in_b": b}, "pf_out")
		got, err := run(context.Background(), e, wasm, args, rt)
		if err != nil || got != "7" {
			t.Fatalf("%s: got %q, %v; want 7", eng, got, err)
		}
		if out := rt.Output(t, "pf_out"); out != want {
			t.Errorf("%s: output %q, want %q", eng, out, want)
		}
		// The other way round, the other party is richer.
		rt = newRuntime(map[string]string{"pf_in_a": b, "pf_in_b": a}, "pf_out")
		if got, err := run(context.Background(), e, wasm, args, rt); err != nil || got != "7" {
			t.Fatalf("%s swapped: got %q, %v", eng, got, err)
		}
		if out := rt.Output(t, "pf_out"); out != "pf_in_b" {
			t.Errorf("%s swapped: output %q, want pf_in_b", eng, out)
		}
	}
}

// TestPSI is scenario A8's second half: the two-party PSI payload returns
// 6, and each output holds the common tokens (in any order) then done.
func TestPSI(t *testing.T) {
	wasm := payload(t, "psi")
	psi0, psi1 := readTestdata(t, "psi0.txt"), readTestdata(t, "psi1.txt")
	var common []string
	for _, l := range lines(psi0) {
		if slices.Contains(lines(psi1), l) {
			common = append(common, l)
		}
	}
	if len(common) != 6 {
		t.Fatalf("the fixtures share %d tokens, functions.md says 6", len(common))
	}
	args := `{"input1_fid":"input_data1","input2_fid":"input_data2","output1_fid":"output_result1","output2_fid":"output_result2"}`
	for _, eng := range engines {
		e := newExecutor(t, Config{Engine: eng})
		rt := newRuntime(map[string]string{"input_data1": psi0, "input_data2": psi1}, "output_result1", "output_result2")
		got, err := run(context.Background(), e, wasm, args, rt)
		if err != nil || got != "6" {
			t.Fatalf("%s: got %q, %v; want 6", eng, got, err)
		}
		for _, name := range []string{"output_result1", "output_result2"} {
			out := rt.Output(t, name)
			if !strings.HasSuffix(out, "\ndone\n") {
				t.Errorf("%s %s: %q does not end with done", eng, name, out)
			}
			tokens := lines(strings.TrimSuffix(out, "done\n"))
			if !slices.Equal(tokens, common) {
				t.Errorf("%s %s: tokens %v, want %v", eng, name, tokens, common)
			}
		}
	}
}

// TestTrapIsResult: a trap is a successful result with WAMR's exception
// text, and the trap is in the task's log. The PSI payload traps on a
// wrong argument count, as the Rust payload's assert did.
func TestTrapIsResult(t *testing.T) {
	wasm := payload(t, "psi")
	for _, eng := range engines {
		e := newExecutor(t, Config{Engine: eng})
		rt := newRuntime(nil)
		got, err := run(context.Background(), e, wasm, `{"input1_fid":"x"}`, rt)
		if err != nil || got != "Exception: unreachable" {
			t.Fatalf("%s: got %q, %v; want the trap text", eng, got, err)
		}
		if log := rt.LogText(); !strings.Contains(log, "[ERROR "+LogModule+"] the function trapped: Exception: unreachable") {
			t.Errorf("%s: the log does not show the trap: %q", eng, log)
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
	case <-time.After(30 * time.Second):
		t.Fatalf("%s did not return", what)
	}
}

// TestDeadLoopCancel: canceling the task's context stops a module that
// never returns, and Execute returns the context's error.
func TestDeadLoopCancel(t *testing.T) {
	wasm := payload(t, "deadloop")
	for _, eng := range engines {
		e := newExecutor(t, Config{Engine: eng})
		ctx, cancel := context.WithCancel(context.Background())
		time.AfterFunc(50*time.Millisecond, cancel)
		var err error
		waitDone(t, string(eng)+" dead loop", func() { _, err = run(ctx, e, wasm, `{}`, newRuntime(nil)) })
		if !errors.Is(err, context.Canceled) {
			t.Errorf("%s: got %v, want context.Canceled", eng, err)
		}
	}
}

// TestDeadLoopTimeLimit: the task's deadline stops a module that never
// returns.
func TestDeadLoopTimeLimit(t *testing.T) {
	wasm := payload(t, "deadloop")
	for _, eng := range engines {
		e := newExecutor(t, Config{Engine: eng})
		ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
		var err error
		waitDone(t, string(eng)+" dead loop", func() { _, err = run(ctx, e, wasm, `{}`, newRuntime(nil)) })
		cancel()
		if !errors.Is(err, context.DeadlineExceeded) {
			t.Errorf("%s: got %v, want context.DeadlineExceeded", eng, err)
		}
	}
}

// TestOutsideABI: a module importing anything outside the five host
// functions (another env function, an ABI function with another type, a
// WASI function) fails the task with a reason naming the import.
func TestOutsideABI(t *testing.T) {
	e := newExecutor(t, Config{})
	for variant, want := range map[int][]string{
		1: {"env.teaclave_open_socket", "outside Teaclave's WebAssembly ABI"},
		2: {"env.teaclave_read_file", "(i32) -> (i32)", "(i32, i32, i32) -> (i32)"},
		3: {"wasi_snapshot_preview1.proc_exit", "outside Teaclave's WebAssembly ABI"},
	} {
		wasm := payload(t, "badimport", fmt.Sprintf("-DVARIANT=%d", variant))
		got, err := run(context.Background(), e, wasm, `{}`, newRuntime(nil))
		if err == nil {
			t.Fatalf("variant %d: got result %q, want an error", variant, got)
		}
		for _, w := range want {
			if !strings.Contains(err.Error(), w) {
				t.Errorf("variant %d: error %q does not mention %q", variant, err, w)
			}
		}
	}
	// Imports other than functions, assembled by hand.
	imp := func(name string, desc ...byte) []byte {
		return binModule(section(2, cat([]byte{1, 3}, []byte("env"), []byte{byte(len(name))}, []byte(name), desc)...))
	}
	for name, c := range map[string]struct {
		wasm []byte
		want string
	}{
		"memory": {imp("memory", 2, 0, 1), "imports a memory (env.memory)"},
		"global": {imp("g", 3, 0x7f, 0), "imports a global (env.g)"},
		"table":  {imp("t", 1, 0x70, 0, 1), "imports a table (env.t)"},
	} {
		got, err := run(context.Background(), e, c.wasm, `{}`, newRuntime(nil))
		if err == nil || !strings.Contains(err.Error(), c.want) || !strings.Contains(err.Error(), "outside Teaclave's WebAssembly ABI") {
			t.Errorf("%s: got %q, %v; want an error containing %q", name, got, err, c.want)
		}
	}
}

// TestBadPayloads: bytes that are not WebAssembly, a module without
// entrypoint, and one using a feature WAMR lacked fail with a reason; none
// of them panics.
func TestBadPayloads(t *testing.T) {
	e := newExecutor(t, Config{})
	noEntry := payload(t, "simple_add", "-Dentrypoint=other_name")
	bulk := payload(t, "bulk", "-mbulk-memory")
	for name, c := range map[string]struct {
		wasm []byte
		want string
	}{
		"python source":  {[]byte("def entrypoint(argv):\n\treturn ''\n"), "invalid WebAssembly payload"},
		"empty":          {nil, "invalid WebAssembly payload"},
		"no entrypoint":  {noEntry, "does not export a function named entrypoint"},
		"truncated":      {noEntry[:len(noEntry)/2], "invalid WebAssembly payload"},
		"huge":           {make([]byte, 17<<20), "more than the limit"},
		"bulk memory on": {bulk, "invalid WebAssembly payload"},
	} {
		got, err := run(context.Background(), e, c.wasm, `{}`, newRuntime(nil))
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: got %q, %v; want an error containing %q", name, got, err, c.want)
		}
	}
}

// TestBadArguments: arguments that are not an object, or hold a NUL byte
// a C string cannot carry, fail the task.
func TestBadArguments(t *testing.T) {
	e := newExecutor(t, Config{})
	wasm := payload(t, "simple_add")
	for args, want := range map[string]string{
		`[1,2]`:               "not a JSON object",
		`null`:                "not a JSON object",
		`{"a":"x\u0000y"}`:    "NUL byte",
		`{"a\u0000b":"x"}`:    "NUL byte",
		`{"adder1":"3",`:      "not a JSON object",
		`{"adder1":"\ud800"}`: "",
	} {
		got, err := run(context.Background(), e, wasm, args, newRuntime(nil))
		if want == "" {
			if err != nil {
				t.Errorf("%s: %v", args, err)
			}
			continue
		}
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("%s: got %q, %v; want an error containing %q", args, got, err, want)
		}
	}
}

// TestConcurrentTasks runs many tasks of a few payloads at once (run it
// with -race): instances are independent and the cache compiles each
// payload once.
func TestConcurrentTasks(t *testing.T) {
	add, psi := payload(t, "simple_add"), payload(t, "psi")
	psi0, psi1 := readTestdata(t, "psi0.txt"), readTestdata(t, "psi1.txt")
	e := newExecutor(t, Config{})
	var wg sync.WaitGroup
	errs := make(chan error, 64)
	for i := range 32 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if i%2 == 0 {
				got, err := run(context.Background(), e, add, fmt.Sprintf(`{"adder1":%d,"adder2":4}`, i), newRuntime(nil))
				if err != nil || got != fmt.Sprint(i+4) {
					errs <- fmt.Errorf("add %d: %q, %v", i, got, err)
				}
				return
			}
			rt := newRuntime(map[string]string{"a": psi0, "b": psi1}, "c", "d")
			got, err := run(context.Background(), e, psi, `{"input1_fid":"a","input2_fid":"b","output1_fid":"c","output2_fid":"d"}`, rt)
			if err != nil || got != "6" {
				errs <- fmt.Errorf("psi %d: %q, %v", i, got, err)
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	if n := e.cache.len(); n != 2 {
		t.Errorf("the cache holds %d modules, want 2", n)
	}
}

// TestClose: a closed executor refuses tasks, and Close is idempotent.
func TestClose(t *testing.T) {
	wasm := payload(t, "simple_add")
	e, err := New(context.Background(), Config{})
	if err != nil {
		t.Fatal(err)
	}
	if err := e.Close(context.Background()); err != nil {
		t.Fatal(err)
	}
	if err := e.Close(context.Background()); err != nil {
		t.Fatal(err)
	}
	if got, err := run(context.Background(), e, wasm, `{"adder1":"3","adder2":"4"}`, newRuntime(nil)); err == nil {
		t.Fatalf("a closed executor ran a task: %q", got)
	}
}

// TestConfig: Defaults fills every field and Validate refuses bad ones.
func TestConfig(t *testing.T) {
	c := Config{}.Defaults()
	if err := c.Validate(); err != nil {
		t.Fatal(err)
	}
	if c.Engine != EngineCompiler {
		t.Errorf("default engine %q, want the compiler", c.Engine)
	}
	for name, bad := range map[string]Config{
		"engine":  {Engine: "jit"},
		"pages":   {MemoryLimitPages: 65537},
		"entries": {CacheEntries: -1},
		"bytes":   {CacheBytes: -1},
		"size":    {MaxModuleSize: -1},
	} {
		if err := bad.Defaults().Validate(); err == nil {
			t.Errorf("%s: Validate accepted %+v", name, bad)
		}
		if _, err := New(context.Background(), bad); err == nil {
			t.Errorf("%s: New accepted %+v", name, bad)
		}
	}
}
