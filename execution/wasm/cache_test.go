package wasm

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// withSection returns wasm with a custom section holding tag appended: the
// same code under another SHA-256, so another cache entry.
func withSection(wasm []byte, tag string) []byte {
	name := "tag"
	body := append(uleb(uint32(len(name))), name...)
	body = append(body, tag...)
	out := append([]byte(nil), wasm...)
	out = append(out, 0)
	out = append(out, uleb(uint32(len(body)))...)
	return append(out, body...)
}

func uleb(v uint32) []byte {
	var b []byte
	for {
		c := byte(v & 0x7f)
		v >>= 7
		if v != 0 {
			b = append(b, c|0x80)
			continue
		}
		return append(b, c)
	}
}

// countCompiles makes e count its compilations.
func countCompiles(e *Executor) *atomic.Int32 {
	var n atomic.Int32
	inner := e.cache.compile
	e.cache.compile = func(p []byte) (*module, error) {
		n.Add(1)
		return inner(p)
	}
	return &n
}

// TestCacheHitsAndBounds: a payload is compiled once and then served from
// the cache; the cache keeps at most CacheEntries modules and
// CacheBytes of payload, dropping the least recently used.
func TestCacheHitsAndBounds(t *testing.T) {
	add := payload(t, "simple_add")
	e := newExecutor(t, Config{CacheEntries: 2})
	compiles := countCompiles(e)
	exec := func(p []byte) {
		t.Helper()
		if got, err := run(context.Background(), e, p, `{"adder1":"3","adder2":"4"}`, newRuntime(nil)); err != nil || got != "7" {
			t.Fatalf("got %q, %v", got, err)
		}
	}
	exec(add)
	exec(add)
	if n := compiles.Load(); n != 1 {
		t.Fatalf("%d compilations for one payload run twice, want 1", n)
	}
	a, b, c := withSection(add, "a"), withSection(add, "b"), withSection(add, "c")
	exec(a) // cache: a, add
	exec(add)
	exec(b) // cache: b, add (a dropped)
	if n := e.cache.len(); n != 2 {
		t.Fatalf("the cache holds %d modules, want 2", n)
	}
	before := compiles.Load()
	exec(add) // still cached
	if compiles.Load() != before {
		t.Error("the most recently used module was dropped")
	}
	exec(a) // dropped earlier: compiled again
	if compiles.Load() != before+1 {
		t.Error("a dropped module was not compiled again")
	}

	// A byte budget of two payloads keeps two.
	e = newExecutor(t, Config{CacheBytes: int64(2*len(a) + 1)})
	for _, p := range [][]byte{a, b, c, add} {
		exec2 := func() {
			if got, err := run(context.Background(), e, p, `{"adder1":"1","adder2":"1"}`, newRuntime(nil)); err != nil || got != "2" {
				t.Fatalf("got %q, %v", got, err)
			}
		}
		exec2()
	}
	if n := e.cache.len(); n != 2 {
		t.Errorf("the cache holds %d modules within a two-payload budget, want 2", n)
	}
}

// TestCacheCompileOnce: tasks asking for the same new payload at once
// share one compilation.
func TestCacheCompileOnce(t *testing.T) {
	add := withSection(payload(t, "simple_add"), "once")
	e := newExecutor(t, Config{})
	compiles := countCompiles(e)
	var wg sync.WaitGroup
	for range 16 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if got, err := run(context.Background(), e, add, `{"adder1":"3","adder2":"4"}`, newRuntime(nil)); err != nil || got != "7" {
				t.Errorf("got %q, %v", got, err)
			}
		}()
	}
	wg.Wait()
	if n := compiles.Load(); n != 1 {
		t.Errorf("%d compilations, want 1", n)
	}
}

// TestCacheEvictInUse: a module dropped from the cache while a task runs
// it keeps running until the task ends (then it is closed), and the next
// task compiles it again.
func TestCacheEvictInUse(t *testing.T) {
	loop, add := payload(t, "deadloop"), payload(t, "simple_add")
	for _, eng := range engines {
		e := newExecutor(t, Config{Engine: eng, CacheEntries: 1})
		compiles := countCompiles(e)
		ctx, cancel := context.WithCancel(context.Background())
		done := make(chan error, 1)
		go func() {
			_, err := run(ctx, e, loop, `{}`, newRuntime(nil))
			done <- err
		}()
		// Once the loop's payload is compiling, the add drops it.
		for compiles.Load() < 1 {
			time.Sleep(time.Millisecond)
		}
		if got, err := run(context.Background(), e, add, `{"adder1":"3","adder2":"4"}`, newRuntime(nil)); err != nil || got != "7" {
			t.Fatalf("%s: got %q, %v", eng, got, err)
		}
		time.Sleep(20 * time.Millisecond)
		cancel()
		var err error
		waitDone(t, "the canceled loop", func() { err = <-done })
		if !errors.Is(err, context.Canceled) {
			t.Errorf("%s: the loop ended with %v", eng, err)
		}
		// Both ran; the loop again needs a compilation.
		before := compiles.Load()
		ctx, cancel = context.WithTimeout(context.Background(), 10*time.Millisecond)
		_, err = run(ctx, e, loop, `{}`, newRuntime(nil))
		cancel()
		if !errors.Is(err, context.DeadlineExceeded) || compiles.Load() != before+1 {
			t.Errorf("%s: second loop: %v, %d compilations after %d", eng, err, compiles.Load(), before)
		}
	}
}

// TestCacheCancelWhileCompiling: a task whose context ends while its
// payload compiles returns at once; the compilation completes for the
// next task.
func TestCacheCancelWhileCompiling(t *testing.T) {
	add := payload(t, "simple_add")
	e := newExecutor(t, Config{})
	gate := make(chan struct{})
	inner := e.cache.compile
	e.cache.compile = func(p []byte) (*module, error) {
		<-gate
		return inner(p)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := run(ctx, e, add, `{}`, newRuntime(nil)); !errors.Is(err, context.Canceled) {
		t.Fatalf("got %v, want context.Canceled", err)
	}
	close(gate)
	if got, err := run(context.Background(), e, add, `{"adder1":"3","adder2":"4"}`, newRuntime(nil)); err != nil || got != "7" {
		t.Fatalf("got %q, %v", got, err)
	}
	// A compile error is kept too.
	bad := []byte("not wasm")
	for i := range 2 {
		if _, err := run(context.Background(), e, bad, `{}`, newRuntime(nil)); err == nil {
			t.Fatalf("run %d: no error for a bad payload", i)
		}
	}
	if n := e.cache.len(); n != 2 {
		t.Errorf("the cache holds %d entries, want 2", n)
	}
}

// TestCloseWhileRunning: closing the executor stops a running module and
// fails its task.
func TestCloseWhileRunning(t *testing.T) {
	loop := payload(t, "deadloop")
	for _, eng := range engines {
		e, err := New(context.Background(), Config{Engine: eng})
		if err != nil {
			t.Fatal(err)
		}
		done := make(chan error, 1)
		go func() {
			_, err := run(context.Background(), e, loop, `{}`, newRuntime(nil))
			done <- err
		}()
		time.Sleep(50 * time.Millisecond)
		if err := e.Close(context.Background()); err != nil {
			t.Fatal(err)
		}
		waitDone(t, fmt.Sprint(eng, " loop after Close"), func() { err = <-done })
		if err == nil {
			t.Errorf("%s: the task ended without an error", eng)
		}
	}
}
