//go:build !teaclave_production

package auth

import (
	"context"
	"testing"
	"time"

	"github.com/teaclave-go/teaclave"
)

// loginKinds tries a login and returns the error kind (KindUnknown for
// success).
func (e *env) loginKind(id, pw string) teaclave.Kind {
	_, err := e.s.UserLogin(context.Background(), id, pw)
	return teaclave.KindOf(err)
}

// TestThrottleEngagesAndExpires walks the default schedule on the fake
// clock: 5 free failures, delays of 1 s, 2 s, 4 s, 8 s, then a 15 min lock
// at 10 failures in which the right password is refused, then a fresh
// start.
func TestThrottleEngagesAndExpires(t *testing.T) {
	e := newEnv(t)
	e.register("bob", "bob-pw", role("DataOwner", "x"))
	cfg := DefaultThrottleConfig()
	const (
		failed    = teaclave.KindUnauthenticated
		throttled = teaclave.KindResourceExhausted
		success   = teaclave.KindUnknown
	)
	for i := range cfg.FreeAttempts {
		if k := e.loginKind("admin", "wrong"); k != failed {
			t.Fatalf("free failure %d: %v", i+1, k)
		}
	}
	delay := cfg.BaseDelay
	for f := cfg.FreeAttempts; f < cfg.LockAfter; f++ {
		// Too early: refused without a password check, right password
		// included, and it does not count.
		if k := e.loginKind("admin", "teaclave"); k != throttled {
			t.Fatalf("after %d failures, immediately: %v, want throttled", f, k)
		}
		e.clock.Advance(delay - time.Millisecond)
		if k := e.loginKind("admin", "wrong"); k != throttled {
			t.Fatalf("after %d failures, %v later: %v, want throttled", f, delay-time.Millisecond, k)
		}
		e.clock.Advance(time.Millisecond)
		if k := e.loginKind("admin", "wrong"); k != failed {
			t.Fatalf("after %d failures, %v later: %v, want a checked failure", f, delay, k)
		}
		delay *= 2
	}
	// Locked: the right password is refused, however long the delay,
	// until LockDuration after the last failure.
	for _, wait := range []time.Duration{0, cfg.MaxDelay, cfg.LockDuration - cfg.MaxDelay - time.Second} {
		e.clock.Advance(wait)
		if k := e.loginKind("admin", "teaclave"); k != throttled {
			t.Fatalf("locked, right password: %v, want throttled", k)
		}
	}
	e.clock.Advance(time.Second)
	if k := e.loginKind("admin", "teaclave"); k != success {
		t.Fatalf("after the lock: %v, want success", k)
	}
	// The success forgot the count: 5 free failures again.
	for i := range cfg.FreeAttempts {
		if k := e.loginKind("admin", "wrong"); k != failed {
			t.Fatalf("free failure %d after success: %v", i+1, k)
		}
	}
	if k := e.loginKind("admin", "wrong"); k != throttled {
		t.Fatalf("sixth failure: %v, want throttled", k)
	}
	// Another id is not affected.
	if k := e.loginKind("bob", "bob-pw"); k != success {
		t.Fatalf("other id: %v", k)
	}
}

// TestThrottleSameForUnknownIDs: an id that does not exist is throttled on
// the same schedule, so throttling reveals nothing.
func TestThrottleSameForUnknownIDs(t *testing.T) {
	e := newEnv(t)
	var known, unknown []teaclave.Kind
	for range 12 {
		known = append(known, e.loginKind("admin", "wrong"))
		unknown = append(unknown, e.loginKind("nobody", "wrong"))
		e.clock.Advance(1500 * time.Millisecond)
	}
	for i := range known {
		if known[i] != unknown[i] {
			t.Fatalf("attempt %d: known id %v, unknown id %v", i+1, known[i], unknown[i])
		}
	}
	// And it did engage.
	if known[len(known)-1] != teaclave.KindResourceExhausted {
		t.Fatalf("no throttling after 12 failures: %v", known)
	}
}

// TestThrottleForgets: failures spaced wider than LockDuration never
// accumulate.
func TestThrottleForgets(t *testing.T) {
	e := newEnv(t)
	for i := range 20 {
		if k := e.loginKind("admin", "wrong"); k != teaclave.KindUnauthenticated {
			t.Fatalf("failure %d: %v", i, k)
		}
		e.clock.Advance(DefaultThrottleConfig().LockDuration)
	}
}

// TestThrottleInFlight: attempts in flight count, so parallel guesses
// cannot exceed the free allowance.
func TestThrottleInFlight(t *testing.T) {
	cfg := DefaultThrottleConfig()
	th := newThrottle(cfg)
	for i := range cfg.FreeAttempts {
		if err := th.begin("x", t0); err != nil {
			t.Fatalf("attempt %d: %v", i, err)
		}
	}
	if err := th.begin("x", t0); teaclave.KindOf(err) != teaclave.KindResourceExhausted {
		t.Fatalf("attempt beyond the allowance while the others are in flight: %v", err)
	}
	// In the slow zone only one attempt at a time, once the delay passed.
	for range cfg.FreeAttempts {
		th.end("x", t0, loginFailed)
	}
	later := t0.Add(cfg.BaseDelay)
	if err := th.begin("x", later); err != nil {
		t.Fatal(err)
	}
	if err := th.begin("x", later); teaclave.KindOf(err) != teaclave.KindResourceExhausted {
		t.Fatalf("second attempt in flight in the slow zone: %v", err)
	}
	// An internal error is not a failure.
	th.end("x", later, loginErrored)
	if err := th.begin("x", later); err != nil {
		t.Fatalf("after an errored attempt: %v", err)
	}
}

// TestThrottleBounded: the table never exceeds MaxTracked; harmless
// entries make room, and when none can, new ids are refused.
func TestThrottleBounded(t *testing.T) {
	cfg := DefaultThrottleConfig()
	cfg.MaxTracked = 3
	th := newThrottle(cfg)
	for _, id := range []string{"a", "b", "c", "d", "e"} {
		if err := th.begin(id, t0); err != nil {
			t.Fatalf("%s: %v", id, err)
		}
		th.end(id, t0, loginFailed)
		if n := th.tracked(); n > cfg.MaxTracked {
			t.Fatalf("tracking %d ids", n)
		}
	}
	// Fill with ids in the slow zone, which may not be dropped.
	th = newThrottle(cfg)
	for _, id := range []string{"a", "b", "c"} {
		for range cfg.FreeAttempts {
			_ = th.begin(id, t0)
			th.end(id, t0, loginFailed)
		}
	}
	if err := th.begin("new", t0); teaclave.KindOf(err) != teaclave.KindResourceExhausted {
		t.Fatalf("new id with a full table: %v", err)
	}
	// Once their counts expire there is room again.
	if err := th.begin("new", t0.Add(cfg.LockDuration)); err != nil {
		t.Fatalf("after expiry: %v", err)
	}
}
