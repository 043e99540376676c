//go:build !teaclave_production

package execution_test

import (
	"context"
	"fmt"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/teaclave-go/teaclave"
	"github.com/teaclave-go/teaclave/execution"
	"github.com/teaclave-go/teaclave/rpc/pb/commonpb"
	"github.com/teaclave-go/teaclave/rpc/pb/frontendpb"
	"github.com/teaclave-go/teaclave/scheduler"
)

// completions wraps a node's Dispatcher and tells the benchmark the moment
// the scheduler accepted a task's result (its commit is done), so that
// nothing polls.
type completions struct {
	scheduler.Dispatcher
	shared *waiters
	done   atomic.Int64 // results this node delivered
}

type waiters struct {
	mu sync.Mutex
	ch map[string]chan struct{}
}

func newWaiters() *waiters { return &waiters{ch: map[string]chan struct{}{}} }

// expect returns a channel closed when task's result is recorded.
func (w *waiters) expect(task string) <-chan struct{} {
	w.mu.Lock()
	defer w.mu.Unlock()
	c := make(chan struct{})
	w.ch[task] = c
	return c
}

func (w *waiters) signal(task string) {
	w.mu.Lock()
	c := w.ch[task]
	delete(w.ch, task)
	w.mu.Unlock()
	if c != nil {
		close(c)
	}
}

func (c *completions) CompleteTask(ctx context.Context, lease scheduler.Lease, comp scheduler.Completion) error {
	err := c.Dispatcher.CompleteTask(ctx, lease, comp)
	if err == nil {
		c.done.Add(1)
		c.shared.signal(lease.TaskID.String())
	}
	return err
}

// benchPlatform is a platform with deployment timings (1 s heartbeats)
// and nodes whose completions the benchmark observes.
func benchPlatform(b *testing.B, w wiring, nodes, capacity int) (*platform, *waiters, []*completions) {
	b.Helper()
	p := newPlatform(b, platformOptions{noNode: true, sched: scheduler.Config{HeartbeatInterval: time.Second, LeaseTimeout: 10 * time.Second}})
	ws := newWaiters()
	var base scheduler.Dispatcher = p.sched
	if w == overGRPC {
		base = serveScheduler(b, p.sched)
	}
	var cs []*completions
	for range nodes {
		c := &completions{Dispatcher: base, shared: ws}
		p.disp = c
		p.startNode(execution.Config{Capacity: capacity})
		cs = append(cs, c)
	}
	return p, ws, cs
}

// echoTasks creates n builtin-echo tasks, ready to invoke.
func echoTasks(b *testing.B, p *platform, ctx context.Context, fn string, n int) []string {
	b.Helper()
	tasks := make([]string, n)
	for i := range tasks {
		r, err := p.mgmt.CreateTask(ctx, &frontendpb.CreateTaskRequest{FunctionId: fn, FunctionArguments: fmt.Sprintf(`{"message":"m%d"}`, i), Executor: "builtin"})
		if err != nil {
			b.Fatal(err)
		}
		tasks[i] = r.GetTaskId()
	}
	return tasks
}

func checkEcho(b *testing.B, p *platform, ctx context.Context, task, want string) {
	b.Helper()
	r, err := p.mgmt.GetTask(ctx, &frontendpb.GetTaskRequest{TaskId: task})
	if err != nil {
		b.Fatal(err)
	}
	if r.GetStatus() != commonpb.TaskStatus_Finished || string(r.GetResult().GetOk().GetReturnValue()) != want {
		b.Fatalf("task %s %v, want Finished with %q", r.GetStatus(), r.GetResult(), want)
	}
}

func percentile(sorted []time.Duration, p float64) time.Duration {
	return sorted[min(len(sorted)-1, int(p*float64(len(sorted))))]
}

// BenchmarkEchoLatency measures invoke → result of builtin-echo, one task
// at a time: from management's InvokeTask (the task is created untimed)
// until the scheduler has committed the node's result. In process the
// node calls the scheduler directly; wiring=grpc puts the attested
// transport between them. Reports the median and 99th percentile.
func BenchmarkEchoLatency(b *testing.B) {
	for _, w := range []wiring{inProcess, overGRPC} {
		b.Run("wiring="+string(w), func(b *testing.B) {
			p, ws, _ := benchPlatform(b, w, 1, 2)
			ctx := teaclave.WithCaller(context.Background(), teaclave.Caller{ID: "alice", Role: teaclave.Role{Kind: teaclave.RolePlatformAdmin}})
			fn := p.registerFunction("alice", "builtin-echo", []string{"message"}, nil, nil)
			// Warm up: the first task pays for lazy setup.
			warm := echoTasks(b, p, ctx, fn, 1)[0]
			done := ws.expect(warm)
			must(p.mgmt.InvokeTask(ctx, &frontendpb.InvokeTaskRequest{TaskId: warm}))(b)
			<-done
			tasks := echoTasks(b, p, ctx, fn, b.N)
			lat := make([]time.Duration, 0, b.N)
			b.ResetTimer()
			for _, task := range tasks {
				done := ws.expect(task)
				start := time.Now()
				if _, err := p.mgmt.InvokeTask(ctx, &frontendpb.InvokeTaskRequest{TaskId: task}); err != nil {
					b.Fatal(err)
				}
				<-done
				lat = append(lat, time.Since(start))
			}
			b.StopTimer()
			slices.Sort(lat)
			b.ReportMetric(float64(percentile(lat, 0.5).Nanoseconds()), "median-ns")
			b.ReportMetric(float64(percentile(lat, 0.99).Nanoseconds()), "p99-ns")
			checkEcho(b, p, ctx, tasks[len(tasks)-1], fmt.Sprintf("m%d", len(tasks)-1))
		})
	}
}

// BenchmarkThroughputTwoNodes measures tasks per second with two
// execution nodes in process: each iteration creates a batch of
// builtin-echo tasks untimed, then invokes them all from 8 concurrent
// callers and waits until the scheduler has committed every result.
// Reports tasks/s over the timed part.
func BenchmarkThroughputTwoNodes(b *testing.B) {
	const batch, callers = 200, 8
	for _, capacity := range []int{2, 8} {
		b.Run(fmt.Sprintf("capacity=%d", capacity), func(b *testing.B) {
			p, ws, nodes := benchPlatform(b, inProcess, 2, capacity)
			ctx := teaclave.WithCaller(context.Background(), teaclave.Caller{ID: "alice", Role: teaclave.Role{Kind: teaclave.RolePlatformAdmin}})
			fn := p.registerFunction("alice", "builtin-echo", []string{"message"}, nil, nil)
			var elapsed time.Duration
			var last []string
			b.ResetTimer()
			for range b.N {
				b.StopTimer()
				tasks := echoTasks(b, p, ctx, fn, batch)
				dones := make([]<-chan struct{}, len(tasks))
				for i, task := range tasks {
					dones[i] = ws.expect(task)
				}
				b.StartTimer()
				start := time.Now()
				var wg sync.WaitGroup
				var failed atomic.Value
				for c := range callers {
					wg.Add(1)
					go func() {
						defer wg.Done()
						for i := c; i < len(tasks); i += callers {
							if _, err := p.mgmt.InvokeTask(ctx, &frontendpb.InvokeTaskRequest{TaskId: tasks[i]}); err != nil {
								failed.Store(err)
								return
							}
						}
					}()
				}
				wg.Wait()
				if err, _ := failed.Load().(error); err != nil {
					b.Fatal(err)
				}
				for _, d := range dones {
					<-d
				}
				elapsed += time.Since(start)
				last = tasks
			}
			b.StopTimer()
			b.ReportMetric(float64(b.N*batch)/elapsed.Seconds(), "tasks/s")
			for i, n := range nodes {
				if n.done.Load() == 0 {
					b.Fatalf("node %d ran no task", i)
				}
			}
			checkEcho(b, p, ctx, last[batch-1], fmt.Sprintf("m%d", batch-1))
		})
	}
}
