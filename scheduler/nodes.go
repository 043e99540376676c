package scheduler

import (
	"context"
	"slices"
	"strconv"
	"time"

	"github.com/teaclave-go/teaclave"
)

// Bounds on what a node may declare.
const (
	maxCapacity  = 1024
	maxHeld      = 4 * maxCapacity
	maxExecutors = 16
)

// node is an execution node the scheduler knows. Guarded by Service.mu.
type node struct {
	id        string
	executors []teaclave.Executor
	capacity  int
	legacy    bool // a Teaclave executor: pulls one task at a time
	lastSeen  time.Time
	active    map[string]*job // jobs leased to it, by job id
	reserved  int             // slots promised to a dispatch in progress
	gone      bool            // given up, or replaced by a new registration
	queue     []Command       // commands not yet received
	wake      chan struct{}   // closed and replaced when queue changes
	stream    int             // generation of the current work stream

	// legacyCanceled: the task this Teaclave executor was to pull was
	// canceled; its next PullTask says so.
	legacyCanceled bool
}

func newNode(id string, legacy bool, now time.Time) *node {
	return &node{id: id, legacy: legacy, lastSeen: now, active: map[string]*job{}, wake: make(chan struct{})}
}

func (n *node) runs(e teaclave.Executor) bool {
	return n.legacy || slices.Contains(n.executors, e)
}

func (n *node) free() int { return n.capacity - len(n.active) - n.reserved }

func (n *node) wakeLocked() {
	close(n.wake)
	n.wake = make(chan struct{})
}

func (n *node) pushLocked(c Command) {
	n.queue = append(n.queue, c)
	n.wakeLocked()
}

// RegisterNode implements Dispatcher.
func (s *Service) RegisterNode(ctx context.Context, spec NodeSpec) (NodeRegistration, error) {
	if spec.Capacity < 1 || spec.Capacity > maxCapacity {
		return NodeRegistration{}, teaclave.Errorf(teaclave.KindInvalidArgument, "invalid node: capacity must be 1 to %d", maxCapacity)
	}
	if len(spec.Executors) == 0 || len(spec.Executors) > maxExecutors {
		return NodeRegistration{}, teaclave.Errorf(teaclave.KindInvalidArgument, "invalid node: name 1 to %d executors", maxExecutors)
	}
	for _, e := range spec.Executors {
		if _, err := teaclave.ParseExecutor(string(e)); err != nil {
			return NodeRegistration{}, err
		}
	}
	if len(spec.Held) > maxHeld {
		return NodeRegistration{}, teaclave.Errorf(teaclave.KindInvalidArgument, "invalid node: more than %d held leases", maxHeld)
	}
	id := spec.ID
	if id == "" {
		id = newUUID()
	} else if _, err := teaclave.ParseBareUUID(id); err != nil {
		return NodeRegistration{}, teaclave.Errorf(teaclave.KindInvalidArgument, "invalid node id: want a lowercase UUID")
	}
	if s.isStopped() {
		return NodeRegistration{}, teaclave.Errorf(teaclave.KindUnavailable, "scheduler is stopping")
	}
	now := time.Now()
	s.mu.Lock()
	defer s.mu.Unlock()
	n := s.nodes[id]
	if n != nil && n.legacy {
		return NodeRegistration{}, teaclave.Errorf(teaclave.KindFailedPrecondition, "node id is in use by a Teaclave executor")
	}
	if n == nil {
		n = newNode(id, false, now)
		s.nodes[id] = n
	}
	n.executors = slices.Clone(spec.Executors)
	n.capacity = spec.Capacity
	n.lastSeen = now
	reg := NodeRegistration{ID: id, HeartbeatInterval: s.cfg.HeartbeatInterval, LeaseTimeout: s.cfg.LeaseTimeout}
	for _, l := range spec.Held {
		j := s.byLease[l]
		if j == nil || j.nodeID != id || j.legacy {
			continue
		}
		// The node comes back to a lease it holds: after a lost
		// connection or a scheduler restart.
		if j.node != n {
			j.node = n
			n.active[j.id] = j
		}
		j.deadline = now.Add(s.cfg.LeaseTimeout)
		reg.Kept = append(reg.Kept, l)
	}
	s.notifyLocked()
	s.logger.InfoContext(ctx, "execution node registered", "node", id, "executors", spec.Executors, "capacity", spec.Capacity, "kept_leases", len(reg.Kept))
	return reg, nil
}

// Heartbeat implements Dispatcher.
func (s *Service) Heartbeat(_ context.Context, nodeID string, held []string) (HeartbeatReply, error) {
	if len(held) > maxHeld {
		return HeartbeatReply{}, teaclave.Errorf(teaclave.KindInvalidArgument, "invalid heartbeat: more than %d held leases", maxHeld)
	}
	now := time.Now()
	s.mu.Lock()
	defer s.mu.Unlock()
	n := s.nodes[nodeID]
	if n == nil || n.legacy || n.gone {
		return HeartbeatReply{}, teaclave.Errorf(teaclave.KindNotFound, "unknown execution node: register again")
	}
	n.lastSeen = now
	var reply HeartbeatReply
	for _, l := range held {
		j := s.byLease[l]
		if j == nil || j.node != n {
			reply.Dropped = append(reply.Dropped, l)
			continue
		}
		j.deadline = now.Add(s.cfg.LeaseTimeout)
		if j.stopping {
			reply.Stop = append(reply.Stop, l)
		}
	}
	return reply, nil
}

// Work implements Dispatcher.
func (s *Service) Work(ctx context.Context, nodeID string) (WorkStream, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	n := s.nodes[nodeID]
	if n == nil || n.legacy || n.gone {
		return nil, teaclave.Errorf(teaclave.KindNotFound, "unknown execution node: register again")
	}
	n.stream++
	n.wakeLocked() // ends the previous stream
	return &localStream{s: s, n: n, gen: n.stream, ctx: ctx}, nil
}

// localStream is a work stream in process.
type localStream struct {
	s   *Service
	n   *node
	gen int
	ctx context.Context
}

func (w *localStream) Recv() (Command, error) {
	s := w.s
	for {
		s.mu.Lock()
		switch {
		case s.isStopped():
			s.mu.Unlock()
			return Command{}, teaclave.Errorf(teaclave.KindUnavailable, "scheduler is stopping")
		case w.n.gone:
			s.mu.Unlock()
			return Command{}, teaclave.Errorf(teaclave.KindNotFound, "execution node was given up: register again")
		case w.n.stream != w.gen:
			s.mu.Unlock()
			return Command{}, teaclave.Errorf(teaclave.KindAborted, "another work stream replaced this one")
		case len(w.n.queue) > 0:
			c := w.n.queue[0]
			w.n.queue[0] = Command{}
			w.n.queue = w.n.queue[1:]
			s.mu.Unlock()
			return c, nil
		}
		wake := w.n.wake
		s.mu.Unlock()
		select {
		case <-wake:
		case <-s.stopped:
		case <-w.ctx.Done():
			return Command{}, teaclave.Wrap(teaclave.KindOf(w.ctx.Err()), w.ctx.Err().Error(), w.ctx.Err())
		}
	}
}

func (s *Service) reapLoop(ctx context.Context) {
	t := time.NewTicker(s.cfg.reapInterval())
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		s.reap(ctx)
	}
}

// reap gives up silent nodes, takes back expired leases and writes the
// expiry of live ones to the store now and then, so that a restarted
// scheduler knows which leases may still be held.
func (s *Service) reap(ctx context.Context) {
	now := time.Now()
	type item struct {
		j     *job
		lease string
	}
	var expired, renew []item
	s.mu.Lock()
	for id, n := range s.nodes {
		if now.Sub(n.lastSeen) > s.cfg.LeaseTimeout {
			n.gone = true
			n.wakeLocked()
			delete(s.nodes, id)
			s.logger.WarnContext(ctx, "execution node gave no heartbeat; giving it up", "node", id, "leases", len(n.active))
		}
	}
	for _, j := range s.jobs {
		if j.lease == "" {
			continue
		}
		switch {
		case now.After(j.deadline):
			expired = append(expired, item{j, j.lease})
		case j.deadline.Sub(j.persisted) > s.cfg.LeaseTimeout/2:
			renew = append(renew, item{j, j.lease})
		}
	}
	s.mu.Unlock()
	for _, it := range expired {
		s.expire(ctx, it.j, it.lease)
	}
	for _, it := range renew {
		s.persistExpiry(ctx, it.j, it.lease)
	}
}

// expire takes a lease back: the task is staged again, or ends Failed
// (no attempts left) or Canceled (cancel requested).
func (s *Service) expire(ctx context.Context, j *job, lease string) {
	j.mu.Lock()
	defer j.mu.Unlock()
	if j.gone || j.rec.Lease != lease {
		return
	}
	s.mu.Lock()
	live := !time.Now().After(j.deadline)
	s.mu.Unlock()
	if live {
		return // renewed meanwhile
	}
	c, err := s.commitTask(ctx, j, func(t *teaclave.Task) (change, error) {
		switch {
		case t.Status.Terminal():
			return change{endJob: true}, nil
		case t.CancelRequested:
			return endTask(t, teaclave.EventCancelApplied, canceledResult())
		case j.rec.Attempt >= s.cfg.MaxAttempts:
			return endTask(t, teaclave.EventLost, teaclave.TaskResult{Err: &teaclave.TaskFailure{
				Reason: reasonLost + ": the execution node running the task stopped responding, " + attemptsText(j.rec.Attempt) + "; giving up",
			}})
		}
		next, err := teaclave.Transition(t.Status, teaclave.EventRestage, teaclave.TaskGuards{})
		if err != nil {
			return change{}, teaclave.Wrap(teaclave.KindInternal, "service internal error", err)
		}
		if next == t.Status {
			return change{restage: true}, nil
		}
		t.Status = next
		return change{task: t, restage: true}, nil
	})
	if err == errTaskGone {
		s.logger.ErrorContext(ctx, "task record missing; dropping its job", "task", j.taskID)
		if s.dropKeys(ctx, j.id) == nil {
			s.removeJob(j)
		}
		return
	}
	if err != nil {
		s.logger.WarnContext(ctx, "could not take back an expired lease; will retry", "task", j.taskID, "error", err)
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if c.endJob {
		s.forgetLocked(j)
		s.logger.WarnContext(ctx, "lease expired; task ended", "task", j.taskID, "attempt", j.rec.Attempt)
		return
	}
	s.logger.WarnContext(ctx, "lease expired; task staged again", "task", j.taskID, "attempt", j.rec.Attempt)
	s.requeueLocked(j)
}

func attemptsText(n int) string {
	if n == 1 {
		return "1 attempt made"
	}
	return strconv.Itoa(n) + " attempts made"
}

// persistExpiry writes a renewed lease expiry to the store.
func (s *Service) persistExpiry(ctx context.Context, j *job, lease string) {
	j.mu.Lock()
	defer j.mu.Unlock()
	if j.gone || j.rec.Lease != lease {
		return
	}
	s.mu.Lock()
	deadline := j.deadline
	s.mu.Unlock()
	rec := j.rec
	rec.Expires = deadline.UnixMilli()
	if err := s.store.Put(ctx, jobKey(j.id), encodeRecord(rec)); err != nil {
		s.logger.WarnContext(ctx, "could not record a lease renewal", "task", j.taskID, "error", err)
		return
	}
	j.rec = rec
	s.mu.Lock()
	j.persisted = deadline
	s.mu.Unlock()
}
