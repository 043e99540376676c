package scheduler

import (
	"context"
	"time"

	"github.com/teaclave-go/teaclave"
)

// pendingScan bounds how many waiting jobs one look for a match examines.
const pendingScan = 256

// takeLoop moves staged tasks from management's queue to nodes as soon as
// a node has room. It waits on the queue (WaitQueue) and moves the head
// into a job record leased to that node in one Commit (DequeueIntoOp plus
// the lease), so the task is in the queue or in a job at every instant.
func (s *Service) takeLoop(ctx context.Context) {
	for {
		if !s.waitForSlot(ctx) {
			return
		}
		if err := s.store.WaitQueue(ctx, queueStaged); err != nil {
			if ctx.Err() != nil {
				return
			}
			s.logger.WarnContext(ctx, "waiting on the staged-task queue failed", "error", err)
			sleep(ctx, errorBackoff)
			continue
		}
		s.mu.Lock()
		n := s.reserveLocked(func(*node) bool { return true })
		s.mu.Unlock()
		if n == nil {
			continue // the slot went to a waiting job
		}
		if _, err := s.take(ctx, n); err != nil && teaclave.KindOf(err) != teaclave.KindNotFound {
			if ctx.Err() != nil {
				return
			}
			s.logger.WarnContext(ctx, "taking a staged task failed", "error", err)
			sleep(ctx, errorBackoff)
		}
	}
}

// waitForSlot blocks until some node has a free slot that no waiting job
// can use (waiting jobs go first).
func (s *Service) waitForSlot(ctx context.Context) bool {
	for {
		s.mu.Lock()
		ok := false
		for _, n := range s.nodes {
			if !n.legacy && !n.gone && n.free() > 0 {
				ok = true
				break
			}
		}
		if ok && s.matchLocked() != nil {
			ok = false // the pending loop has work for it first
		}
		ch := s.changed
		s.mu.Unlock()
		if ok {
			return true
		}
		select {
		case <-ch:
		case <-ctx.Done():
			return false
		}
	}
}

// reserveLocked reserves a slot on the least loaded live node that accepts
// ok, or returns nil.
func (s *Service) reserveLocked(ok func(*node) bool) *node {
	var best *node
	for _, n := range s.nodes {
		if n.legacy || n.gone || n.free() <= 0 || !ok(n) {
			continue
		}
		if best == nil || load(n) < load(best) {
			best = n
		}
	}
	if best != nil {
		best.reserved++
	}
	return best
}

func load(n *node) float64 {
	return float64(len(n.active)+n.reserved) / float64(n.capacity)
}

// unreserveLocked returns a reserved slot.
func (s *Service) unreserveLocked(n *node) {
	n.reserved--
	s.notifyLocked()
}

// take moves the head of the staged-task queue into a job leased to n,
// whose slot the caller reserved. An empty queue is KindNotFound.
func (s *Service) take(ctx context.Context, n *node) (*job, error) {
	id, lease := newUUID(), newUUID()
	now := time.Now()
	rec := jobRecord{Lease: lease, Node: n.id, Legacy: n.legacy, Attempt: 1, Expires: now.Add(s.cfg.LeaseTimeout).UnixMilli()}
	res, err := s.store.Commit(ctx, nil, []teaclave.Op{
		teaclave.DequeueIntoOp(queueStaged, stagedKey(id)),
		teaclave.PutOp(jobKey(id), encodeRecord(rec)),
	})
	if err != nil {
		s.mu.Lock()
		s.unreserveLocked(n)
		s.mu.Unlock()
		if teaclave.KindOf(err) == teaclave.KindFailedPrecondition {
			return nil, teaclave.Errorf(teaclave.KindNotFound, "task queue is empty")
		}
		return nil, storeErr(err)
	}
	raw := res.Dequeued[0]
	st, err := parseStaged(raw)
	if err != nil {
		// Only management enqueues; a record it cannot have written is
		// dropped rather than left to block the queue.
		s.logger.ErrorContext(ctx, "dropping an undecodable staged task", "job", id, "error", err)
		_ = s.dropKeys(ctx, id)
		s.mu.Lock()
		s.unreserveLocked(n)
		s.mu.Unlock()
		return nil, teaclave.Errorf(teaclave.KindNotFound, "task queue is empty")
	}
	j := &job{id: id, taskID: st.TaskID, raw: raw, task: st, rec: rec}
	j.mu.Lock() // before anyone else can see j
	defer j.mu.Unlock()
	s.mu.Lock()
	n.reserved--
	if other := s.byTask[j.taskID]; other != nil {
		s.notifyLocked()
		s.mu.Unlock()
		s.logger.ErrorContext(ctx, "dropping a second staged task for one task", "task", j.taskID)
		_ = s.dropKeys(ctx, id)
		return nil, teaclave.Errorf(teaclave.KindNotFound, "task queue is empty")
	}
	s.jobs[id] = j
	s.byTask[j.taskID] = j
	if !n.runs(st.Executor) || n.gone {
		// The node cannot run it after all: the job waits for one that
		// can. Its record names a lease nobody received; the attempt
		// is not counted.
		j.rec = jobRecord{}
		s.pending = append(s.pending, j)
		s.notifyLocked()
		s.mu.Unlock()
		if err := s.store.Put(ctx, jobKey(id), encodeRecord(j.rec)); err != nil {
			s.logger.WarnContext(ctx, "could not record a job as waiting", "task", j.taskID, "error", err)
		}
		return nil, teaclave.Errorf(teaclave.KindNotFound, "task queue is empty")
	}
	s.leaseLocked(j, n, lease, now)
	s.mu.Unlock()
	return j, nil
}

// leaseLocked records j as leased to n and hands it over.
func (s *Service) leaseLocked(j *job, n *node, lease string, now time.Time) {
	j.lease, j.nodeID, j.node, j.legacy = lease, n.id, n, n.legacy
	j.deadline = now.Add(s.cfg.LeaseTimeout)
	j.persisted = j.deadline
	j.stopping, j.pulled = false, false
	s.byLease[lease] = j
	n.active[j.id] = j
	if !n.legacy {
		n.pushLocked(Command{Assignment: j.assignment()})
	}
}

// matchLocked returns the oldest waiting job some node with a free slot can
// run, or nil.
func (s *Service) matchLocked() *job {
	for i, j := range s.pending {
		if i == pendingScan {
			break
		}
		for _, n := range s.nodes {
			if !n.legacy && !n.gone && n.free() > 0 && n.runs(j.task.Executor) {
				return j
			}
		}
	}
	return nil
}

// pendingLoop leases waiting jobs (staged again, or loaded at start) to
// nodes that can run them, as capacity appears.
func (s *Service) pendingLoop(ctx context.Context) {
	for {
		s.mu.Lock()
		ch := s.changed
		var j *job
		var n *node
		if j = s.matchLocked(); j != nil {
			n = s.reserveLocked(func(n *node) bool { return n.runs(j.task.Executor) })
			s.removePendingLocked(j)
		}
		s.mu.Unlock()
		if j == nil {
			select {
			case <-ch:
				continue
			case <-ctx.Done():
				return
			}
		}
		if err := s.assign(ctx, j, n); err != nil {
			if ctx.Err() != nil {
				return
			}
			s.logger.WarnContext(ctx, "leasing a waiting task failed", "task", j.taskID, "error", err)
			sleep(ctx, errorBackoff)
		}
	}
}

func (s *Service) removePendingLocked(j *job) {
	for i, p := range s.pending {
		if p == j {
			s.pending = append(s.pending[:i], s.pending[i+1:]...)
			return
		}
	}
}

// assign grants a new lease on the waiting job j to n, whose slot the
// caller reserved, and writes it to the store before handing the job over.
func (s *Service) assign(ctx context.Context, j *job, n *node) error {
	j.mu.Lock()
	defer j.mu.Unlock()
	if j.gone {
		s.mu.Lock()
		s.unreserveLocked(n)
		s.mu.Unlock()
		return nil
	}
	lease, now := newUUID(), time.Now()
	rec := jobRecord{Lease: lease, Node: n.id, Legacy: n.legacy, Attempt: j.rec.Attempt + 1, Expires: now.Add(s.cfg.LeaseTimeout).UnixMilli()}
	if err := s.store.Put(ctx, jobKey(j.id), encodeRecord(rec)); err != nil {
		s.mu.Lock()
		s.unreserveLocked(n)
		s.pending = append([]*job{j}, s.pending...)
		s.mu.Unlock()
		return storeErr(err)
	}
	j.rec = rec
	s.mu.Lock()
	n.reserved--
	s.leaseLocked(j, n, lease, now)
	s.mu.Unlock()
	return nil
}
