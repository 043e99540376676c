package starlark

import (
	"context"
	"strconv"
	"testing"
)

// BenchmarkTaskOverhead is a task's fixed cost: compiling a small payload,
// its top level, the watchdog and the call (the echo example).
func BenchmarkTaskOverhead(b *testing.B) {
	e := newExecutor(b, Config{})
	src := readTestdata(b, "echo.star")
	rt := newRuntime(nil)
	tk := task(src, `{"message":"hi"}`, rt)
	b.ReportAllocs()
	for b.Loop() {
		res, err := e.Execute(context.Background(), tk, rt)
		if err != nil || string(res.ReturnValue) != "hi" {
			b.Fatalf("got %q, %v", res.ReturnValue, err)
		}
	}
}

// sieveN is the kernel's problem size; there are 23000 primes below it.
const sieveN = 1 << 18

// primesBelow is testdata/sieve.star in Go.
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

// BenchmarkKernel runs the sieve of Eratosthenes up to 2^18 in Starlark
// and natively in Go.
func BenchmarkKernel(b *testing.B) {
	want := strconv.Itoa(primesBelow(sieveN))
	b.Run("starlark", func(b *testing.B) {
		e := newExecutor(b, Config{})
		rt := newRuntime(nil)
		tk := task(readTestdata(b, "sieve.star"), `{"n":`+strconv.Itoa(sieveN)+`}`, rt)
		for b.Loop() {
			res, err := e.Execute(context.Background(), tk, rt)
			if err != nil || string(res.ReturnValue) != want {
				b.Fatalf("got %q, %v; want %s", res.ReturnValue, err, want)
			}
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
