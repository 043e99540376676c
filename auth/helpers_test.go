package auth

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/teaclave-go/teaclave"
	"github.com/teaclave-go/teaclave/auth/xtest"
	storagextest "github.com/teaclave-go/teaclave/storage/xtest"
)

// t0 is the fake clock's start.
var t0 = time.Date(2030, 1, 2, 3, 4, 5, 0, time.UTC)

// fastPassword keeps tests quick; production builds refuse it, and
// production_test.go uses the floor instead.
func testConfig() Config {
	cfg := Defaults()
	if !productionBuild {
		cfg.Password = PasswordParams{Time: 1, MemoryKiB: 64, Threads: 1}
	}
	return cfg
}

type env struct {
	t     testing.TB
	s     *Service
	store teaclave.Store
	clock *xtest.Clock
	logs  *logBuffer
}

// newEnv starts a service on a fresh in-memory store. In development
// builds it has admin/teaclave.
func newEnv(t testing.TB) *env {
	t.Helper()
	return newEnvWith(t, testConfig(), storagextest.NewMemStore())
}

func newEnvWith(t testing.TB, cfg Config, store teaclave.Store) *env {
	t.Helper()
	e := &env{t: t, store: store, clock: xtest.NewClock(t0), logs: &logBuffer{}}
	e.s = e.restart(cfg)
	return e
}

// restart builds and starts a new service on the same store and clock, as
// a process restart would.
func (e *env) restart(cfg Config) *Service {
	e.t.Helper()
	logger := slog.New(slog.NewTextHandler(e.logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	s, err := New(cfg, Deps{Store: e.store, Clock: e.clock, Logger: logger})
	if err != nil {
		e.t.Fatalf("New: %v", err)
	}
	if err := s.Start(context.Background()); err != nil {
		e.t.Fatalf("Start: %v", err)
	}
	return s
}

// as logs id in and returns a context carrying it as the caller, as the
// api endpoint would after checking its token.
func (e *env) as(id, password string) context.Context {
	e.t.Helper()
	ctx := context.Background()
	tok, err := e.s.UserLogin(ctx, id, password)
	if err != nil {
		e.t.Fatalf("login %s: %v", id, err)
	}
	c, err := e.s.UserAuthenticate(ctx, id, tok)
	if err != nil {
		e.t.Fatalf("authenticate %s: %v", id, err)
	}
	return teaclave.WithCaller(ctx, c.Caller())
}

func (e *env) admin() context.Context { return e.as(developmentAdmin, developmentPassword) }

// register creates a user as the development admin.
func (e *env) register(id, password string, role teaclave.Role) {
	e.t.Helper()
	if err := e.s.UserRegister(e.admin(), id, password, role); err != nil {
		e.t.Fatalf("register %s: %v", id, err)
	}
}

func (e *env) login(id, password string) string {
	e.t.Helper()
	tok, err := e.s.UserLogin(context.Background(), id, password)
	if err != nil {
		e.t.Fatalf("login %s: %v", id, err)
	}
	return tok
}

// dump returns every key, value and version of the store.
func dump(t *testing.T, s teaclave.Store) string {
	t.Helper()
	kvs, err := s.Range(context.Background(), []byte{}, nil, 0, false)
	if err != nil {
		t.Fatalf("dump: %v", err)
	}
	var b strings.Builder
	for _, kv := range kvs {
		fmt.Fprintf(&b, "%q@%d=%x\n", kv.Key, kv.Version, kv.Value)
	}
	return b.String()
}

// unchanged runs f and fails if it changed the store.
func unchanged(t *testing.T, s teaclave.Store, f func()) {
	t.Helper()
	before := dump(t, s)
	f()
	if after := dump(t, s); after != before {
		t.Errorf("store changed:\nbefore:\n%s\nafter:\n%s", before, after)
	}
}

func wantKind(t *testing.T, err error, k teaclave.Kind, what string) {
	t.Helper()
	if got := teaclave.KindOf(err); got != k {
		t.Fatalf("%s: got %v (kind %v), want kind %v", what, err, got, k)
	}
}

// wantAuthFailed checks the one authentication-failure answer.
func wantAuthFailed(t *testing.T, err error, what string) {
	t.Helper()
	var te *teaclave.Error
	if !errors.As(err, &te) || te.Kind != teaclave.KindUnauthenticated || te.Msg != "authentication failed" {
		t.Fatalf("%s: got %v, want Unauthenticated \"authentication failed\"", what, err)
	}
}

// logBuffer collects log output for the secrets check.
type logBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (l *logBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.buf.Write(p)
}

func (l *logBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.buf.String()
}

func role(name, attr string) teaclave.Role { return teaclave.NewRole(name, attr) }
