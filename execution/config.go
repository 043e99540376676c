package execution

import (
	"crypto/x509"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"time"

	"github.com/teaclave-go/teaclave"
	"github.com/teaclave-go/teaclave/execution/executor"
	"github.com/teaclave-go/teaclave/execution/fileagent"
	"github.com/teaclave-go/teaclave/scheduler"
)

// Executor, Task, Runtime and Result are the executor seam (package
// execution/executor), repeated here for the node's users.
type (
	Executor = executor.Executor
	Task     = executor.Task
	Runtime  = executor.Runtime
	Result   = executor.Result
)

// Config configures an execution node. Every field comes from the
// deployment; none is a trust decision.
type Config struct {
	// Capacity is how many tasks the node runs at once. Zero means 2.
	Capacity int
	// TaskTimeout is each task's time limit, from the moment the node
	// starts it: a task over it ends Failed with the reason. Zero means
	// 30 minutes.
	TaskTimeout time.Duration
	// MemoryBudget is how much plaintext and ciphertext one task keeps in
	// memory; beyond it files spill to sealed scratch files. Zero means
	// 256 MiB.
	MemoryBudget int64
	// ScratchDir is where sealed scratch files go; empty means the
	// system's temporary folder. They are unlinked as they are created.
	ScratchDir string
	// ScratchLimit bounds the sealed scratch files of one task. Zero
	// means 8 GiB.
	ScratchLimit int64
	// PayloadCacheSize bounds the function payloads kept by SHA-256.
	// Zero means 64 MiB.
	PayloadCacheSize int64
	// MaxLog bounds a task's saved log, in bytes. Zero means 256 KiB (the
	// scheduler's default limit).
	MaxLog int
	// Files configures the file agent.
	Files fileagent.Config
}

// Defaults returns c with empty fields set to their defaults.
func (c Config) Defaults() Config {
	if c.Capacity == 0 {
		c.Capacity = 2
	}
	if c.TaskTimeout == 0 {
		c.TaskTimeout = 30 * time.Minute
	}
	if c.MemoryBudget == 0 {
		c.MemoryBudget = 256 << 20
	}
	if c.ScratchLimit == 0 {
		c.ScratchLimit = 8 << 30
	}
	if c.PayloadCacheSize == 0 {
		c.PayloadCacheSize = 64 << 20
	}
	if c.MaxLog == 0 {
		c.MaxLog = 256 << 10
	}
	c.Files = c.Files.Defaults()
	return c
}

// Validate checks c (after Defaults).
func (c Config) Validate() error {
	switch {
	case c.Capacity < 1 || c.Capacity > 1024:
		return fmt.Errorf("execution: config: capacity must be 1 to 1024, got %d", c.Capacity)
	case c.TaskTimeout <= 0:
		return errors.New("execution: config: task timeout must be positive")
	case c.MemoryBudget < 0 || c.ScratchLimit < 0 || c.PayloadCacheSize < 0 || c.MaxLog < 1:
		return errors.New("execution: config: limits must be positive")
	}
	return c.Files.Validate()
}

// Deps are the node's dependencies.
type Deps struct {
	// Dispatcher is the scheduler, in process or a scheduler.Client;
	// required.
	Dispatcher scheduler.Dispatcher
	// Executors run the tasks, one per teaclave.Executor; at least one.
	Executors []executor.Executor
	// ExtraRoots are CA certificates the file agent trusts for https
	// beyond the compiled-in roots; they must be compiled into the main
	// binary, never read from the host.
	ExtraRoots []*x509.Certificate
	// Logger; slog.Default() if nil. Tasks' own log lines never go here.
	Logger *slog.Logger
}

func executorsByName(list []executor.Executor) (map[teaclave.Executor]executor.Executor, []teaclave.Executor, error) {
	m := map[teaclave.Executor]executor.Executor{}
	for _, e := range list {
		if e == nil {
			continue
		}
		name := e.Name()
		if _, err := teaclave.ParseExecutor(string(name)); err != nil {
			return nil, nil, fmt.Errorf("execution: executor %q: %w", name, err)
		}
		if _, dup := m[name]; dup {
			return nil, nil, fmt.Errorf("execution: two executors named %q", name)
		}
		m[name] = e
	}
	if len(m) == 0 {
		return nil, nil, errors.New("execution: no executors")
	}
	names := make([]teaclave.Executor, 0, len(m))
	for n := range m {
		names = append(names, n)
	}
	slices.Sort(names)
	return m, names, nil
}
