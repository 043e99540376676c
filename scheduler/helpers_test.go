package scheduler_test

import (
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"testing"
	"time"

	"github.com/teaclave-go/teaclave"
	"github.com/teaclave-go/teaclave/scheduler"
	sxtest "github.com/teaclave-go/teaclave/storage/xtest"
)

var quiet = slog.New(slog.NewTextHandler(io.Discard, nil))

// fastConfig keeps failure tests short: a node is given up after 200 ms
// without a heartbeat.
func fastConfig() scheduler.Config {
	return scheduler.Config{HeartbeatInterval: 20 * time.Millisecond, LeaseTimeout: 200 * time.Millisecond}.Defaults()
}

func ctxFor(t testing.TB) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	t.Cleanup(cancel)
	return ctx
}

// startScheduler starts a scheduler on store, stopped when the test ends.
func startScheduler(t testing.TB, store teaclave.Store, cfg scheduler.Config) *scheduler.Service {
	t.Helper()
	s, err := scheduler.New(cfg, scheduler.Deps{Store: store, Logger: quiet})
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Start(ctxFor(t)); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = s.Stop(context.Background()) })
	return s
}

func newStore() teaclave.Store { return sxtest.NewMemStore() }

// taskSpec describes a task to stage.
type taskSpec struct {
	executor teaclave.Executor
	outputs  []string // output slot names; each gets an unwritten output file
	args     string
	cancel   bool // the creator already asked to cancel
}

// stage writes a Staged task, its output records and its StagedTask the
// way management's InvokeTask does: one Commit that writes the task and
// enqueues the staged task.
func stage(t testing.TB, store teaclave.Store, spec taskSpec) teaclave.ID {
	t.Helper()
	if spec.executor == "" {
		spec.executor = teaclave.ExecutorBuiltin
	}
	if spec.args == "" {
		spec.args = `{"message":"hi"}`
	}
	id := teaclave.NewID(teaclave.PrefixTask)
	fn := teaclave.NewID(teaclave.PrefixFunction)
	task := teaclave.Task{
		ID: id, Creator: "alice", FunctionID: fn, FunctionOwner: "alice", Executor: spec.executor,
		InputsOwnership: map[string][]string{}, OutputsOwnership: map[string][]string{},
		Participants: []string{"alice"}, ApprovedUsers: []string{},
		AssignedInputs: map[string]teaclave.InputFile{}, AssignedOutputs: map[string]teaclave.OutputFile{},
		Status: teaclave.TaskStaged, CancelRequested: spec.cancel,
	}
	st := teaclave.StagedTask{
		TaskID: id, UserID: "alice", FunctionID: fn, FunctionName: "builtin-echo",
		ExecutorType: teaclave.ExecutorTypeBuiltin, Executor: spec.executor,
		FunctionArguments: json.RawMessage(spec.args),
		InputData:         map[string]teaclave.StagedInput{}, OutputData: map[string]teaclave.StagedOutput{},
	}
	var ops []teaclave.Op
	for _, name := range spec.outputs {
		out := teaclave.OutputFile{
			ID: teaclave.NewID(teaclave.PrefixOutput), URL: "https://example.com/" + name,
			Crypto: teaclave.FileCrypto{Schema: teaclave.SchemaTeaclaveFile128, Key: make([]byte, 16)}, Owners: []string{"alice"},
		}
		task.OutputsOwnership[name] = []string{"alice"}
		task.AssignedOutputs[name] = out
		st.OutputData[name] = teaclave.StagedOutput{ID: out.ID, URL: out.URL, Crypto: out.Crypto}
		ops = append(ops, teaclave.PutOp(teaclave.OutputKey(out.ID), mustJSON(t, &out)))
	}
	ops = append(ops,
		teaclave.PutOp(teaclave.TaskKey(id), mustJSON(t, &task)),
		teaclave.EnqueueOp([]byte(teaclave.QueueStagedTasks), mustJSON(t, &st)))
	if _, err := store.Commit(ctxFor(t), nil, ops); err != nil {
		t.Fatal(err)
	}
	return id
}

// requestCancel does what management's CancelTask does for a staged or
// running task: set CancelRequested and enqueue a TaskCancel, in one
// Commit under the task's version.
func requestCancel(t testing.TB, store teaclave.Store, id teaclave.ID) {
	t.Helper()
	ctx := ctxFor(t)
	for {
		data, ver, err := store.Get(ctx, teaclave.TaskKey(id))
		if err != nil {
			t.Fatal(err)
		}
		var task teaclave.Task
		if err := json.Unmarshal(data, &task); err != nil {
			t.Fatal(err)
		}
		task.CancelRequested = true
		_, err = store.Commit(ctx, []teaclave.Condition{teaclave.AtVersion(teaclave.TaskKey(id), ver)}, []teaclave.Op{
			teaclave.PutOp(teaclave.TaskKey(id), mustJSON(t, &task)),
			teaclave.EnqueueOp([]byte(teaclave.QueueCancel), mustJSON(t, &teaclave.TaskCancel{TaskID: id, RequestedBy: "alice"})),
		})
		if teaclave.KindOf(err) == teaclave.KindFailedPrecondition {
			continue
		}
		if err != nil {
			t.Fatal(err)
		}
		return
	}
}

func mustJSON(t testing.TB, v any) []byte {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func readTask(t testing.TB, store teaclave.Store, id teaclave.ID) teaclave.Task {
	t.Helper()
	data, _, err := store.Get(ctxFor(t), teaclave.TaskKey(id))
	if err != nil {
		t.Fatal(err)
	}
	var task teaclave.Task
	if err := json.Unmarshal(data, &task); err != nil {
		t.Fatal(err)
	}
	return task
}

func readOutput(t testing.TB, store teaclave.Store, id teaclave.ID) teaclave.OutputFile {
	t.Helper()
	data, _, err := store.Get(ctxFor(t), teaclave.OutputKey(id))
	if err != nil {
		t.Fatal(err)
	}
	var f teaclave.OutputFile
	if err := json.Unmarshal(data, &f); err != nil {
		t.Fatal(err)
	}
	return f
}

// waitStatus waits until the task reaches status and returns it. It fails
// the test after 20 s: final states are asserted, never timing.
func waitStatus(t testing.TB, store teaclave.Store, id teaclave.ID, status teaclave.TaskStatus) teaclave.Task {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for {
		task := readTask(t, store, id)
		if task.Status == status {
			return task
		}
		if time.Now().After(deadline) {
			t.Fatalf("task %s is %s (result %+v), want %s", id, task.Status, task.Result, status)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// schedulerKeys lists the scheduler's own records in the store.
func schedulerKeys(t testing.TB, store teaclave.Store) []string {
	t.Helper()
	kvs, err := store.Range(ctxFor(t), []byte("scheduler/"), teaclave.PrefixEnd([]byte("scheduler/")), 0, false)
	if err != nil {
		t.Fatal(err)
	}
	var keys []string
	for _, kv := range kvs {
		keys = append(keys, string(kv.Key))
	}
	return keys
}

// jobKeysOnly drops nonce claims from a key list.
func jobKeysOnly(keys []string) []string {
	var out []string
	for _, k := range keys {
		if len(k) > len("scheduler/nonce/") && k[:len("scheduler/nonce/")] == "scheduler/nonce/" {
			continue
		}
		out = append(out, k)
	}
	return out
}

// fakeNode is an execution node driven by the test through the
// Dispatcher: it receives commands on a channel and heartbeats only while
// told to.
type fakeNode struct {
	t    testing.TB
	d    scheduler.Dispatcher
	id   string
	cmds chan scheduler.Command
	beat chan []string // leases to report in heartbeats; nil stops them
	stop context.CancelFunc
}

// newFakeNode registers a node that runs executors with capacity slots
// and heartbeats (reporting the leases it was given) until silence is
// called.
func newFakeNode(t testing.TB, d scheduler.Dispatcher, capacity int, executors ...teaclave.Executor) *fakeNode {
	t.Helper()
	if len(executors) == 0 {
		executors = []teaclave.Executor{teaclave.ExecutorBuiltin}
	}
	ctx, cancel := context.WithCancel(context.Background())
	reg, err := d.RegisterNode(ctx, scheduler.NodeSpec{Executors: executors, Capacity: capacity})
	if err != nil {
		cancel()
		t.Fatal(err)
	}
	n := &fakeNode{t: t, d: d, id: reg.ID, cmds: make(chan scheduler.Command, 64), stop: cancel}
	t.Cleanup(cancel)
	w, err := d.Work(ctx, reg.ID)
	if err != nil {
		t.Fatal(err)
	}
	held := newLeaseSet()
	go func() {
		for {
			c, err := w.Recv()
			if err != nil {
				return
			}
			if c.Assignment != nil {
				held.add(c.Assignment.Lease.ID)
			}
			n.cmds <- c
		}
	}()
	go func() {
		tick := time.NewTicker(reg.HeartbeatInterval)
		defer tick.Stop()
		for {
			select {
			case <-ctx.Done():
				return
			case <-tick.C:
				_, _ = d.Heartbeat(ctx, reg.ID, held.list())
			}
		}
	}()
	return n
}

// silence stops the node's heartbeats and stream: it looks dead.
func (n *fakeNode) silence() { n.stop() }

// next returns the node's next command.
func (n *fakeNode) next() scheduler.Command {
	n.t.Helper()
	select {
	case c := <-n.cmds:
		return c
	case <-time.After(20 * time.Second):
		n.t.Fatal("no command for the node")
		return scheduler.Command{}
	}
}

func (n *fakeNode) assignment() *scheduler.Assignment {
	n.t.Helper()
	c := n.next()
	if c.Assignment == nil {
		n.t.Fatalf("got stop %q, want an assignment", c.Stop)
	}
	return c.Assignment
}

// none asserts that the node has received nothing more after the
// scheduler had time to act.
func (n *fakeNode) none(wait time.Duration) {
	n.t.Helper()
	select {
	case c := <-n.cmds:
		n.t.Fatalf("unexpected command %+v", c)
	case <-time.After(wait):
	}
}

type leaseSet struct {
	ch chan map[string]bool
}

func newLeaseSet() *leaseSet {
	s := &leaseSet{ch: make(chan map[string]bool, 1)}
	s.ch <- map[string]bool{}
	return s
}

func (s *leaseSet) add(l string) {
	m := <-s.ch
	m[l] = true
	s.ch <- m
}

func (s *leaseSet) list() []string {
	m := <-s.ch
	defer func() { s.ch <- m }()
	out := make([]string, 0, len(m))
	for l := range m {
		out = append(out, l)
	}
	return out
}

func ok(tag byte) teaclave.FileAuthTag {
	var t teaclave.FileAuthTag
	for i := range t {
		t[i] = tag
	}
	return t
}

func wantKind(t testing.TB, err error, k teaclave.Kind, what string) {
	t.Helper()
	if err == nil {
		t.Fatalf("%s: succeeded, want %s", what, k)
	}
	if got := teaclave.KindOf(err); got != k {
		t.Fatalf("%s: error %q is %s, want %s", what, err, got, k)
	}
}

func wantOK(t testing.TB, err error, what string) {
	t.Helper()
	if err != nil {
		t.Fatalf("%s: %v", what, err)
	}
}
