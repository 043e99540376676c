//go:build !teaclave_production

package management_test

import (
	"context"
	"encoding/json"
	"testing"

	"github.com/teaclave-go/teaclave"
	"github.com/teaclave-go/teaclave/management"
	"github.com/teaclave-go/teaclave/rpc/pb/frontendpb"
)

// twoParty registers a public builtin function with input "in" and output
// "out" and returns a task on it created by alice: bob owns the input,
// alice the output.
type twoParty struct {
	e          *env
	fn, task   string
	alice, bob context.Context
}

func newTwoParty(t *testing.T, e *env, quota int32) *twoParty {
	p := &twoParty{e: e, alice: e.as("alice", dataOwner), bob: e.as("bob", dataOwner)}
	e.dir.Add("alice", "bob", "fo")
	r, err := e.api.RegisterFunction(e.as("fo", fnOwner), &frontendpb.RegisterFunctionRequest{
		Name: "two-party", ExecutorType: "builtin", Public: true, UsageQuota: quota,
		Inputs:  []*frontendpb.FunctionInput{{Name: "in"}},
		Outputs: []*frontendpb.FunctionOutput{{Name: "out"}},
	})
	wantOK(t, err, "register function")
	p.fn = r.GetFunctionId()
	p.task = p.create(t)
	return p
}

func (p *twoParty) create(t *testing.T) string {
	r, err := p.e.api.CreateTask(p.alice, &frontendpb.CreateTaskRequest{
		FunctionId: p.fn, FunctionArguments: "{}", Executor: "builtin",
		InputsOwnership:  owners(map[string][]string{"in": {"bob"}}),
		OutputsOwnership: owners(map[string][]string{"out": {"alice"}}),
	})
	wantOK(t, err, "create task")
	return r.GetTaskId()
}

func (p *twoParty) assignIn(id string) error {
	_, err := p.e.api.AssignData(p.bob, &frontendpb.AssignDataRequest{TaskId: id, Inputs: dm(map[string]string{"in": p.e.input(p.bob)})})
	return err
}

func (p *twoParty) assignOut(id string) error {
	_, err := p.e.api.AssignData(p.alice, &frontendpb.AssignDataRequest{TaskId: id, Outputs: dm(map[string]string{"out": p.e.output(p.alice)})})
	return err
}

func (p *twoParty) approve(ctx context.Context, id string) error {
	_, err := p.e.api.ApproveTask(ctx, &frontendpb.ApproveTaskRequest{TaskId: id})
	return err
}

func (p *twoParty) invoke(ctx context.Context, id string) error {
	_, err := p.e.api.InvokeTask(ctx, &frontendpb.InvokeTaskRequest{TaskId: id})
	return err
}

func (p *twoParty) cancel(ctx context.Context, id string) error {
	_, err := p.e.api.CancelTask(ctx, &frontendpb.CancelTaskRequest{TaskId: id})
	return err
}

// setStatus moves a staged task on as the scheduler would, through
// teaclave.Transition, writing the record directly.
func (e *env) setStatus(t *testing.T, id string, events ...teaclave.TaskEvent) {
	t.Helper()
	key := teaclave.TaskKey(mustID(t, id, teaclave.PrefixTask))
	data, _, err := e.store.Get(context.Background(), key)
	wantOK(t, err, "read task")
	var task teaclave.Task
	wantOK(t, json.Unmarshal(data, &task), "decode task")
	for _, ev := range events {
		next, err := teaclave.Transition(task.Status, ev, teaclave.TaskGuards{})
		wantOK(t, err, "scheduler transition "+ev.String())
		task.Status = next
	}
	if task.Status == teaclave.TaskFinished {
		task.Result = teaclave.TaskResult{Ok: &teaclave.TaskOutputs{ReturnValue: []byte("ok")}}
	}
	data, _ = json.Marshal(&task)
	wantOK(t, e.store.Put(context.Background(), key, data), "write task")
}

// TestTransitions drives a two-party task through every state and tries
// every user event in each, legal and illegal, in both wirings.
func TestTransitions(t *testing.T) {
	forEachWiring(t, func(t *testing.T, w wiring) {
		e := newEnv(t, w, management.Config{})
		p := newTwoParty(t, e, -1)
		admin := e.admin("root")
		e.dir.Add("root")

		// Created, nothing assigned.
		task := p.task
		wantKind(t, p.approve(p.alice, task), teaclave.KindFailedPrecondition, "approve before any data")
		wantKind(t, p.invoke(p.alice, task), teaclave.KindFailedPrecondition, "invoke before any data")
		_, err := e.api.AssignData(p.bob, &frontendpb.AssignDataRequest{TaskId: teaclave.NewID(teaclave.PrefixTask).String(), Inputs: dm(map[string]string{"in": e.input(p.bob)})})
		wantKind(t, err, teaclave.KindNotFound, "assign to a task never created")
		_, err = e.api.AssignData(p.alice, &frontendpb.AssignDataRequest{TaskId: task, Inputs: dm(map[string]string{"in": e.input(p.bob)})})
		wantKind(t, err, teaclave.KindPermissionDenied, "assign data one does not own")
		_, err = e.api.AssignData(e.as("carol", dataOwner), &frontendpb.AssignDataRequest{TaskId: task, Inputs: dm(map[string]string{"in": e.input(p.bob)})})
		wantKind(t, err, teaclave.KindPermissionDenied, "assign by a non-participant")

		// Created, partly assigned: stays Created.
		wantOK(t, p.assignIn(task), "bob assigns the input")
		if s := e.status(task); s != teaclave.TaskCreated {
			t.Fatalf("after a partial assignment: %s", s)
		}
		wantKind(t, p.assignIn(task), teaclave.KindFailedPrecondition, "assign a filled slot again")
		wantKind(t, p.approve(p.bob, task), teaclave.KindFailedPrecondition, "approve with data missing")
		wantKind(t, p.invoke(p.alice, task), teaclave.KindFailedPrecondition, "invoke with data missing")

		// DataAssigned (AssignData never approves, protocol §9 mechanic 1).
		wantOK(t, p.assignOut(task), "alice assigns the output")
		if s := e.status(task); s != teaclave.TaskDataAssigned {
			t.Fatalf("after every assignment: %s", s)
		}
		wantKind(t, p.assignOut(task), teaclave.KindFailedPrecondition, "assign in DataAssigned")
		wantKind(t, p.invoke(p.alice, task), teaclave.KindFailedPrecondition, "invoke before every approval")
		wantKind(t, p.approve(e.as("carol", dataOwner), task), teaclave.KindPermissionDenied, "approve by a non-participant")
		wantOK(t, p.approve(p.alice, task), "alice approves")
		if s := e.status(task); s != teaclave.TaskDataAssigned {
			t.Fatalf("after one of two approvals: %s", s)
		}
		wantKind(t, p.approve(p.alice, task), teaclave.KindFailedPrecondition, "approve twice")
		wantKind(t, p.invoke(p.alice, task), teaclave.KindFailedPrecondition, "invoke with one approval missing")

		// Approved.
		wantOK(t, p.approve(p.bob, task), "bob approves")
		if s := e.status(task); s != teaclave.TaskApproved {
			t.Fatalf("after every approval: %s", s)
		}
		wantKind(t, p.approve(p.bob, task), teaclave.KindFailedPrecondition, "approve in Approved")
		wantKind(t, p.assignIn(task), teaclave.KindFailedPrecondition, "assign in Approved")
		wantKind(t, p.invoke(p.bob, task), teaclave.KindPermissionDenied, "invoke by a non-creator")
		wantKind(t, p.cancel(p.bob, task), teaclave.KindPermissionDenied, "cancel by a non-creator participant")

		// Staged.
		wantOK(t, p.invoke(p.alice, task), "creator invokes")
		if s := e.status(task); s != teaclave.TaskStaged {
			t.Fatalf("after invoke: %s", s)
		}
		if n := len(e.stagedTasks()); n != 1 {
			t.Fatalf("%d staged tasks", n)
		}
		wantKind(t, p.invoke(p.alice, task), teaclave.KindFailedPrecondition, "invoke a staged task")
		wantKind(t, p.approve(p.alice, task), teaclave.KindFailedPrecondition, "approve a staged task")
		wantKind(t, p.assignOut(task), teaclave.KindFailedPrecondition, "assign to a staged task")
		wantOK(t, p.cancel(p.alice, task), "cancel a staged task")
		if s := e.status(task); s != teaclave.TaskStaged {
			t.Fatalf("cancel moved a staged task to %s; the scheduler applies it", s)
		}
		wantOK(t, p.cancel(admin, task), "cancel it again, as an admin")
		if c := e.cancels(); len(c) != 1 || c[0].TaskID.String() != task || c[0].RequestedBy != "alice" {
			t.Fatalf("cancel queue %+v, want one request by alice", c)
		}

		// Running, then Finished, as the scheduler moves it.
		running := p.create(t)
		wantOK(t, p.assignIn(running), "assign in")
		wantOK(t, p.assignOut(running), "assign out")
		wantOK(t, p.approve(p.alice, running), "approve")
		wantOK(t, p.approve(p.bob, running), "approve")
		wantOK(t, p.invoke(p.alice, running), "invoke")
		e.stagedTasks()
		e.setStatus(t, running, teaclave.EventStart)
		for what, err := range map[string]error{
			"assign": p.assignIn(running), "approve": p.approve(p.bob, running), "invoke": p.invoke(p.alice, running),
		} {
			wantKind(t, err, teaclave.KindFailedPrecondition, what+" a running task")
		}
		wantOK(t, p.cancel(p.alice, running), "cancel a running task")
		if s := e.status(running); s != teaclave.TaskRunning || len(e.cancels()) != 1 {
			t.Fatalf("running task after cancel: %s", s)
		}
		e.setStatus(t, running, teaclave.EventSucceed)
		wantKind(t, p.cancel(p.alice, running), teaclave.KindFailedPrecondition, "cancel a finished task")
		wantKind(t, p.invoke(p.alice, running), teaclave.KindFailedPrecondition, "invoke a finished task")
		if len(e.cancels()) != 0 || len(e.stagedTasks()) != 0 {
			t.Fatal("a refused call enqueued something")
		}

		// Canceled before staging, from each early state.
		for _, prep := range []func(string){
			func(string) {},
			func(id string) { wantOK(t, p.assignIn(id), "assign"); wantOK(t, p.assignOut(id), "assign") },
			func(id string) {
				wantOK(t, p.assignIn(id), "assign")
				wantOK(t, p.assignOut(id), "assign")
				wantOK(t, p.approve(p.alice, id), "approve")
				wantOK(t, p.approve(p.bob, id), "approve")
			},
		} {
			id := p.create(t)
			prep(id)
			from := e.status(id)
			wantOK(t, p.cancel(p.alice, id), "cancel in "+from.String())
			got := e.task(p.alice, id)
			if got.GetStatus().String() != "Canceled" || got.GetResult().GetErr().GetReason() != "Task canceled" {
				t.Fatalf("canceled from %s: %v %v", from, got.GetStatus(), got.GetResult())
			}
			wantKind(t, p.cancel(p.alice, id), teaclave.KindFailedPrecondition, "cancel a canceled task")
			wantKind(t, p.assignIn(id), teaclave.KindFailedPrecondition, "assign to a canceled task")
			wantKind(t, p.approve(p.bob, id), teaclave.KindFailedPrecondition, "approve a canceled task")
			wantKind(t, p.invoke(p.alice, id), teaclave.KindFailedPrecondition, "invoke a canceled task")
		}

		// Failed, as the scheduler ends a task whose node was lost.
		failed := p.create(t)
		wantOK(t, p.assignIn(failed), "assign")
		wantOK(t, p.assignOut(failed), "assign")
		wantOK(t, p.approve(p.alice, failed), "approve")
		wantOK(t, p.approve(p.bob, failed), "approve")
		wantOK(t, p.invoke(p.alice, failed), "invoke")
		e.stagedTasks()
		e.setStatus(t, failed, teaclave.EventLost)
		wantKind(t, p.cancel(admin, failed), teaclave.KindFailedPrecondition, "cancel a failed task")
	})
}

// TestTeaclaveMechanics checks the three mechanics of protocol §9 kept on
// purpose, and the quota guard.
func TestTeaclaveMechanics(t *testing.T) {
	forEachWiring(t, func(t *testing.T, w wiring) {
		e := newEnv(t, w, management.Config{})
		e.dir.Add("alice", "bob", "fo")
		alice := e.as("alice", dataOwner)

		// A one-participant task without slots needs no approval: Created
		// straight to Staged.
		r, err := e.api.RegisterFunction(e.as("fo", fnOwner), &frontendpb.RegisterFunctionRequest{Name: "echo", ExecutorType: "builtin", Public: true, UsageQuota: 1,
			Arguments: []*frontendpb.FunctionArgument{{Key: "message", AllowOverwrite: true}}})
		wantOK(t, err, "register echo")
		echo := r.GetFunctionId()
		c, err := e.api.CreateTask(alice, &frontendpb.CreateTaskRequest{FunctionId: echo, FunctionArguments: `{"message":"hi"}`, Executor: "builtin"})
		wantOK(t, err, "create")
		if s := e.status(c.GetTaskId()); s != teaclave.TaskCreated {
			t.Fatalf("new task %s", s)
		}
		wantOK(t, func() error {
			_, err := e.api.InvokeTask(alice, &frontendpb.InvokeTaskRequest{TaskId: c.GetTaskId()})
			return err
		}(), "invoke from Created")
		if s := e.status(c.GetTaskId()); s != teaclave.TaskStaged {
			t.Fatalf("after invoke %s", s)
		}
		st := e.stagedTasks()
		if len(st) != 1 || string(st[0].FunctionArguments) != `{"message":"hi"}` {
			t.Fatalf("staged %+v", st)
		}
		// Quota 1 is now used up.
		c2, err := e.api.CreateTask(alice, &frontendpb.CreateTaskRequest{FunctionId: echo, FunctionArguments: `{"message":"again"}`, Executor: "builtin"})
		wantOK(t, err, "create a second task")
		_, err = e.api.InvokeTask(alice, &frontendpb.InvokeTaskRequest{TaskId: c2.GetTaskId()})
		wantKind(t, err, teaclave.KindResourceExhausted, "invoke past the quota")
		stats, err := e.api.GetFunctionUsageStats(alice, &frontendpb.GetFunctionUsageStatsRequest{FunctionId: echo})
		wantOK(t, err, "stats")
		if stats.GetFunctionQuota() != 1 || stats.GetCurrentUsage() != 1 {
			t.Fatalf("stats %v", stats)
		}

		// A private function without slots: participants are the creator
		// and the function's owner; the creator's approval on Created
		// passes through DataAssigned, the owner's completes it.
		r, err = e.api.RegisterFunction(e.as("fo", admin), &frontendpb.RegisterFunctionRequest{Name: "private", ExecutorType: "builtin", UserAllowlist: []string{"alice"}, UsageQuota: -1})
		wantOK(t, err, "register private")
		c, err = e.api.CreateTask(alice, &frontendpb.CreateTaskRequest{FunctionId: r.GetFunctionId(), FunctionArguments: "{}", Executor: "builtin"})
		wantOK(t, err, "allowlisted user creates")
		_, err = e.api.ApproveTask(alice, &frontendpb.ApproveTaskRequest{TaskId: c.GetTaskId()})
		wantOK(t, err, "creator approves on Created")
		if s := e.status(c.GetTaskId()); s != teaclave.TaskDataAssigned {
			t.Fatalf("after the creator's approval %s", s)
		}
		_, err = e.api.ApproveTask(e.as("fo", fnOwner), &frontendpb.ApproveTaskRequest{TaskId: c.GetTaskId()})
		wantOK(t, err, "function owner approves")
		if s := e.status(c.GetTaskId()); s != teaclave.TaskApproved {
			t.Fatalf("after both approvals %s", s)
		}

		// A one-participant task with slots: AssignData reaches
		// DataAssigned, never Approved; invoke needs no approval.
		p := newTwoParty(t, e, -1)
		r, err = e.api.RegisterFunction(e.as("fo", fnOwner), &frontendpb.RegisterFunctionRequest{Name: "own", ExecutorType: "builtin", Public: true, UsageQuota: -1,
			Outputs: []*frontendpb.FunctionOutput{{Name: "out"}}})
		wantOK(t, err, "register")
		c, err = e.api.CreateTask(alice, &frontendpb.CreateTaskRequest{FunctionId: r.GetFunctionId(), FunctionArguments: "{}", Executor: "builtin",
			OutputsOwnership: owners(map[string][]string{"out": {"alice"}})})
		wantOK(t, err, "create")
		wantOK(t, p.assignOut(c.GetTaskId()), "assign")
		if s := e.status(c.GetTaskId()); s != teaclave.TaskDataAssigned {
			t.Fatalf("one participant after assignment: %s", s)
		}
		wantOK(t, p.invoke(alice, c.GetTaskId()), "invoke without approval")
	})
}
