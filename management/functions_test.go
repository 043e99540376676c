//go:build !teaclave_production

package management_test

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/teaclave-go/teaclave"
	"github.com/teaclave-go/teaclave/management"
	mxtest "github.com/teaclave-go/teaclave/management/xtest"
	"github.com/teaclave-go/teaclave/rpc/pb/frontendpb"
)

func (e *env) dump() map[string][]byte {
	e.t.Helper()
	d, err := mxtest.Dump(context.Background(), e.store)
	wantOK(e.t, err, "dump store")
	return d
}

// TestRegisterFunctionOneCommit: the function, its payload, usage counter
// and index entries are written together or not at all.
func TestRegisterFunctionOneCommit(t *testing.T) {
	e := newEnv(t, inProcess, management.Config{})
	e.dir.Add("alice", "bob", "carol")
	ctx := e.as("alice", fnOwner)
	req := pythonFunction(false, "bob", "carol")
	before := e.dump()
	e.store.FailCommit(true)
	_, err := e.api.RegisterFunction(ctx, req)
	wantKind(t, err, teaclave.KindUnavailable, "register with commits failing")
	if a, r, c := mxtest.Diff(before, e.dump()); len(a)+len(r)+len(c) != 0 {
		t.Fatalf("a failed register wrote %v %v %v", a, r, c)
	}
	e.store.FailCommit(false)
	resp, err := e.api.RegisterFunction(ctx, req)
	wantOK(t, err, "register")
	fn := mustID(t, resp.GetFunctionId(), teaclave.PrefixFunction)
	added, removed, changed := mxtest.Diff(before, e.dump())
	want := []string{
		string(teaclave.FunctionIndexKey(fn)),
		string(teaclave.UserIndexKey("bob", teaclave.IndexAllowed, fn)),
		string(teaclave.UserIndexKey("carol", teaclave.IndexAllowed, fn)),
		string(teaclave.UserIndexKey("alice", teaclave.IndexRegistered, fn)),
		string(teaclave.FunctionKey(fn)),
		string(teaclave.PayloadKey(fn)),
		string(teaclave.UsageKey(fn)),
	}
	slices.Sort(want)
	if !slices.Equal(added, want) || len(removed)+len(changed) != 0 {
		t.Fatalf("register added %v removed %v changed %v, want added %v", added, removed, changed, want)
	}
}

func TestFunctionValidation(t *testing.T) {
	e := newEnv(t, inProcess, management.Config{})
	ctx := e.as("mock_user", fnOwner)
	mod := func(f func(r *frontendpb.RegisterFunctionRequest)) *frontendpb.RegisterFunctionRequest {
		r := pythonFunction(true)
		f(r)
		return r
	}
	cases := []struct {
		what string
		req  *frontendpb.RegisterFunctionRequest
		kind teaclave.Kind
	}{
		{"empty name", mod(func(r *frontendpb.RegisterFunctionRequest) { r.Name = "" }), teaclave.KindInvalidArgument},
		{"name with a newline", mod(func(r *frontendpb.RegisterFunctionRequest) { r.Name = "a\nb" }), teaclave.KindInvalidArgument},
		{"long name", mod(func(r *frontendpb.RegisterFunctionRequest) { r.Name = strings.Repeat("n", management.MaxNameLen+1) }), teaclave.KindInvalidArgument},
		{"invalid UTF-8 description", mod(func(r *frontendpb.RegisterFunctionRequest) { r.Description = "\xff" }), teaclave.KindInvalidArgument},
		{"empty executor type", mod(func(r *frontendpb.RegisterFunctionRequest) { r.ExecutorType = "" }), teaclave.KindInvalidArgument},
		{"stored variant name", mod(func(r *frontendpb.RegisterFunctionRequest) { r.ExecutorType = "Python" }), teaclave.KindInvalidArgument},
		{"python without payload", mod(func(r *frontendpb.RegisterFunctionRequest) { r.Payload = nil }), teaclave.KindInvalidArgument},
		{"payload too large", mod(func(r *frontendpb.RegisterFunctionRequest) { r.Payload = make([]byte, management.MaxPayloadSize+1) }), teaclave.KindResourceExhausted},
		{"duplicate argument", mod(func(r *frontendpb.RegisterFunctionRequest) { r.Arguments = append(r.Arguments, r.Arguments[0]) }), teaclave.KindInvalidArgument},
		{"empty argument key", mod(func(r *frontendpb.RegisterFunctionRequest) { r.Arguments[0].Key = "" }), teaclave.KindInvalidArgument},
		{"duplicate input", mod(func(r *frontendpb.RegisterFunctionRequest) { r.Inputs = append(r.Inputs, r.Inputs[0]) }), teaclave.KindInvalidArgument},
		{"too many outputs", mod(func(r *frontendpb.RegisterFunctionRequest) {
			for i := range management.MaxSlots + 1 {
				r.Outputs = append(r.Outputs, &frontendpb.FunctionOutput{Name: fmt.Sprint("o", i)})
			}
		}), teaclave.KindInvalidArgument},
		{"unknown allowlisted user", mod(func(r *frontendpb.RegisterFunctionRequest) { r.UserAllowlist = []string{"nobody"} }), teaclave.KindInvalidArgument},
		{"malformed allowlisted user", mod(func(r *frontendpb.RegisterFunctionRequest) { r.UserAllowlist = []string{"a b"} }), teaclave.KindInvalidArgument},
		{"record too large", mod(func(r *frontendpb.RegisterFunctionRequest) {
			for i := range 8 {
				r.Arguments = append(r.Arguments, &frontendpb.FunctionArgument{Key: fmt.Sprint("big", i), DefaultValue: strings.Repeat("x", management.MaxDefaultValueLen)})
			}
		}), teaclave.KindResourceExhausted},
	}
	before := e.dump()
	for _, c := range cases {
		_, err := e.api.RegisterFunction(ctx, c.req)
		wantKind(t, err, c.kind, c.what)
		_, err = e.api.UpdateFunction(ctx, &frontendpb.UpdateFunctionRequest{FunctionId: mxtest.FixtureFunction3.String(),
			Name: c.req.Name, Description: c.req.Description, ExecutorType: c.req.ExecutorType, Payload: c.req.Payload, Public: c.req.Public,
			Arguments: c.req.Arguments, Inputs: c.req.Inputs, Outputs: c.req.Outputs, UserAllowlist: c.req.UserAllowlist, UsageQuota: c.req.UsageQuota})
		wantKind(t, err, c.kind, "update with "+c.what)
	}
	if a, r, ch := mxtest.Diff(before, e.dump()); len(a)+len(r)+len(ch) != 0 {
		t.Fatalf("refused requests wrote %v %v %v", a, r, ch)
	}
	// A builtin function needs no payload; a large payload within the
	// limit is stored and returned intact.
	big := pythonFunction(true)
	big.Payload = make([]byte, management.MaxPayloadSize)
	big.Payload[len(big.Payload)-1] = 7
	r, err := e.api.RegisterFunction(ctx, big)
	wantOK(t, err, "payload at the limit")
	g, err := e.api.GetFunction(ctx, &frontendpb.GetFunctionRequest{FunctionId: r.GetFunctionId()})
	wantOK(t, err, "get")
	if len(g.GetPayload()) != management.MaxPayloadSize || g.GetPayload()[len(g.GetPayload())-1] != 7 {
		t.Fatal("payload not returned intact")
	}
	_, err = e.api.RegisterFunction(ctx, &frontendpb.RegisterFunctionRequest{Name: "b", ExecutorType: "builtin", UsageQuota: -1})
	wantOK(t, err, "builtin without payload")
}

func TestFunctionVisibility(t *testing.T) {
	forEachWiring(t, func(t *testing.T, w wiring) {
		e := newEnv(t, w, management.Config{})
		e.dir.Add("owner", "friend", "stranger", "org1")
		owner, friend, stranger := e.as("owner", fnOwner), e.as("friend", dataOwner), e.as("stranger", teaclave.Role{Kind: teaclave.RoleDataOwner, Attribute: "friend"})
		r, err := e.api.RegisterFunction(owner, pythonFunction(false, "friend"))
		wantOK(t, err, "register private")
		id := r.GetFunctionId()
		get := &frontendpb.GetFunctionRequest{FunctionId: id}
		for what, ctx := range map[string]context.Context{"owner": owner, "admin": e.admin("root")} {
			g, err := e.api.GetFunction(ctx, get)
			wantOK(t, err, what+" reads")
			if len(g.GetPayload()) == 0 || !slices.Equal(g.GetUserAllowlist(), []string{"friend"}) || g.GetExecutorType() != "python" || g.GetOwner() != "owner" {
				t.Fatalf("%s sees %v", what, g)
			}
		}
		g, err := e.api.GetFunction(friend, get)
		wantOK(t, err, "allowlisted reads")
		if len(g.GetPayload()) != 0 || len(g.GetUserAllowlist()) != 0 || g.GetName() != "mock_function" {
			t.Fatalf("allowlisted user sees %v", g)
		}
		_, err = e.api.GetFunction(stranger, get)
		wantKind(t, err, teaclave.KindPermissionDenied, "stranger reads")

		// The allowlist is matched on the user id everywhere: a role
		// attribute equal to an allowlisted id grants nothing.
		task := &frontendpb.CreateTaskRequest{FunctionId: id, FunctionArguments: `{"arg":"v"}`, Executor: "mesapy",
			InputsOwnership: owners(map[string][]string{"input": {"friend"}}), OutputsOwnership: owners(map[string][]string{"output": {"friend"}})}
		_, err = e.api.CreateTask(stranger, task)
		wantKind(t, err, teaclave.KindPermissionDenied, "create by role attribute")
		_, err = e.api.CreateTask(friend, task)
		wantOK(t, err, "create by allowlisted user id")
		_, err = e.api.CreateTask(e.as("friend", fnOwner), task)
		wantKind(t, err, teaclave.KindPermissionDenied, "a FunctionOwner creates a task")

		// Usage stats: the owner of a private function may read them.
		for what, ctx := range map[string]context.Context{"owner": owner, "friend": friend, "admin": e.admin("root")} {
			_, err := e.api.GetFunctionUsageStats(ctx, &frontendpb.GetFunctionUsageStatsRequest{FunctionId: id})
			wantOK(t, err, what+" reads usage stats")
		}
		_, err = e.api.GetFunctionUsageStats(stranger, &frontendpb.GetFunctionUsageStatsRequest{FunctionId: id})
		wantKind(t, err, teaclave.KindPermissionDenied, "stranger reads usage stats")

		// Malformed and unknown ids.
		_, err = e.api.GetFunction(owner, &frontendpb.GetFunctionRequest{FunctionId: "function-1"})
		wantKind(t, err, teaclave.KindInvalidArgument, "malformed id")
		_, err = e.api.GetFunction(owner, &frontendpb.GetFunctionRequest{FunctionId: strings.Replace(id, "function", "task", 1)})
		wantKind(t, err, teaclave.KindInvalidArgument, "task id as function id")
		_, err = e.api.GetFunction(owner, &frontendpb.GetFunctionRequest{FunctionId: teaclave.NewID(teaclave.PrefixFunction).String()})
		wantKind(t, err, teaclave.KindNotFound, "unknown function")
	})
}

func (e *env) list(ctx context.Context, user string) (registered, allowed []string) {
	e.t.Helper()
	r, err := e.api.ListFunctions(ctx, &frontendpb.ListFunctionsRequest{UserId: user})
	wantOK(e.t, err, "list functions of "+user)
	return r.GetRegisteredFunctions(), r.GetAllowedFunctions()
}

func TestFunctionLifecycle(t *testing.T) {
	forEachWiring(t, func(t *testing.T, w wiring) {
		e := newEnv(t, w, management.Config{})
		e.dir.Add("owner", "a", "b", "c")
		owner := e.as("owner", fnOwner)
		r, err := e.api.RegisterFunction(owner, pythonFunction(false, "a", "b"))
		wantOK(t, err, "register")
		id := r.GetFunctionId()
		if reg, allowed := e.list(owner, "owner"); !slices.Equal(reg, []string{id}) || len(allowed) != 0 {
			t.Fatalf("owner lists %v %v", reg, allowed)
		}
		if reg, allowed := e.list(e.as("a", dataOwner), ""); len(reg) != 0 || !slices.Equal(allowed, []string{id}) {
			t.Fatalf("a lists %v %v", reg, allowed)
		}
		_, err = e.api.ListFunctions(e.as("a", dataOwner), &frontendpb.ListFunctionsRequest{UserId: "owner"})
		wantKind(t, err, teaclave.KindPermissionDenied, "list another user's functions")
		_, allAdmin := e.list(e.admin("root"), "owner")
		if len(allAdmin) != 4 || !slices.Contains(allAdmin, id) || !slices.Contains(allAdmin, mxtest.FixtureFunction1.String()) {
			t.Fatalf("admin's allowed list %v, want every function", allAdmin)
		}

		// A task made now, then an update that changes only the
		// description: the task stays good.
		ctxA := e.as("a", dataOwner)
		mk := func() string {
			c, err := e.api.CreateTask(ctxA, &frontendpb.CreateTaskRequest{FunctionId: id, FunctionArguments: `{"arg":"x"}`, Executor: "mesapy",
				InputsOwnership: owners(map[string][]string{"input": {"a"}}), OutputsOwnership: owners(map[string][]string{"output": {"a"}})})
			wantOK(t, err, "create task")
			_, err = e.api.AssignData(ctxA, &frontendpb.AssignDataRequest{TaskId: c.GetTaskId(),
				Inputs: dm(map[string]string{"input": e.input(ctxA)}), Outputs: dm(map[string]string{"output": e.output(ctxA)})})
			wantOK(t, err, "assign")
			return c.GetTaskId()
		}
		task1 := mk()
		u := updateRequest(id)
		u.Public, u.UserAllowlist = false, []string{"a", "c"}
		_, err = e.api.UpdateFunction(owner, u)
		wantOK(t, err, "update description and allowlist")
		if _, allowed := e.list(e.as("b", dataOwner), "b"); len(allowed) != 0 {
			t.Fatalf("b still lists %v after leaving the allowlist", allowed)
		}
		if _, allowed := e.list(e.as("c", dataOwner), "c"); !slices.Equal(allowed, []string{id}) {
			t.Fatalf("c lists %v after joining the allowlist", allowed)
		}
		_, err = e.api.ApproveTask(ctxA, &frontendpb.ApproveTaskRequest{TaskId: task1})
		wantOK(t, err, "approve after a description change")

		// A change of the payload moves the revision on: the task can no
		// longer be approved or invoked.
		task2 := mk()
		u.Payload = []byte("def entrypoint(argv):\n\treturn 'other code'")
		_, err = e.api.UpdateFunction(owner, u)
		wantOK(t, err, "update payload")
		_, err = e.api.InvokeTask(ctxA, &frontendpb.InvokeTaskRequest{TaskId: task1})
		wantKind(t, err, teaclave.KindFailedPrecondition, "invoke after the payload changed")
		_, err = e.api.ApproveTask(e.as("owner", fnOwner), &frontendpb.ApproveTaskRequest{TaskId: task2})
		wantKind(t, err, teaclave.KindFailedPrecondition, "approve after the payload changed")
		if n := len(e.stagedTasks()); n != 0 {
			t.Fatalf("%d tasks staged", n)
		}
		task3 := mk()
		_, err = e.api.ApproveTask(ctxA, &frontendpb.ApproveTaskRequest{TaskId: task3})
		wantOK(t, err, "a new task approves")

		// Disable: no new task, no invocation, hidden from lists and from
		// non-owners, not updatable; admins may disable too.
		_, err = e.api.DisableFunction(ctxA, &frontendpb.DisableFunctionRequest{FunctionId: id})
		wantKind(t, err, teaclave.KindPermissionDenied, "a non-owner disables")
		_, err = e.api.DisableFunction(owner, &frontendpb.DisableFunctionRequest{FunctionId: id})
		wantOK(t, err, "owner disables")
		_, err = e.api.DisableFunction(owner, &frontendpb.DisableFunctionRequest{FunctionId: id})
		wantOK(t, err, "disable twice")
		_, err = e.api.ApproveTask(e.as("owner", fnOwner), &frontendpb.ApproveTaskRequest{TaskId: task3})
		wantKind(t, err, teaclave.KindFailedPrecondition, "approve on a disabled function")
		_, err = e.api.CreateTask(e.admin("root"), &frontendpb.CreateTaskRequest{FunctionId: id, FunctionArguments: `{"arg":"x"}`, Executor: "mesapy",
			InputsOwnership: owners(map[string][]string{"input": {"a"}}), OutputsOwnership: owners(map[string][]string{"output": {"a"}})})
		wantKind(t, err, teaclave.KindFailedPrecondition, "create on a disabled function")
		_, err = e.api.GetFunction(ctxA, &frontendpb.GetFunctionRequest{FunctionId: id})
		wantKind(t, err, teaclave.KindPermissionDenied, "formerly allowlisted user reads a disabled function")
		_, err = e.api.GetFunction(owner, &frontendpb.GetFunctionRequest{FunctionId: id})
		wantOK(t, err, "owner reads a disabled function")
		_, err = e.api.UpdateFunction(owner, updateRequest(id))
		wantKind(t, err, teaclave.KindFailedPrecondition, "update a disabled function")
		if reg, _ := e.list(owner, "owner"); len(reg) != 0 {
			t.Fatalf("disabled function still listed: %v", reg)
		}
		if _, allowed := e.list(e.as("c", dataOwner), "c"); len(allowed) != 0 {
			t.Fatalf("disabled function still allowed: %v", allowed)
		}
		// A public function disabled is disabled too (Teaclave kept it
		// usable).
		_, err = e.api.DisableFunction(e.admin("root"), &frontendpb.DisableFunctionRequest{FunctionId: mxtest.FixtureFunction2.String()})
		wantOK(t, err, "admin disables a public function")
		_, err = e.api.CreateTask(ctxA, &frontendpb.CreateTaskRequest{FunctionId: mxtest.FixtureFunction2.String(), FunctionArguments: `{"arg1":"x"}`, Executor: "mesapy",
			OutputsOwnership: owners(map[string][]string{"output": {"a"}})})
		wantKind(t, err, teaclave.KindFailedPrecondition, "create on a disabled public function")

		// Delete removes every record of the function.
		r, err = e.api.RegisterFunction(owner, pythonFunction(true, "c"))
		wantOK(t, err, "register")
		before := e.dump()
		_, err = e.api.DeleteFunction(e.as("c", dataOwner), &frontendpb.DeleteFunctionRequest{FunctionId: r.GetFunctionId()})
		wantKind(t, err, teaclave.KindPermissionDenied, "non-owner deletes")
		_, err = e.api.DeleteFunction(owner, &frontendpb.DeleteFunctionRequest{FunctionId: r.GetFunctionId()})
		wantOK(t, err, "owner deletes")
		added, removed, changed := mxtest.Diff(before, e.dump())
		fid := mustID(t, r.GetFunctionId(), teaclave.PrefixFunction)
		want := []string{string(teaclave.FunctionIndexKey(fid)), string(teaclave.UserIndexKey("c", teaclave.IndexAllowed, fid)),
			string(teaclave.UserIndexKey("owner", teaclave.IndexRegistered, fid)), string(teaclave.FunctionKey(fid)),
			string(teaclave.PayloadKey(fid)), string(teaclave.UsageKey(fid))}
		slices.Sort(want)
		if len(added)+len(changed) != 0 || !slices.Equal(removed, want) {
			t.Fatalf("delete: added %v changed %v removed %v, want removed %v", added, changed, removed, want)
		}
		_, err = e.api.GetFunction(owner, &frontendpb.GetFunctionRequest{FunctionId: r.GetFunctionId()})
		wantKind(t, err, teaclave.KindNotFound, "get a deleted function")
	})
}

// TestListFunctionsPages: lists are read in pages, past one Range page.
func TestListFunctionsPages(t *testing.T) {
	e := newEnv(t, inProcess, management.Config{})
	ctx := context.Background()
	var want []string
	for range 2500 {
		id := teaclave.NewID(teaclave.PrefixFunction)
		want = append(want, id.String())
		wantOK(t, e.store.Put(ctx, teaclave.UserIndexKey("many", teaclave.IndexRegistered, id), []byte{}), "seed index")
	}
	slices.Sort(want)
	reg, _ := e.list(e.as("many", fnOwner), "many")
	if !slices.Equal(reg, want) {
		t.Fatalf("listed %d functions, want %d", len(reg), len(want))
	}
}
