package scheduler_test

import (
	"context"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/teaclave-go/teaclave"
	"github.com/teaclave-go/teaclave/scheduler"
)

// TestRunToFinish: a staged task reaches a registered node at once, runs,
// and its result lands with the outputs' cmacs in one commit; the
// scheduler's records of it are gone afterwards.
func TestRunToFinish(t *testing.T) {
	store := newStore()
	s := startScheduler(t, store, fastConfig())
	n := newFakeNode(t, s, 1)
	id := stage(t, store, taskSpec{outputs: []string{"out_a", "out_b"}})
	a := n.assignment()
	if a.Lease.TaskID != id || a.Attempt != 1 || a.Task.TaskID != id {
		t.Fatalf("assignment %+v for task %s", a, id)
	}
	if got := readTask(t, store, id).Status; got != teaclave.TaskStaged {
		t.Fatalf("before start: %s", got)
	}
	ctx := ctxFor(t)
	wantOK(t, s.StartTask(ctx, a.Lease), "start")
	wantOK(t, s.StartTask(ctx, a.Lease), "start again (a repeated report)")
	if got := readTask(t, store, id).Status; got != teaclave.TaskRunning {
		t.Fatalf("after start: %s", got)
	}
	res := teaclave.TaskResult{Ok: &teaclave.TaskOutputs{
		ReturnValue: []byte("done"), TagsMap: map[string]teaclave.FileAuthTag{"out_a": ok(1), "out_b": ok(2)}, Log: []string{"[INFO x] line"},
	}}
	wantOK(t, s.CompleteTask(ctx, a.Lease, scheduler.Completion{Result: res}), "complete")
	task := readTask(t, store, id)
	if task.Status != teaclave.TaskFinished || string(task.Result.Ok.ReturnValue) != "done" || !slices.Equal(task.Result.Ok.Log, []string{"[INFO x] line"}) {
		t.Fatalf("task %s, result %+v", task.Status, task.Result)
	}
	for name, want := range map[string]teaclave.FileAuthTag{"out_a": ok(1), "out_b": ok(2)} {
		f := readOutput(t, store, task.AssignedOutputs[name].ID)
		if f.Cmac == nil || *f.Cmac != want {
			t.Errorf("output %s cmac %v, want %v", name, f.Cmac, want)
		}
		if c := task.AssignedOutputs[name].Cmac; c == nil || *c != want {
			t.Errorf("task's copy of output %s cmac %v", name, c)
		}
	}
	if keys := jobKeysOnly(schedulerKeys(t, store)); len(keys) != 0 {
		t.Errorf("scheduler records left: %q", keys)
	}
	wantKind(t, s.CompleteTask(ctx, a.Lease, scheduler.Completion{Result: res}), teaclave.KindFailedPrecondition, "second result")
}

// TestFunctionFailureEndsFailed: an Err result ends the task Failed with
// the reason (Teaclave said Finished).
func TestFunctionFailureEndsFailed(t *testing.T) {
	store := newStore()
	s := startScheduler(t, store, fastConfig())
	n := newFakeNode(t, s, 1)
	id := stage(t, store, taskSpec{})
	a := n.assignment()
	ctx := ctxFor(t)
	wantOK(t, s.StartTask(ctx, a.Lease), "start")
	wantOK(t, s.CompleteTask(ctx, a.Lease, scheduler.Completion{Result: teaclave.TaskResult{Err: &teaclave.TaskFailure{Reason: "Cannot deserialize arguments"}}}), "complete")
	task := readTask(t, store, id)
	if task.Status != teaclave.TaskFailed || task.Result.Err == nil || task.Result.Err.Reason != "Cannot deserialize arguments" {
		t.Fatalf("task %s %+v", task.Status, task.Result)
	}
}

// TestResultMustFitTask: tags for the wrong outputs, an output another task
// wrote first, and an oversized return value end the task Failed with a
// reason and write no cmac.
func TestResultMustFitTask(t *testing.T) {
	cases := []struct {
		name   string
		result func(outID teaclave.ID) teaclave.TaskOutputs
		setup  func(t *testing.T, store teaclave.Store, out teaclave.OutputFile)
		reason string
	}{
		{"missing tag", func(teaclave.ID) teaclave.TaskOutputs {
			return teaclave.TaskOutputs{TagsMap: map[string]teaclave.FileAuthTag{}}
		}, nil, "reported tags for outputs none"},
		{"unknown tag", func(teaclave.ID) teaclave.TaskOutputs {
			return teaclave.TaskOutputs{TagsMap: map[string]teaclave.FileAuthTag{"out": ok(1), "other": ok(2)}}
		}, nil, `"other"`},
		{"written elsewhere", func(teaclave.ID) teaclave.TaskOutputs {
			return teaclave.TaskOutputs{TagsMap: map[string]teaclave.FileAuthTag{"out": ok(1)}}
		}, func(t *testing.T, store teaclave.Store, out teaclave.OutputFile) {
			tag := ok(9)
			out.Cmac = &tag
			if err := store.Put(ctxFor(t), teaclave.OutputKey(out.ID), mustJSON(t, &out)); err != nil {
				t.Fatal(err)
			}
		}, "Cannot overwrite output file cmac"},
		{"return value too large", func(teaclave.ID) teaclave.TaskOutputs {
			return teaclave.TaskOutputs{ReturnValue: make([]byte, 256<<10+1), TagsMap: map[string]teaclave.FileAuthTag{"out": ok(1)}}
		}, nil, "larger than 256 KiB"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			store := newStore()
			s := startScheduler(t, store, fastConfig())
			n := newFakeNode(t, s, 1)
			id := stage(t, store, taskSpec{outputs: []string{"out"}})
			a := n.assignment()
			out := readTask(t, store, id).AssignedOutputs["out"]
			if c.setup != nil {
				c.setup(t, store, out)
			}
			before := readOutput(t, store, out.ID).Cmac
			ctx := ctxFor(t)
			wantOK(t, s.StartTask(ctx, a.Lease), "start")
			r := c.result(out.ID)
			wantOK(t, s.CompleteTask(ctx, a.Lease, scheduler.Completion{Result: teaclave.TaskResult{Ok: &r}}), "complete")
			task := readTask(t, store, id)
			if task.Status != teaclave.TaskFailed || task.Result.Err == nil || !strings.Contains(task.Result.Err.Reason, c.reason) {
				t.Fatalf("task %s %+v, want Failed with %q", task.Status, task.Result, c.reason)
			}
			if after := readOutput(t, store, out.ID).Cmac; (before == nil) != (after == nil) || (after != nil && *after != *before) {
				t.Errorf("output cmac changed from %v to %v", before, after)
			}
		})
	}
}

// TestExpiredLeaseIsFenced: a node that stops heartbeating loses its lease;
// the task goes to another node; the first node's late start and result
// are refused with FailedPrecondition and change nothing.
func TestExpiredLeaseIsFenced(t *testing.T) {
	store := newStore()
	s := startScheduler(t, store, fastConfig())
	first := newFakeNode(t, s, 1)
	id := stage(t, store, taskSpec{})
	a1 := first.assignment()
	ctx := ctxFor(t)
	wantOK(t, s.StartTask(ctx, a1.Lease), "first start")
	first.silence()
	waitStatus(t, store, id, teaclave.TaskStaged) // re-staged
	second := newFakeNode(t, s, 1)
	a2 := second.assignment()
	if a2.Lease.ID == a1.Lease.ID || a2.Attempt != 2 || a2.Lease.TaskID != id {
		t.Fatalf("second assignment %+v after %+v", a2, a1)
	}
	late := scheduler.Completion{Result: teaclave.TaskResult{Ok: &teaclave.TaskOutputs{ReturnValue: []byte("stale"), TagsMap: map[string]teaclave.FileAuthTag{}}}}
	wantKind(t, s.CompleteTask(ctx, a1.Lease, late), teaclave.KindFailedPrecondition, "late result of the lost lease")
	wantKind(t, s.StartTask(ctx, a1.Lease), teaclave.KindFailedPrecondition, "late start of the lost lease")
	wantOK(t, s.StartTask(ctx, a2.Lease), "second start")
	wantKind(t, s.CompleteTask(ctx, a1.Lease, late), teaclave.KindFailedPrecondition, "late result while the second node runs")
	wantOK(t, s.CompleteTask(ctx, a2.Lease, scheduler.Completion{Result: teaclave.TaskResult{Ok: &teaclave.TaskOutputs{ReturnValue: []byte("fresh"), TagsMap: map[string]teaclave.FileAuthTag{}}}}), "second result")
	task := readTask(t, store, id)
	if task.Status != teaclave.TaskFinished || string(task.Result.Ok.ReturnValue) != "fresh" {
		t.Fatalf("task %s %+v", task.Status, task.Result)
	}
	wantKind(t, s.CompleteTask(ctx, a1.Lease, late), teaclave.KindFailedPrecondition, "late result after the end")
	if task := readTask(t, store, id); string(task.Result.Ok.ReturnValue) != "fresh" {
		t.Fatal("late result overwrote the task")
	}
}

// TestLostNodesBounded: a task whose node goes silent is staged again at
// most MaxAttempts times, then ends Failed with a reason; it never stays
// stuck.
func TestLostNodesBounded(t *testing.T) {
	store := newStore()
	cfg := fastConfig()
	cfg.MaxAttempts = 2
	s := startScheduler(t, store, cfg)
	id := stage(t, store, taskSpec{})
	for attempt := 1; attempt <= 2; attempt++ {
		n := newFakeNode(t, s, 1)
		a := n.assignment()
		if a.Attempt != attempt {
			t.Fatalf("attempt %d, want %d", a.Attempt, attempt)
		}
		if attempt == 1 {
			wantOK(t, s.StartTask(ctxFor(t), a.Lease), "start") // running, then lost
		}
		n.silence()
	}
	task := waitStatus(t, store, id, teaclave.TaskFailed)
	if task.Result.Err == nil || !strings.Contains(task.Result.Err.Reason, "Executor Timeout") || !strings.Contains(task.Result.Err.Reason, "2 attempts") {
		t.Fatalf("result %+v", task.Result)
	}
	if keys := jobKeysOnly(schedulerKeys(t, store)); len(keys) != 0 {
		t.Errorf("scheduler records left: %q", keys)
	}
}

// TestCancelStagedWithoutNode: cancelling a staged task takes effect with
// no execution node at all (Teaclave waited for an executor to pull it).
func TestCancelStagedWithoutNode(t *testing.T) {
	store := newStore()
	startScheduler(t, store, fastConfig())
	id := stage(t, store, taskSpec{})
	requestCancel(t, store, id)
	task := waitStatus(t, store, id, teaclave.TaskCanceled)
	if task.Result.Err == nil || task.Result.Err.Reason != "Task Canceled by the user" {
		t.Fatalf("result %+v", task.Result)
	}
}

// TestCancelLeasedNotStarted: a task leased to a node that has not started
// it is canceled at once and the node is told to drop it; its start is
// refused.
func TestCancelLeasedNotStarted(t *testing.T) {
	store := newStore()
	s := startScheduler(t, store, fastConfig())
	n := newFakeNode(t, s, 1)
	id := stage(t, store, taskSpec{})
	a := n.assignment()
	requestCancel(t, store, id)
	if c := n.next(); c.Stop != a.Lease.ID {
		t.Fatalf("command %+v, want stop of %s", c, a.Lease.ID)
	}
	waitStatus(t, store, id, teaclave.TaskCanceled)
	wantKind(t, s.StartTask(ctxFor(t), a.Lease), teaclave.KindFailedPrecondition, "start after cancel")
	// The slot is free again: the next task reaches the node.
	next := stage(t, store, taskSpec{})
	if b := n.assignment(); b.Lease.TaskID != next {
		t.Fatalf("assignment %+v, want task %s", b, next)
	}
}

// TestCancelRunning: the running task's node is told to stop on its work
// stream and in heartbeat replies; its report ends the task Canceled. A
// node that reports a success after the cancellation still ends it
// Canceled.
func TestCancelRunning(t *testing.T) {
	for _, reportOK := range []bool{false, true} {
		name := map[bool]string{false: "node stops", true: "node finishes anyway"}[reportOK]
		t.Run(name, func(t *testing.T) {
			store := newStore()
			s := startScheduler(t, store, fastConfig())
			n := newFakeNode(t, s, 1)
			id := stage(t, store, taskSpec{})
			a := n.assignment()
			ctx := ctxFor(t)
			wantOK(t, s.StartTask(ctx, a.Lease), "start")
			requestCancel(t, store, id)
			if c := n.next(); c.Stop != a.Lease.ID {
				t.Fatalf("command %+v, want stop of %s", c, a.Lease.ID)
			}
			reply, err := s.Heartbeat(ctx, n.id, []string{a.Lease.ID})
			wantOK(t, err, "heartbeat")
			if !slices.Equal(reply.Stop, []string{a.Lease.ID}) {
				t.Fatalf("heartbeat reply %+v", reply)
			}
			if got := readTask(t, store, id).Status; got != teaclave.TaskRunning {
				t.Fatalf("status %s before the node reports", got)
			}
			comp := scheduler.Completion{Canceled: true}
			if reportOK {
				comp = scheduler.Completion{Result: teaclave.TaskResult{Ok: &teaclave.TaskOutputs{TagsMap: map[string]teaclave.FileAuthTag{}}}}
			}
			wantOK(t, s.CompleteTask(ctx, a.Lease, comp), "report")
			task := readTask(t, store, id)
			if task.Status != teaclave.TaskCanceled || task.Result.Err == nil || task.Result.Err.Reason != "Task Canceled by the user" {
				t.Fatalf("task %s %+v", task.Status, task.Result)
			}
		})
	}
}

// TestCancelRunningSilentNode: a running task canceled while its node went
// silent ends Canceled when the lease runs out, never re-staged.
func TestCancelRunningSilentNode(t *testing.T) {
	store := newStore()
	s := startScheduler(t, store, fastConfig())
	n := newFakeNode(t, s, 1)
	id := stage(t, store, taskSpec{})
	a := n.assignment()
	wantOK(t, s.StartTask(ctxFor(t), a.Lease), "start")
	n.silence()
	requestCancel(t, store, id)
	waitStatus(t, store, id, teaclave.TaskCanceled)
}

// TestCancelBeforeDequeue: a task canceled while still in management's
// queue, with the scheduler down, ends Canceled and never reaches a node.
func TestCancelBeforeDequeue(t *testing.T) {
	store := newStore()
	id := stage(t, store, taskSpec{cancel: true})
	requestCancel(t, store, id)
	s := startScheduler(t, store, fastConfig())
	waitStatus(t, store, id, teaclave.TaskCanceled)
	n := newFakeNode(t, s, 1)
	// The staged copy still in the queue may be leased, but a start is refused.
	select {
	case c := <-n.cmds:
		if c.Assignment != nil {
			wantKind(t, s.StartTask(ctxFor(t), c.Assignment.Lease), teaclave.KindFailedPrecondition, "start of a canceled task")
		}
	case <-time.After(100 * time.Millisecond):
	}
	if got := readTask(t, store, id).Status; got != teaclave.TaskCanceled {
		t.Fatalf("status %s", got)
	}
}

// TestExecutorMatching: a task goes only to a node that runs its executor;
// it waits for one otherwise.
func TestExecutorMatching(t *testing.T) {
	store := newStore()
	s := startScheduler(t, store, fastConfig())
	builtin := newFakeNode(t, s, 2, teaclave.ExecutorBuiltin)
	id := stage(t, store, taskSpec{executor: teaclave.ExecutorWAMR})
	builtin.none(100 * time.Millisecond)
	wasm := newFakeNode(t, s, 1, teaclave.ExecutorWAMR)
	a := wasm.assignment()
	if a.Lease.TaskID != id || a.Attempt != 1 {
		t.Fatalf("assignment %+v", a)
	}
	builtin.none(50 * time.Millisecond)
}

// TestCapacity: a node never holds more tasks than its capacity; a freed
// slot is filled at once.
func TestCapacity(t *testing.T) {
	store := newStore()
	s := startScheduler(t, store, fastConfig())
	n := newFakeNode(t, s, 2)
	var ids []teaclave.ID
	for range 3 {
		ids = append(ids, stage(t, store, taskSpec{}))
	}
	a, b := n.assignment(), n.assignment()
	n.none(100 * time.Millisecond)
	ctx := ctxFor(t)
	wantOK(t, s.StartTask(ctx, a.Lease), "start")
	wantOK(t, s.CompleteTask(ctx, a.Lease, scheduler.Completion{Result: teaclave.TaskResult{Err: &teaclave.TaskFailure{Reason: "x"}}}), "complete")
	c := n.assignment()
	got := []teaclave.ID{a.Lease.TaskID, b.Lease.TaskID, c.Lease.TaskID}
	if !slices.Equal(got, ids) {
		t.Fatalf("tasks in order %v, want %v (FIFO)", got, ids)
	}
}

// TestRestartLosesNothing: with tasks staged, leased-not-started, running
// under a node that comes back, and running under a node that never comes
// back, a scheduler restart loses none: every task finishes.
func TestRestartLosesNothing(t *testing.T) {
	store := newStore()
	cfg := fastConfig()
	s1, err := scheduler.New(cfg, scheduler.Deps{Store: store, Logger: quiet})
	if err != nil {
		t.Fatal(err)
	}
	ctx := ctxFor(t)
	wantOK(t, s1.Start(ctx), "start first scheduler")
	back := newFakeNode(t, s1, 1)
	gone := newFakeNode(t, s1, 2)
	var ids []teaclave.ID
	for range 4 {
		ids = append(ids, stage(t, store, taskSpec{}))
	}
	// Three tasks leased: one to back (started), two to gone (one started).
	leases := map[string]*scheduler.Assignment{}
	var backLease *scheduler.Assignment
	for range 3 {
		select {
		case c := <-back.cmds:
			backLease = c.Assignment
		case c := <-gone.cmds:
			leases[c.Assignment.Lease.ID] = c.Assignment
		case <-time.After(20 * time.Second):
			t.Fatal("tasks not leased")
		}
	}
	if backLease == nil || len(leases) != 2 {
		t.Fatalf("leases: back %v, gone %d", backLease, len(leases))
	}
	wantOK(t, s1.StartTask(ctx, backLease.Lease), "start on back")
	for _, a := range leases {
		wantOK(t, s1.StartTask(ctx, a.Lease), "start on gone")
		break
	}
	back.silence()
	gone.silence()
	wantOK(t, s1.Stop(ctx), "stop first scheduler")

	s2 := startScheduler(t, store, cfg)
	// back registers again under its id with the lease it holds: it keeps it.
	reg, err := s2.RegisterNode(ctx, scheduler.NodeSpec{ID: back.id, Executors: []teaclave.Executor{teaclave.ExecutorBuiltin}, Capacity: 1, Held: []string{backLease.Lease.ID}})
	wantOK(t, err, "register again")
	if !slices.Equal(reg.Kept, []string{backLease.Lease.ID}) {
		t.Fatalf("kept %v", reg.Kept)
	}
	beatCtx, stopBeat := context.WithCancel(ctx)
	defer stopBeat()
	go func() {
		for beatCtx.Err() == nil {
			_, _ = s2.Heartbeat(beatCtx, back.id, []string{backLease.Lease.ID})
			time.Sleep(cfg.HeartbeatInterval)
		}
	}()
	// A fresh node takes everything else, including gone's tasks once
	// their leases run out.
	fresh := newFakeNode(t, s2, 4)
	done := map[teaclave.ID]bool{}
	for len(done) < 3 {
		a := fresh.assignment()
		wantOK(t, s2.StartTask(ctx, a.Lease), "start on fresh")
		wantOK(t, s2.CompleteTask(ctx, a.Lease, scheduler.Completion{Result: teaclave.TaskResult{Ok: &teaclave.TaskOutputs{ReturnValue: []byte("fresh"), TagsMap: map[string]teaclave.FileAuthTag{}}}}), "complete on fresh")
		done[a.Lease.TaskID] = true
	}
	// back kept its lease alive all along and reports under it.
	wantOK(t, s2.CompleteTask(ctx, backLease.Lease, scheduler.Completion{Result: teaclave.TaskResult{Ok: &teaclave.TaskOutputs{ReturnValue: []byte("back"), TagsMap: map[string]teaclave.FileAuthTag{}}}}), "complete on back")
	done[backLease.Lease.TaskID] = true
	for _, id := range ids {
		if !done[id] {
			t.Errorf("task %s never completed", id)
		}
		if got := readTask(t, store, id).Status; got != teaclave.TaskFinished {
			t.Errorf("task %s is %s", id, got)
		}
	}
	if keys := jobKeysOnly(schedulerKeys(t, store)); len(keys) != 0 {
		t.Errorf("scheduler records left: %q", keys)
	}
}

// TestPayloadAndNonce: payloads are served only while their digest
// matches; an AES-GCM nonce digest is claimed once.
func TestPayloadAndNonce(t *testing.T) {
	store := newStore()
	s := startScheduler(t, store, fastConfig())
	ctx := ctxFor(t)
	fn := teaclave.NewID(teaclave.PrefixFunction)
	payload := []byte("def entrypoint(argv): return argv[1]")
	wantOK(t, store.Put(ctx, teaclave.PayloadKey(fn), payload), "seed payload")
	got, err := s.FetchPayload(ctx, fn, teaclave.DigestOf(payload))
	wantOK(t, err, "fetch")
	if string(got) != string(payload) {
		t.Fatalf("payload %q", got)
	}
	_, err = s.FetchPayload(ctx, fn, teaclave.DigestOf([]byte("other")))
	wantKind(t, err, teaclave.KindFailedPrecondition, "changed payload")
	_, err = s.FetchPayload(ctx, teaclave.NewID(teaclave.PrefixFunction), teaclave.DigestOf(payload))
	wantKind(t, err, teaclave.KindFailedPrecondition, "missing payload")

	d := scheduler.NonceDigest(make([]byte, 16), make([]byte, 12))
	wantOK(t, s.ClaimNonce(ctx, d), "first claim")
	wantKind(t, s.ClaimNonce(ctx, d), teaclave.KindAlreadyExists, "second claim")
	if d == scheduler.NonceDigest(make([]byte, 16), append(make([]byte, 11), 1)) {
		t.Fatal("digest ignores the iv")
	}
}

// TestBadNodeInput: registrations and heartbeats the scheduler cannot take
// are refused with InvalidArgument or NotFound, never a panic.
func TestBadNodeInput(t *testing.T) {
	s := startScheduler(t, newStore(), fastConfig())
	ctx := ctxFor(t)
	for _, spec := range []scheduler.NodeSpec{
		{Executors: []teaclave.Executor{teaclave.ExecutorBuiltin}, Capacity: 0},
		{Executors: []teaclave.Executor{teaclave.ExecutorBuiltin}, Capacity: 5000},
		{Capacity: 1},
		{Executors: []teaclave.Executor{"python"}, Capacity: 1},
		{ID: "not-a-uuid", Executors: []teaclave.Executor{teaclave.ExecutorBuiltin}, Capacity: 1},
		{ID: "A0000000-0000-0000-0000-000000000000", Executors: []teaclave.Executor{teaclave.ExecutorBuiltin}, Capacity: 1},
	} {
		_, err := s.RegisterNode(ctx, spec)
		wantKind(t, err, teaclave.KindInvalidArgument, "register "+strings.Join([]string{spec.ID, string(rune('0' + spec.Capacity%10))}, "/"))
	}
	_, err := s.Heartbeat(ctx, "00000000-0000-0000-0000-000000000009", nil)
	wantKind(t, err, teaclave.KindNotFound, "heartbeat of an unknown node")
	_, err = s.Work(ctx, "nobody")
	wantKind(t, err, teaclave.KindNotFound, "work of an unknown node")
	wantKind(t, s.StartTask(ctx, scheduler.Lease{ID: "nope", TaskID: teaclave.NewID(teaclave.PrefixTask)}), teaclave.KindFailedPrecondition, "unknown lease")
	wantKind(t, s.CompleteTask(ctx, scheduler.Lease{ID: "nope"}, scheduler.Completion{}), teaclave.KindInvalidArgument, "empty result")
}
