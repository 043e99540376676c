//go:build !teaclave_production

package frontend_test

import (
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/teaclave-go/teaclave"
	"github.com/teaclave-go/teaclave/attestation"
	"github.com/teaclave-go/teaclave/frontend"
	fetest "github.com/teaclave-go/teaclave/frontend/xtest"
	"github.com/teaclave-go/teaclave/management"
	mxtest "github.com/teaclave-go/teaclave/management/xtest"
	"github.com/teaclave-go/teaclave/rpc"
	"github.com/teaclave-go/teaclave/rpc/pb/commonpb"
	"github.com/teaclave-go/teaclave/rpc/pb/frontendpb"
	"github.com/teaclave-go/teaclave/rpc/rpctest"
	sxtest "github.com/teaclave-go/teaclave/storage/xtest"
)

type faultStore interface {
	teaclave.Store
	FailCommit(bool)
}

type wiring string

const (
	inProcess wiring = "in-process"
	// overGRPC: client → frontend → management, each hop over attested
	// gRPC on 127.0.0.1.
	overGRPC wiring = "grpc"
)

var quiet = slog.New(slog.NewTextHandler(io.Discard, nil))

// env is a frontend on a management service on an in-memory store with
// Teaclave's fixtures, with fake authentication and Teaclave's policy.
type env struct {
	t      testing.TB
	store  faultStore
	dir    *mxtest.Directory
	authn  *fetest.Authenticator
	authz  *fetest.Authorizer
	mgmt   *management.Service
	fe     *frontend.Service
	api    frontend.API
	tokens map[string]string
}

var (
	adminRole = teaclave.Role{Kind: teaclave.RolePlatformAdmin}
	foRole    = teaclave.Role{Kind: teaclave.RoleFunctionOwner}
	doRole    = teaclave.Role{Kind: teaclave.RoleDataOwner, Attribute: "org1"}
)

func newEnv(t testing.TB, w wiring, cfg frontend.Config) *env {
	t.Helper()
	return newEnvWith(t, w, cfg, nil)
}

// newEnvWith is newEnv with authz as the frontend's Authorizer (nil means
// Teaclave's policy, e.authz).
func newEnvWith(t testing.TB, w wiring, cfg frontend.Config, authz frontend.Authorizer) *env {
	t.Helper()
	store := sxtest.NewMemStore()
	if err := mxtest.SeedTeaclaveFixtures(context.Background(), store); err != nil {
		t.Fatal(err)
	}
	e := &env{t: t, store: store, dir: mxtest.NewDirectory(mxtest.TeaclaveUsers...), authn: fetest.NewAuthenticator(),
		authz: fetest.TeaclavePolicy(), tokens: map[string]string{}}
	// Teaclave's functional tests act as PlatformAdmins.
	for _, u := range mxtest.TeaclaveUsers {
		e.addUser(u, adminRole)
	}
	e.addUser("alice", doRole)
	e.addUser("bob", doRole)
	e.addUser("fo", foRole)
	mgmt, err := management.New(management.Config{}.Defaults(), management.Deps{Store: store, Directory: e.dir, Logger: quiet})
	if err != nil {
		t.Fatal(err)
	}
	e.mgmt = mgmt
	var mapi management.API = mgmt
	var renv *rpctest.Env
	if w == overGRPC {
		renv = rpctest.NewEnv(t)
		srv := renv.Transport(t, attestation.ServiceManagement).NewServer(rpc.InternalEndpoint)
		mgmt.Register(srv)
		addr := serve(t, srv.Serve, srv.Stop)
		cc, err := renv.Transport(t, attestation.ServiceFrontend).Dial(addr, attestation.ServiceManagement)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { cc.Close() })
		mapi = management.NewClient(cc)
	}
	if authz == nil {
		authz = e.authz
	}
	fe, err := frontend.New(cfg.Defaults(), frontend.Deps{Authenticator: e.authn, Authorizer: authz, Management: mapi, Logger: quiet})
	if err != nil {
		t.Fatal(err)
	}
	if err := fe.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { fe.Stop(context.Background()) })
	e.fe, e.api = fe, fe
	if w == overGRPC {
		srv := renv.Transport(t, attestation.ServiceFrontend).NewServer(rpc.APIEndpoint)
		fe.Register(srv)
		addr := serve(t, srv.Serve, srv.Stop)
		// A client verifies the frontend's attestation; any transport of
		// the environment can dial it.
		cc, err := renv.Transport(t, attestation.ServiceExecution).Dial(addr, attestation.ServiceFrontend)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { cc.Close() })
		e.api = frontend.NewClient(cc)
	}
	return e
}

func serve(t testing.TB, run func(net.Listener) error, stop func()) string {
	t.Helper()
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	go run(lis)
	t.Cleanup(stop)
	return lis.Addr().String()
}

func (e *env) addUser(id string, role teaclave.Role) {
	e.tokens[id] = e.authn.Add(id, role)
	e.dir.Add(id)
}

func forEachWiring(t *testing.T, f func(t *testing.T, w wiring)) {
	for _, w := range []wiring{inProcess, overGRPC} {
		t.Run(string(w), func(t *testing.T) { f(t, w) })
	}
}

func ctxFor(t testing.TB) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	t.Cleanup(cancel)
	return ctx
}

// as returns a context with user's credentials.
func (e *env) as(user string) context.Context {
	return frontend.WithCredentials(ctxFor(e.t), rpc.Credentials{ID: user, Token: e.tokens[user]})
}

// withToken returns a context with user's id and the given token.
func (e *env) withToken(user, token string) context.Context {
	return frontend.WithCredentials(ctxFor(e.t), rpc.Credentials{ID: user, Token: token})
}

func wantOK(t testing.TB, err error, what string) {
	t.Helper()
	if err != nil {
		t.Fatalf("%s: %v", what, err)
	}
}

func wantKind(t testing.TB, err error, k teaclave.Kind, what string) {
	t.Helper()
	if err == nil {
		t.Fatalf("%s: succeeded, want %s", what, k)
	}
	if got := teaclave.KindOf(err); got != k {
		t.Fatalf("%s: error %q is %s, want %s", what, err, got, k)
	}
}

func (e *env) flush() {
	e.t.Helper()
	wantOK(e.t, e.fe.FlushAudit(context.Background()), "flush audit")
}

// auditEntries returns every stored audit entry, oldest first.
func (e *env) auditEntries() []*commonpb.Entry {
	e.t.Helper()
	e.flush()
	d, err := mxtest.Dump(context.Background(), e.store)
	wantOK(e.t, err, "dump")
	var out []*commonpb.Entry
	for k, v := range d {
		if !strings.HasPrefix(k, "audit-") {
			continue
		}
		var en struct {
			Microsecond int64  `json:"microsecond"`
			IP          []byte `json:"ip"`
			User        string `json:"user"`
			Message     string `json:"message"`
			Result      bool   `json:"result"`
		}
		wantOK(e.t, json.Unmarshal(v, &en), "decode audit entry")
		out = append(out, &commonpb.Entry{Microsecond: en.Microsecond, Ip: en.IP, User: en.User, Message: en.Message, Result: en.Result})
	}
	return out
}

func pfsCrypto() *commonpb.FileCryptoInfo {
	return &commonpb.FileCryptoInfo{Schema: "teaclave-file-128", Key: make([]byte, 16)}
}

const fileURL = "https://external-storage.com/filepath?presigned_token"

var mockCmac = []byte("deadbeefdeadbeef")

func owners(m map[string][]string) []*frontendpb.OwnerList {
	var out []*frontendpb.OwnerList
	for k, v := range m {
		out = append(out, &frontendpb.OwnerList{DataName: k, Uids: v})
	}
	return out
}

func dm(m map[string]string) []*frontendpb.DataMap {
	var out []*frontendpb.DataMap
	for k, v := range m {
		out = append(out, &frontendpb.DataMap{DataName: k, DataId: v})
	}
	return out
}

func (e *env) drain(queue string) [][]byte {
	e.t.Helper()
	var out [][]byte
	for {
		v, err := e.store.Dequeue(context.Background(), []byte(queue))
		if teaclave.KindOf(err) == teaclave.KindNotFound {
			return out
		}
		wantOK(e.t, err, "dequeue")
		out = append(out, v)
	}
}
