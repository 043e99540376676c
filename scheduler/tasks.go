package scheduler

import (
	"context"
	"crypto/sha256"
	"encoding/json"
	"maps"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/teaclave-go/teaclave"
)

// errLeaseGone is the answer to a report under a lease the scheduler took
// back or never granted: the node must abandon the task.
func errLeaseGone() error {
	return teaclave.Errorf(teaclave.KindFailedPrecondition, "lease is not held: the task was staged again, canceled or has ended")
}

// current returns the job held under lease and locks it, or fails with
// errLeaseGone.
func (s *Service) current(lease Lease) (*job, error) {
	if lease.ID == "" {
		return nil, teaclave.Errorf(teaclave.KindInvalidArgument, "missing lease id")
	}
	s.mu.Lock()
	j := s.byLease[lease.ID]
	s.mu.Unlock()
	if j == nil {
		return nil, errLeaseGone()
	}
	if lease.TaskID != j.taskID {
		return nil, teaclave.Errorf(teaclave.KindInvalidArgument, "lease %s does not cover task %s", lease.ID, lease.TaskID)
	}
	j.mu.Lock()
	if j.gone || j.rec.Lease != lease.ID {
		j.mu.Unlock()
		return nil, errLeaseGone()
	}
	return j, nil
}

// StartTask implements Dispatcher: the task becomes Running. A task
// canceled meanwhile becomes Canceled instead and the call fails with
// KindFailedPrecondition, as for a lease taken back.
func (s *Service) StartTask(ctx context.Context, lease Lease) error {
	j, err := s.current(lease)
	if err != nil {
		return err
	}
	defer j.mu.Unlock()
	var refusal error
	c, err := s.commitTask(ctx, j, func(t *teaclave.Task) (change, error) {
		switch {
		case t.Status.Terminal():
			refusal = teaclave.Errorf(teaclave.KindFailedPrecondition, "task is already %s", t.Status)
			return change{endJob: true}, nil
		case t.CancelRequested:
			refusal = teaclave.Errorf(teaclave.KindFailedPrecondition, "task was canceled")
			return endTask(t, teaclave.EventCancelApplied, canceledResult())
		case t.Status == teaclave.TaskRunning:
			return change{}, nil // a repeated report
		}
		next, err := teaclave.Transition(t.Status, teaclave.EventStart, teaclave.TaskGuards{})
		if err != nil {
			return change{}, teaclave.Wrap(teaclave.KindInternal, "service internal error", err)
		}
		t.Status = next
		return change{task: t}, nil
	})
	if err == errTaskGone {
		return s.dropMissing(ctx, j)
	}
	if err != nil {
		return err
	}
	if c.endJob {
		s.removeJob(j)
		return refusal
	}
	s.mu.Lock()
	j.deadline = time.Now().Add(s.cfg.LeaseTimeout)
	s.mu.Unlock()
	return nil
}

// dropMissing removes a job whose task record is gone. j.mu is held.
func (s *Service) dropMissing(ctx context.Context, j *job) error {
	s.logger.ErrorContext(ctx, "task record missing; dropping its job", "task", j.taskID)
	if err := s.dropKeys(ctx, j.id); err != nil {
		return storeErr(err)
	}
	s.removeJob(j)
	return teaclave.Errorf(teaclave.KindFailedPrecondition, "task no longer exists")
}

// CompleteTask implements Dispatcher. The task record, its output records
// (each output's cmac, written once) and the removal of the job go in one
// Commit. An Ok result ends the task Finished, an Err result Failed (where
// Teaclave said Finished); a task whose cancellation was requested ends
// Canceled whatever the node reports. A result the task cannot take (tags
// for other outputs than the task's, an output another task wrote first,
// an oversized return value) ends it Failed with the reason.
func (s *Service) CompleteTask(ctx context.Context, lease Lease, comp Completion) error {
	if comp.Result.Ok != nil && comp.Result.Err != nil {
		return teaclave.Errorf(teaclave.KindInvalidArgument, "invalid result: both Ok and Err")
	}
	if !comp.Canceled && !comp.Result.Ready() {
		return teaclave.Errorf(teaclave.KindInvalidArgument, "invalid result: missing")
	}
	j, err := s.current(lease)
	if err != nil {
		return err
	}
	defer j.mu.Unlock()
	return s.complete(ctx, j, comp)
}

// complete records comp for j. j.mu is held.
func (s *Service) complete(ctx context.Context, j *job, comp Completion) error {
	var refusal error
	_, err := s.commitTask(ctx, j, func(t *teaclave.Task) (change, error) {
		switch {
		case t.Status.Terminal():
			refusal = teaclave.Errorf(teaclave.KindFailedPrecondition, "task is already %s", t.Status)
			return change{endJob: true}, nil
		case t.CancelRequested:
			return endTask(t, teaclave.EventCancelApplied, canceledResult())
		case comp.Canceled:
			return endTask(t, teaclave.EventFail, failure("the execution node stopped the task"))
		case comp.Result.Err != nil:
			return endTask(t, teaclave.EventFail, teaclave.TaskResult{Err: &teaclave.TaskFailure{Reason: clip(comp.Result.Err.Reason, maxReason)}})
		}
		return s.succeed(ctx, t, comp.Result.Ok)
	})
	if err == errTaskGone {
		return s.dropMissing(ctx, j)
	}
	if err != nil {
		return err
	}
	s.removeJob(j)
	return refusal
}

// maxReason bounds a failure reason, in bytes.
const maxReason = 4 << 10

func failure(reason string) teaclave.TaskResult {
	return teaclave.TaskResult{Err: &teaclave.TaskFailure{Reason: reason}}
}

func clip(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return strings.ToValidUTF8(s[:n], "")
}

// succeed ends t Finished with out, writing each output's cmac, or Failed
// if out does not fit the task.
func (s *Service) succeed(ctx context.Context, t *teaclave.Task, out *teaclave.TaskOutputs) (change, error) {
	if len(out.ReturnValue) > s.cfg.MaxReturnValue {
		return endTask(t, teaclave.EventFail, failure("the function's return value is larger than "+byteCount(s.cfg.MaxReturnValue)))
	}
	if want, got := slices.Sorted(maps.Keys(t.AssignedOutputs)), slices.Sorted(maps.Keys(out.TagsMap)); !slices.Equal(want, got) {
		return endTask(t, teaclave.EventFail, failure("the execution node reported tags for outputs "+quoteList(got)+", want "+quoteList(want)))
	}
	var c change
	for name, tag := range out.TagsMap {
		assigned := t.AssignedOutputs[name]
		data, ver, err := s.store.Get(ctx, teaclave.OutputKey(assigned.ID))
		if teaclave.KindOf(err) == teaclave.KindNotFound {
			return endTask(t, teaclave.EventFail, failure("output file "+assigned.ID.String()+" no longer exists"))
		}
		if err != nil {
			return change{}, storeErr(err)
		}
		var f teaclave.OutputFile
		if err := json.Unmarshal(data, &f); err != nil {
			return change{}, teaclave.Wrap(teaclave.KindInternal, "service internal error", err)
		}
		if f.Cmac != nil {
			return endTask(t, teaclave.EventFail, failure("Cannot overwrite output file cmac: output "+name+" ("+assigned.ID.String()+") was written by another task"))
		}
		tag := tag
		f.Cmac = &tag
		assigned.Cmac = &tag
		t.AssignedOutputs[name] = assigned
		rec, err := json.Marshal(&f)
		if err != nil {
			return change{}, teaclave.Wrap(teaclave.KindInternal, "service internal error", err)
		}
		c.conds = append(c.conds, teaclave.AtVersion(teaclave.OutputKey(assigned.ID), ver))
		c.ops = append(c.ops, teaclave.PutOp(teaclave.OutputKey(assigned.ID), rec))
	}
	log, size := make([]string, 0, len(out.Log)), 0
	for _, line := range out.Log {
		if size+len(line) > s.cfg.MaxLog {
			log = append(log, "[WARN teaclave_execution] log cut: longer than "+byteCount(s.cfg.MaxLog))
			break
		}
		size += len(line)
		log = append(log, line)
	}
	end, err := endTask(t, teaclave.EventSucceed, teaclave.TaskResult{Ok: &teaclave.TaskOutputs{
		ReturnValue: out.ReturnValue, TagsMap: out.TagsMap, Log: log,
	}})
	if err != nil {
		return change{}, err
	}
	end.conds, end.ops = c.conds, c.ops
	return end, nil
}

func byteCount(n int) string {
	switch {
	case n >= 1<<20 && n%(1<<20) == 0:
		return strconv.Itoa(n>>20) + " MiB"
	case n >= 1<<10 && n%(1<<10) == 0:
		return strconv.Itoa(n>>10) + " KiB"
	}
	return strconv.Itoa(n) + " bytes"
}

func quoteList(names []string) string {
	if len(names) == 0 {
		return "none"
	}
	return `"` + strings.Join(names, `", "`) + `"`
}

// cancelLoop applies cancellations: it moves each TaskCancel from
// management's queue into a record of its own in one Commit, applies it,
// then deletes the record, so a crash in between repeats the cancellation
// at the next start instead of losing it.
func (s *Service) cancelLoop(ctx context.Context) {
	for {
		if err := s.store.WaitQueue(ctx, queueCancel); err != nil {
			if ctx.Err() != nil {
				return
			}
			s.logger.WarnContext(ctx, "waiting on the cancel queue failed", "error", err)
			sleep(ctx, errorBackoff)
			continue
		}
		key := []byte(prefixCancel + newUUID())
		res, err := s.store.Commit(ctx, nil, []teaclave.Op{teaclave.DequeueIntoOp(queueCancel, key)})
		if err != nil {
			if teaclave.KindOf(err) != teaclave.KindFailedPrecondition {
				s.logger.WarnContext(ctx, "taking a cancellation failed", "error", err)
				sleep(ctx, errorBackoff)
			}
			continue
		}
		s.applyCancel(ctx, key, res.Dequeued[0])
	}
}

// resumeCancels applies the cancellations a previous run took but did not
// finish.
func (s *Service) resumeCancels(ctx context.Context) error {
	kvs, err := s.store.Range(ctx, []byte(prefixCancel), teaclave.PrefixEnd([]byte(prefixCancel)), 0, false)
	if err != nil {
		return err
	}
	for _, kv := range kvs {
		s.applyCancel(ctx, kv.Key, kv.Value)
	}
	return nil
}

func (s *Service) applyCancel(ctx context.Context, key, raw []byte) {
	var tc teaclave.TaskCancel
	if err := json.Unmarshal(raw, &tc); err != nil || tc.TaskID.Prefix() != teaclave.PrefixTask {
		s.logger.ErrorContext(ctx, "dropping an undecodable cancellation", "error", err)
	} else if err := s.cancelTask(ctx, tc.TaskID); err != nil {
		// The task record keeps CancelRequested: whoever touches the
		// task next (a node's start or result, a lease expiry) cancels it.
		s.logger.WarnContext(ctx, "cancellation not applied now; it will be when the task is next touched", "task", tc.TaskID, "error", err)
	}
	if err := s.store.Delete(ctx, key); err != nil {
		s.logger.WarnContext(ctx, "could not delete an applied cancellation", "error", err)
	}
}

// cancelTask applies a cancellation. A task that no node runs yet (in the
// queue, waiting, or leased but not started) ends Canceled at once; a
// running task's node is told to stop, and the task ends Canceled when the
// node reports back or its lease runs out.
func (s *Service) cancelTask(ctx context.Context, id teaclave.ID) error {
	s.mu.Lock()
	j := s.byTask[id]
	s.mu.Unlock()
	if j == nil {
		_, err := s.commitTaskID(ctx, id, nil, func(t *teaclave.Task) (change, error) {
			if t.Status != teaclave.TaskStaged || !t.CancelRequested {
				return change{}, nil // ended, or running under a job taken meanwhile
			}
			c, err := endTask(t, teaclave.EventCancelApplied, canceledResult())
			c.endJob = false // still in management's queue: no job
			return c, err
		})
		if err == errTaskGone {
			return nil
		}
		if err != nil {
			return err
		}
		s.mu.Lock()
		j = s.byTask[id]
		s.mu.Unlock()
		if j == nil {
			return nil
		}
		// A job was taken meanwhile: settle it too.
	}
	j.mu.Lock()
	defer j.mu.Unlock()
	if j.gone {
		return nil
	}
	c, err := s.commitTask(ctx, j, func(t *teaclave.Task) (change, error) {
		switch {
		case t.Status.Terminal():
			return change{endJob: true}, nil
		case t.Status == teaclave.TaskRunning:
			return change{stop: true}, nil
		}
		return endTask(t, teaclave.EventCancelApplied, canceledResult())
	})
	if err == errTaskGone {
		return s.dropMissing(ctx, j)
	}
	if err != nil {
		return err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	n := j.node
	switch {
	case c.stop:
		j.stopping = true
		if n != nil && !n.legacy {
			n.pushLocked(Command{Stop: j.lease})
		}
	default:
		lease := j.lease
		j.gone = true
		s.forgetLocked(j)
		if n != nil && lease != "" {
			if n.legacy {
				n.legacyCanceled = true
			} else {
				n.pushLocked(Command{Stop: lease})
			}
		}
	}
	return nil
}

// FetchPayload implements Dispatcher.
func (s *Service) FetchPayload(ctx context.Context, fn teaclave.ID, digest teaclave.Digest) ([]byte, error) {
	if fn.Prefix() != teaclave.PrefixFunction {
		return nil, teaclave.Errorf(teaclave.KindInvalidArgument, "invalid function id")
	}
	payload, _, err := s.store.Get(ctx, teaclave.PayloadKey(fn))
	if teaclave.KindOf(err) == teaclave.KindNotFound {
		return nil, teaclave.Errorf(teaclave.KindFailedPrecondition, "the function's payload no longer exists")
	}
	if err != nil {
		return nil, storeErr(err)
	}
	if teaclave.DigestOf(payload) != digest {
		return nil, teaclave.Errorf(teaclave.KindFailedPrecondition, "the function's payload changed since the task was invoked")
	}
	return payload, nil
}

// NonceDigest is the digest under which an AES-GCM (key, iv) pair is
// claimed: SHA-256 over a label, the key's length, the key and the iv.
func NonceDigest(key, iv []byte) teaclave.Digest {
	h := sha256.New()
	h.Write([]byte("teaclave-go aes-gcm output nonce v1\x00"))
	h.Write([]byte{byte(len(key))})
	h.Write(key)
	h.Write(iv)
	var d teaclave.Digest
	h.Sum(d[:0])
	return d
}

// ClaimNonce implements Dispatcher.
func (s *Service) ClaimNonce(ctx context.Context, digest teaclave.Digest) error {
	key := []byte(prefixNonce + digest.String())
	_, err := s.store.Commit(ctx, []teaclave.Condition{teaclave.Absent(key)}, []teaclave.Op{teaclave.PutOp(key, []byte{})})
	if teaclave.KindOf(err) == teaclave.KindFailedPrecondition {
		return teaclave.Errorf(teaclave.KindAlreadyExists, "this aes-gcm key and iv were used for an output before; register the output with a fresh iv")
	}
	if err != nil {
		return storeErr(err)
	}
	return nil
}
