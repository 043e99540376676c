// Command wasm runs a WebAssembly function (functions.md §6 A8,
// simple_add): it registers a module whose exported entrypoint(argc, argv)
// adds the numbers given as arguments adder1 and adder2, runs it on the
// wamr executor and prints the sum.
//
// The module is assembled here, byte by byte, so that the example needs no
// WebAssembly toolchain; -payload registers a module built elsewhere (for
// example from Teaclave's simple_add.c with clang --target=wasm32
// -nostdlib -Wl,--export-all -Wl,--no-entry) instead.
//
//	TEACLAVE_DATA_DIR=teaclave-data go run ./examples/clients/wasm -adder1 3 -adder2 4
package main

import (
	"context"
	"flag"
	"fmt"
	"os"

	"github.com/teaclave-go/teaclave/examples/clients/internal/clientutil"
	"github.com/teaclave-go/teaclave/sdk"
)

// simpleAdd is this module, in WebAssembly text:
//
//	(module
//	  (memory (export "memory") 2)
//	  (func $atoi (param $p i32) (result i32) (local $n i32) (local $d i32) (local $neg i32)
//	    (if (i32.eq (i32.load8_u (local.get $p)) (i32.const 45))   ;; '-'
//	      (then (local.set $neg (i32.const 1))
//	            (local.set $p (i32.add (local.get $p) (i32.const 1)))))
//	    (block $done (loop $digit
//	      (br_if $done (i32.gt_u (local.tee $d (i32.sub (i32.load8_u (local.get $p)) (i32.const 48))) (i32.const 9)))
//	      (local.set $n (i32.add (i32.mul (local.get $n) (i32.const 10)) (local.get $d)))
//	      (local.set $p (i32.add (local.get $p) (i32.const 1)))
//	      (br $digit)))
//	    (if (result i32) (local.get $neg) (then (i32.sub (i32.const 0) (local.get $n))) (else (local.get $n))))
//	  ;; argv is adder1, a, adder2, b: keys in sorted order, each followed by its value.
//	  (func (export "entrypoint") (param $argc i32) (param $argv i32) (result i32)
//	    (if (i32.lt_s (local.get $argc) (i32.const 4)) (then (return (i32.const -1))))
//	    (i32.add (call $atoi (i32.load offset=4 (local.get $argv)))
//	             (call $atoi (i32.load offset=12 (local.get $argv))))))
func simpleAdd() []byte {
	atoi := []byte{
		0x01, 0x03, 0x7f, // three i32 locals
		0x20, 0x00, 0x2d, 0x00, 0x00, 0x41, 0x2d, 0x46, // load8_u(p) == '-'
		0x04, 0x40, 0x41, 0x01, 0x21, 0x03, 0x20, 0x00, 0x41, 0x01, 0x6a, 0x21, 0x00, 0x0b,
		0x02, 0x40, 0x03, 0x40, // block, loop
		0x20, 0x00, 0x2d, 0x00, 0x00, 0x41, 0x30, 0x6b, 0x22, 0x02, 0x41, 0x09, 0x4b, 0x0d, 0x01,
		0x20, 0x01, 0x41, 0x0a, 0x6c, 0x20, 0x02, 0x6a, 0x21, 0x01,
		0x20, 0x00, 0x41, 0x01, 0x6a, 0x21, 0x00,
		0x0c, 0x00, 0x0b, 0x0b, // br loop, end loop, end block
		0x20, 0x03, 0x04, 0x7f, 0x41, 0x00, 0x20, 0x01, 0x6b, 0x05, 0x20, 0x01, 0x0b,
		0x0b,
	}
	entry := []byte{
		0x00, // no locals
		0x20, 0x00, 0x41, 0x04, 0x48, 0x04, 0x40, 0x41, 0x7f, 0x0f, 0x0b,
		0x20, 0x01, 0x28, 0x02, 0x04, 0x10, 0x00,
		0x20, 0x01, 0x28, 0x02, 0x0c, 0x10, 0x00,
		0x6a, 0x0b,
	}
	vec := func(items ...[]byte) []byte {
		out := uleb(len(items))
		for _, it := range items {
			out = append(out, it...)
		}
		return out
	}
	name := func(s string) []byte { return append(uleb(len(s)), s...) }
	sized := func(b []byte) []byte { return append(uleb(len(b)), b...) }
	section := func(id byte, content []byte) []byte { return append([]byte{id}, sized(content)...) }

	m := []byte{0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00}
	m = append(m, section(1, vec(
		[]byte{0x60, 0x01, 0x7f, 0x01, 0x7f},       // (i32) -> i32
		[]byte{0x60, 0x02, 0x7f, 0x7f, 0x01, 0x7f}, // (i32, i32) -> i32
	))...)
	m = append(m, section(3, vec([]byte{0x00}, []byte{0x01}))...)
	m = append(m, section(5, vec([]byte{0x00, 0x02}))...)
	m = append(m, section(7, vec(
		append(name("memory"), 0x02, 0x00),
		append(name("entrypoint"), 0x00, 0x01),
	))...)
	m = append(m, section(10, vec(sized(atoi), sized(entry)))...)
	return m
}

func uleb(n int) []byte {
	var out []byte
	for {
		b := byte(n & 0x7f)
		n >>= 7
		if n == 0 {
			return append(out, b)
		}
		out = append(out, b|0x80)
	}
}

func main() {
	var adder1, adder2, payload string
	clientutil.Main("wasm", func(ctx context.Context, o *clientutil.Options, trust *sdk.Trust) error {
		module := simpleAdd()
		if payload != "" {
			var err error
			if module, err = os.ReadFile(payload); err != nil {
				return err
			}
		}
		c, err := o.Connect(ctx, trust, o.AdminUser, o.AdminPassword)
		if err != nil {
			return err
		}
		defer c.Close()
		fn, err := c.RegisterFunction(ctx, sdk.Function{
			Name: "simple_add", Type: sdk.FunctionWASM, Public: true, Payload: module,
			Arguments: []sdk.Argument{{Key: "adder1", AllowOverwrite: true}, {Key: "adder2", AllowOverwrite: true}},
		})
		if err != nil {
			return err
		}
		task, err := c.CreateTask(ctx, sdk.TaskSpec{FunctionID: fn, Executor: sdk.ExecutorWAMR,
			Arguments: map[string]any{"adder1": adder1, "adder2": adder2}})
		if err != nil {
			return err
		}
		if err := c.InvokeTask(ctx, task); err != nil {
			return err
		}
		res, err := c.Wait(ctx, task, nil)
		if err != nil {
			return err
		}
		fmt.Printf("%s + %s = %s\n", adder1, adder2, res.ReturnValue)
		return nil
	}, func(fs *flag.FlagSet) {
		fs.StringVar(&adder1, "adder1", "3", "first number")
		fs.StringVar(&adder2, "adder2", "4", "second number")
		fs.StringVar(&payload, "payload", "", "register this WebAssembly module instead of the built-in one")
	})
}
