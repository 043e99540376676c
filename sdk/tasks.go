package sdk

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"slices"
	"time"

	"github.com/teaclave-go/teaclave"
	"github.com/teaclave-go/teaclave/rpc"
	"github.com/teaclave-go/teaclave/rpc/pb/commonpb"
	"github.com/teaclave-go/teaclave/rpc/pb/frontendpb"
)

// TaskStatus is a task's place in its life (protocol §9).
type TaskStatus int32

// Task statuses, with Teaclave's wire values (TaskStatus in
// teaclave_common.proto).
const (
	TaskCreated      TaskStatus = 0
	TaskDataAssigned TaskStatus = 1
	TaskApproved     TaskStatus = 2
	TaskStaged       TaskStatus = 3
	TaskRunning      TaskStatus = 4
	TaskFinished     TaskStatus = 10
	TaskCanceled     TaskStatus = 20
	TaskFailed       TaskStatus = 99
)

// String returns the status's name (Created, Running, Finished, ...).
func (s TaskStatus) String() string { return commonpb.TaskStatus(s).String() }

// Done reports whether the task reached an end: Finished, Canceled or
// Failed.
func (s TaskStatus) Done() bool {
	return s == TaskFinished || s == TaskCanceled || s == TaskFailed
}

// TaskSpec describes a task to create.
type TaskSpec struct {
	// FunctionID is the function to run.
	FunctionID string
	// Executor is ExecutorBuiltin, ExecutorMesaPy or ExecutorWAMR.
	Executor string
	// Arguments are the function's arguments; values keep their JSON type.
	Arguments map[string]any
	// InputOwners and OutputOwners map each of the function's input and
	// output slots to the users who must own the file assigned to it.
	InputOwners, OutputOwners map[string][]string
}

// Task is a task as GetTask returns it.
type Task struct {
	ID, Creator, FunctionID, FunctionOwner string
	// Arguments is the JSON object of the final arguments.
	Arguments                 json.RawMessage
	InputOwners, OutputOwners map[string][]string
	// Participants must all approve before the task may be invoked.
	Participants, ApprovedUsers []string
	// AssignedInputs and AssignedOutputs map slots to data ids.
	AssignedInputs, AssignedOutputs map[string]string
	Status                          TaskStatus
	// Result is set once the task Finished; FailureReason once it Failed or
	// was Canceled.
	Result        *TaskResult
	FailureReason string
}

// TaskResult is what a finished task produced.
type TaskResult struct {
	// ReturnValue is the function's return value.
	ReturnValue []byte
	// Tags are the cmacs of the outputs the task wrote, by slot name.
	Tags map[string]Tag
	// Log is the function's log, if it kept one.
	Log []string
}

// Errors a *TaskError matches with errors.Is.
var (
	// ErrTaskFailed: the task failed.
	ErrTaskFailed = errors.New("sdk: task failed")
	// ErrTaskCanceled: the task was canceled.
	ErrTaskCanceled = errors.New("sdk: task canceled")
)

// TaskError is Wait's error for a task that failed or was canceled.
type TaskError struct {
	TaskID string
	Status TaskStatus
	// Reason is the platform's summary, such as "Task Canceled by the
	// user" or the function's error.
	Reason string
}

// Error implements error.
func (e *TaskError) Error() string {
	return fmt.Sprintf("sdk: task %s %s: %s", e.TaskID, e.Status, e.Reason)
}

// Is matches ErrTaskFailed or ErrTaskCanceled.
func (e *TaskError) Is(target error) bool {
	return (target == ErrTaskFailed && e.Status == TaskFailed) || (target == ErrTaskCanceled && e.Status == TaskCanceled)
}

func owners(m map[string][]string) []*frontendpb.OwnerList {
	out := make([]*frontendpb.OwnerList, 0, len(m))
	for _, k := range slices.Sorted(maps.Keys(m)) {
		out = append(out, &frontendpb.OwnerList{DataName: k, Uids: m[k]})
	}
	return out
}

func dataMaps(m map[string]string) []*frontendpb.DataMap {
	out := make([]*frontendpb.DataMap, 0, len(m))
	for _, k := range slices.Sorted(maps.Keys(m)) {
		out = append(out, &frontendpb.DataMap{DataName: k, DataId: m[k]})
	}
	return out
}

// CreateTask creates a task and returns its id.
func (c *Client) CreateTask(ctx context.Context, spec TaskSpec) (string, error) {
	ctx, err := c.loggedIn(ctx)
	if err != nil {
		return "", err
	}
	args := spec.Arguments
	if args == nil {
		args = map[string]any{}
	}
	argJSON, err := json.Marshal(args)
	if err != nil {
		return "", teaclave.Errorf(teaclave.KindInvalidArgument, "sdk: task arguments: %w", err)
	}
	resp, err := c.Frontend.CreateTask(ctx, &frontendpb.CreateTaskRequest{
		FunctionId: spec.FunctionID, FunctionArguments: string(argJSON), Executor: spec.Executor,
		InputsOwnership: owners(spec.InputOwners), OutputsOwnership: owners(spec.OutputOwners),
	})
	if err != nil {
		return "", err
	}
	return resp.GetTaskId(), nil
}

// AssignData assigns files to a task's slots: inputs and outputs map slot
// names to data ids. Each user assigns the files they own.
func (c *Client) AssignData(ctx context.Context, taskID string, inputs, outputs map[string]string) error {
	ctx, err := c.loggedIn(ctx)
	if err != nil {
		return err
	}
	_, err = c.Frontend.AssignData(ctx, &frontendpb.AssignDataRequest{TaskId: taskID, Inputs: dataMaps(inputs), Outputs: dataMaps(outputs)})
	return err
}

// ApproveTask records the logged-in user's approval of a task.
func (c *Client) ApproveTask(ctx context.Context, taskID string) error {
	ctx, err := c.loggedIn(ctx)
	if err != nil {
		return err
	}
	_, err = c.Frontend.ApproveTask(ctx, &frontendpb.ApproveTaskRequest{TaskId: taskID})
	return err
}

// InvokeTask starts an approved task.
func (c *Client) InvokeTask(ctx context.Context, taskID string) error {
	ctx, err := c.loggedIn(ctx)
	if err != nil {
		return err
	}
	_, err = c.Frontend.InvokeTask(ctx, &frontendpb.InvokeTaskRequest{TaskId: taskID})
	return err
}

// CancelTask cancels a task that has not ended.
func (c *Client) CancelTask(ctx context.Context, taskID string) error {
	ctx, err := c.loggedIn(ctx)
	if err != nil {
		return err
	}
	_, err = c.Frontend.CancelTask(ctx, &frontendpb.CancelTaskRequest{TaskId: taskID})
	return err
}

// GetTask returns a task.
func (c *Client) GetTask(ctx context.Context, taskID string) (*Task, error) {
	ctx, err := c.loggedIn(ctx)
	if err != nil {
		return nil, err
	}
	resp, err := c.Frontend.GetTask(ctx, &frontendpb.GetTaskRequest{TaskId: taskID})
	if err != nil {
		return nil, err
	}
	return taskFromPB(resp)
}

func taskFromPB(r *frontendpb.GetTaskResponse) (*Task, error) {
	t := &Task{
		ID: r.GetTaskId(), Creator: r.GetCreator(), FunctionID: r.GetFunctionId(), FunctionOwner: r.GetFunctionOwner(),
		Arguments:    json.RawMessage(r.GetFunctionArguments()),
		InputOwners:  map[string][]string{},
		OutputOwners: map[string][]string{},
		Participants: r.GetParticipants(), ApprovedUsers: r.GetApprovedUsers(),
		AssignedInputs: map[string]string{}, AssignedOutputs: map[string]string{},
		Status: TaskStatus(r.GetStatus()),
	}
	for _, o := range r.GetInputsOwnership() {
		t.InputOwners[o.GetDataName()] = o.GetUids()
	}
	for _, o := range r.GetOutputsOwnership() {
		t.OutputOwners[o.GetDataName()] = o.GetUids()
	}
	for _, d := range r.GetAssignedInputs() {
		t.AssignedInputs[d.GetDataName()] = d.GetDataId()
	}
	for _, d := range r.GetAssignedOutputs() {
		t.AssignedOutputs[d.GetDataName()] = d.GetDataId()
	}
	if ok := r.GetResult().GetOk(); ok != nil {
		res := &TaskResult{ReturnValue: ok.GetReturnValue(), Log: ok.GetLog(), Tags: map[string]Tag{}}
		for name, b := range ok.GetTagsMap() {
			tag, err := TagFromBytes(b)
			if err != nil {
				return nil, teaclave.Errorf(teaclave.KindInternal, "sdk: task %s: output %q has a cmac of %d bytes", t.ID, name, len(b))
			}
			res.Tags[name] = tag
		}
		t.Result = res
	}
	if e := r.GetResult().GetErr(); e != nil {
		t.FailureReason = e.GetReason()
	}
	return t, nil
}

// Wait polls a task until it ends, calling onStatus (if not nil) with each
// status it sees change, first with the current one. It polls at the
// client's PollInterval, doubling up to MaxPollInterval, and rides out
// Unavailable errors (a platform restarting), except a connection refused
// in its handshake (the platform does not attest as the Trust requires),
// which it returns at once. It returns the result of a Finished task, a
// *TaskError for a Failed or Canceled one, or ctx's error.
func (c *Client) Wait(ctx context.Context, taskID string, onStatus func(TaskStatus)) (*TaskResult, error) {
	delay := c.pollMin
	last := TaskStatus(-1)
	for {
		t, err := c.GetTask(ctx, taskID)
		switch {
		case err == nil:
			if t.Status != last {
				last = t.Status
				if onStatus != nil {
					onStatus(t.Status)
				}
			}
			switch t.Status {
			case TaskFinished:
				if t.Result == nil {
					return nil, teaclave.Errorf(teaclave.KindInternal, "sdk: task %s finished without a result", taskID)
				}
				return t.Result, nil
			case TaskFailed, TaskCanceled:
				return nil, &TaskError{TaskID: taskID, Status: t.Status, Reason: t.FailureReason}
			}
		case rpc.IsHandshakeFailure(err):
			// The platform answered but did not attest as the trust
			// requires: waiting longer cannot change that.
			return nil, fmt.Errorf("sdk: waiting for task %s: the platform failed verification: %w", taskID, err)
		case teaclave.KindOf(err) == teaclave.KindUnavailable && ctx.Err() == nil:
			c.logger.Debug("sdk: platform unavailable while waiting; retrying", "task", taskID)
		default:
			return nil, err
		}
		timer := time.NewTimer(delay)
		select {
		case <-ctx.Done():
			timer.Stop()
			return nil, fmt.Errorf("sdk: waiting for task %s (last status %s): %w", taskID, last, ctx.Err())
		case <-timer.C:
		}
		delay = min(2*delay, c.pollMax)
	}
}
