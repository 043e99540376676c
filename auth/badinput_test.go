//go:build !teaclave_production

package auth

import (
	"context"
	"strings"
	"testing"

	"google.golang.org/grpc/metadata"

	"github.com/teaclave-go/teaclave"
	"github.com/teaclave-go/teaclave/rpc"
	"github.com/teaclave-go/teaclave/rpc/pb/authpb"
)

var (
	longID       = strings.Repeat("i", MaxIDLen+1)
	longPassword = strings.Repeat("p", MaxPasswordLen+1)
	longAttr     = strings.Repeat("a", MaxAttributeLen+1)
)

// TestBadInput: malformed ids, passwords and roles get a clear
// InvalidArgument error naming the problem, never echo a password, and
// write nothing.
func TestBadInput(t *testing.T) {
	transports(t, func(t *testing.T, e *env, o ops) {
		tok, err := o.login("admin", "teaclave")
		if err != nil {
			t.Fatal(err)
		}
		admin := rpc.Credentials{ID: "admin", Token: tok}
		e.register("alice", "alice-pw", role("DataOwner", "org1"))
		badIDs := map[string]string{
			"empty id":          "",
			"over-long id":      longID,
			"id with a space":   "al ice",
			"id with a control": "al\x01ice",
			"non-ASCII id":      "alïce",
			"id with a newline": "alice\n",
		}
		badPasswords := map[string]string{"empty password": "", "over-long password": longPassword}
		badRoles := map[string][2]string{
			"unknown role":             {"Admin", ""},
			"role Invalid":             {"Invalid", ""},
			"empty role":               {"", ""},
			"role in another case":     {"dataowner", "org1"},
			"claims form as role name": {"DataOwner-org1", ""},
			"over-long attribute":      {"DataOwner", longAttr},
			"attribute with a space":   {"DataOwner", "org 1"},
		}
		type tc struct {
			name, msg string
			call      func() error
		}
		var cases []tc
		for n, id := range badIDs {
			cases = append(cases,
				tc{"register: " + n, "invalid user id", func() error { return o.register(admin, id, "pw", "DataOwner", "org1") }},
				tc{"update: " + n, "invalid user id", func() error { return o.update(admin, id, "pw", "DataOwner", "org1") }},
				tc{"login: " + n, "invalid user id", func() error { _, err := o.login(id, "pw"); return err }},
				tc{"reset: " + n, "invalid user id", func() error { _, err := o.reset(admin, id); return err }},
				tc{"delete: " + n, "invalid user id", func() error { return o.remove(admin, id) }},
				tc{"bootstrap: " + n, "invalid user id", func() error { return o.bootstrap(id, "pw-long-enough") }},
			)
		}
		for n, pw := range badPasswords {
			cases = append(cases,
				tc{"register: " + n, "invalid password", func() error { return o.register(admin, "bob", pw, "DataOwner", "org1") }},
				tc{"update: " + n, "invalid password", func() error { return o.update(admin, "alice", pw, "DataOwner", "org1") }},
				tc{"login: " + n, "invalid password", func() error { _, err := o.login("alice", pw); return err }},
				tc{"change password: " + n, "invalid password", func() error { return o.changePassword(admin, pw) }},
				tc{"bootstrap: " + n, "invalid password", func() error { return o.bootstrap("root", pw) }},
			)
		}
		for n, r := range badRoles {
			cases = append(cases,
				tc{"register: " + n, "invalid role", func() error { return o.register(admin, "bob", "pw", r[0], r[1]) }},
				tc{"update: " + n, "invalid role", func() error { return o.update(admin, "alice", "pw", r[0], r[1]) }},
			)
		}
		cases = append(cases, tc{"list: over-long id", "invalid user id", func() error { _, err := o.list(admin, longAttr); return err }})
		for _, c := range cases {
			t.Run(c.name, func(t *testing.T) {
				var err error
				unchanged(t, e.store, func() { err = c.call() })
				wantKind(t, err, teaclave.KindInvalidArgument, c.name)
				if !strings.HasPrefix(err.Error(), c.msg) {
					t.Fatalf("message %q, want it to begin %q", err.Error(), c.msg)
				}
				if strings.Contains(err.Error(), longPassword[:64]) || strings.Contains(err.Error(), "pw-long-enough") {
					t.Fatalf("message %q echoes a password", err.Error())
				}
			})
		}
	})
}

// TestMalformedMetadata: every authenticated api RPC refuses missing,
// empty, repeated or oversized credentials with UNAUTHENTICATED and writes
// nothing.
func TestMalformedMetadata(t *testing.T) {
	e := newEnv(t)
	g := serveGRPC(t, e.s)
	tok := e.login("admin", "teaclave")
	mds := map[string]metadata.MD{
		"no metadata":     nil,
		"missing token":   metadata.Pairs("id", "admin"),
		"missing id":      metadata.Pairs("token", tok),
		"empty token":     metadata.Pairs("id", "admin", "token", ""),
		"empty id":        metadata.Pairs("id", "", "token", tok),
		"repeated id":     metadata.Pairs("id", "admin", "id", "admin", "token", tok),
		"repeated token":  metadata.Pairs("id", "admin", "token", tok, "token", tok),
		"oversized id":    metadata.Pairs("id", strings.Repeat("a", 2000), "token", tok),
		"oversized token": metadata.Pairs("id", "admin", "token", tok+strings.Repeat("A", 20000)),
		"wrong id":        metadata.Pairs("id", "Admin", "token", tok),
		"role injected":   metadata.Pairs("id", "admin", "token", "wrong_token", "role", "PlatformAdmin"),
	}
	calls := map[string]func(ctx context.Context) error{
		"UserRegister": func(ctx context.Context) error {
			_, err := g.api.UserRegister(ctx, &authpb.UserRegisterRequest{Id: "x", Password: "pw", Role: "PlatformAdmin"})
			return err
		},
		"UserUpdate": func(ctx context.Context) error {
			_, err := g.api.UserUpdate(ctx, &authpb.UserUpdateRequest{Id: "admin", Password: "pw", Role: "PlatformAdmin"})
			return err
		},
		"UserChangePassword": func(ctx context.Context) error {
			_, err := g.api.UserChangePassword(ctx, &authpb.UserChangePasswordRequest{Password: "pw"})
			return err
		},
		"ResetUserPassword": func(ctx context.Context) error {
			_, err := g.api.ResetUserPassword(ctx, &authpb.ResetUserPasswordRequest{Id: "admin"})
			return err
		},
		"DeleteUser": func(ctx context.Context) error {
			_, err := g.api.DeleteUser(ctx, &authpb.DeleteUserRequest{Id: "admin"})
			return err
		},
		"ListUsers": func(ctx context.Context) error {
			_, err := g.api.ListUsers(ctx, &authpb.ListUsersRequest{Id: "x"})
			return err
		},
	}
	for mn, md := range mds {
		for cn, call := range calls {
			t.Run(cn+"/"+mn, func(t *testing.T) {
				ctx := context.Background()
				if md != nil {
					ctx = metadata.NewOutgoingContext(ctx, md)
				}
				var err error
				unchanged(t, e.store, func() { err = call(ctx) })
				wantKind(t, err, teaclave.KindUnauthenticated, mn)
			})
		}
	}
	// The control: the same calls with good metadata get past
	// authentication (ListUsers succeeds).
	ctx := metadata.NewOutgoingContext(context.Background(), metadata.Pairs("id", "admin", "token", tok))
	if err := calls["ListUsers"](ctx); err != nil {
		t.Fatalf("control: %v", err)
	}
	// UserAuthenticate without a credential.
	_, err := authpb.NewTeaclaveAuthenticationInternalClient(g.intlConn).UserAuthenticate(context.Background(), &authpb.UserAuthenticateRequest{})
	wantAuthFailed(t, err, "no credential")
}

// TestUnauthenticatedOnlyForAuthFailures: a well-authenticated caller's
// other failures carry their own codes, never UNAUTHENTICATED.
func TestUnauthenticatedOnlyForAuthFailures(t *testing.T) {
	transports(t, func(t *testing.T, e *env, o ops) {
		tok, _ := o.login("admin", "teaclave")
		admin := rpc.Credentials{ID: "admin", Token: tok}
		e.register("fo", "fo-pw", role("FunctionOwner", ""))
		foTok, _ := o.login("fo", "fo-pw")
		fo := rpc.Credentials{ID: "fo", Token: foTok}
		checks := []struct {
			name string
			err  error
			kind teaclave.Kind
		}{
			{"invalid id", o.register(admin, "", "pw", "PlatformAdmin", ""), teaclave.KindInvalidArgument},
			{"taken id", o.register(admin, "fo", "pw", "PlatformAdmin", ""), teaclave.KindAlreadyExists},
			{"not allowed", o.register(fo, "y", "pw", "DataOwnerManager", "org"), teaclave.KindPermissionDenied},
			{"missing target", o.remove(admin, "nobody"), teaclave.KindNotFound},
			{"second bootstrap", o.bootstrap("root", "root-pw"), teaclave.KindFailedPrecondition},
		}
		for _, c := range checks {
			if teaclave.KindOf(c.err) != c.kind {
				t.Errorf("%s: %v, want kind %v", c.name, c.err, c.kind)
			}
		}
	})
}

// TestLoginRevealsNothing: an unknown id and a wrong password get the same
// answer.
func TestLoginRevealsNothing(t *testing.T) {
	transports(t, func(t *testing.T, e *env, o ops) {
		_, errKnown := o.login("admin", "wrong")
		_, errUnknown := o.login("nobody", "wrong")
		wantAuthFailed(t, errKnown, "wrong password")
		wantAuthFailed(t, errUnknown, "unknown id")
	})
}
