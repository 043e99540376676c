package wasm

import (
	"context"
	"fmt"
	"strings"
	"testing"

	"github.com/tetratelabs/wazero"
)

// TestABI probes the host ABI's edge cases through testdata/abi.c: handle
// numbering, -1 for every kind of bad call, traps for pointers outside
// memory, short reads and the end of a file, outputs left open, and
// WAMR's exception texts.
func TestABI(t *testing.T) {
	wasm := payload(t, "abi")
	const in = "Hello\nWorld" // the MesaPy fixture: 11 bytes, no newline at the end
	cases := []struct {
		name   string
		want   string
		output string // the content of "out", if the case writes it
	}{
		{"open_input", "1", ""},
		{"handles", fmt.Sprint(0x40000000 | 2), ""},
		{"open_unknown", "-1", ""},
		{"create_unknown", "-1", ""},
		{"output_as_input", "-1", ""},
		{"read_output", "-1", ""},
		{"write_input", "-1", ""},
		{"close_twice", "-1", ""},
		{"read_closed", "-1", ""},
		{"max_seq", "1023", ""},
		{"copy", "11", in},
		{"no_close", "9", "left open"},
		{"oob_read", "Exception: out of bounds memory access", ""},
		{"oob_write_len", "Exception: out of bounds memory access", ""},
		{"oob_name", "Exception: out of bounds memory access", ""},
		{"name_past_end", "Exception: out of bounds memory access", ""},
		{"unreachable", "Exception: unreachable", ""},
		{"div0", "Exception: integer divide by zero", ""},
		{"oob_load", "Exception: out of bounds memory access", ""},
		{"stack", "Exception: wasm operand stack overflow", ""},
	}
	for _, eng := range engines {
		e := newExecutor(t, Config{Engine: eng})
		for _, c := range cases {
			t.Run(string(eng)+"/"+c.name, func(t *testing.T) {
				rt := newRuntime(map[string]string{"in": in}, "out")
				got, err := run(context.Background(), e, wasm, `{"case":"`+c.name+`"}`, rt)
				if err != nil || got != c.want {
					t.Fatalf("got %q, %v; want %q", got, err, c.want)
				}
				if c.output != "" {
					if out := rt.Output(t, "out"); out != c.output {
						t.Errorf("output %q, want %q", out, c.output)
					}
				}
				if strings.HasPrefix(c.want, "Exception:") && !strings.Contains(rt.LogText(), c.want) {
					t.Errorf("the trap is not in the log: %q", rt.LogText())
				}
			})
		}
	}
}

// TestArgv: argv holds k1, v1, k2, v2, ... in byte-wise key order, string
// values raw and others as compact JSON, and argc counts the strings.
func TestArgv(t *testing.T) {
	wasm := payload(t, "abi")
	e := newExecutor(t, Config{})
	rt := newRuntime(nil, "out")
	args := `{"n": 3, "case": "argv", "B": true, "l": [1, 2], "o": {"k": "v"}, "f": 0.1, "s": "a b", "u": "é", "z": null, "save_log": "true"}`
	got, err := run(context.Background(), e, wasm, args, rt)
	if err != nil || got != "20" {
		t.Fatalf("got %q, %v; want 20", got, err)
	}
	want := `B|true|case|argv|f|0.1|l|[1,2]|n|3|o|{"k":"v"}|s|a b|save_log|true|u|é|z|null`
	if out := rt.Output(t, "out"); out != want {
		t.Errorf("argv %q\nwant %q", out, want)
	}
}

// TestEntrypointTypes: WAMR looked entrypoint up by name only; other
// signatures behave as they did there.
func TestEntrypointTypes(t *testing.T) {
	e := newExecutor(t, Config{})
	for variant, want := range map[int]string{
		1: "2", // returns nothing: the result slot still holds argc
		2: "Exception: invalid argument count 2, must be no smaller than 3",
		3: "20", // ignores argv
		4: "42", // one i64 spanning both cells
		5: "42", // the first 32-bit cell of an i64 result
	} {
		wasm := payload(t, "entry", fmt.Sprintf("-DVARIANT=%d", variant))
		got, err := run(context.Background(), e, wasm, `{"k":"42"}`, newRuntime(nil))
		if err != nil || got != want {
			t.Errorf("variant %d: got %q, %v; want %q", variant, got, err, want)
		}
	}
}

// TestModuleMalloc: a module exporting its own malloc and free gets its
// arguments from that malloc (each string, then the array), and its
// memory is not grown.
func TestModuleMalloc(t *testing.T) {
	wasm := payload(t, "malloc")
	e := newExecutor(t, Config{})
	c, err := e.rt.CompileModule(context.Background(), wasm)
	if err != nil {
		t.Fatal(err)
	}
	pages := c.ExportedMemories()["memory"].Min()
	got, err := run(context.Background(), e, wasm, `{"k":"v"}`, newRuntime(nil))
	if want := fmt.Sprint(3*1000 + pages); err != nil || got != want {
		t.Errorf("got %q, %v; want %s (3 malloc calls, %d pages)", got, err, want, pages)
	}
}

// TestMemoryLimit: an instance's memory stops growing at
// MemoryLimitPages, a module declaring more does not load, and arguments
// that cannot fit fail the task.
func TestMemoryLimit(t *testing.T) {
	for _, eng := range engines {
		e := newExecutor(t, Config{Engine: eng, MemoryLimitPages: 40})
		got, err := run(context.Background(), e, payload(t, "abi"), `{"case":"grow"}`, newRuntime(nil))
		if err != nil || got != "40" {
			t.Errorf("%s grow: got %q, %v; want 40 pages", eng, got, err)
		}
		// The sieve's 4 MiB array needs more than 40 pages.
		if got, err := run(context.Background(), e, payload(t, "kernel"), `{"n":"10"}`, newRuntime(nil)); err == nil || !strings.Contains(err.Error(), "over limit") {
			t.Errorf("%s kernel: got %q, %v; want a memory limit error", eng, got, err)
		}
	}
	add := payload(t, "simple_add")
	c, err := wazero.NewRuntime(context.Background()).CompileModule(context.Background(), add)
	if err != nil {
		t.Fatal(err)
	}
	e := newExecutor(t, Config{MemoryLimitPages: c.ExportedMemories()["memory"].Min()})
	got, err := run(context.Background(), e, add, `{"adder1":"3","adder2":"4"}`, newRuntime(nil))
	if err == nil || !strings.Contains(err.Error(), "cannot pass the function's arguments") {
		t.Errorf("arguments in a full memory: got %q, %v", got, err)
	}
	// Without arguments nothing needs to be placed.
	if got, err := run(context.Background(), e, add, `{}`, newRuntime(nil)); err != nil || got != "-1" {
		t.Errorf("no arguments: got %q, %v", got, err)
	}
}
