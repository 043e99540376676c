package scheduler

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/google/uuid"

	"github.com/teaclave-go/teaclave"
)

// The scheduler's own records, next to management's (records.go):
//
//	scheduler/job/<job uuid>     jobRecord: the lease on a staged task
//	scheduler/staged/<job uuid>  the StagedTask, moved from the staged-task
//	                             queue by the same Commit that wrote the job
//	scheduler/cancel/<uuid>      a TaskCancel taken from cancel_queue and not
//	                             yet applied
//	scheduler/nonce/<hex>        an AES-GCM (key, iv) digest claimed for an
//	                             output
const (
	prefixJob    = "scheduler/job/"
	prefixStaged = "scheduler/staged/"
	prefixCancel = "scheduler/cancel/"
	prefixNonce  = "scheduler/nonce/"
)

var (
	queueStaged = []byte(teaclave.QueueStagedTasks)
	queueCancel = []byte(teaclave.QueueCancel)
)

func jobKey(id string) []byte    { return []byte(prefixJob + id) }
func stagedKey(id string) []byte { return []byte(prefixStaged + id) }

// Reasons recorded in task results (Teaclave's texts where it had one).
const (
	reasonCanceled = "Task Canceled by the user"
	reasonLost     = "Runtime Error: Executor Timeout"
)

// jobRecord is a job as stored: the current lease, if any. A job without
// a lease waits for a node.
type jobRecord struct {
	// Lease is the current lease id; empty while the job waits.
	Lease string `json:"lease,omitempty"`
	// Node holds the lease.
	Node string `json:"node,omitempty"`
	// Legacy: the node speaks Teaclave's scheduler protocol.
	Legacy bool `json:"legacy,omitempty"`
	// Attempt counts the leases granted so far.
	Attempt int `json:"attempt"`
	// Expires is when the lease runs out unless the node heartbeats, in
	// Unix milliseconds. It is written when the lease is granted and
	// renewed about every half lease timeout while the node heartbeats.
	Expires int64 `json:"expires,omitempty"`
}

// job is a staged task the scheduler holds. mu serializes the store
// changes of one job; the lease bookkeeping below it is guarded by
// Service.mu. Lock order: job.mu before Service.mu.
type job struct {
	id     string
	taskID teaclave.ID
	raw    []byte
	task   *teaclave.StagedTask

	mu   sync.Mutex
	rec  jobRecord
	gone bool // removed from the store

	// Guarded by Service.mu.
	lease     string
	nodeID    string
	node      *node // nil while waiting, or until the holder registers again
	legacy    bool
	deadline  time.Time
	persisted time.Time // the expiry last written to the store
	stopping  bool      // canceled while running: the node was told to stop
	pulled    bool      // a legacy executor pulled it
}

func (j *job) assignment() *Assignment {
	return &Assignment{Lease: Lease{ID: j.lease, TaskID: j.taskID}, Attempt: j.rec.Attempt, Task: j.task}
}

func encodeRecord(rec jobRecord) []byte {
	b, _ := json.Marshal(rec) // a struct of strings and ints always marshals
	return b
}

// parseStaged decodes a staged task and checks what the scheduler relies on.
func parseStaged(raw []byte) (*teaclave.StagedTask, error) {
	var st teaclave.StagedTask
	dec := json.NewDecoder(bytes.NewReader(raw))
	if err := dec.Decode(&st); err != nil {
		return nil, fmt.Errorf("undecodable staged task: %w", err)
	}
	if st.TaskID.Prefix() != teaclave.PrefixTask {
		return nil, errors.New("staged task without a task id")
	}
	return &st, nil
}

// load reads the jobs a previous run left in the store.
func (s *Service) load(ctx context.Context) error {
	start, end := []byte(prefixJob), teaclave.PrefixEnd([]byte(prefixJob))
	now := time.Now()
	for {
		page, err := s.store.Range(ctx, start, end, 1000, false)
		if err != nil {
			return err
		}
		for _, kv := range page {
			id := string(kv.Key[len(prefixJob):])
			if err := s.loadJob(ctx, id, kv.Value, now); err != nil {
				return err
			}
		}
		if len(page) == 0 {
			return nil
		}
		start = append(bytes.Clone(page[len(page)-1].Key), 0)
	}
}

func (s *Service) loadJob(ctx context.Context, id string, value []byte, now time.Time) error {
	var rec jobRecord
	if err := json.Unmarshal(value, &rec); err != nil {
		s.logger.Error("dropping undecodable job record", "job", id, "error", err)
		return s.dropKeys(ctx, id)
	}
	raw, _, err := s.store.Get(ctx, stagedKey(id))
	if teaclave.KindOf(err) == teaclave.KindNotFound {
		s.logger.Error("dropping job record without its staged task", "job", id)
		return s.dropKeys(ctx, id)
	}
	if err != nil {
		return err
	}
	st, err := parseStaged(raw)
	if err != nil {
		s.logger.Error("dropping job with an undecodable staged task", "job", id, "error", err)
		return s.dropKeys(ctx, id)
	}
	j := &job{id: id, taskID: st.TaskID, raw: raw, task: st, rec: rec}
	s.mu.Lock()
	defer s.mu.Unlock()
	if other := s.byTask[j.taskID]; other != nil {
		s.logger.Error("dropping a second job for one task", "task", j.taskID, "job", id, "kept", other.id)
		return s.dropKeys(ctx, id)
	}
	s.jobs[id] = j
	s.byTask[j.taskID] = j
	if rec.Lease == "" {
		s.pending = append(s.pending, j)
		return nil
	}
	j.lease, j.nodeID, j.legacy = rec.Lease, rec.Node, rec.Legacy
	j.deadline = time.UnixMilli(rec.Expires)
	j.persisted = j.deadline
	if j.deadline.After(now.Add(s.cfg.LeaseTimeout)) {
		// A record dated further ahead than a lease can run is not
		// believed: the node gets one lease timeout to come back.
		j.deadline = now.Add(s.cfg.LeaseTimeout)
	}
	s.byLease[j.lease] = j
	return nil
}

func (s *Service) dropKeys(ctx context.Context, id string) error {
	_, err := s.store.Commit(ctx, nil, []teaclave.Op{teaclave.DeleteOp(jobKey(id)), teaclave.DeleteOp(stagedKey(id))})
	return err
}

// change is what a decision about a task writes.
type change struct {
	// task, if set, is written back under the version it was read at.
	task *teaclave.Task
	// conds and ops are written with it (output records).
	conds []teaclave.Condition
	ops   []teaclave.Op
	// endJob removes the job: its records go in the same Commit.
	endJob bool
	// restage clears the lease: the job waits for a node again.
	restage bool
	// stop: the task runs and its node must be told to stop.
	stop bool
}

// errTaskGone reports that a task record disappeared under a job.
var errTaskGone = errors.New("task record missing")

// commitTask reads the task of j, lets decide what to change, and commits
// the change under the task's version, reading again when management
// changed the task in between. j.mu is held by the caller (or j is not
// yet shared).
func (s *Service) commitTask(ctx context.Context, j *job, decide func(t *teaclave.Task) (change, error)) (change, error) {
	return s.commitTaskID(ctx, j.taskID, j, decide)
}

// commitTaskID is commitTask for a task that may have no job (j nil).
func (s *Service) commitTaskID(ctx context.Context, id teaclave.ID, j *job, decide func(t *teaclave.Task) (change, error)) (change, error) {
	for range 32 {
		data, ver, err := s.store.Get(ctx, teaclave.TaskKey(id))
		if teaclave.KindOf(err) == teaclave.KindNotFound {
			return change{}, errTaskGone
		}
		if err != nil {
			return change{}, storeErr(err)
		}
		var t teaclave.Task
		if err := json.Unmarshal(data, &t); err != nil {
			s.logger.Error("undecodable task record", "task", id, "error", err)
			return change{}, teaclave.Wrap(teaclave.KindInternal, "service internal error", err)
		}
		c, err := decide(&t)
		if err != nil {
			return c, err
		}
		var conds []teaclave.Condition
		var ops []teaclave.Op
		if c.task != nil {
			rec, err := json.Marshal(c.task)
			if err != nil {
				return change{}, teaclave.Wrap(teaclave.KindInternal, "service internal error", err)
			}
			conds = append(conds, teaclave.AtVersion(teaclave.TaskKey(id), ver))
			ops = append(ops, teaclave.PutOp(teaclave.TaskKey(id), rec))
		}
		conds = append(conds, c.conds...)
		ops = append(ops, c.ops...)
		if j != nil {
			switch {
			case c.endJob:
				ops = append(ops, teaclave.DeleteOp(jobKey(j.id)), teaclave.DeleteOp(stagedKey(j.id)))
			case c.restage:
				rec := j.rec
				rec.Lease, rec.Node, rec.Legacy, rec.Expires = "", "", false, 0
				ops = append(ops, teaclave.PutOp(jobKey(j.id), encodeRecord(rec)))
			}
		}
		if len(ops) == 0 {
			return c, nil
		}
		_, err = s.store.Commit(ctx, conds, ops)
		if err == nil {
			if j != nil {
				switch {
				case c.endJob:
					j.gone = true
				case c.restage:
					j.rec.Lease, j.rec.Node, j.rec.Legacy, j.rec.Expires = "", "", false, 0
				}
			}
			return c, nil
		}
		if teaclave.KindOf(err) != teaclave.KindFailedPrecondition {
			return change{}, storeErr(err)
		}
		// Management changed the task (a cancellation) or another
		// task wrote an output in between: decide again on fresh records.
	}
	return change{}, teaclave.Errorf(teaclave.KindAborted, "task %s: too many concurrent changes", id)
}

// endTask returns a change that ends the task with status and result and
// removes its job.
func endTask(t *teaclave.Task, ev teaclave.TaskEvent, result teaclave.TaskResult) (change, error) {
	from := t.Status
	if ev != teaclave.EventCancelApplied && ev != teaclave.EventLost && from == teaclave.TaskStaged {
		// A node may report a result without having reported the start
		// (a Teaclave executor whose UpdateTaskStatus was lost).
		from = teaclave.TaskRunning
	}
	next, err := teaclave.Transition(from, ev, teaclave.TaskGuards{})
	if err != nil {
		return change{}, teaclave.Wrap(teaclave.KindInternal, "service internal error", err)
	}
	t.Status, t.Result = next, result
	return change{task: t, endJob: true}, nil
}

func canceledResult() teaclave.TaskResult {
	return teaclave.TaskResult{Err: &teaclave.TaskFailure{Reason: reasonCanceled}}
}

// removeJob forgets j after its records were deleted. j.mu is held.
func (s *Service) removeJob(j *job) {
	j.gone = true
	s.mu.Lock()
	defer s.mu.Unlock()
	s.forgetLocked(j)
}

func (s *Service) forgetLocked(j *job) {
	if s.jobs[j.id] == j {
		delete(s.jobs, j.id)
	}
	if s.byTask[j.taskID] == j {
		delete(s.byTask, j.taskID)
	}
	s.releaseLeaseLocked(j)
	for i, p := range s.pending {
		if p == j {
			s.pending = append(s.pending[:i], s.pending[i+1:]...)
			break
		}
	}
}

// releaseLeaseLocked detaches j's lease from its node and the lease index.
func (s *Service) releaseLeaseLocked(j *job) {
	if j.lease != "" && s.byLease[j.lease] == j {
		delete(s.byLease, j.lease)
	}
	if j.node != nil {
		if _, ok := j.node.active[j.id]; ok {
			delete(j.node.active, j.id)
			s.notifyLocked()
		}
	}
	j.lease, j.nodeID, j.node, j.legacy, j.stopping, j.pulled = "", "", nil, false, false, false
}

// requeueLocked puts j back among the jobs waiting for a node.
func (s *Service) requeueLocked(j *job) {
	s.releaseLeaseLocked(j)
	s.pending = append(s.pending, j)
	s.notifyLocked()
}

func newUUID() string { return uuid.NewString() }

// storeErr turns a store failure into what a node may see.
func storeErr(err error) error {
	switch teaclave.KindOf(err) {
	case teaclave.KindCanceled, teaclave.KindDeadlineExceeded, teaclave.KindUnavailable:
		return err
	}
	return teaclave.Wrap(teaclave.KindInternal, "service internal error", err)
}
