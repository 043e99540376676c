package management

import (
	"context"
	"encoding/json"
	"math"
	"slices"

	"google.golang.org/protobuf/types/known/emptypb"

	"github.com/teaclave-go/teaclave"
	"github.com/teaclave-go/teaclave/rpc/pb/frontendpb"
)

// functionDef is a validated function definition from a Register or
// Update request.
type functionDef struct {
	name, description string
	public            bool
	executorType      teaclave.ExecutorType
	payload           []byte
	arguments         []teaclave.FunctionArgument
	inputs, outputs   []teaclave.FunctionSlot
	allowlist         []string
	quota             *int32
}

// functionRequest is what RegisterFunctionRequest and UpdateFunctionRequest
// have in common.
type functionRequest interface {
	GetName() string
	GetDescription() string
	GetExecutorType() string
	GetPublic() bool
	GetPayload() []byte
	GetArguments() []*frontendpb.FunctionArgument
	GetInputs() []*frontendpb.FunctionInput
	GetOutputs() []*frontendpb.FunctionOutput
	GetUserAllowlist() []string
	GetUsageQuota() int32
}

type slotMessage interface {
	GetName() string
	GetDescription() string
	GetOptional() bool
}

func checkSlots[T slotMessage](what string, in []T) ([]teaclave.FunctionSlot, error) {
	if len(in) > MaxSlots {
		return nil, invalid("invalid function %ss: more than %d", what, MaxSlots)
	}
	out := make([]teaclave.FunctionSlot, 0, len(in))
	seen := map[string]bool{}
	for _, s := range in {
		if err := checkName("function "+what+" name", s.GetName()); err != nil {
			return nil, err
		}
		if seen[s.GetName()] {
			return nil, invalid("invalid function %ss: %q declared twice", what, s.GetName())
		}
		seen[s.GetName()] = true
		if err := checkText("function "+what+" description", s.GetDescription(), MaxDescriptionLen); err != nil {
			return nil, err
		}
		out = append(out, teaclave.FunctionSlot{Name: s.GetName(), Description: s.GetDescription(), Optional: s.GetOptional()})
	}
	return out, nil
}

// checkFunction validates a function definition, the existence of its
// allowlisted users included.
func (s *Service) checkFunction(ctx context.Context, req functionRequest) (*functionDef, error) {
	d := &functionDef{name: req.GetName(), description: req.GetDescription(), public: req.GetPublic(), payload: req.GetPayload()}
	if err := checkName("function name", d.name); err != nil {
		return nil, err
	}
	if err := checkText("function description", d.description, MaxDescriptionLen); err != nil {
		return nil, err
	}
	t, err := teaclave.ParseExecutorType(req.GetExecutorType())
	if err != nil {
		return nil, err
	}
	d.executorType = t
	if len(d.payload) > MaxPayloadSize {
		return nil, tooLarge("function payload too large: %d bytes, at most %d", len(d.payload), MaxPayloadSize)
	}
	if t != teaclave.ExecutorTypeBuiltin && len(d.payload) == 0 {
		return nil, invalid("invalid function payload: a %s function needs a payload", t)
	}
	if len(req.GetArguments()) > MaxDeclaredArguments {
		return nil, invalid("invalid function arguments: more than %d", MaxDeclaredArguments)
	}
	seen := map[string]bool{}
	for _, a := range req.GetArguments() {
		if err := checkName("function argument key", a.GetKey()); err != nil {
			return nil, err
		}
		if seen[a.GetKey()] {
			return nil, invalid("invalid function arguments: %q declared twice", a.GetKey())
		}
		seen[a.GetKey()] = true
		if err := checkText("default value of argument "+a.GetKey(), a.GetDefaultValue(), MaxDefaultValueLen); err != nil {
			return nil, err
		}
		d.arguments = append(d.arguments, teaclave.FunctionArgument{Key: a.GetKey(), DefaultValue: a.GetDefaultValue(), AllowOverwrite: a.GetAllowOverwrite()})
	}
	if d.inputs, err = checkSlots("input", req.GetInputs()); err != nil {
		return nil, err
	}
	if d.outputs, err = checkSlots("output", req.GetOutputs()); err != nil {
		return nil, err
	}
	if d.allowlist, err = checkUsers("user allowlist", req.GetUserAllowlist(), MaxAllowlist); err != nil {
		return nil, err
	}
	if err := s.checkUsersExist(ctx, "user allowlist", d.allowlist); err != nil {
		return nil, err
	}
	if q := req.GetUsageQuota(); q >= 0 {
		d.quota = &q
	}
	return d, nil
}

// apply writes d into f, bumping the revision if what the function runs
// changed.
func (d *functionDef) apply(f *teaclave.Function) {
	digest := teaclave.DigestOf(d.payload)
	material := f.Revision == 0 || f.Name != d.name || f.ExecutorType != d.executorType || f.PayloadSHA256 != digest ||
		!slices.Equal(f.Arguments, d.arguments) || !slices.Equal(f.Inputs, d.inputs) || !slices.Equal(f.Outputs, d.outputs)
	f.Name, f.Description, f.Public, f.ExecutorType = d.name, d.description, d.public, d.executorType
	f.PayloadSHA256, f.PayloadSize = digest, len(d.payload)
	f.Arguments, f.Inputs, f.Outputs = d.arguments, d.inputs, d.outputs
	f.UserAllowlist, f.UsageQuota = d.allowlist, d.quota
	if material {
		f.Revision++
	}
}

// RegisterFunction registers a function owned by the caller. The function,
// its payload, its usage counter (0) and its entries in the owner's and
// the allowlisted users' indexes are written in one Commit.
func (s *Service) RegisterFunction(ctx context.Context, req *frontendpb.RegisterFunctionRequest) (*frontendpb.RegisterFunctionResponse, error) {
	caller, err := callerOf(ctx)
	if err != nil {
		return nil, err
	}
	d, err := s.checkFunction(ctx, req)
	if err != nil {
		return nil, err
	}
	f := teaclave.Function{ID: teaclave.NewID(teaclave.PrefixFunction), Owner: caller.ID}
	d.apply(&f)
	rec, err := encode(&f, MaxFunctionRecordSize, "function record")
	if err != nil {
		return nil, err
	}
	usage, _ := json.Marshal(teaclave.FunctionUsage{FunctionID: f.ID})
	conds := []teaclave.Condition{teaclave.Absent(teaclave.FunctionKey(f.ID)), teaclave.Absent(teaclave.UsageKey(f.ID))}
	ops := []teaclave.Op{
		teaclave.PutOp(teaclave.FunctionKey(f.ID), rec),
		teaclave.PutOp(teaclave.PayloadKey(f.ID), nonNil(d.payload)),
		teaclave.PutOp(teaclave.UsageKey(f.ID), usage),
		teaclave.PutOp(teaclave.FunctionIndexKey(f.ID), []byte{}),
		teaclave.PutOp(teaclave.UserIndexKey(f.Owner, teaclave.IndexRegistered, f.ID), []byte{}),
	}
	for _, u := range f.UserAllowlist {
		ops = append(ops, teaclave.PutOp(teaclave.UserIndexKey(u, teaclave.IndexAllowed, f.ID), []byte{}))
	}
	if err := s.commit(ctx, conds, ops); err != nil {
		if err == errConflict {
			return nil, teaclave.Errorf(teaclave.KindInternal, "service internal error")
		}
		return nil, err
	}
	return &frontendpb.RegisterFunctionResponse{FunctionId: f.ID.String()}, nil
}

func nonNil(b []byte) []byte {
	if b == nil {
		return []byte{}
	}
	return b
}

// allowlistOps returns the index changes that move f's allowlist from old
// to new.
func allowlistOps(fn teaclave.ID, old, new []string) []teaclave.Op {
	var ops []teaclave.Op
	for _, u := range old {
		if !slices.Contains(new, u) {
			ops = append(ops, teaclave.DeleteOp(teaclave.UserIndexKey(u, teaclave.IndexAllowed, fn)))
		}
	}
	for _, u := range new {
		if !slices.Contains(old, u) {
			ops = append(ops, teaclave.PutOp(teaclave.UserIndexKey(u, teaclave.IndexAllowed, fn), []byte{}))
		}
	}
	return ops
}

// UpdateFunction replaces the definition of one of the caller's functions,
// keeping its id, owner and usage count, and updates the allowlist index.
// If what the function runs changes, its revision moves on and tasks made
// against the old revision can no longer be approved or invoked: nobody's
// approval ever covers code they did not approve.
func (s *Service) UpdateFunction(ctx context.Context, req *frontendpb.UpdateFunctionRequest) (*frontendpb.UpdateFunctionResponse, error) {
	caller, err := callerOf(ctx)
	if err != nil {
		return nil, err
	}
	id, err := parseID(req.GetFunctionId(), teaclave.PrefixFunction, "function id")
	if err != nil {
		return nil, err
	}
	d, err := s.checkFunction(ctx, req)
	if err != nil {
		return nil, err
	}
	err = s.retry(ctx, "update function", func() error {
		f, ver, err := s.readFunction(ctx, id)
		if err != nil {
			return err
		}
		if f.Owner != caller.ID {
			return denied("only the owner may update a function")
		}
		if f.Disabled {
			return precondition("function is disabled")
		}
		oldAllow, oldDigest := f.UserAllowlist, f.PayloadSHA256
		d.apply(f)
		rec, err := encode(f, MaxFunctionRecordSize, "function record")
		if err != nil {
			return err
		}
		ops := []teaclave.Op{teaclave.PutOp(teaclave.FunctionKey(id), rec)}
		if f.PayloadSHA256 != oldDigest {
			ops = append(ops, teaclave.PutOp(teaclave.PayloadKey(id), nonNil(d.payload)))
		}
		ops = append(ops, allowlistOps(id, oldAllow, f.UserAllowlist)...)
		return s.commit(ctx, []teaclave.Condition{teaclave.AtVersion(teaclave.FunctionKey(id), ver)}, ops)
	})
	if err != nil {
		return nil, err
	}
	return &frontendpb.UpdateFunctionResponse{FunctionId: id.String()}, nil
}

// GetFunction returns a function: in full to its owner, to admins and, if
// public and enabled, to anyone; without payload and allowlist to an
// allowlisted user (by user id).
func (s *Service) GetFunction(ctx context.Context, req *frontendpb.GetFunctionRequest) (*frontendpb.GetFunctionResponse, error) {
	caller, err := callerOf(ctx)
	if err != nil {
		return nil, err
	}
	id, err := parseID(req.GetFunctionId(), teaclave.PrefixFunction, "function id")
	if err != nil {
		return nil, err
	}
	f, _, err := s.readFunction(ctx, id)
	if err != nil {
		return nil, err
	}
	privileged := caller.Role.Kind == teaclave.RolePlatformAdmin || f.Owner == caller.ID
	full := privileged || (f.Public && !f.Disabled)
	if !full && (f.Disabled || !f.Allowlisted(caller.ID)) {
		return nil, denied("")
	}
	resp := &frontendpb.GetFunctionResponse{
		Name: f.Name, Description: f.Description, ExecutorType: string(f.ExecutorType), Owner: f.Owner, Public: f.Public,
		Arguments: make([]*frontendpb.FunctionArgument, len(f.Arguments)),
		Inputs:    make([]*frontendpb.FunctionInput, len(f.Inputs)),
		Outputs:   make([]*frontendpb.FunctionOutput, len(f.Outputs)),
	}
	for i, a := range f.Arguments {
		resp.Arguments[i] = &frontendpb.FunctionArgument{Key: a.Key, DefaultValue: a.DefaultValue, AllowOverwrite: a.AllowOverwrite}
	}
	for i, in := range f.Inputs {
		resp.Inputs[i] = &frontendpb.FunctionInput{Name: in.Name, Description: in.Description, Optional: in.Optional}
	}
	for i, out := range f.Outputs {
		resp.Outputs[i] = &frontendpb.FunctionOutput{Name: out.Name, Description: out.Description, Optional: out.Optional}
	}
	if full {
		payload, _, err := s.readRaw(ctx, teaclave.PayloadKey(id))
		if err != nil {
			return nil, err
		}
		if teaclave.DigestOf(payload) != f.PayloadSHA256 {
			s.logger.ErrorContext(ctx, "function payload does not match its digest", "function", id.String())
			return nil, teaclave.Errorf(teaclave.KindInternal, "service internal error")
		}
		resp.Payload, resp.UserAllowlist = payload, f.UserAllowlist
	}
	return resp, nil
}

// GetFunctionUsageStats returns a function's quota (-1 for unlimited) and
// its use count to its owner, admins, allowlisted users and, for a public
// function, anyone.
func (s *Service) GetFunctionUsageStats(ctx context.Context, req *frontendpb.GetFunctionUsageStatsRequest) (*frontendpb.GetFunctionUsageStatsResponse, error) {
	caller, err := callerOf(ctx)
	if err != nil {
		return nil, err
	}
	id, err := parseID(req.GetFunctionId(), teaclave.PrefixFunction, "function id")
	if err != nil {
		return nil, err
	}
	f, _, err := s.readFunction(ctx, id)
	if err != nil {
		return nil, err
	}
	if !(f.Public || caller.Role.Kind == teaclave.RolePlatformAdmin || f.Owner == caller.ID || f.Allowlisted(caller.ID)) {
		return nil, denied("")
	}
	var u teaclave.FunctionUsage
	if _, err := s.getOr(ctx, teaclave.UsageKey(id), &u, teaclave.Errorf(teaclave.KindInternal, "service internal error")); err != nil {
		return nil, err
	}
	resp := &frontendpb.GetFunctionUsageStatsResponse{FunctionQuota: -1, CurrentUsage: int32(min(u.UseNumbers, math.MaxInt32))}
	if f.UsageQuota != nil {
		resp.FunctionQuota = *f.UsageQuota
	}
	return resp, nil
}

// DeleteFunction deletes one of the caller's functions with its payload,
// usage counter and index entries, in one Commit. Tasks made against it
// can no longer be approved or invoked.
func (s *Service) DeleteFunction(ctx context.Context, req *frontendpb.DeleteFunctionRequest) (*emptypb.Empty, error) {
	caller, err := callerOf(ctx)
	if err != nil {
		return nil, err
	}
	id, err := parseID(req.GetFunctionId(), teaclave.PrefixFunction, "function id")
	if err != nil {
		return nil, err
	}
	err = s.retry(ctx, "delete function", func() error {
		f, ver, err := s.readFunction(ctx, id)
		if err != nil {
			return err
		}
		if f.Owner != caller.ID {
			return denied("only the owner may delete a function")
		}
		ops := []teaclave.Op{
			teaclave.DeleteOp(teaclave.FunctionKey(id)),
			teaclave.DeleteOp(teaclave.PayloadKey(id)),
			teaclave.DeleteOp(teaclave.UsageKey(id)),
			teaclave.DeleteOp(teaclave.FunctionIndexKey(id)),
			teaclave.DeleteOp(teaclave.UserIndexKey(f.Owner, teaclave.IndexRegistered, id)),
		}
		ops = append(ops, allowlistOps(id, f.UserAllowlist, nil)...)
		return s.commit(ctx, []teaclave.Condition{teaclave.AtVersion(teaclave.FunctionKey(id), ver)}, ops)
	})
	if err != nil {
		return nil, err
	}
	return &emptypb.Empty{}, nil
}

// DisableFunction disables a function for good (owner or admin): no new
// task, approval or invocation uses it, it leaves every user's lists, its
// allowlist is cleared, and only its owner and admins can still read it.
// Unlike Teaclave, a disabled public function is disabled too.
func (s *Service) DisableFunction(ctx context.Context, req *frontendpb.DisableFunctionRequest) (*emptypb.Empty, error) {
	caller, err := callerOf(ctx)
	if err != nil {
		return nil, err
	}
	id, err := parseID(req.GetFunctionId(), teaclave.PrefixFunction, "function id")
	if err != nil {
		return nil, err
	}
	err = s.retry(ctx, "disable function", func() error {
		f, ver, err := s.readFunction(ctx, id)
		if err != nil {
			return err
		}
		if f.Owner != caller.ID && caller.Role.Kind != teaclave.RolePlatformAdmin {
			return denied("only the owner or an admin may disable a function")
		}
		if f.Disabled {
			return nil
		}
		ops := allowlistOps(id, f.UserAllowlist, nil)
		f.Disabled, f.UserAllowlist = true, []string{}
		rec, err := encode(f, MaxFunctionRecordSize, "function record")
		if err != nil {
			return err
		}
		ops = append(ops,
			teaclave.PutOp(teaclave.FunctionKey(id), rec),
			teaclave.DeleteOp(teaclave.UserIndexKey(f.Owner, teaclave.IndexRegistered, id)),
			teaclave.DeleteOp(teaclave.UserIndexKey(f.Owner, teaclave.IndexAllowed, id)),
		)
		return s.commit(ctx, []teaclave.Condition{teaclave.AtVersion(teaclave.FunctionKey(id), ver)}, ops)
	})
	if err != nil {
		return nil, err
	}
	return &emptypb.Empty{}, nil
}

// ListFunctions returns a user's registered functions and the private
// functions allowlisting them, to that user or an admin (an empty user_id
// means the caller). For an admin the allowed list is every function, as
// in Teaclave. Lists are in id order, cut at MaxListedFunctions.
func (s *Service) ListFunctions(ctx context.Context, req *frontendpb.ListFunctionsRequest) (*frontendpb.ListFunctionsResponse, error) {
	caller, err := callerOf(ctx)
	if err != nil {
		return nil, err
	}
	user := req.GetUserId()
	if user == "" {
		user = caller.ID
	}
	if err := checkUserID("user id", user); err != nil {
		return nil, err
	}
	admin := caller.Role.Kind == teaclave.RolePlatformAdmin
	if user != caller.ID && !admin {
		return nil, denied("")
	}
	registered, err := s.listIndex(ctx, teaclave.UserIndexPrefix(user, teaclave.IndexRegistered))
	if err != nil {
		return nil, err
	}
	allowedPrefix := teaclave.UserIndexPrefix(user, teaclave.IndexAllowed)
	if admin {
		allowedPrefix = teaclave.FunctionIndexPrefix()
	}
	allowed, err := s.listIndex(ctx, allowedPrefix)
	if err != nil {
		return nil, err
	}
	return &frontendpb.ListFunctionsResponse{RegisteredFunctions: registered, AllowedFunctions: allowed}, nil
}

func (s *Service) listIndex(ctx context.Context, prefix []byte) ([]string, error) {
	keys, truncated, err := s.scanKeys(ctx, prefix, MaxListedFunctions)
	if err != nil {
		return nil, err
	}
	if truncated {
		s.logger.WarnContext(ctx, "function list cut", "limit", MaxListedFunctions)
	}
	out := make([]string, 0, len(keys))
	for _, k := range keys {
		id, err := teaclave.FunctionFromIndexKey(k)
		if err != nil {
			s.logger.ErrorContext(ctx, "malformed index key", "key", string(k))
			continue
		}
		out = append(out, id.String())
	}
	return out, nil
}
