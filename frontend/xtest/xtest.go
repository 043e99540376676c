// Package xtest holds fakes for testing the frontend and its users: an
// Authenticator of users with random tokens that can be revoked, and an
// Authorizer applying Teaclave's access-control policy. Both have failure
// switches and count their calls.
package xtest

import (
	"context"
	"crypto/rand"
	"crypto/subtle"
	"encoding/hex"
	"sync"
	"sync/atomic"

	"github.com/teaclave-go/teaclave"
)

// Authenticator is an in-memory user database with tokens. It is safe for
// concurrent use.
type Authenticator struct {
	mu    sync.Mutex
	users map[string]user
	fail  atomic.Bool
	calls atomic.Int64
}

type user struct {
	token string
	role  teaclave.Role
}

// NewAuthenticator returns an empty authenticator.
func NewAuthenticator() *Authenticator { return &Authenticator{users: map[string]user{}} }

// Add registers id with role and returns a fresh random token for it;
// adding an id again replaces its token and role.
func (a *Authenticator) Add(id string, role teaclave.Role) string {
	b := make([]byte, 32)
	rand.Read(b)
	tok := hex.EncodeToString(b)
	a.mu.Lock()
	defer a.mu.Unlock()
	a.users[id] = user{token: tok, role: role}
	return tok
}

// Revoke ends id's token.
func (a *Authenticator) Revoke(id string) {
	a.mu.Lock()
	defer a.mu.Unlock()
	delete(a.users, id)
}

// Fail makes every call fail with KindUnavailable while on is set.
func (a *Authenticator) Fail(on bool) { a.fail.Store(on) }

// Calls returns the number of Authenticate calls so far.
func (a *Authenticator) Calls() int64 { return a.calls.Load() }

// Authenticate returns the caller id is if token is its current token,
// else an Unauthenticated "authentication failed" error.
func (a *Authenticator) Authenticate(ctx context.Context, id, token string) (teaclave.Caller, error) {
	a.calls.Add(1)
	if err := ctx.Err(); err != nil {
		return teaclave.Caller{}, err
	}
	if a.fail.Load() {
		return teaclave.Caller{}, teaclave.Errorf(teaclave.KindUnavailable, "xtest: authenticator fault")
	}
	a.mu.Lock()
	u, ok := a.users[id]
	a.mu.Unlock()
	if !ok || subtle.ConstantTimeCompare([]byte(u.token), []byte(token)) != 1 {
		return teaclave.Caller{}, teaclave.Errorf(teaclave.KindUnauthenticated, "authentication failed")
	}
	return teaclave.Caller{ID: id, Role: u.role}, nil
}

// Authorizer decides by a table of allowed (role, api) pairs; the
// PlatformAdmin role may call everything. It is safe for concurrent use.
type Authorizer struct {
	allow map[string]map[string]bool
	fail  atomic.Bool
	calls atomic.Int64
}

// TeaclavePolicy returns an Authorizer with Teaclave's policy (protocol
// §7) plus approve_task and get_task for FunctionOwner (the owner of a
// private function takes part in its tasks): PlatformAdmin may call every
// API, FunctionOwner the function APIs, DataOwner and DataOwnerManager the
// data and task APIs and get_function, list_functions and
// get_function_usage_stats; anyone else nothing.
func TeaclavePolicy() *Authorizer {
	functionOwner := []string{"register_function", "update_function", "delete_function", "disable_function", "get_function",
		"list_functions", "get_function_usage_stats", "approve_task", "get_task"}
	dataOwner := []string{"register_input_file", "register_output_file", "update_input_file", "update_output_file",
		"register_fusion_output", "register_input_from_output", "get_output_file", "get_input_file", "create_task",
		"get_task", "assign_data", "approve_task", "invoke_task", "cancel_task", "get_function", "list_functions",
		"get_function_usage_stats"}
	set := func(apis []string) map[string]bool {
		m := map[string]bool{}
		for _, a := range apis {
			m[a] = true
		}
		return m
	}
	return &Authorizer{allow: map[string]map[string]bool{
		teaclave.RoleNameFunctionOwner:    set(functionOwner),
		teaclave.RoleNameDataOwner:        set(dataOwner),
		teaclave.RoleNameDataOwnerManager: set(dataOwner),
	}}
}

// Fail makes every call fail with KindUnavailable while on is set.
func (a *Authorizer) Fail(on bool) { a.fail.Store(on) }

// Calls returns the number of Authorize calls so far.
func (a *Authorizer) Calls() int64 { return a.calls.Load() }

// Authorize reports whether role may call api.
func (a *Authorizer) Authorize(ctx context.Context, role, api string) (bool, error) {
	a.calls.Add(1)
	if err := ctx.Err(); err != nil {
		return false, err
	}
	if a.fail.Load() {
		return false, teaclave.Errorf(teaclave.KindUnavailable, "xtest: authorizer fault")
	}
	if role == teaclave.RoleNamePlatformAdmin {
		return true, nil
	}
	return a.allow[role][api], nil
}
