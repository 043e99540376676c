//go:build !teaclave_production

package deploy_test

import (
	"context"
	"slices"
	"testing"
	"time"

	"github.com/teaclave-go/teaclave/examples/deploy/deploytest"
	"github.com/teaclave-go/teaclave/rpc/pb/commonpb"
	"github.com/teaclave-go/teaclave/rpc/pb/frontendpb"
)

// BenchmarkStartToReady starts the all-in-one platform on an existing data
// folder (the trust material and databases already created) until its api
// endpoints serve.
func BenchmarkStartToReady(b *testing.B) {
	dir := b.TempDir()
	deploytest.StartWith(b, deploytest.Options{DataDir: dir}).Stop(b)
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		p := deploytest.StartWith(b, deploytest.Options{DataDir: dir})
		b.StopTimer()
		p.Stop(b)
		b.StartTimer()
	}
}

// BenchmarkEchoEndToEnd measures builtin-echo from CreateTask to the
// finished result through the attested api endpoints, polling GetTask as a
// client does (every millisecond here; Teaclave's SDK polls every second).
func BenchmarkEchoEndToEnd(b *testing.B) {
	p := deploytest.Start(b)
	ctx := benchLogin(b, p)
	fe := frontendpb.NewTeaclaveFrontendClient(p.DialFrontend(b))
	fn, err := fe.RegisterFunction(ctx, &frontendpb.RegisterFunctionRequest{
		Name: "builtin-echo", ExecutorType: "builtin", Public: true, UsageQuota: -1,
		Arguments: []*frontendpb.FunctionArgument{{Key: "message", AllowOverwrite: true}},
	})
	if err != nil {
		b.Fatal(err)
	}
	lat := make([]time.Duration, 0, b.N)
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		start := time.Now()
		task, err := fe.CreateTask(ctx, &frontendpb.CreateTaskRequest{FunctionId: fn.FunctionId, Executor: "builtin", FunctionArguments: `{"message":"hi"}`})
		if err != nil {
			b.Fatal(err)
		}
		if _, err := fe.InvokeTask(ctx, &frontendpb.InvokeTaskRequest{TaskId: task.TaskId}); err != nil {
			b.Fatal(err)
		}
		for {
			got, err := fe.GetTask(ctx, &frontendpb.GetTaskRequest{TaskId: task.TaskId})
			if err != nil {
				b.Fatal(err)
			}
			if got.Status == commonpb.TaskStatus_Finished {
				break
			}
			if got.Status == commonpb.TaskStatus_Failed || got.Status == commonpb.TaskStatus_Canceled {
				b.Fatalf("task %v", got.Status)
			}
			time.Sleep(time.Millisecond)
		}
		lat = append(lat, time.Since(start))
	}
	b.StopTimer()
	slices.Sort(lat)
	b.ReportMetric(float64(lat[len(lat)/2].Microseconds()), "median-µs")
	b.ReportMetric(float64(lat[len(lat)*99/100].Microseconds()), "p99-µs")
}

func benchLogin(b *testing.B, p *deploytest.Platform) context.Context {
	b.Helper()
	return loginTB(b, p, "admin", "teaclave")
}
