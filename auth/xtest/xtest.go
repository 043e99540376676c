// Package xtest helps tests of the authentication service and of its
// users. Clock is a settable clock for auth.Deps.Clock, to drive token
// expiry and login throttling without waiting.
//
// Other services' tests are best served by the real service on an
// in-memory store, with cheap password hashing (allowed in development
// builds only):
//
//	cfg := auth.Defaults()
//	cfg.Password = auth.PasswordParams{Time: 1, MemoryKiB: 64, Threads: 1}
//	s, _ := auth.New(cfg, auth.Deps{Store: storagextest.NewMemStore(), Clock: xtest.NewClock(t0)})
package xtest

import (
	"sync"
	"time"
)

// Clock is a settable clock, safe for concurrent use. It implements
// auth.Clock.
type Clock struct {
	mu  sync.Mutex
	now time.Time
}

// NewClock returns a clock showing t.
func NewClock(t time.Time) *Clock { return &Clock{now: t} }

// Now returns the clock's time.
func (c *Clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

// Advance moves the clock forward by d.
func (c *Clock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(d)
}

// Set sets the clock to t.
func (c *Clock) Set(t time.Time) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = t
}
