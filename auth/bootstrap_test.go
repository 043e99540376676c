//go:build !teaclave_production

package auth

import (
	"context"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/teaclave-go/teaclave"
	storagextest "github.com/teaclave-go/teaclave/storage/xtest"
)

func emptyConfig() Config {
	cfg := testConfig()
	cfg.DevelopmentAdmin = false
	return cfg
}

// TestBootstrapOnce: on an empty database Bootstrap creates one
// PlatformAdmin, once; the development password is refused; afterwards it
// is FailedPrecondition and writes nothing.
func TestBootstrapOnce(t *testing.T) {
	for _, tr := range []string{"in process", "gRPC"} {
		t.Run(tr, func(t *testing.T) {
			e := newEnvWith(t, emptyConfig(), storagextest.NewMemStore())
			var o ops = inProcess{e.s}
			if tr == "gRPC" {
				o = serveGRPC(t, e.s)
			}
			if ex, _ := o.usersExist([]string{"admin"}); ex[0] {
				t.Fatal("admin exists without DevelopmentAdmin")
			}
			var err error
			unchanged(t, e.store, func() { err = o.bootstrap("root", "teaclave") })
			wantKind(t, err, teaclave.KindInvalidArgument, "development password")
			if err := o.bootstrap("root", "root-password"); err != nil {
				t.Fatalf("Bootstrap: %v", err)
			}
			wantUser(t, o, "root", "root-password", role("PlatformAdmin", ""))
			unchanged(t, e.store, func() { err = o.bootstrap("root2", "root-password") })
			wantKind(t, err, teaclave.KindFailedPrecondition, "second bootstrap")
			// Still refused after every user is gone.
			if err := e.s.DeleteUser(e.as("root", "root-password"), "root"); err != nil {
				t.Fatal(err)
			}
			unchanged(t, e.store, func() { err = o.bootstrap("root3", "root-password") })
			wantKind(t, err, teaclave.KindFailedPrecondition, "bootstrap after deleting everyone")
		})
	}
}

// TestBootstrapRefusedWhenSeeded: the development seed counts as the
// bootstrap.
func TestBootstrapRefusedWhenSeeded(t *testing.T) {
	e := newEnv(t)
	err := e.s.Bootstrap(context.Background(), "root", "root-password")
	wantKind(t, err, teaclave.KindFailedPrecondition, "bootstrap of a seeded database")
}

// TestBootstrapRace: of many concurrent bootstraps exactly one wins.
func TestBootstrapRace(t *testing.T) {
	e := newEnvWith(t, emptyConfig(), storagextest.NewMemStore())
	var wins atomic.Int32
	var wg sync.WaitGroup
	for i := range 8 {
		wg.Go(func() {
			err := e.s.Bootstrap(context.Background(), "root"+string(rune('a'+i)), "root-password")
			switch teaclave.KindOf(err) {
			case teaclave.KindUnknown:
				wins.Add(1)
			case teaclave.KindFailedPrecondition:
			default:
				t.Errorf("bootstrap %d: %v", i, err)
			}
		})
	}
	wg.Wait()
	if wins.Load() != 1 {
		t.Fatalf("%d bootstraps won", wins.Load())
	}
	ids, err := e.s.ListUsers(teaclave.WithCaller(context.Background(), teaclave.Caller{ID: "x", Role: role("PlatformAdmin", "")}), "")
	if err != nil || len(ids) != 1 {
		t.Fatalf("users after the race: %v, %v", ids, err)
	}
}

// TestRefuseDevelopmentPassword is the check production builds run at
// Start (production_test.go runs it through Start).
func TestRefuseDevelopmentPassword(t *testing.T) {
	e := newEnv(t)
	if err := e.s.refuseDevelopmentPassword(context.Background()); err == nil || !strings.Contains(err.Error(), "development password") {
		t.Fatalf("admin/teaclave: %v", err)
	}
	if err := e.s.UserChangePassword(e.admin(), "better"); err != nil {
		t.Fatal(err)
	}
	if err := e.s.refuseDevelopmentPassword(context.Background()); err != nil {
		t.Fatalf("after the change: %v", err)
	}
}

func TestConfigValidate(t *testing.T) {
	if err := Defaults().Validate(); err != nil {
		t.Fatalf("Defaults: %v", err)
	}
	bad := map[string]func(*Config){
		"bad address":          func(c *Config) { c.APIAddress = "nowhere" },
		"bad port":             func(c *Config) { c.InternalAddress = "127.0.0.1:99999" },
		"zero lifetime":        func(c *Config) { c.TokenLifetime = 0 },
		"lifetime too long":    func(c *Config) { c.TokenLifetime = 31 * 24 * time.Hour },
		"zero argon2 time":     func(c *Config) { c.Password.Time = 0 },
		"huge argon2 memory":   func(c *Config) { c.Password.MemoryKiB = 4 << 20 },
		"tiny argon2 memory":   func(c *Config) { c.Password.MemoryKiB = 4 },
		"zero threads":         func(c *Config) { c.Password.Threads = 0 },
		"no hash concurrency":  func(c *Config) { c.MaxConcurrentHashes = 0 },
		"lock before throttle": func(c *Config) { c.Throttle.LockAfter = c.Throttle.FreeAttempts },
		"zero base delay":      func(c *Config) { c.Throttle.BaseDelay = 0 },
		"short lock":           func(c *Config) { c.Throttle.LockDuration = time.Second },
		"untracked":            func(c *Config) { c.Throttle.MaxTracked = 0 },
		"no free attempts":     func(c *Config) { c.Throttle.FreeAttempts = 0 },
	}
	for name, f := range bad {
		c := Defaults()
		f(&c)
		if err := c.Validate(); err == nil {
			t.Errorf("%s: Validate accepted it", name)
		}
		if _, err := New(c, Deps{Store: storagextest.NewMemStore()}); err == nil {
			t.Errorf("%s: New accepted it", name)
		}
	}
	if _, err := New(Defaults(), Deps{}); err == nil {
		t.Error("New without a store")
	}
	d := Defaults()
	if !d.DevelopmentAdmin || !strings.HasPrefix(d.APIAddress, "127.0.0.1:") || !strings.HasPrefix(d.InternalAddress, "127.0.0.1:") {
		t.Errorf("build defaults: %+v", d)
	}
}

// TestNotStarted: nothing works before Start.
func TestNotStarted(t *testing.T) {
	s, err := New(testConfig(), Deps{Store: storagextest.NewMemStore()})
	if err != nil {
		t.Fatal(err)
	}
	ctx := teaclave.WithCaller(context.Background(), teaclave.Caller{ID: "admin", Role: role("PlatformAdmin", "")})
	errs := []error{
		func() error { _, err := s.UserLogin(ctx, "admin", "teaclave"); return err }(),
		func() error { _, err := s.UserAuthenticate(ctx, "admin", "x"); return err }(),
		func() error { _, err := s.UsersExist(ctx, []string{"admin"}); return err }(),
		s.UserRegister(ctx, "a", "b", role("PlatformAdmin", "")),
		s.Bootstrap(ctx, "a", "bbbbbbbb"),
	}
	for i, err := range errs {
		wantKind(t, err, teaclave.KindUnavailable, "call "+string(rune('0'+i)))
	}
}
