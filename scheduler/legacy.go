package scheduler

import (
	"context"
	"time"

	"github.com/teaclave-go/teaclave"
)

// This file gives Teaclave's executors (protocol §12.3, §13.1) what they
// expect: an executor exists once it heartbeats or pulls, runs one task at
// a time and runs every executor type. Its leases are fenced by executor
// id where Teaclave's messages carry one (Heartbeat, PullTask); its status
// and result reports carry only the task id, so they are accepted while
// the task is leased to some Teaclave executor and refused once the lease
// was taken back.

// legacyNode returns the Teaclave executor with id, creating it. s.mu is
// held.
func (s *Service) legacyNodeLocked(id string, now time.Time) (*node, error) {
	if _, err := teaclave.ParseBareUUID(id); err != nil {
		return nil, teaclave.Errorf(teaclave.KindInvalidArgument, "invalid executor id: want a lowercase UUID")
	}
	n := s.nodes[id]
	if n == nil {
		n = newNode(id, true, now)
		n.capacity = 1
		s.nodes[id] = n
	}
	if !n.legacy {
		return nil, teaclave.Errorf(teaclave.KindFailedPrecondition, "executor id is in use by a registered node")
	}
	n.lastSeen = now
	for _, j := range n.active {
		j.deadline = now.Add(s.cfg.LeaseTimeout)
	}
	return n, nil
}

func heldLocked(n *node) *job {
	for _, j := range n.active {
		return j
	}
	return nil
}

// LegacyCommand is Teaclave's ExecutorCommand.
type legacyCommand int

const (
	legacyNoAction legacyCommand = 0
	legacyStop     legacyCommand = 1
	legacyNewTask  legacyCommand = 2
)

// legacyHeartbeat is Teaclave's Heartbeat: Stop for a running task that
// was canceled, NewTask when a task is leased to the executor and waits
// to be pulled (an idle executor gets one at once if there is one),
// NoAction otherwise. An idle executor that still holds a pulled task has
// dropped it without a result: the lease is taken back.
func (s *Service) legacyHeartbeat(ctx context.Context, id string, executing bool) (legacyCommand, error) {
	if s.isStopped() {
		return legacyNoAction, teaclave.Errorf(teaclave.KindUnavailable, "scheduler is stopping")
	}
	now := time.Now()
	s.mu.Lock()
	n, err := s.legacyNodeLocked(id, now)
	if err != nil {
		s.mu.Unlock()
		return legacyNoAction, err
	}
	held := heldLocked(n)
	var stopping, pulled bool
	var lease string
	if held != nil {
		stopping, pulled, lease = held.stopping, held.pulled, held.lease
	}
	s.mu.Unlock()
	switch {
	case executing && stopping:
		held.mu.Lock()
		if !held.gone && held.rec.Lease == lease {
			err = s.complete(ctx, held, Completion{Canceled: true})
		}
		held.mu.Unlock()
		if err != nil && teaclave.KindOf(err) != teaclave.KindFailedPrecondition {
			return legacyNoAction, err
		}
		return legacyStop, nil
	case executing:
		return legacyNoAction, nil
	case held != nil && !pulled:
		return legacyNewTask, nil
	case held != nil:
		s.mu.Lock()
		held.deadline = time.Time{}
		s.mu.Unlock()
		s.expire(ctx, held, lease)
	}
	j, err := s.legacyAssign(ctx, n)
	if err != nil {
		return legacyNoAction, err
	}
	if j == nil {
		return legacyNoAction, nil
	}
	return legacyNewTask, nil
}

// legacyAssign leases a waiting job, or the head of the staged-task queue,
// to the Teaclave executor n; nil if there is none or n is busy.
func (s *Service) legacyAssign(ctx context.Context, n *node) (*job, error) {
	s.mu.Lock()
	if n.gone || n.free() <= 0 {
		s.mu.Unlock()
		return nil, nil
	}
	n.reserved++
	if len(s.pending) > 0 {
		j := s.pending[0]
		s.pending = s.pending[1:]
		s.mu.Unlock()
		if err := s.assign(ctx, j, n); err != nil {
			return nil, err
		}
		return j, nil
	}
	s.mu.Unlock()
	j, err := s.take(ctx, n)
	if teaclave.KindOf(err) == teaclave.KindNotFound {
		return nil, nil
	}
	return j, err
}

// legacyPull is Teaclave's PullTask: the staged task leased to the
// executor, leasing one first if there is none.
func (s *Service) legacyPull(ctx context.Context, id string) ([]byte, error) {
	if s.isStopped() {
		return nil, teaclave.Errorf(teaclave.KindUnavailable, "scheduler is stopping")
	}
	s.mu.Lock()
	n, err := s.legacyNodeLocked(id, time.Now())
	if err != nil {
		s.mu.Unlock()
		return nil, err
	}
	if n.legacyCanceled {
		n.legacyCanceled = false
		s.mu.Unlock()
		return nil, teaclave.Errorf(teaclave.KindFailedPrecondition, "task to pull has been canceled")
	}
	if held := heldLocked(n); held != nil {
		defer s.mu.Unlock()
		if held.pulled {
			return nil, teaclave.Errorf(teaclave.KindFailedPrecondition, "executor already runs a task")
		}
		held.pulled = true
		return held.raw, nil
	}
	s.mu.Unlock()
	j, err := s.legacyAssign(ctx, n)
	if err != nil {
		return nil, err
	}
	if j == nil {
		return nil, teaclave.Errorf(teaclave.KindNotFound, "task queue is empty")
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if j.node != n || s.byLease[j.lease] != j {
		n.legacyCanceled = false
		return nil, teaclave.Errorf(teaclave.KindFailedPrecondition, "task to pull has been canceled")
	}
	j.pulled = true
	return j.raw, nil
}

// legacyLease returns the lease a Teaclave executor holds on task id.
func (s *Service) legacyLease(id teaclave.ID) (Lease, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	j := s.byTask[id]
	if j == nil || j.lease == "" || !j.legacy {
		return Lease{}, teaclave.Errorf(teaclave.KindFailedPrecondition, "task is not held by a Teaclave executor")
	}
	return Lease{ID: j.lease, TaskID: id}, nil
}
