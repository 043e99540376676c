package starlark

import (
	"context"
	"runtime"
	"runtime/debug"
	"sync/atomic"
	"testing"
	"time"
)

// TestHeapWatch: the watch calls exceeded once the heap holds more than
// its budget beyond the start, and not for garbage a collection frees.
func TestHeapWatch(t *testing.T) {
	runtime.GC()
	var fired atomic.Int64
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	w := heapWatch{budget: 16 << 20, interval: time.Millisecond, gcEvery: 5 * time.Millisecond,
		exceeded: func(heap int64) { fired.Store(heap) }}
	go func() {
		defer close(done)
		w.watch(ctx)
	}()
	// Garbage: 64 MiB allocated and dropped, with the collector off so
	// that it piles up: only the watch's own collection frees it.
	old := debug.SetGCPercent(-1)
	for range 64 {
		b := make([]byte, 1<<20)
		b[0] = 1
		time.Sleep(100 * time.Microsecond)
	}
	time.Sleep(20 * time.Millisecond)
	debug.SetGCPercent(old)
	if fired.Load() != 0 {
		t.Fatalf("the watch fired for garbage (%d bytes)", fired.Load())
	}
	// Held: 32 MiB kept.
	held := make([][]byte, 0, 32)
	for range 32 {
		b := make([]byte, 1<<20)
		b[0] = 1
		held = append(held, b)
	}
	select {
	case <-done:
	case <-time.After(30 * time.Second):
		t.Fatal("the watch did not fire")
	}
	cancel()
	if fired.Load() < 16<<20 {
		t.Errorf("the watch fired at %d bytes, under its budget", fired.Load())
	}
	runtime.KeepAlive(held)
}
