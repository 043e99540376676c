//go:build !teaclave_production

package management_test

import (
	"encoding/json"
	"slices"
	"strings"
	"testing"

	"github.com/teaclave-go/teaclave"
	"github.com/teaclave-go/teaclave/management"
	mxtest "github.com/teaclave-go/teaclave/management/xtest"
	"github.com/teaclave-go/teaclave/rpc/pb/frontendpb"
)

func TestCreateTaskValidation(t *testing.T) {
	e := newEnv(t, inProcess, management.Config{})
	e.dir.Add("fo")
	r, err := e.api.RegisterFunction(e.as("fo", fnOwner), &frontendpb.RegisterFunctionRequest{
		Name: "args", ExecutorType: "builtin", Public: true, UsageQuota: -1,
		Arguments: []*frontendpb.FunctionArgument{
			{Key: "arg_usize", DefaultValue: "10"},
			{Key: "free", AllowOverwrite: true, DefaultValue: "ignored"},
		},
		Inputs:  []*frontendpb.FunctionInput{{Name: "in"}, {Name: "opt", Optional: true}},
		Outputs: []*frontendpb.FunctionOutput{{Name: "out"}},
	})
	wantOK(t, err, "register")
	fn := r.GetFunctionId()
	ctx := e.as("mock_user", dataOwner)
	base := func() *frontendpb.CreateTaskRequest {
		return &frontendpb.CreateTaskRequest{FunctionId: fn, FunctionArguments: `{"free": {"nested": [1, 2.5, true]}}`, Executor: "builtin",
			InputsOwnership:  owners(map[string][]string{"in": {"mock_user1"}}),
			OutputsOwnership: owners(map[string][]string{"out": {"mock_user"}})}
	}
	c, err := e.api.CreateTask(ctx, base())
	wantOK(t, err, "valid")
	got := e.task(ctx, c.GetTaskId())
	// Defaults become JSON strings; given values keep their type; keys
	// sorted; compact (protocol §4.6).
	if want := `{"arg_usize":"10","free":{"nested":[1,2.5,true]}}`; got.GetFunctionArguments() != want {
		t.Errorf("arguments %s, want %s", got.GetFunctionArguments(), want)
	}
	if !slices.Equal(got.GetParticipants(), []string{"mock_user", "mock_user1"}) || got.GetCreator() != "mock_user" || got.GetFunctionOwner() != "fo" {
		t.Errorf("task %v", got)
	}
	withSaveLog := base()
	withSaveLog.FunctionArguments = `{"free":1,"save_log":"true"}`
	_, err = e.api.CreateTask(ctx, withSaveLog)
	wantOK(t, err, "undeclared save_log")
	withOpt := base()
	withOpt.InputsOwnership = append(withOpt.InputsOwnership, &frontendpb.OwnerList{DataName: "opt", Uids: []string{"mock_user2", "mock_user2"}})
	_, err = e.api.CreateTask(ctx, withOpt)
	wantOK(t, err, "optional input with owners")

	mod := func(f func(*frontendpb.CreateTaskRequest)) *frontendpb.CreateTaskRequest {
		r := base()
		f(r)
		return r
	}
	cases := []struct {
		what string
		req  *frontendpb.CreateTaskRequest
		kind teaclave.Kind
	}{
		{"empty arguments text", mod(func(r *frontendpb.CreateTaskRequest) { r.FunctionArguments = "" }), teaclave.KindInvalidArgument},
		{"arguments not an object", mod(func(r *frontendpb.CreateTaskRequest) { r.FunctionArguments = `["free"]` }), teaclave.KindInvalidArgument},
		{"trailing data", mod(func(r *frontendpb.CreateTaskRequest) { r.FunctionArguments = `{"free":1} {}` }), teaclave.KindInvalidArgument},
		{"duplicate key", mod(func(r *frontendpb.CreateTaskRequest) { r.FunctionArguments = `{"free":1,"free":2}` }), teaclave.KindInvalidArgument},
		{"missing overwritable", mod(func(r *frontendpb.CreateTaskRequest) { r.FunctionArguments = `{}` }), teaclave.KindInvalidArgument},
		{"overwrite a fixed argument", mod(func(r *frontendpb.CreateTaskRequest) { r.FunctionArguments = `{"free":1,"arg_usize":"5"}` }), teaclave.KindInvalidArgument},
		{"unknown argument", mod(func(r *frontendpb.CreateTaskRequest) { r.FunctionArguments = `{"free":1,"x":1}` }), teaclave.KindInvalidArgument},
		{"bad save_log", mod(func(r *frontendpb.CreateTaskRequest) { r.FunctionArguments = `{"free":1,"save_log":"yes"}` }), teaclave.KindInvalidArgument},
		{"empty executor", mod(func(r *frontendpb.CreateTaskRequest) { r.Executor = "" }), teaclave.KindInvalidArgument},
		{"executor cannot run the function", mod(func(r *frontendpb.CreateTaskRequest) { r.Executor = "mesapy" }), teaclave.KindInvalidArgument},
		{"unknown input slot", mod(func(r *frontendpb.CreateTaskRequest) {
			r.InputsOwnership = append(r.InputsOwnership, &frontendpb.OwnerList{DataName: "nope", Uids: []string{"mock_user"}})
		}), teaclave.KindInvalidArgument},
		{"duplicate slot entries", mod(func(r *frontendpb.CreateTaskRequest) {
			r.InputsOwnership = append(r.InputsOwnership, r.InputsOwnership[0])
		}), teaclave.KindInvalidArgument},
		{"slot without owners", mod(func(r *frontendpb.CreateTaskRequest) { r.OutputsOwnership[0].Uids = nil }), teaclave.KindInvalidArgument},
		{"unknown owner", mod(func(r *frontendpb.CreateTaskRequest) { r.OutputsOwnership[0].Uids = []string{"ghost"} }), teaclave.KindInvalidArgument},
		{"malformed owner", mod(func(r *frontendpb.CreateTaskRequest) { r.OutputsOwnership[0].Uids = []string{"tab\there"} }), teaclave.KindInvalidArgument},
		{"too many owners", mod(func(r *frontendpb.CreateTaskRequest) {
			for i := range management.MaxOwners + 1 {
				r.OutputsOwnership[0].Uids = append(r.OutputsOwnership[0].Uids, strings.Repeat("u", i+1))
			}
		}), teaclave.KindInvalidArgument},
		{"missing required output", mod(func(r *frontendpb.CreateTaskRequest) { r.OutputsOwnership = nil }), teaclave.KindInvalidArgument},
		{"malformed function id", mod(func(r *frontendpb.CreateTaskRequest) { r.FunctionId = "function-" + strings.ToUpper(fn[9:]) }), teaclave.KindInvalidArgument},
		{"unknown function", mod(func(r *frontendpb.CreateTaskRequest) { r.FunctionId = teaclave.NewID(teaclave.PrefixFunction).String() }), teaclave.KindNotFound},
		{"arguments over the limit", mod(func(r *frontendpb.CreateTaskRequest) {
			r.FunctionArguments = `{"free":"` + strings.Repeat("x", management.MaxFunctionArgumentsSize) + `"}`
		}), teaclave.KindResourceExhausted},
	}
	before := e.dump()
	for _, c := range cases {
		_, err := e.api.CreateTask(ctx, c.req)
		wantKind(t, err, c.kind, c.what)
	}
	_, err = e.api.CreateTask(e.as("mock_user", fnOwner), base())
	wantKind(t, err, teaclave.KindPermissionDenied, "a FunctionOwner creates")
	_, err = e.api.CreateTask(e.as("mock_user", teaclave.Role{}), base())
	wantKind(t, err, teaclave.KindUnauthenticated, "an invalid role")
	_, err = e.api.CreateTask(ctxFor(t), base())
	wantKind(t, err, teaclave.KindUnauthenticated, "no caller")
	e.dir.Fail(true)
	_, err = e.api.CreateTask(ctx, base())
	wantKind(t, err, teaclave.KindUnavailable, "directory down")
	e.dir.Fail(false)
	if a, r, ch := mxtest.Diff(before, e.dump()); len(a)+len(r)+len(ch) != 0 {
		t.Fatalf("refused requests wrote %v %v %v", a, r, ch)
	}
}

// TestLargeArguments: function_arguments may take nearly the whole 4 MiB
// message (face detection passes a JPEG in them), through creation,
// GetTask and staging, in process and over gRPC.
func TestLargeArguments(t *testing.T) {
	forEachWiring(t, func(t *testing.T, w wiring) {
		e := newEnv(t, w, management.Config{})
		e.dir.Add("fo", "alice")
		r, err := e.api.RegisterFunction(e.as("fo", fnOwner), &frontendpb.RegisterFunctionRequest{
			Name: "builtin-face-detection", ExecutorType: "builtin", Public: true, UsageQuota: -1,
			Arguments: []*frontendpb.FunctionArgument{{Key: "image", AllowOverwrite: true}},
			Outputs:   []*frontendpb.FunctionOutput{{Name: "out"}},
		})
		wantOK(t, err, "register")
		alice := e.as("alice", dataOwner)
		// Leave room for the rest of the message and the JSON quoting.
		image := strings.Repeat("7", management.MaxFunctionArgumentsSize-64)
		args := `{"image":"` + image + `"}`
		c, err := e.api.CreateTask(alice, &frontendpb.CreateTaskRequest{FunctionId: r.GetFunctionId(), FunctionArguments: args, Executor: "builtin",
			OutputsOwnership: owners(map[string][]string{"out": {"alice"}})})
		wantOK(t, err, "create with large arguments")
		if got := e.task(alice, c.GetTaskId()).GetFunctionArguments(); got != args {
			t.Fatalf("arguments came back with %d bytes, want %d", len(got), len(args))
		}
		_, err = e.api.AssignData(alice, &frontendpb.AssignDataRequest{TaskId: c.GetTaskId(), Outputs: dm(map[string]string{"out": e.output(alice)})})
		wantOK(t, err, "assign")
		_, err = e.api.InvokeTask(alice, &frontendpb.InvokeTaskRequest{TaskId: c.GetTaskId()})
		wantOK(t, err, "invoke")
		st := e.stagedTasks()
		if len(st) != 1 {
			t.Fatalf("%d staged", len(st))
		}
		var got map[string]string
		wantOK(t, json.Unmarshal(st[0].FunctionArguments, &got), "decode staged arguments")
		if got["image"] != image {
			t.Fatal("staged arguments differ")
		}
	})
}
