//go:build !teaclave_production

package management_test

import (
	"context"
	"errors"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/teaclave-go/teaclave"
	"github.com/teaclave-go/teaclave/management"
	"github.com/teaclave-go/teaclave/rpc/pb/frontendpb"
)

// errDataMissing is the refusal of an approval before every slot is
// filled (teaclave.Transition).
var errDataMissing = &teaclave.Error{Kind: teaclave.KindFailedPrecondition, Msg: "cannot approve task: data not fully assigned"}

// TestConcurrentParties: three parties assign their data and approve one
// task at the same time, round after round. Every assignment and approval
// lands (Teaclave lost updates here), the task ends Approved, and two
// concurrent invocations stage it exactly once. Meant for -race.
func TestConcurrentParties(t *testing.T) {
	for _, c := range []struct {
		w      wiring
		rounds int
	}{{inProcess, 200}, {overGRPC, 20}} {
		t.Run(string(c.w), func(t *testing.T) {
			e := newEnv(t, c.w, management.Config{})
			e.dir.Add("fo", "alice", "bob", "carol")
			r, err := e.api.RegisterFunction(e.as("fo", fnOwner), &frontendpb.RegisterFunctionRequest{
				Name: "join", ExecutorType: "builtin", Public: true, UsageQuota: -1,
				Inputs:  []*frontendpb.FunctionInput{{Name: "a"}, {Name: "b"}},
				Outputs: []*frontendpb.FunctionOutput{{Name: "out"}},
			})
			wantOK(t, err, "register")
			parties := []struct {
				user string
				ctx  context.Context
			}{{"alice", e.as("alice", dataOwner)}, {"bob", e.as("bob", dataOwner)}, {"carol", e.as("carol", dataOwner)}}
			for round := range c.rounds {
				cr, err := e.api.CreateTask(parties[0].ctx, &frontendpb.CreateTaskRequest{
					FunctionId: r.GetFunctionId(), FunctionArguments: "{}", Executor: "builtin",
					InputsOwnership:  owners(map[string][]string{"a": {"bob"}, "b": {"carol"}}),
					OutputsOwnership: owners(map[string][]string{"out": {"alice"}}),
				})
				wantOK(t, err, "create")
				task := cr.GetTaskId()
				reqs := []*frontendpb.AssignDataRequest{
					{TaskId: task, Outputs: dm(map[string]string{"out": e.output(parties[0].ctx)})},
					{TaskId: task, Inputs: dm(map[string]string{"a": e.input(parties[1].ctx)})},
					{TaskId: task, Inputs: dm(map[string]string{"b": e.input(parties[2].ctx)})},
				}
				errs := make([]error, len(parties))
				var wg sync.WaitGroup
				var assigned atomic.Int32
				for i, p := range parties {
					wg.Go(func() {
						if _, err := e.api.AssignData(p.ctx, reqs[i]); err != nil {
							errs[i] = err
							return
						}
						assigned.Add(1)
						// Approving needs every party's data: retry while
						// the others are still assigning.
						for {
							allAssigned := assigned.Load() == int32(len(parties))
							_, err := e.api.ApproveTask(p.ctx, &frontendpb.ApproveTaskRequest{TaskId: task})
							// An approval begun after every assignment returned
							// must find the data complete: else one was lost.
							if errors.Is(err, errDataMissing) && !allAssigned {
								time.Sleep(50 * time.Microsecond)
								continue
							}
							errs[i] = err
							return
						}
					})
				}
				wg.Wait()
				for i, err := range errs {
					if err != nil {
						t.Fatalf("round %d: %s: %v", round, parties[i].user, err)
					}
				}
				got := e.task(parties[1].ctx, task)
				if got.GetStatus().String() != "Approved" || len(got.GetAssignedInputs()) != 2 || len(got.GetAssignedOutputs()) != 1 ||
					!slices.Equal(got.GetApprovedUsers(), []string{"alice", "bob", "carol"}) {
					t.Fatalf("round %d: task %v", round, got)
				}
				invokeErrs := make([]error, 2)
				for i := range invokeErrs {
					wg.Go(func() {
						_, invokeErrs[i] = e.api.InvokeTask(parties[0].ctx, &frontendpb.InvokeTaskRequest{TaskId: task})
					})
				}
				wg.Wait()
				ok := 0
				for _, err := range invokeErrs {
					switch {
					case err == nil:
						ok++
					case teaclave.KindOf(err) != teaclave.KindFailedPrecondition:
						t.Fatalf("round %d: invoke: %v", round, err)
					}
				}
				if staged := e.stagedTasks(); ok != 1 || len(staged) != 1 || staged[0].TaskID.String() != task {
					t.Fatalf("round %d: %d invocations succeeded, %d staged", round, ok, len(staged))
				}
				if s := e.status(task); s != teaclave.TaskStaged {
					t.Fatalf("round %d: status %s", round, s)
				}
			}
			stats, err := e.api.GetFunctionUsageStats(parties[0].ctx, &frontendpb.GetFunctionUsageStatsRequest{FunctionId: r.GetFunctionId()})
			wantOK(t, err, "stats")
			if int(stats.GetCurrentUsage()) != c.rounds {
				t.Fatalf("usage %d after %d invocations", stats.GetCurrentUsage(), c.rounds)
			}
		})
	}
}
