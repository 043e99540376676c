package scheduler

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"google.golang.org/grpc"

	"github.com/teaclave-go/teaclave"
)

// Deps are the scheduler's dependencies.
type Deps struct {
	// Store holds tasks, queues and the scheduler's own records; required.
	// It is the storage service, in process or over gRPC.
	Store teaclave.Store
	// Logger; slog.Default() if nil.
	Logger *slog.Logger
}

// Service is the scheduler. It hands staged tasks to execution nodes the
// moment a node has room (no polling), tracks nodes by heartbeat, and
// records results. Everything it must not lose lives in the store: a
// staged task moves from management's queue into a job record of the
// scheduler in one Commit, and stays there until the commit that records
// the task's outcome removes it, so a crash or restart never loses or
// strands a task. In memory it keeps only what nodes re-establish when they
// register again: which node is alive and when each lease expires.
//
// One scheduler serves a store: two schedulers on the same store would
// both lease the same jobs.
type Service struct {
	cfg    Config
	store  teaclave.Store
	logger *slog.Logger

	mu      sync.Mutex
	changed chan struct{} // closed and replaced when capacity or pending work changes
	nodes   map[string]*node
	jobs    map[string]*job
	byTask  map[teaclave.ID]*job
	byLease map[string]*job
	pending []*job // jobs waiting for a node, oldest first
	started bool
	stopped chan struct{} // closed by Stop
	cancel  context.CancelFunc
	wg      sync.WaitGroup
}

// New checks cfg and returns the scheduler. It starts nothing.
func New(cfg Config, deps Deps) (*Service, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	if deps.Store == nil {
		return nil, errors.New("scheduler: a Store is required")
	}
	if deps.Logger == nil {
		deps.Logger = slog.Default()
	}
	return &Service{
		cfg:     cfg,
		store:   deps.Store,
		logger:  deps.Logger.With("service", "scheduler"),
		changed: make(chan struct{}),
		nodes:   map[string]*node{},
		jobs:    map[string]*job{},
		byTask:  map[teaclave.ID]*job{},
		byLease: map[string]*job{},
		stopped: make(chan struct{}),
	}, nil
}

// Start loads the jobs a previous run left (leases whose time is up are
// re-staged at once, the others wait for their nodes to register again),
// applies cancellations it had taken but not finished, and starts
// dispatching. The context bounds loading only.
func (s *Service) Start(ctx context.Context) error {
	s.mu.Lock()
	if s.started {
		s.mu.Unlock()
		return errors.New("scheduler: already started")
	}
	s.started = true
	s.mu.Unlock()
	if err := s.load(ctx); err != nil {
		return fmt.Errorf("scheduler: load jobs: %w", err)
	}
	runCtx, cancel := context.WithCancel(context.Background())
	s.cancel = cancel
	if err := s.resumeCancels(ctx); err != nil {
		cancel()
		return fmt.Errorf("scheduler: resume cancellations: %w", err)
	}
	s.reap(runCtx) // expired leases are re-staged before any dispatch
	for _, loop := range []func(context.Context){s.takeLoop, s.pendingLoop, s.reapLoop, s.cancelLoop} {
		s.wg.Add(1)
		go func() {
			defer s.wg.Done()
			loop(runCtx)
		}()
	}
	s.logger.Info("scheduler started", "jobs", len(s.jobs), "lease_timeout", s.cfg.LeaseTimeout, "max_attempts", s.cfg.MaxAttempts)
	return nil
}

// Stop stops dispatching and ends every node's work stream. Jobs stay in
// the store; a scheduler started later on the same store resumes them.
func (s *Service) Stop(ctx context.Context) error {
	s.mu.Lock()
	if !s.started || s.cancel == nil {
		s.mu.Unlock()
		return nil
	}
	cancel := s.cancel
	s.cancel = nil
	close(s.stopped)
	s.notifyLocked()
	for _, n := range s.nodes {
		n.wakeLocked()
	}
	s.mu.Unlock()
	cancel()
	done := make(chan struct{})
	go func() {
		s.wg.Wait()
		close(done)
	}()
	select {
	case <-done:
	case <-ctx.Done():
		return fmt.Errorf("scheduler: stop: %w", ctx.Err())
	}
	s.logger.Info("scheduler stopped")
	return nil
}

// Register registers Teaclave's TeaclaveScheduler service and our
// SchedulerExtension on r, which must be an internal endpoint of the
// attested transport: it admits only execution nodes, and the handlers
// check the verified peer again.
func (s *Service) Register(r grpc.ServiceRegistrar) { NewServer(s).Register(r) }

// notifyLocked wakes everything waiting for capacity or pending work.
// s.mu is held.
func (s *Service) notifyLocked() {
	close(s.changed)
	s.changed = make(chan struct{})
}

func (s *Service) isStopped() bool {
	select {
	case <-s.stopped:
		return true
	default:
		return false
	}
}

// sleep waits d or until ctx ends; it reports whether ctx is still live.
func sleep(ctx context.Context, d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return false
	case <-t.C:
		return true
	}
}

// errorBackoff is the pause after a store failure in a background loop.
const errorBackoff = 50 * time.Millisecond
