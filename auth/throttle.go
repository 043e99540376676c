package auth

import (
	"sync"
	"time"

	"github.com/teaclave-go/teaclave"
)

// throttle counts failed logins per user id (ThrottleConfig describes the
// rules). It is safe for concurrent use.
type throttle struct {
	cfg     ThrottleConfig
	mu      sync.Mutex
	entries map[string]*throttleEntry
}

type throttleEntry struct {
	failures int
	inFlight int
	last     time.Time // of the last failure
}

func newThrottle(cfg ThrottleConfig) *throttle {
	return &throttle{cfg: cfg, entries: make(map[string]*throttleEntry)}
}

func errThrottled() error {
	return teaclave.Errorf(teaclave.KindResourceExhausted, "too many failed logins for this user id; try again later")
}

// delay is how long after its last failure an id with n failures must
// wait before its next attempt.
func (t *throttle) delay(n int) time.Duration {
	if n < t.cfg.FreeAttempts {
		return 0
	}
	d := t.cfg.BaseDelay
	for i := t.cfg.FreeAttempts; i < n && d < t.cfg.MaxDelay; i++ {
		d *= 2
	}
	return min(d, t.cfg.MaxDelay)
}

// expired reports whether e's count is forgotten at now.
func (t *throttle) expired(e *throttleEntry, now time.Time) bool {
	return e.inFlight == 0 && e.failures > 0 && !now.Before(e.last.Add(t.cfg.LockDuration))
}

// begin admits a login attempt for id at now, or refuses it. An admitted
// attempt must be finished with end.
func (t *throttle) begin(id string, now time.Time) error {
	t.mu.Lock()
	defer t.mu.Unlock()
	e := t.entries[id]
	if e != nil && t.expired(e, now) {
		delete(t.entries, id)
		e = nil
	}
	if e == nil {
		if len(t.entries) >= t.cfg.MaxTracked && !t.makeRoom(now) {
			return errThrottled()
		}
		e = &throttleEntry{}
		t.entries[id] = e
	}
	// Attempts in flight count as failures until they end, so parallel
	// guesses cannot slip past the limits.
	pending := e.failures + e.inFlight
	switch {
	case pending >= t.cfg.LockAfter:
		return errThrottled()
	case pending >= t.cfg.FreeAttempts:
		if e.inFlight > 0 || now.Before(e.last.Add(t.delay(e.failures))) {
			return errThrottled()
		}
	}
	e.inFlight++
	return nil
}

// end records the outcome of an attempt begun at begin. Only a wrong
// password is a failure; a success forgets the count; any other outcome
// (an internal error) leaves it as it was.
func (t *throttle) end(id string, now time.Time, outcome loginOutcome) {
	t.mu.Lock()
	defer t.mu.Unlock()
	e := t.entries[id]
	if e == nil {
		return
	}
	e.inFlight--
	switch outcome {
	case loginSucceeded:
		if e.inFlight == 0 {
			delete(t.entries, id)
		} else {
			e.failures = 0
		}
	case loginFailed:
		e.failures++
		e.last = now
	default:
		if e.failures == 0 && e.inFlight == 0 {
			delete(t.entries, id)
		}
	}
}

type loginOutcome int

const (
	loginErrored loginOutcome = iota
	loginSucceeded
	loginFailed
)

// makeRoom drops entries that no longer restrict anything: expired ones,
// then idle ones below FreeAttempts. It reports whether there is room.
func (t *throttle) makeRoom(now time.Time) bool {
	for id, e := range t.entries {
		if t.expired(e, now) || (e.inFlight == 0 && e.failures < t.cfg.FreeAttempts) {
			delete(t.entries, id)
		}
	}
	return len(t.entries) < t.cfg.MaxTracked
}

// tracked returns the number of ids tracked, for tests.
func (t *throttle) tracked() int {
	t.mu.Lock()
	defer t.mu.Unlock()
	return len(t.entries)
}
