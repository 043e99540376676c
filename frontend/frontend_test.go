//go:build !teaclave_production

package frontend_test

import (
	"context"
	"net/netip"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/teaclave-go/teaclave"
	"github.com/teaclave-go/teaclave/frontend"
	fetest "github.com/teaclave-go/teaclave/frontend/xtest"
	"github.com/teaclave-go/teaclave/management"
	mxtest "github.com/teaclave-go/teaclave/management/xtest"
	"github.com/teaclave-go/teaclave/rpc"
	"github.com/teaclave-go/teaclave/rpc/pb/commonpb"
	"github.com/teaclave-go/teaclave/rpc/pb/frontendpb"
	sxtest "github.com/teaclave-go/teaclave/storage/xtest"
)

// fakeClock is a settable clock.
type fakeClock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *fakeClock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(d)
}

// newDirect builds a frontend on a fresh management service with the
// given clock and config, in process.
func newDirect(t *testing.T, cfg frontend.Config, clock *fakeClock) (*frontend.Service, *fetest.Authenticator, *fetest.Authorizer, faultStore) {
	t.Helper()
	store := sxtest.NewMemStore()
	wantOK(t, mxtest.SeedTeaclaveFixtures(context.Background(), store), "seed")
	dir := mxtest.NewDirectory(mxtest.TeaclaveUsers...)
	dir.Add("alice")
	mgmt, err := management.New(management.Config{}.Defaults(), management.Deps{Store: store, Directory: dir, Logger: quiet})
	wantOK(t, err, "management")
	authn, authz := fetest.NewAuthenticator(), fetest.TeaclavePolicy()
	deps := frontend.Deps{Authenticator: authn, Authorizer: authz, Management: mgmt, Logger: quiet}
	if clock != nil {
		deps.Now = clock.Now
	}
	fe, err := frontend.New(cfg.Defaults(), deps)
	wantOK(t, err, "frontend")
	return fe, authn, authz, store
}

func creds(id, token string) context.Context {
	return frontend.WithCredentials(context.Background(), rpc.Credentials{ID: id, Token: token})
}

var getFn1 = &frontendpb.GetFunctionRequest{FunctionId: mxtest.FixtureFunction1.String()}

// TestAuthCache: a successful authentication is reused for the TTL and
// no longer (so revocation takes effect within it); failures are never
// cached; a negative TTL turns the cache off.
func TestAuthCache(t *testing.T) {
	clock := &fakeClock{now: time.Unix(1_700_000_000, 0)}
	fe, authn, _, _ := newDirect(t, frontend.Config{AuthCacheTTL: 2 * time.Second}, clock)
	tok := authn.Add("alice", doRole)
	ctx := creds("alice", tok)
	for range 3 {
		_, err := fe.GetFunction(ctx, getFn1)
		wantOK(t, err, "get")
	}
	if n := authn.Calls(); n != 1 {
		t.Fatalf("%d authentications for 3 calls within the TTL", n)
	}
	authn.Revoke("alice")
	clock.Advance(time.Second)
	_, err := fe.GetFunction(ctx, getFn1)
	wantOK(t, err, "revoked token within the TTL")
	clock.Advance(time.Second)
	_, err = fe.GetFunction(ctx, getFn1)
	wantKind(t, err, teaclave.KindUnauthenticated, "revoked token after the TTL")
	before := authn.Calls()
	for range 3 {
		_, err = fe.GetFunction(creds("alice", "wrong"), getFn1)
		wantKind(t, err, teaclave.KindUnauthenticated, "wrong token")
	}
	if n := authn.Calls() - before; n != 3 {
		t.Fatalf("%d authentications for 3 failing calls: failures were cached", n)
	}

	fe, authn, _, _ = newDirect(t, frontend.Config{AuthCacheTTL: -1}, clock)
	tok = authn.Add("alice", doRole)
	for range 3 {
		_, err := fe.GetFunction(creds("alice", tok), getFn1)
		wantOK(t, err, "get")
	}
	if n := authn.Calls(); n != 3 {
		t.Fatalf("%d authentications with the cache off", n)
	}
	if _, err := frontend.New(frontend.Config{AuthCacheTTL: time.Minute}.Defaults(), frontend.Deps{Authenticator: authn, Authorizer: fetest.TeaclavePolicy(), Management: &management.Client{}}); err == nil {
		t.Fatal("a one-minute cache TTL was accepted")
	}
}

// TestDependencyFailures: an unreachable authentication or access-control
// service is Unavailable, not a verdict on the user.
func TestDependencyFailures(t *testing.T) {
	fe, authn, authz, _ := newDirect(t, frontend.Config{AuthCacheTTL: -1}, nil)
	tok := authn.Add("alice", doRole)
	authn.Fail(true)
	_, err := fe.GetFunction(creds("alice", tok), getFn1)
	wantKind(t, err, teaclave.KindUnavailable, "authentication service down")
	authn.Fail(false)
	authz.Fail(true)
	_, err = fe.GetFunction(creds("alice", tok), getFn1)
	wantKind(t, err, teaclave.KindUnavailable, "access control down")
	authz.Fail(false)
	_, err = fe.GetFunction(creds("alice", tok), getFn1)
	wantOK(t, err, "both back")
	_, err = fe.GetFunction(context.Background(), getFn1)
	wantKind(t, err, teaclave.KindUnauthenticated, "no credentials in process")
	_, err = fe.GetFunction(creds("alice", ""), getFn1)
	wantKind(t, err, teaclave.KindUnauthenticated, "empty token")
}

// TestAuditEntries checks the form of each kind of entry, in process and
// over gRPC (where the client's address is recorded).
func TestAuditEntries(t *testing.T) {
	forEachWiring(t, func(t *testing.T, w wiring) {
		e := newEnv(t, w, frontend.Config{})
		start := time.Now().UnixMicro()
		_, err := e.api.GetFunction(e.as("alice"), getFn1)
		wantOK(t, err, "success")
		_, err = e.api.GetTask(e.as("alice"), &frontendpb.GetTaskRequest{TaskId: teaclave.NewID(teaclave.PrefixTask).String()})
		wantKind(t, err, teaclave.KindNotFound, "management refuses")
		_, err = e.api.QueryAuditLogs(e.as("alice"), &frontendpb.QueryAuditLogsRequest{})
		wantKind(t, err, teaclave.KindPermissionDenied, "policy refuses")
		_, err = e.api.GetFunction(e.withToken("alice", "bad"), getFn1)
		wantKind(t, err, teaclave.KindUnauthenticated, "authentication fails")
		logs := e.auditEntries()
		slices.SortFunc(logs, func(a, b *commonpb.Entry) int { return int(a.GetMicrosecond() - b.GetMicrosecond()) })
		if len(logs) != 4 {
			t.Fatalf("%d entries", len(logs))
		}
		alice := `{ user: alice, role: DataOwner("org1") }`
		want := []struct {
			user, msg string
			ok        bool
		}{
			{alice, "get_function", true},
			{alice, `get_task:status: NotFound, message: "invalid task id: no such task"`, false},
			{alice, "authorize query_audit_logs: permission denied", false},
			{"", "authenticate to get_function: incorrect credential", false},
		}
		wantIP := make([]byte, 16)
		if w == overGRPC {
			copy(wantIP[12:], netip.MustParseAddr("127.0.0.1").AsSlice())
		}
		for i, l := range logs {
			if l.GetUser() != want[i].user || l.GetMessage() != want[i].msg || l.GetResult() != want[i].ok ||
				string(l.GetIp()) != string(wantIP) || l.GetMicrosecond() < start {
				t.Errorf("entry %d = %v, want %+v from %x", i, l, want[i], wantIP)
			}
		}
	})
}

// TestAuditKeptUntilSaved: entries wait through a management outage and
// are saved once it ends; a full buffer makes calls wait, not drop.
func TestAuditKeptUntilSaved(t *testing.T) {
	fe, authn, _, store := newDirect(t, frontend.Config{AuditBufferSize: 2}, nil)
	tok := authn.Add("alice", doRole)
	store.FailCommit(true)
	for range 2 {
		_, err := fe.GetFunction(creds("alice", tok), getFn1)
		wantOK(t, err, "get")
	}
	if err := fe.FlushAudit(context.Background()); err == nil {
		t.Fatal("flush succeeded with commits failing")
	}
	// The buffer is full: the next call waits for room. Its context ends
	// first, so it answers and its entry is lost (and logged).
	ctx, cancel := context.WithTimeout(creds("alice", tok), 50*time.Millisecond)
	defer cancel()
	_, err := fe.GetFunction(ctx, getFn1)
	wantOK(t, err, "get with a full audit buffer")
	store.FailCommit(false)
	wantOK(t, fe.FlushAudit(context.Background()), "flush after the outage")
	d, err := mxtest.Dump(context.Background(), store)
	wantOK(t, err, "dump")
	n := 0
	for k := range d {
		if strings.HasPrefix(k, "audit-") {
			n++
		}
	}
	if n != 2 {
		t.Fatalf("%d entries saved, want the 2 buffered", n)
	}
	// A waiting call proceeds as soon as the agent makes room.
	wantOK(t, fe.Start(context.Background()), "start")
	defer fe.Stop(context.Background())
	for range 5 {
		_, err := fe.GetFunction(creds("alice", tok), getFn1)
		wantOK(t, err, "get")
	}
}
