package wasm

import (
	"context"
	"fmt"
	"strconv"
	"testing"

	"github.com/tetratelabs/wazero"
)

// BenchmarkTaskCached is the per-task overhead with a cached module:
// argument flattening, hashing the payload, a fresh instance, placing
// argv, the call and the result (simple_add). Target: at most 1 ms.
func BenchmarkTaskCached(b *testing.B) {
	add := payload(b, "simple_add")
	for _, eng := range engines {
		b.Run(string(eng), func(b *testing.B) {
			e := newExecutor(b, Config{Engine: eng})
			tk := task(add, `{"adder1":"3","adder2":"4"}`)
			rt := newRuntime(nil)
			if _, err := e.Execute(context.Background(), tk, rt); err != nil { // compile it
				b.Fatal(err)
			}
			b.ReportAllocs()
			for b.Loop() {
				res, err := e.Execute(context.Background(), tk, rt)
				if err != nil || string(res.ReturnValue) != "7" {
					b.Fatalf("got %q, %v", res.ReturnValue, err)
				}
			}
		})
	}
}

// BenchmarkTaskColdCompile is a task whose payload is not cached: every
// iteration runs a payload with another SHA-256 (the PSI payload with a
// distinct custom section), so it compiles and validates it first.
func BenchmarkTaskColdCompile(b *testing.B) {
	psi := payload(b, "psi")
	for _, eng := range engines {
		b.Run(string(eng), func(b *testing.B) {
			e := newExecutor(b, Config{Engine: eng})
			i := 0
			for b.Loop() {
				i++
				p := withSection(psi, strconv.Itoa(i))
				res, err := e.Execute(context.Background(), task(p, `{}`), newRuntime(nil))
				if err != nil || string(res.ReturnValue) != "Exception: unreachable" {
					b.Fatalf("got %q, %v", res.ReturnValue, err)
				}
			}
		})
	}
}

// sieveN is the kernel's problem size; there are 82025 primes below it.
const sieveN = 1 << 20

// primesBelow is the kernel of testdata/kernel.c in Go.
func primesBelow(n int) int {
	composite := make([]bool, n)
	count := 0
	for i := 2; i < n; i++ {
		if composite[i] {
			continue
		}
		count++
		for j := i * i; j < n; j += i {
			composite[j] = true
		}
	}
	return count
}

// BenchmarkKernel runs a compute kernel (a sieve of Eratosthenes up to
// 2^20) under the wazero compiler, the wazero interpreter and natively in
// Go. The WebAssembly runs include a task's overhead (the instance zeroes
// the kernel's 4 MiB array).
func BenchmarkKernel(b *testing.B) {
	kernel := payload(b, "kernel")
	want := strconv.Itoa(primesBelow(sieveN))
	for _, eng := range engines {
		b.Run("wazero-"+string(eng), func(b *testing.B) {
			e := newExecutor(b, Config{Engine: eng})
			tk := task(kernel, fmt.Sprintf(`{"n":%d}`, sieveN))
			if _, err := e.Execute(context.Background(), task(kernel, `{}`), newRuntime(nil)); err != nil { // compile it
				b.Fatal(err)
			}
			for b.Loop() {
				res, err := e.Execute(context.Background(), tk, newRuntime(nil))
				if err != nil || string(res.ReturnValue) != want {
					b.Fatalf("got %q, %v; want %s", res.ReturnValue, err, want)
				}
			}
		})
	}
	// The same module on a runtime without the context checks
	// (WithCloseOnContextDone off), which the executor never uses: the
	// difference is what stopping dead loops costs (a call out of the
	// compiled code at every loop iteration).
	b.Run("wazero-compiler-no-ctx-checks", func(b *testing.B) {
		ctx := context.Background()
		r := wazero.NewRuntimeWithConfig(ctx, wazero.NewRuntimeConfigCompiler().WithCoreFeatures(features))
		defer r.Close(ctx)
		if err := instantiateABI(ctx, r); err != nil {
			b.Fatal(err)
		}
		c, err := r.CompileModule(ctx, kernel)
		if err != nil {
			b.Fatal(err)
		}
		argv := []string{"n", strconv.Itoa(sieveN)}
		for b.Loop() {
			m, err := r.InstantiateModule(ctx, c, wazero.NewModuleConfig().WithName("").WithStartFunctions())
			if err != nil {
				b.Fatal(err)
			}
			p, err := placeArguments(ctx, m, false, argv)
			if err != nil {
				b.Fatal(err)
			}
			res, err := m.ExportedFunction(entrypoint).Call(ctx, 2, uint64(p))
			if err != nil || strconv.Itoa(int(int32(res[0]))) != want {
				b.Fatalf("got %v, %v; want %s", res, err, want)
			}
			m.Close(ctx)
		}
	})
	b.Run("native-go", func(b *testing.B) {
		for b.Loop() {
			if got := strconv.Itoa(primesBelow(sieveN)); got != want {
				b.Fatal(got)
			}
		}
	})
}
