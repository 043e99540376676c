//go:build !teaclave_production

package auth

import (
	"fmt"
	"regexp"
	"slices"
	"testing"

	"github.com/teaclave-go/teaclave"
	"github.com/teaclave-go/teaclave/rpc"
)

// The callers of the role × operation table, one per role that can log in.
var tableCallers = []struct {
	id   string
	role teaclave.Role
}{
	{"pa", role("PlatformAdmin", "")},
	{"fo", role("FunctionOwner", "")},
	{"dom1", role("DataOwnerManager", "org1")},
	{"do1", role("DataOwner", "org1")},
}

// The roles users are given or have.
var tableRoles = []teaclave.Role{
	role("PlatformAdmin", ""), role("FunctionOwner", ""),
	role("DataOwnerManager", "org1"), role("DataOwnerManager", "org2"),
	role("DataOwner", "org1"), role("DataOwner", "org2"), role("DataOwner", ""),
}

// Reference rules, written from protocol §5.5 with §20 items 16 and 17
// fixed (docs/compatibility-auth.md).
func refManages(c teaclave.Role) bool {
	return c.Kind == teaclave.RolePlatformAdmin || c.Kind == teaclave.RoleDataOwnerManager
}

// refMayGive: admins give any role; a manager gives only DataOwner of its
// own attribute; FunctionOwner gives nothing (item 17).
func refMayGive(c, r teaclave.Role) bool {
	if c.Kind == teaclave.RolePlatformAdmin {
		return true
	}
	return c.Kind == teaclave.RoleDataOwnerManager && r == teaclave.Role{Kind: teaclave.RoleDataOwner, Attribute: c.Attribute}
}

// refMayTouch: a manager touches only DataOwners of its attribute
// (item 16).
func refMayTouch(c, target teaclave.Role) bool {
	return refMayGive(c, target)
}

// outcome is the expected result kind; KindUnknown means success.
type outcome = teaclave.Kind

const ok outcome = teaclave.KindUnknown

func refRegister(c, r teaclave.Role) outcome {
	if !refMayGive(c, r) {
		return teaclave.KindPermissionDenied
	}
	return ok
}

// refManage is the outcome of update (with newRole) or reset/delete
// (newRole nil) of a target with current role target (nil: missing).
func refManage(c teaclave.Role, target, newRole *teaclave.Role) outcome {
	if !refManages(c) || (newRole != nil && !refMayGive(c, *newRole)) {
		return teaclave.KindPermissionDenied
	}
	if target == nil {
		if c.Kind == teaclave.RolePlatformAdmin {
			return teaclave.KindNotFound
		}
		return teaclave.KindPermissionDenied
	}
	if !refMayTouch(c, *target) {
		return teaclave.KindPermissionDenied
	}
	return ok
}

// tableEnv registers the callers and returns their credentials.
func tableEnv(t *testing.T, e *env, o ops) map[string]rpc.Credentials {
	t.Helper()
	creds := map[string]rpc.Credentials{}
	for _, c := range tableCallers {
		e.register(c.id, c.id+"-pw", c.role)
		tok, err := o.login(c.id, c.id+"-pw")
		if err != nil {
			t.Fatal(err)
		}
		creds[c.id] = rpc.Credentials{ID: c.id, Token: tok}
	}
	return creds
}

func checkOutcome(t *testing.T, err error, want outcome) {
	t.Helper()
	if want == ok {
		if err != nil {
			t.Fatalf("got %v, want success", err)
		}
		return
	}
	if got := teaclave.KindOf(err); got != want {
		t.Fatalf("got %v (kind %v), want kind %v", err, got, want)
	}
	if want == teaclave.KindPermissionDenied && err.Error() != "permission denied" {
		t.Fatalf("message %q, want Teaclave's %q", err.Error(), "permission denied")
	}
}

func roleDesc(r *teaclave.Role) string {
	if r == nil {
		return "missing"
	}
	return r.String()
}

// TestRoleOperationTable is the role × operation × outcome table over
// every api RPC, in process and over gRPC. A refused call leaves the store
// unchanged; an accepted one has its effect, checked through the API.
func TestRoleOperationTable(t *testing.T) {
	transports(t, func(t *testing.T, e *env, o ops) {
		creds := tableEnv(t, e, o)
		n := 0
		fresh := func(r *teaclave.Role) (string, string) {
			n++
			id := fmt.Sprintf("target%d", n)
			if r != nil {
				e.register(id, id+"-pw", *r)
				return id, e.mustLoginVia(t, o, id, id+"-pw")
			}
			return id, ""
		}
		targets := []*teaclave.Role{nil}
		for i := range tableRoles {
			targets = append(targets, &tableRoles[i])
		}
		for _, c := range tableCallers {
			cred := creds[c.id]
			for _, r := range tableRoles {
				t.Run(fmt.Sprintf("%s registers %s", c.id, r), func(t *testing.T) {
					id, _ := fresh(nil)
					want := refRegister(c.role, r)
					var err error
					call := func() { err = o.register(cred, id, "new-pw", r.Name(), r.Attribute) }
					if want == ok {
						call()
						checkOutcome(t, err, want)
						wantUser(t, o, id, "new-pw", r)
					} else {
						unchanged(t, e.store, call)
						checkOutcome(t, err, want)
					}
				})
			}
			// Registering a taken id: only those who may give the role learn
			// it is taken.
			t.Run(fmt.Sprintf("%s registers a taken id", c.id), func(t *testing.T) {
				r := role("DataOwner", "org1")
				id, _ := fresh(&r)
				want := teaclave.KindAlreadyExists
				if refRegister(c.role, r) != ok {
					want = teaclave.KindPermissionDenied
				}
				var err error
				unchanged(t, e.store, func() { err = o.register(cred, id, "x", "DataOwner", "org1") })
				checkOutcome(t, err, want)
				if want == teaclave.KindAlreadyExists && err.Error() != "user id exist" {
					t.Fatalf("message %q, want Teaclave's", err.Error())
				}
			})
			for _, target := range targets {
				for _, nr := range tableRoles {
					t.Run(fmt.Sprintf("%s updates %s to %s", c.id, roleDesc(target), nr), func(t *testing.T) {
						id, oldTok := fresh(target)
						want := refManage(c.role, target, &nr)
						var err error
						call := func() { err = o.update(cred, id, "upd-pw", nr.Name(), nr.Attribute) }
						if want != ok {
							unchanged(t, e.store, call)
							checkOutcome(t, err, want)
							return
						}
						call()
						checkOutcome(t, err, want)
						wantUser(t, o, id, "upd-pw", nr)
						wantRevoked(t, o, id, oldTok)
					})
				}
				t.Run(fmt.Sprintf("%s resets %s", c.id, roleDesc(target)), func(t *testing.T) {
					id, oldTok := fresh(target)
					want := refManage(c.role, target, nil)
					var pw string
					var err error
					call := func() { pw, err = o.reset(cred, id) }
					if want != ok {
						unchanged(t, e.store, call)
						checkOutcome(t, err, want)
						return
					}
					call()
					checkOutcome(t, err, want)
					if !regexp.MustCompile(`^[0-9a-f]{32}$`).MatchString(pw) {
						t.Fatalf("new password %q is not 32 lowercase hex digits", pw)
					}
					wantUser(t, o, id, pw, *target)
					wantRevoked(t, o, id, oldTok)
					if _, err := o.login(id, id+"-pw"); teaclave.KindOf(err) != teaclave.KindUnauthenticated {
						t.Fatalf("old password after reset: %v", err)
					}
				})
				t.Run(fmt.Sprintf("%s deletes %s", c.id, roleDesc(target)), func(t *testing.T) {
					id, oldTok := fresh(target)
					want := refManage(c.role, target, nil)
					var err error
					call := func() { err = o.remove(cred, id) }
					if want != ok {
						unchanged(t, e.store, call)
						checkOutcome(t, err, want)
						return
					}
					call()
					checkOutcome(t, err, want)
					if ex, err := o.usersExist([]string{id}); err != nil || ex[0] {
						t.Fatalf("deleted user exists: %v, %v", ex, err)
					}
					wantRevoked(t, o, id, oldTok)
				})
			}
		}
	})
}

// wantUser checks that id logs in with pw and has role r.
func wantUser(t *testing.T, o ops, id, pw string, r teaclave.Role) {
	t.Helper()
	tok, err := o.login(id, pw)
	if err != nil {
		t.Fatalf("login %s: %v", id, err)
	}
	c, err := o.authenticate(id, tok)
	if err != nil {
		t.Fatalf("authenticate %s: %v", id, err)
	}
	if c.Role != r || c.Subject != id {
		t.Fatalf("claims %+v, want %s with role %s", c, id, r)
	}
}

func wantRevoked(t *testing.T, o ops, id, tok string) {
	t.Helper()
	if tok == "" {
		return
	}
	_, err := o.authenticate(id, tok)
	wantAuthFailed(t, err, "old token of "+id)
}

func (e *env) mustLoginVia(t *testing.T, o ops, id, pw string) string {
	t.Helper()
	tok, err := o.login(id, pw)
	if err != nil {
		t.Fatal(err)
	}
	return tok
}

// TestListUsersTable: who lists whom.
func TestListUsersTable(t *testing.T) {
	transports(t, func(t *testing.T, e *env, o ops) {
		creds := tableEnv(t, e, o)
		e.register("do1b", "x-pw", role("DataOwner", "org1"))
		e.register("do2", "x-pw", role("DataOwner", "org2"))
		e.register("dom2", "x-pw", role("DataOwnerManager", "org2"))
		e.register("doempty", "x-pw", role("DataOwner", ""))
		all := []string{"admin", "do1", "do1b", "do2", "doempty", "dom1", "dom2", "fo", "pa"}
		cases := []struct {
			caller, id string
			want       []string
			kind       teaclave.Kind
		}{
			{"pa", "", all, ok},
			{"pa", "anything", all, ok},
			{"dom1", "org1", []string{"do1", "do1b"}, ok},
			{"dom1", "org2", nil, teaclave.KindPermissionDenied},
			{"dom1", "", nil, teaclave.KindPermissionDenied},
			{"fo", "org1", nil, teaclave.KindPermissionDenied},
			{"do1", "org1", nil, teaclave.KindPermissionDenied},
		}
		for _, c := range cases {
			t.Run(fmt.Sprintf("%s lists %q", c.caller, c.id), func(t *testing.T) {
				ids, err := o.list(creds[c.caller], c.id)
				checkOutcome(t, err, c.kind)
				if c.kind == ok && !slices.Equal(ids, c.want) {
					t.Fatalf("ids = %v, want %v", ids, c.want)
				}
			})
		}
	})
}

// TestEveryRoleMayChangeItsPassword and log in.
func TestEveryRoleMayChangeItsPassword(t *testing.T) {
	transports(t, func(t *testing.T, e *env, o ops) {
		creds := tableEnv(t, e, o)
		for _, c := range tableCallers {
			if err := o.changePassword(creds[c.id], c.id+"-new"); err != nil {
				t.Fatalf("%s: %v", c.id, err)
			}
			wantRevoked(t, o, c.id, creds[c.id].Token)
			wantUser(t, o, c.id, c.id+"-new", c.role)
			if _, err := o.login(c.id, c.id+"-pw"); teaclave.KindOf(err) != teaclave.KindUnauthenticated {
				t.Fatalf("%s: old password: %v", c.id, err)
			}
		}
	})
}

// TestNoAccountTakeoverByManager is §20 item 16: Teaclave let a
// DataOwnerManager UserUpdate any user, an admin included, to DataOwner of
// its own attribute with a password of its choosing.
func TestNoAccountTakeoverByManager(t *testing.T) {
	transports(t, func(t *testing.T, e *env, o ops) {
		creds := tableEnv(t, e, o)
		for _, victim := range []string{"admin", "pa", "fo", "dom1"} {
			var err error
			unchanged(t, e.store, func() { err = o.update(creds["dom1"], victim, "stolen", "DataOwner", "org1") })
			checkOutcome(t, err, teaclave.KindPermissionDenied)
			for _, f := range []func() error{
				func() error { _, err := o.reset(creds["dom1"], victim); return err },
				func() error { return o.remove(creds["dom1"], victim) },
			} {
				unchanged(t, e.store, func() { err = f() })
				checkOutcome(t, err, teaclave.KindPermissionDenied)
			}
		}
		// A user of another organisation, and a missing one, answer alike.
		e.register("do2", "x-pw", role("DataOwner", "org2"))
		_, errOther := o.reset(creds["dom1"], "do2")
		_, errMissing := o.reset(creds["dom1"], "nobody")
		if errOther == nil || errMissing == nil || errOther.Error() != errMissing.Error() ||
			teaclave.KindOf(errOther) != teaclave.KindOf(errMissing) {
			t.Fatalf("other org %v vs missing %v: must be indistinguishable", errOther, errMissing)
		}
	})
}

// TestNoRoleEscalation is §20 item 17 and its relatives: nobody gives a
// role above what the rules allow, to others or to themselves.
func TestNoRoleEscalation(t *testing.T) {
	transports(t, func(t *testing.T, e *env, o ops) {
		creds := tableEnv(t, e, o)
		cases := []struct {
			caller, id, name, attr string
			update                 bool
		}{
			{"fo", "newdom", "DataOwnerManager", "org1", false}, // Teaclave allowed this
			{"fo", "newdom", "DataOwnerManager", "anyorg", false},
			{"dom1", "newdom", "DataOwnerManager", "org1", false},
			{"dom1", "newpa", "PlatformAdmin", "", false},
			{"dom1", "newdo", "DataOwner", "org2", false},
			{"do1", "newdo", "DataOwner", "org1", false},
			{"dom1", "dom1", "PlatformAdmin", "", true},
			{"dom1", "do1", "DataOwnerManager", "org1", true},
			{"do1", "do1", "DataOwnerManager", "org1", true},
			{"fo", "fo", "PlatformAdmin", "", true},
		}
		for _, c := range cases {
			var err error
			unchanged(t, e.store, func() {
				if c.update {
					err = o.update(creds[c.caller], c.id, "pw", c.name, c.attr)
				} else {
					err = o.register(creds[c.caller], c.id, "pw", c.name, c.attr)
				}
			})
			if teaclave.KindOf(err) != teaclave.KindPermissionDenied {
				t.Errorf("%s %s %s as %s-%s: %v, want PermissionDenied", c.caller, map[bool]string{true: "updates", false: "registers"}[c.update], c.id, c.name, c.attr, err)
			}
		}
	})
}

// TestUsersExist covers the Directory.
func TestUsersExist(t *testing.T) {
	transports(t, func(t *testing.T, e *env, o ops) {
		e.register("alice", "pw", role("DataOwner", "org1"))
		got, err := o.usersExist([]string{"alice", "bob", "admin", "", "al ice", "alice"})
		if err != nil {
			t.Fatal(err)
		}
		if want := []bool{true, false, true, false, false, true}; !slices.Equal(got, want) {
			t.Fatalf("UsersExist = %v, want %v", got, want)
		}
		if got, err := o.usersExist(nil); err != nil || len(got) != 0 {
			t.Fatalf("UsersExist(nil) = %v, %v", got, err)
		}
		_, err = o.usersExist(make([]string, MaxUsersExist+1))
		wantKind(t, err, teaclave.KindInvalidArgument, "too many ids")
	})
}
