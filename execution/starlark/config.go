package starlark

import (
	"errors"
	"time"
)

// Config configures an Executor.
type Config struct {
	// MaxSteps bounds a task's Starlark computation steps (roughly
	// bytecode instructions). Zero means 10^10: minutes of computation,
	// beyond which the node's task time limit usually applies first.
	MaxSteps uint64
	// HeapBudget is how far the process's heap may grow while a task runs
	// before the task is stopped. The measure is process-wide and
	// approximate (see the package documentation). Zero means 512 MiB.
	HeapBudget int64
	// HeapCheckInterval is how often the heap is measured. Zero means
	// 5 ms.
	HeapCheckInterval time.Duration
	// MaxOperationBytes bounds what one built-in operation may build (a
	// repeated string or list, a replace, a join, a split, formatted
	// text), which Starlark completes before any check can stop it. Zero
	// means 256 MiB; lists count 16 bytes an element.
	MaxOperationBytes int64
}

// Defaults returns c with empty fields set to their defaults.
func (c Config) Defaults() Config {
	if c.MaxSteps == 0 {
		c.MaxSteps = 10_000_000_000
	}
	if c.HeapBudget == 0 {
		c.HeapBudget = 512 << 20
	}
	if c.HeapCheckInterval == 0 {
		c.HeapCheckInterval = 5 * time.Millisecond
	}
	if c.MaxOperationBytes == 0 {
		c.MaxOperationBytes = 256 << 20
	}
	return c
}

// Validate checks c (after Defaults).
func (c Config) Validate() error {
	var errs []error
	if c.HeapBudget < 1<<20 {
		errs = append(errs, errors.New("starlark: the heap budget must be at least 1 MiB"))
	}
	if c.HeapCheckInterval < 100*time.Microsecond || c.HeapCheckInterval > time.Second {
		errs = append(errs, errors.New("starlark: the heap check interval must be between 100µs and 1s"))
	}
	if c.MaxOperationBytes < 1<<10 {
		errs = append(errs, errors.New("starlark: the operation limit must be at least 1 KiB"))
	}
	return errors.Join(errs...)
}
