package scheduler_test

import (
	"context"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/teaclave-go/teaclave"
	"github.com/teaclave-go/teaclave/scheduler"
)

// instantNode is an in-process node that reports each task started and
// finished the moment it receives it: what remains is the scheduler's own
// work (the lease commit, the start commit, the result commit) and the
// hand-offs between goroutines.
type instantNode struct {
	mu   sync.Mutex
	done map[teaclave.ID]chan struct{}
}

func startInstantNode(b *testing.B, s *scheduler.Service, capacity int) *instantNode {
	b.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	b.Cleanup(cancel)
	reg, err := s.RegisterNode(ctx, scheduler.NodeSpec{Executors: []teaclave.Executor{teaclave.ExecutorBuiltin}, Capacity: capacity})
	if err != nil {
		b.Fatal(err)
	}
	w, err := s.Work(ctx, reg.ID)
	if err != nil {
		b.Fatal(err)
	}
	n := &instantNode{done: map[teaclave.ID]chan struct{}{}}
	go func() {
		t := time.NewTicker(reg.HeartbeatInterval)
		defer t.Stop()
		for {
			select {
			case <-ctx.Done():
				return
			case <-t.C:
				_, _ = s.Heartbeat(ctx, reg.ID, nil) // leases live milliseconds here
			}
		}
	}()
	go func() {
		for {
			c, err := w.Recv()
			if err != nil {
				return
			}
			if c.Assignment == nil {
				continue
			}
			go func(a *scheduler.Assignment) {
				err := s.StartTask(ctx, a.Lease)
				if err == nil {
					err = s.CompleteTask(ctx, a.Lease, scheduler.Completion{Result: teaclave.TaskResult{Ok: &teaclave.TaskOutputs{
						ReturnValue: []byte("hi"), TagsMap: map[string]teaclave.FileAuthTag{}, Log: []string{},
					}}})
				}
				if err != nil && ctx.Err() == nil {
					b.Errorf("task %s: %v", a.Lease.TaskID, err)
				}
				n.signal(a.Lease.TaskID)
			}(c.Assignment)
		}
	}()
	return n
}

// expect returns a channel closed once the task's result is committed,
// whether or not that happened already.
func (n *instantNode) expect(id teaclave.ID) <-chan struct{} {
	n.mu.Lock()
	defer n.mu.Unlock()
	return n.chanLocked(id)
}

func (n *instantNode) chanLocked(id teaclave.ID) chan struct{} {
	c, ok := n.done[id]
	if !ok {
		c = make(chan struct{})
		n.done[id] = c
	}
	return c
}

func (n *instantNode) signal(id teaclave.ID) {
	n.mu.Lock()
	defer n.mu.Unlock()
	close(n.chanLocked(id))
}

// benchConfig has deployment timings.
func benchConfig() scheduler.Config {
	return scheduler.Config{HeartbeatInterval: time.Second, LeaseTimeout: 10 * time.Second}.Defaults()
}

// BenchmarkDispatch measures the scheduler alone on the in-memory store:
// from the commit that stages a task (as management's InvokeTask writes
// it) until its result is committed, with a node that does no work. One
// task at a time; reports the median and 99th percentile.
func BenchmarkDispatch(b *testing.B) {
	store := newStore()
	s := startScheduler(b, store, benchConfig())
	n := startInstantNode(b, s, 4)
	lat := make([]time.Duration, 0, b.N)
	var last teaclave.ID
	for range b.N {
		start := time.Now()
		id := stage(b, store, taskSpec{})
		<-n.expect(id)
		lat = append(lat, time.Since(start))
		last = id
	}
	b.StopTimer()
	slices.Sort(lat)
	b.ReportMetric(float64(lat[len(lat)/2].Nanoseconds()), "median-ns")
	b.ReportMetric(float64(lat[min(len(lat)-1, len(lat)*99/100)].Nanoseconds()), "p99-ns")
	if task := readTask(b, store, last); task.Status != teaclave.TaskFinished {
		b.Fatalf("task %s", task.Status)
	}
}

// BenchmarkDispatchThroughput measures tasks per second through the
// scheduler alone: each iteration stages a batch of 500 tasks at once (in
// the timing) and waits for every result, with two do-nothing nodes of
// capacity 8.
func BenchmarkDispatchThroughput(b *testing.B) {
	const batch = 500
	store := newStore()
	s := startScheduler(b, store, benchConfig())
	n1, n2 := startInstantNode(b, s, 8), startInstantNode(b, s, 8)
	var elapsed time.Duration
	var last teaclave.ID
	for range b.N {
		start := time.Now()
		ids := make([]teaclave.ID, batch)
		for i := range ids {
			ids[i] = stage(b, store, taskSpec{})
		}
		for _, id := range ids {
			select {
			case <-n1.expect(id):
			case <-n2.expect(id):
			}
		}
		elapsed += time.Since(start)
		last = ids[batch-1]
	}
	b.StopTimer()
	b.ReportMetric(float64(b.N*batch)/elapsed.Seconds(), "tasks/s")
	if task := readTask(b, store, last); task.Status != teaclave.TaskFinished {
		b.Fatalf("task %s", task.Status)
	}
}
