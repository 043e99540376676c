package starlark

import (
	"context"
	"runtime"
	"runtime/metrics"
	"time"
)

// Heap measures of runtime/metrics: live objects at the last collection,
// and objects now, garbage not yet swept included.
const (
	metricLive    = "/gc/heap/live:bytes"
	metricObjects = "/memory/classes/heap/objects:bytes"
)

// heapWatch stops a task whose heap growth passes a budget. Go cannot
// attribute memory to a goroutine, so the measure is the process's heap:
// it samples it every interval and calls exceeded once, when the heap
// holds more than budget bytes beyond the live heap at the start (a
// collection at the start makes that exact when the last one found more
// than a quarter of the budget live).
// Garbage makes the sample too high, so before calling exceeded it
// collects (at most once per gcEvery) and compares the live heap the
// collection found.
type heapWatch struct {
	budget   int64
	interval time.Duration
	gcEvery  time.Duration
	exceeded func(heap int64)
}

// watch runs until ctx ends or the budget is exceeded.
func (w *heapWatch) watch(ctx context.Context) {
	samples := []metrics.Sample{{Name: metricLive}, {Name: metricObjects}}
	read := func() (live, objects int64) {
		metrics.Read(samples)
		if samples[0].Value.Kind() != metrics.KindUint64 || samples[1].Value.Kind() != metrics.KindUint64 {
			// A Go without these metrics: the allocated heap, live or
			// not yet collected, for both.
			var ms runtime.MemStats
			runtime.ReadMemStats(&ms)
			return int64(ms.HeapAlloc), int64(ms.HeapAlloc)
		}
		return int64(samples[0].Value.Uint64()), int64(samples[1].Value.Uint64())
	}
	// The live heap of the last collection may hold what earlier tasks
	// dropped since: when it is large enough to matter, collect now for a
	// true start.
	base, _ := read()
	if base > w.budget/4 {
		runtime.GC()
		base, _ = read()
	}
	t := time.NewTicker(w.interval)
	defer t.Stop()
	var lastGC time.Time
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		_, heap := read()
		if heap-base <= w.budget {
			continue
		}
		if time.Since(lastGC) < w.gcEvery {
			continue
		}
		runtime.GC()
		lastGC = time.Now()
		if live, _ := read(); live-base > w.budget {
			w.exceeded(live - base)
			return
		}
	}
}
