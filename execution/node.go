package execution

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/teaclave-go/teaclave"
	"github.com/teaclave-go/teaclave/execution/executor"
	"github.com/teaclave-go/teaclave/execution/fileagent"
	"github.com/teaclave-go/teaclave/scheduler"
)

// Causes of a task's context ending.
var (
	errStopped     = errors.New("the task was canceled")
	errTimeLimit   = errors.New("time limit")
	errAbandoned   = errors.New("lease taken back")
	errNodeStopped = errors.New("execution node stopping")
)

// Node is an execution node: it registers with the scheduler, receives
// tasks on its work stream as they are staged, runs up to
// Config.Capacity of them at once, and reports each under its lease. It
// keeps registering again when its connection or the scheduler goes away,
// with the leases it still holds.
type Node struct {
	cfg       Config
	d         scheduler.Dispatcher
	executors map[teaclave.Executor]executor.Executor
	names     []teaclave.Executor
	agent     *fileagent.Agent
	payloads  *payloadCache
	logger    *slog.Logger
	slots     chan struct{}

	mu      sync.Mutex
	id      string
	tasks   map[string]*running // by lease id
	started bool
	stop    context.CancelFunc // ends the sessions: no new work
	abort   context.CancelCauseFunc
	runCtx  context.Context // parent of every task's context
	loop    sync.WaitGroup
	work    sync.WaitGroup
}

// running is a task the node holds.
type running struct {
	a      *scheduler.Assignment
	ctx    context.Context
	cancel context.CancelCauseFunc
}

// New checks cfg and deps and returns a node that has started nothing.
func New(cfg Config, deps Deps) (*Node, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	if deps.Dispatcher == nil {
		return nil, errors.New("execution: a Dispatcher is required")
	}
	execs, names, err := executorsByName(deps.Executors)
	if err != nil {
		return nil, err
	}
	if deps.Logger == nil {
		deps.Logger = slog.Default()
	}
	logger := deps.Logger.With("service", "execution")
	agent, err := fileagent.New(cfg.Files, fileagent.Deps{ExtraRoots: deps.ExtraRoots, Logger: logger})
	if err != nil {
		return nil, err
	}
	return &Node{
		cfg: cfg, d: deps.Dispatcher, executors: execs, names: names, agent: agent,
		payloads: newPayloadCache(cfg.PayloadCacheSize), logger: logger,
		slots: make(chan struct{}, cfg.Capacity), tasks: map[string]*running{},
	}, nil
}

// ID returns the id the scheduler gave the node, or "" before it
// registered.
func (n *Node) ID() string {
	n.mu.Lock()
	defer n.mu.Unlock()
	return n.id
}

// Start starts registering and serving in the background.
func (n *Node) Start(context.Context) error {
	n.mu.Lock()
	defer n.mu.Unlock()
	if n.started {
		return errors.New("execution: already started")
	}
	n.started = true
	sessions, stop := context.WithCancel(context.Background())
	runCtx, abort := context.WithCancelCause(context.Background())
	n.stop, n.abort, n.runCtx = stop, abort, runCtx
	n.loop.Add(1)
	go func() {
		defer n.loop.Done()
		n.serve(sessions)
	}()
	return nil
}

// Stop stops taking work, lets running tasks finish until ctx ends, then
// abandons the rest (their leases run out and the scheduler stages them
// again), and closes the file agent.
func (n *Node) Stop(ctx context.Context) error {
	n.mu.Lock()
	stop, abort := n.stop, n.abort
	n.stop = nil
	n.mu.Unlock()
	if stop == nil {
		return nil
	}
	stop()
	n.loop.Wait()
	done := make(chan struct{})
	go func() {
		n.work.Wait()
		close(done)
	}()
	select {
	case <-done:
	case <-ctx.Done():
		abort(errNodeStopped)
		<-done
	}
	abort(errNodeStopped)
	return n.agent.Close()
}

// serve registers and runs work sessions until ctx ends, backing off
// after failures.
func (n *Node) serve(ctx context.Context) {
	backoff := 50 * time.Millisecond
	for ctx.Err() == nil {
		began := time.Now()
		err := n.session(ctx)
		if ctx.Err() != nil {
			return
		}
		if time.Since(began) > 10*time.Second {
			backoff = 50 * time.Millisecond
		}
		n.logger.Warn("scheduler session ended; registering again", "error", err, "after", backoff)
		t := time.NewTimer(backoff)
		select {
		case <-ctx.Done():
			t.Stop()
			return
		case <-t.C:
		}
		backoff = min(2*backoff, 5*time.Second)
	}
}

// session registers and receives commands until the stream ends.
func (n *Node) session(ctx context.Context) error {
	n.mu.Lock()
	spec := scheduler.NodeSpec{ID: n.id, Executors: n.names, Capacity: n.cfg.Capacity, Held: n.heldLocked()}
	n.mu.Unlock()
	reg, err := n.d.RegisterNode(ctx, spec)
	if err != nil {
		return fmt.Errorf("register: %w", err)
	}
	kept := map[string]bool{}
	for _, l := range reg.Kept {
		kept[l] = true
	}
	n.mu.Lock()
	n.id = reg.ID
	for lease, r := range n.tasks {
		if !kept[lease] {
			r.cancel(errAbandoned)
		}
	}
	n.mu.Unlock()
	sctx, cancel := context.WithCancel(ctx)
	defer cancel()
	stream, err := n.d.Work(sctx, reg.ID)
	if err != nil {
		return fmt.Errorf("open work stream: %w", err)
	}
	n.logger.Info("execution node registered", "node", reg.ID, "executors", n.names, "capacity", n.cfg.Capacity)
	go n.heartbeats(sctx, cancel, reg)
	for {
		c, err := stream.Recv()
		if err != nil {
			return fmt.Errorf("work stream: %w", err)
		}
		switch {
		case c.Assignment != nil:
			n.accept(c.Assignment)
		case c.Stop != "":
			n.signal(c.Stop, errStopped)
		}
	}
}

func (n *Node) heldLocked() []string {
	held := make([]string, 0, len(n.tasks))
	for l := range n.tasks {
		held = append(held, l)
	}
	return held
}

// heartbeats keeps the node's leases alive; an unknown-node answer ends
// the session so that the node registers again.
func (n *Node) heartbeats(ctx context.Context, endSession context.CancelFunc, reg scheduler.NodeRegistration) {
	t := time.NewTicker(reg.HeartbeatInterval)
	defer t.Stop()
	lastOK := time.Now()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		n.mu.Lock()
		held := n.heldLocked()
		n.mu.Unlock()
		cctx, cancel := context.WithTimeout(ctx, reg.LeaseTimeout)
		reply, err := n.d.Heartbeat(cctx, reg.ID, held)
		cancel()
		if err != nil {
			if ctx.Err() != nil {
				return
			}
			if teaclave.KindOf(err) == teaclave.KindNotFound || time.Since(lastOK) > reg.LeaseTimeout {
				n.logger.Warn("scheduler no longer knows this node", "error", err)
				endSession()
				return
			}
			continue
		}
		lastOK = time.Now()
		for _, l := range reply.Stop {
			n.signal(l, errStopped)
		}
		for _, l := range reply.Dropped {
			n.signal(l, errAbandoned)
		}
	}
}

// signal ends the task held under lease with cause.
func (n *Node) signal(lease string, cause error) {
	n.mu.Lock()
	r := n.tasks[lease]
	n.mu.Unlock()
	if r != nil {
		r.cancel(cause)
	}
}

// accept starts running an assignment.
func (n *Node) accept(a *scheduler.Assignment) {
	n.mu.Lock()
	defer n.mu.Unlock()
	if _, dup := n.tasks[a.Lease.ID]; dup || n.runCtx.Err() != nil {
		return
	}
	ctx, cancel := context.WithCancelCause(n.runCtx)
	r := &running{a: a, ctx: ctx, cancel: cancel}
	n.tasks[a.Lease.ID] = r
	n.work.Add(1)
	go func() {
		defer n.work.Done()
		defer func() {
			n.mu.Lock()
			delete(n.tasks, a.Lease.ID)
			n.mu.Unlock()
			cancel(nil)
		}()
		n.run(r)
	}()
}
