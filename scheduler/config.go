package scheduler

import (
	"errors"
	"fmt"
	"time"
)

// Config configures the scheduler. The defaults suit a deployment; tests
// shorten the times.
type Config struct {
	// HeartbeatInterval is how often nodes heartbeat. Zero means 1 s.
	HeartbeatInterval time.Duration
	// LeaseTimeout is how long a node may go without a heartbeat before
	// the scheduler takes its leases back and re-stages their tasks (or
	// fails them, see MaxAttempts). It must be at least three heartbeat
	// intervals. Zero means 10 s. Teaclave's executors heartbeat every
	// 3 s, so a deployment serving them should use 30 s, as Teaclave did.
	LeaseTimeout time.Duration
	// MaxAttempts bounds how many leases one task gets: when the node
	// holding its last lease goes silent, the task ends Failed with a
	// reason instead of being staged again. Zero means 3.
	MaxAttempts int
	// MaxReturnValue and MaxLog bound what a result may carry, in bytes
	// (the log's lines together). Zero means 256 KiB each. A larger return
	// value fails the task; execution nodes cut longer logs.
	MaxReturnValue int
	MaxLog         int
}

// Defaults returns c with empty fields set to their defaults.
func (c Config) Defaults() Config {
	if c.HeartbeatInterval == 0 {
		c.HeartbeatInterval = time.Second
	}
	if c.LeaseTimeout == 0 {
		c.LeaseTimeout = 10 * time.Second
	}
	if c.MaxAttempts == 0 {
		c.MaxAttempts = 3
	}
	if c.MaxReturnValue == 0 {
		c.MaxReturnValue = 256 << 10
	}
	if c.MaxLog == 0 {
		c.MaxLog = 256 << 10
	}
	return c
}

// Validate checks c (after Defaults).
func (c Config) Validate() error {
	switch {
	case c.HeartbeatInterval <= 0:
		return errors.New("scheduler: config: heartbeat interval must be positive")
	case c.LeaseTimeout < 3*c.HeartbeatInterval:
		return fmt.Errorf("scheduler: config: lease timeout %v must be at least three heartbeat intervals (%v)", c.LeaseTimeout, 3*c.HeartbeatInterval)
	case c.MaxAttempts < 1 || c.MaxAttempts > 100:
		return fmt.Errorf("scheduler: config: max attempts must be 1 to 100, got %d", c.MaxAttempts)
	case c.MaxReturnValue < 1 || c.MaxReturnValue > 1<<20:
		return fmt.Errorf("scheduler: config: max return value must be 1 B to 1 MiB, got %d", c.MaxReturnValue)
	case c.MaxLog < 1 || c.MaxLog > 1<<20:
		return fmt.Errorf("scheduler: config: max log must be 1 B to 1 MiB, got %d", c.MaxLog)
	}
	return nil
}

// reapInterval is how often leases are checked for expiry.
func (c Config) reapInterval() time.Duration {
	return max(c.LeaseTimeout/10, time.Millisecond)
}
