package management

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"maps"
	"slices"

	"google.golang.org/protobuf/types/known/emptypb"

	"github.com/teaclave-go/teaclave"
	"github.com/teaclave-go/teaclave/rpc/pb/commonpb"
	"github.com/teaclave-go/teaclave/rpc/pb/frontendpb"
)

// saveLogArgument is the argument that asks for the task's log in its
// result. Tasks may pass it without the function declaring it (Teaclave
// required a declaration, protocol §20 item 24).
const saveLogArgument = "save_log"

// parseArguments parses a JSON object whose keys are unique, keeping each
// value's JSON text.
func parseArguments(text string) (map[string]json.RawMessage, error) {
	if len(text) > MaxFunctionArgumentsSize {
		return nil, tooLarge("function arguments too large: %d bytes, at most %d", len(text), MaxFunctionArgumentsSize)
	}
	dec := json.NewDecoder(bytes.NewReader([]byte(text)))
	dec.UseNumber()
	bad := invalid("invalid task: function_arguments must be a JSON object (send {} for none)")
	tok, err := dec.Token()
	if err != nil || tok != json.Delim('{') {
		return nil, bad
	}
	args := map[string]json.RawMessage{}
	for dec.More() {
		tok, err := dec.Token()
		if err != nil {
			return nil, bad
		}
		key, ok := tok.(string)
		if !ok {
			return nil, bad
		}
		var v json.RawMessage
		if err := dec.Decode(&v); err != nil {
			return nil, bad
		}
		if _, dup := args[key]; dup {
			return nil, invalid("invalid task: argument %q given twice", key)
		}
		args[key] = v
	}
	if tok, err := dec.Token(); err != nil || tok != json.Delim('}') {
		return nil, bad
	}
	if _, err := dec.Token(); err != io.EOF {
		return nil, bad
	}
	return args, nil
}

// mergeArguments applies Teaclave's argument rule (protocol §8.4): the
// request must give exactly the overwritable arguments; every other
// declared argument takes its default, as a JSON string. The result is the
// compact JSON object with sorted keys.
func mergeArguments(f *teaclave.Function, text string) ([]byte, error) {
	given, err := parseArguments(text)
	if err != nil {
		return nil, err
	}
	merged := make(map[string]json.RawMessage, len(f.Arguments)+1)
	declared := map[string]bool{}
	for _, a := range f.Arguments {
		declared[a.Key] = true
		v, ok := given[a.Key]
		switch {
		case a.AllowOverwrite && !ok:
			return nil, invalid("invalid task: missing argument %q", a.Key)
		case !a.AllowOverwrite && ok:
			return nil, invalid("invalid task: argument %q cannot be overwritten", a.Key)
		case ok:
			merged[a.Key] = v
		default:
			def, _ := json.Marshal(a.DefaultValue)
			merged[a.Key] = def
		}
	}
	for k, v := range given {
		if declared[k] {
			continue
		}
		if k != saveLogArgument {
			return nil, invalid("invalid task: unknown argument %q", k)
		}
		var b bool
		var s string
		if json.Unmarshal(v, &b) != nil && (json.Unmarshal(v, &s) != nil || (s != "true" && s != "false")) {
			return nil, invalid("invalid task: save_log must be true or false")
		}
		merged[k] = v
	}
	out, err := json.Marshal(merged)
	if err != nil {
		return nil, teaclave.Wrap(teaclave.KindInternal, "service internal error", err)
	}
	if len(out) > MaxFunctionArgumentsSize {
		return nil, tooLarge("function arguments too large with defaults: %d bytes, at most %d", len(out), MaxFunctionArgumentsSize)
	}
	return out, nil
}

// checkOwnership validates an ownership list against a function's slots:
// every required slot has owners, every named slot exists, names are
// unique, owner lists are non-empty sets of well-formed ids.
func checkOwnership(what string, lists []*frontendpb.OwnerList, slots []teaclave.FunctionSlot) (map[string][]string, error) {
	if len(lists) > MaxSlots {
		return nil, invalid("invalid task: more than %d %s ownership entries", MaxSlots, what)
	}
	out := make(map[string][]string, len(lists))
	for _, l := range lists {
		name := l.GetDataName()
		if err := checkName(what+" name", name); err != nil {
			return nil, err
		}
		if _, dup := out[name]; dup {
			return nil, invalid("invalid task: %s %q has two ownership entries", what, name)
		}
		if !slices.ContainsFunc(slots, func(s teaclave.FunctionSlot) bool { return s.Name == name }) {
			return nil, invalid("invalid task: the function has no %s %q", what, name)
		}
		owners, err := checkUsers(what+" owners", l.GetUids(), MaxOwners)
		if err != nil {
			return nil, err
		}
		if len(owners) == 0 {
			return nil, invalid("invalid task: %s %q has no owners", what, name)
		}
		out[name] = owners
	}
	for _, s := range slots {
		if _, ok := out[s.Name]; !ok && !s.Optional {
			return nil, invalid("invalid task: %s %q needs owners", what, s.Name)
		}
	}
	return out, nil
}

// mayUseFunction reports whether caller may create a task on f: an admin
// always; a data owner (or manager) if f is public, or allowlists the
// caller's user id, or is the caller's own. Teaclave matched the allowlist
// against the role attribute here and against the user id everywhere else
// (protocol §20 item 11); the user id is used everywhere.
func mayUseFunction(caller teaclave.Caller, f *teaclave.Function) bool {
	switch caller.Role.Kind {
	case teaclave.RolePlatformAdmin:
		return true
	case teaclave.RoleDataOwner, teaclave.RoleDataOwnerManager:
		return f.Public || f.Owner == caller.ID || f.Allowlisted(caller.ID)
	}
	return false
}

// CreateTask creates a task on a function: the caller's arguments are
// checked and merged with the defaults, the ownership lists checked
// against the function's slots and the directory, and the participants
// are every owner, the creator and, for a private function, its owner. The
// task starts Created, bound to the function's current revision.
func (s *Service) CreateTask(ctx context.Context, req *frontendpb.CreateTaskRequest) (*frontendpb.CreateTaskResponse, error) {
	caller, err := callerOf(ctx)
	if err != nil {
		return nil, err
	}
	fid, err := parseID(req.GetFunctionId(), teaclave.PrefixFunction, "function id")
	if err != nil {
		return nil, err
	}
	f, _, err := s.readFunction(ctx, fid)
	if err != nil {
		return nil, err
	}
	if !mayUseFunction(caller, f) {
		return nil, denied("")
	}
	if f.Disabled {
		return nil, precondition("function is disabled")
	}
	executor, err := teaclave.ParseExecutor(req.GetExecutor())
	if err != nil {
		return nil, err
	}
	if !executor.Runs(f.ExecutorType) {
		return nil, invalid("invalid task: executor %s cannot run a %s function", executor, f.ExecutorType)
	}
	args, err := mergeArguments(f, req.GetFunctionArguments())
	if err != nil {
		return nil, err
	}
	inputs, err := checkOwnership("input", req.GetInputsOwnership(), f.Inputs)
	if err != nil {
		return nil, err
	}
	outputs, err := checkOwnership("output", req.GetOutputsOwnership(), f.Outputs)
	if err != nil {
		return nil, err
	}
	participants := []string{caller.ID}
	for _, owners := range inputs {
		participants = append(participants, owners...)
	}
	for _, owners := range outputs {
		participants = append(participants, owners...)
	}
	participants = teaclave.UserSet(participants)
	if err := s.checkUsersExist(ctx, "owner", participants); err != nil {
		return nil, err
	}
	if !f.Public {
		participants = teaclave.UserSet(append(participants, f.Owner))
	}
	t := teaclave.Task{
		ID: teaclave.NewID(teaclave.PrefixTask), Creator: caller.ID,
		FunctionID: fid, FunctionOwner: f.Owner, FunctionRevision: f.Revision, Executor: executor,
		InputsOwnership: inputs, OutputsOwnership: outputs,
		Participants: participants, ApprovedUsers: []string{},
		AssignedInputs: map[string]teaclave.InputFile{}, AssignedOutputs: map[string]teaclave.OutputFile{},
		Status: teaclave.TaskCreated,
	}
	rec, err := encode(&t, MaxTaskRecordSize, "task record")
	if err != nil {
		return nil, err
	}
	tk, ak := teaclave.TaskKey(t.ID), teaclave.TaskArgumentsKey(t.ID)
	err = s.commit(ctx, []teaclave.Condition{teaclave.Absent(tk), teaclave.Absent(ak)},
		[]teaclave.Op{teaclave.PutOp(tk, rec), teaclave.PutOp(ak, args)})
	if err == errConflict {
		return nil, teaclave.Errorf(teaclave.KindInternal, "service internal error")
	}
	if err != nil {
		return nil, err
	}
	return &frontendpb.CreateTaskResponse{TaskId: t.ID.String()}, nil
}

func ownerLists(m map[string][]string) []*frontendpb.OwnerList {
	out := make([]*frontendpb.OwnerList, 0, len(m))
	for _, name := range slices.Sorted(maps.Keys(m)) {
		out = append(out, &frontendpb.OwnerList{DataName: name, Uids: m[name]})
	}
	return out
}

func dataMaps[F any](m map[string]F, id func(F) teaclave.ID) []*frontendpb.DataMap {
	out := make([]*frontendpb.DataMap, 0, len(m))
	for _, name := range slices.Sorted(maps.Keys(m)) {
		out = append(out, &frontendpb.DataMap{DataName: name, DataId: id(m[name]).String()})
	}
	return out
}

func resultProto(r teaclave.TaskResult) *commonpb.TaskResult {
	switch {
	case r.Ok != nil:
		tags := make(map[string][]byte, len(r.Ok.TagsMap))
		for k, v := range r.Ok.TagsMap {
			tags[k] = bytes.Clone(v[:])
		}
		return &commonpb.TaskResult{Result: &commonpb.TaskResult_Ok{Ok: &commonpb.TaskOutputs{ReturnValue: r.Ok.ReturnValue, TagsMap: tags, Log: r.Ok.Log}}}
	case r.Err != nil:
		return &commonpb.TaskResult{Result: &commonpb.TaskResult_Err{Err: &commonpb.TaskFailure{Reason: r.Err.Reason}}}
	}
	return &commonpb.TaskResult{}
}

// GetTask returns a task to one of its participants.
func (s *Service) GetTask(ctx context.Context, req *frontendpb.GetTaskRequest) (*frontendpb.GetTaskResponse, error) {
	caller, err := callerOf(ctx)
	if err != nil {
		return nil, err
	}
	id, err := parseID(req.GetTaskId(), teaclave.PrefixTask, "task id")
	if err != nil {
		return nil, err
	}
	t, _, err := s.readTask(ctx, id)
	if err != nil {
		return nil, err
	}
	if !t.IsParticipant(caller.ID) {
		return nil, denied("")
	}
	args, _, err := s.readRaw(ctx, teaclave.TaskArgumentsKey(id))
	if err != nil {
		return nil, err
	}
	return &frontendpb.GetTaskResponse{
		TaskId: t.ID.String(), Creator: t.Creator, FunctionId: t.FunctionID.String(), FunctionOwner: t.FunctionOwner,
		FunctionArguments: string(args),
		InputsOwnership:   ownerLists(t.InputsOwnership), OutputsOwnership: ownerLists(t.OutputsOwnership),
		Participants: t.Participants, ApprovedUsers: t.ApprovedUsers,
		AssignedInputs:  dataMaps(t.AssignedInputs, func(f teaclave.InputFile) teaclave.ID { return f.ID }),
		AssignedOutputs: dataMaps(t.AssignedOutputs, func(f teaclave.OutputFile) teaclave.ID { return f.ID }),
		Status:          commonpb.TaskStatus(t.Status),
		Result:          resultProto(t.Result),
	}, nil
}

// assignment is one parsed DataMap entry.
type assignment struct {
	name string
	id   teaclave.ID
}

func parseDataMaps(what, prefix string, maps []*frontendpb.DataMap) ([]assignment, error) {
	if len(maps) > MaxSlots {
		return nil, invalid("invalid request: more than %d %s assignments", MaxSlots, what)
	}
	out := make([]assignment, 0, len(maps))
	for _, m := range maps {
		if err := checkName(what+" name", m.GetDataName()); err != nil {
			return nil, err
		}
		if slices.ContainsFunc(out, func(a assignment) bool { return a.name == m.GetDataName() }) {
			return nil, invalid("invalid request: %s %q assigned twice", what, m.GetDataName())
		}
		id, err := parseID(m.GetDataId(), prefix, "data id")
		if err != nil {
			return nil, err
		}
		out = append(out, assignment{m.GetDataName(), id})
	}
	return out, nil
}

// AssignData assigns files to a task's slots, all or nothing. The caller
// must be a participant and an owner of every file; a file's owner set must
// equal its slot's; a slot is assigned once; an output must not be written
// yet and fills one slot only. When every slot is filled the task moves to
// DataAssigned. Concurrent assignments by different participants all land:
// the change is committed against the task's version and redone on a
// conflict.
func (s *Service) AssignData(ctx context.Context, req *frontendpb.AssignDataRequest) (*emptypb.Empty, error) {
	caller, err := callerOf(ctx)
	if err != nil {
		return nil, err
	}
	id, err := parseID(req.GetTaskId(), teaclave.PrefixTask, "task id")
	if err != nil {
		return nil, err
	}
	ins, err := parseDataMaps("input", teaclave.PrefixInput, req.GetInputs())
	if err != nil {
		return nil, err
	}
	outs, err := parseDataMaps("output", teaclave.PrefixOutput, req.GetOutputs())
	if err != nil {
		return nil, err
	}
	if len(ins)+len(outs) == 0 {
		return nil, invalid("invalid request: nothing to assign")
	}
	err = s.retry(ctx, "assign data", func() error {
		t, ver, err := s.readTask(ctx, id)
		if err != nil {
			return err
		}
		if !t.IsParticipant(caller.ID) {
			return denied("not a participant of the task")
		}
		if _, err := teaclave.Transition(t.Status, teaclave.EventAssignData, teaclave.TaskGuards{}); err != nil {
			return err
		}
		conds := []teaclave.Condition{teaclave.AtVersion(teaclave.TaskKey(id), ver)}
		for _, a := range ins {
			f, fver, err := s.readInput(ctx, a.id)
			if err != nil {
				return err
			}
			conds = append(conds, teaclave.AtVersion(teaclave.InputKey(a.id), fver))
			owners, ok := t.InputsOwnership[a.name]
			switch {
			case !f.OwnedBy(caller.ID):
				return denied("not an owner of input file " + a.id.String())
			case !ok:
				return invalid("invalid request: the task has no input %q", a.name)
			case !slices.Equal(owners, f.Owners):
				return denied("the owners of " + a.id.String() + " differ from those of input " + a.name)
			}
			if _, done := t.AssignedInputs[a.name]; done {
				return precondition("input %q is already assigned", a.name)
			}
			t.AssignedInputs[a.name] = *f
		}
		for _, a := range outs {
			f, fver, err := s.readOutput(ctx, a.id)
			if err != nil {
				return err
			}
			conds = append(conds, teaclave.AtVersion(teaclave.OutputKey(a.id), fver))
			owners, ok := t.OutputsOwnership[a.name]
			switch {
			case !f.OwnedBy(caller.ID):
				return denied("not an owner of output file " + a.id.String())
			case !ok:
				return invalid("invalid request: the task has no output %q", a.name)
			case !slices.Equal(owners, f.Owners):
				return denied("the owners of " + a.id.String() + " differ from those of output " + a.name)
			}
			if _, done := t.AssignedOutputs[a.name]; done {
				return precondition("output %q is already assigned", a.name)
			}
			if f.Cmac != nil {
				return precondition("output file %s is already written; outputs are written once", a.id)
			}
			for other, g := range t.AssignedOutputs {
				if g.ID == f.ID {
					return precondition("output file %s is already assigned to output %q", a.id, other)
				}
			}
			t.AssignedOutputs[a.name] = *f
		}
		next, err := teaclave.Transition(t.Status, teaclave.EventAssignData, t.Guards(true))
		if err != nil {
			return err
		}
		t.Status = next
		rec, err := encode(t, MaxTaskRecordSize, "task record")
		if err != nil {
			return err
		}
		return s.commit(ctx, conds, []teaclave.Op{teaclave.PutOp(teaclave.TaskKey(id), rec)})
	})
	if err != nil {
		return nil, err
	}
	return &emptypb.Empty{}, nil
}

// currentFunction reads a task's function and refuses if it is gone,
// disabled, or no longer the revision the task was made for.
func (s *Service) currentFunction(ctx context.Context, t *teaclave.Task) (*teaclave.Function, uint64, error) {
	f, ver, err := s.readFunction(ctx, t.FunctionID)
	if errors.Is(err, teaclave.ErrNotFound) {
		return nil, 0, precondition("the task's function no longer exists")
	}
	if err != nil {
		return nil, 0, err
	}
	if f.Disabled {
		return nil, 0, precondition("function is disabled")
	}
	if f.Revision != t.FunctionRevision {
		return nil, 0, precondition("the function changed since the task was created; create a new task")
	}
	return f, ver, nil
}

// ApproveTask records the caller's approval. The caller must be a
// participant who has not approved yet, every slot must be filled, and the
// function must still be the revision the task was made for. When everyone
// has approved the task moves to Approved.
func (s *Service) ApproveTask(ctx context.Context, req *frontendpb.ApproveTaskRequest) (*emptypb.Empty, error) {
	caller, err := callerOf(ctx)
	if err != nil {
		return nil, err
	}
	id, err := parseID(req.GetTaskId(), teaclave.PrefixTask, "task id")
	if err != nil {
		return nil, err
	}
	err = s.retry(ctx, "approve task", func() error {
		t, ver, err := s.readTask(ctx, id)
		if err != nil {
			return err
		}
		if !t.IsParticipant(caller.ID) {
			return denied("not a participant of the task")
		}
		already := t.HasApproved(caller.ID)
		t.ApprovedUsers = teaclave.UserSet(append(t.ApprovedUsers, caller.ID))
		next, err := teaclave.Transition(t.Status, teaclave.EventApprove, t.Guards(true))
		if err != nil {
			return err
		}
		if already {
			return precondition("ApproveTask not allowed: already approved by this user")
		}
		if _, _, err := s.currentFunction(ctx, t); err != nil {
			return err
		}
		t.Status = next
		rec, err := encode(t, MaxTaskRecordSize, "task record")
		if err != nil {
			return err
		}
		return s.commit(ctx, []teaclave.Condition{teaclave.AtVersion(teaclave.TaskKey(id), ver)},
			[]teaclave.Op{teaclave.PutOp(teaclave.TaskKey(id), rec)})
	})
	if err != nil {
		return nil, err
	}
	return &emptypb.Empty{}, nil
}

// InvokeTask stages a task: only its creator may, once every slot is
// filled, everyone has approved and the quota allows. One Commit, guarded
// by the versions of the task, the function and its usage counter, moves
// the task to Staged, enqueues the StagedTask on the staged-task queue and
// counts the use, so two concurrent invocations stage the task once.
func (s *Service) InvokeTask(ctx context.Context, req *frontendpb.InvokeTaskRequest) (*emptypb.Empty, error) {
	caller, err := callerOf(ctx)
	if err != nil {
		return nil, err
	}
	id, err := parseID(req.GetTaskId(), teaclave.PrefixTask, "task id")
	if err != nil {
		return nil, err
	}
	err = s.retry(ctx, "invoke task", func() error {
		t, tver, err := s.readTask(ctx, id)
		if err != nil {
			return err
		}
		if t.Creator != caller.ID {
			return denied("only the task's creator may invoke it")
		}
		// A task past the point of invocation is refused for that reason,
		// whatever became of its function.
		if _, err := teaclave.Transition(t.Status, teaclave.EventInvoke, teaclave.TaskGuards{AllDataAssigned: true, EveryoneApproved: true, QuotaAvailable: true}); err != nil {
			return err
		}
		f, fver, err := s.currentFunction(ctx, t)
		if err != nil {
			return err
		}
		var usage teaclave.FunctionUsage
		uver, err := s.getOr(ctx, teaclave.UsageKey(t.FunctionID), &usage, teaclave.Errorf(teaclave.KindInternal, "service internal error"))
		if err != nil {
			return err
		}
		next, err := teaclave.Transition(t.Status, teaclave.EventInvoke, t.Guards(f.QuotaAllows(usage.UseNumbers)))
		if err != nil {
			return err
		}
		args, _, err := s.readRaw(ctx, teaclave.TaskArgumentsKey(id))
		if err != nil {
			return err
		}
		staged := teaclave.StagedTask{
			TaskID: id, UserID: t.Creator, FunctionID: f.ID, FunctionRevision: f.Revision, FunctionName: f.Name,
			ExecutorType: f.ExecutorType, Executor: t.Executor, PayloadSHA256: f.PayloadSHA256,
			FunctionArguments: args,
			InputData:         make(map[string]teaclave.StagedInput, len(t.AssignedInputs)),
			OutputData:        make(map[string]teaclave.StagedOutput, len(t.AssignedOutputs)),
		}
		for name, in := range t.AssignedInputs {
			staged.InputData[name] = teaclave.StagedInput{ID: in.ID, URL: in.URL, Cmac: in.Cmac, Crypto: in.Crypto}
		}
		for name, out := range t.AssignedOutputs {
			staged.OutputData[name] = teaclave.StagedOutput{ID: out.ID, URL: out.URL, Crypto: out.Crypto}
		}
		stagedRec, err := json.Marshal(&staged)
		if err != nil {
			return teaclave.Wrap(teaclave.KindInternal, "service internal error", err)
		}
		t.Status = next
		rec, err := encode(t, MaxTaskRecordSize, "task record")
		if err != nil {
			return err
		}
		usage.UseNumbers++
		usageRec, _ := json.Marshal(&usage)
		return s.commit(ctx,
			[]teaclave.Condition{
				teaclave.AtVersion(teaclave.TaskKey(id), tver),
				teaclave.AtVersion(teaclave.FunctionKey(f.ID), fver),
				teaclave.AtVersion(teaclave.UsageKey(f.ID), uver),
			},
			[]teaclave.Op{
				teaclave.PutOp(teaclave.TaskKey(id), rec),
				teaclave.EnqueueOp([]byte(teaclave.QueueStagedTasks), stagedRec),
				teaclave.PutOp(teaclave.UsageKey(f.ID), usageRec),
			})
	})
	if err != nil {
		return nil, err
	}
	return &emptypb.Empty{}, nil
}

// canceledReason is the result of a task canceled before it was staged.
const canceledReason = "Task canceled"

// CancelTask cancels a task (its creator or an admin). A task not yet
// staged becomes Canceled at once with an Err result. For a staged or
// running task the request is recorded on the task (CancelRequested) and
// enqueued on cancel_queue in one Commit, and the scheduler applies it
// (see teaclave.TaskCancel); asking again changes nothing. A finished,
// failed or canceled task cannot be canceled.
func (s *Service) CancelTask(ctx context.Context, req *frontendpb.CancelTaskRequest) (*emptypb.Empty, error) {
	caller, err := callerOf(ctx)
	if err != nil {
		return nil, err
	}
	id, err := parseID(req.GetTaskId(), teaclave.PrefixTask, "task id")
	if err != nil {
		return nil, err
	}
	err = s.retry(ctx, "cancel task", func() error {
		t, ver, err := s.readTask(ctx, id)
		if err != nil {
			return err
		}
		if t.Creator != caller.ID && caller.Role.Kind != teaclave.RolePlatformAdmin {
			return denied("only the task's creator or an admin may cancel it")
		}
		next, err := teaclave.Transition(t.Status, teaclave.EventCancel, teaclave.TaskGuards{})
		if err != nil {
			return err
		}
		var ops []teaclave.Op
		if next == teaclave.TaskCanceled {
			t.Status = next
			t.Result = teaclave.TaskResult{Err: &teaclave.TaskFailure{Reason: canceledReason}}
		} else {
			if t.CancelRequested {
				return nil
			}
			t.CancelRequested = true
			c, _ := json.Marshal(teaclave.TaskCancel{TaskID: id, RequestedBy: caller.ID})
			ops = append(ops, teaclave.EnqueueOp([]byte(teaclave.QueueCancel), c))
		}
		rec, err := encode(t, MaxTaskRecordSize, "task record")
		if err != nil {
			return err
		}
		ops = append(ops, teaclave.PutOp(teaclave.TaskKey(id), rec))
		return s.commit(ctx, []teaclave.Condition{teaclave.AtVersion(teaclave.TaskKey(id), ver)}, ops)
	})
	if err != nil {
		return nil, err
	}
	return &emptypb.Empty{}, nil
}
