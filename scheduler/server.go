package scheduler

import (
	"context"
	"encoding/json"

	"google.golang.org/grpc"
	"google.golang.org/protobuf/types/known/emptypb"

	"github.com/teaclave-go/teaclave"
	"github.com/teaclave-go/teaclave/attestation"
	"github.com/teaclave-go/teaclave/rpc"
	"github.com/teaclave-go/teaclave/rpc/pb/commonpb"
	"github.com/teaclave-go/teaclave/rpc/pb/ext/schedulerextpb"
	"github.com/teaclave-go/teaclave/rpc/pb/schedulerpb"
)

// Server serves a Service as Teaclave's TeaclaveScheduler and our
// SchedulerExtension. Every call must come from an attested execution
// node: the internal endpoint's topology admits only those, and each
// handler checks the verified peer again, so a mistaken registration on
// another endpoint cannot open the scheduler to anyone else.
type Server struct {
	svc *Service
}

// NewServer returns a server for svc.
func NewServer(svc *Service) *Server { return &Server{svc: svc} }

// Register registers both services on r.
func (s *Server) Register(r grpc.ServiceRegistrar) {
	schedulerpb.RegisterTeaclaveSchedulerServer(r, teaclaveScheduler{s: s.svc})
	schedulerextpb.RegisterSchedulerExtensionServer(r, extension{s: s.svc})
}

// checkPeer admits only attested execution nodes.
func checkPeer(ctx context.Context) error {
	p, ok := rpc.PeerFrom(ctx)
	if !ok || p.Identity.Service != attestation.ServiceExecution {
		return teaclave.Errorf(teaclave.KindPermissionDenied, "the scheduler serves execution nodes only")
	}
	return nil
}

// teaclaveScheduler implements Teaclave's RPCs (protocol §12.3).
type teaclaveScheduler struct {
	schedulerpb.UnimplementedTeaclaveSchedulerServer
	s *Service
}

// PublishTask let a caller stage a task past storage in Teaclave; here
// only management stages tasks, atomically with the task record.
func (t teaclaveScheduler) PublishTask(ctx context.Context, _ *schedulerpb.PublishTaskRequest) (*emptypb.Empty, error) {
	if err := checkPeer(ctx); err != nil {
		return nil, err
	}
	return nil, teaclave.Errorf(teaclave.KindUnimplemented, "PublishTask is not supported: tasks are staged by InvokeTask")
}

// Subscribe was never implemented by Teaclave (it panicked).
func (t teaclaveScheduler) Subscribe(ctx context.Context, _ *emptypb.Empty) (*schedulerpb.SubscribeResponse, error) {
	if err := checkPeer(ctx); err != nil {
		return nil, err
	}
	return nil, teaclave.Errorf(teaclave.KindUnimplemented, "Subscribe is not implemented")
}

func (t teaclaveScheduler) Heartbeat(ctx context.Context, req *schedulerpb.HeartbeatRequest) (*schedulerpb.HeartbeatResponse, error) {
	if err := checkPeer(ctx); err != nil {
		return nil, err
	}
	var executing bool
	switch req.GetStatus() {
	case commonpb.ExecutorStatus_Idle:
	case commonpb.ExecutorStatus_Executing:
		executing = true
	default:
		return nil, teaclave.Errorf(teaclave.KindInvalidArgument, "invalid executor status %d", req.GetStatus())
	}
	cmd, err := t.s.legacyHeartbeat(ctx, req.GetExecutorId(), executing)
	if err != nil {
		return nil, err
	}
	return &schedulerpb.HeartbeatResponse{Command: commonpb.ExecutorCommand(cmd)}, nil
}

func (t teaclaveScheduler) PullTask(ctx context.Context, req *schedulerpb.PullTaskRequest) (*schedulerpb.PullTaskResponse, error) {
	if err := checkPeer(ctx); err != nil {
		return nil, err
	}
	raw, err := t.s.legacyPull(ctx, req.GetExecutorId())
	if err != nil {
		return nil, err
	}
	return &schedulerpb.PullTaskResponse{StagedTask: raw}, nil
}

func bareTaskID(s string) (teaclave.ID, error) {
	u, err := teaclave.ParseBareUUID(s)
	if err != nil {
		return teaclave.ID{}, teaclave.Errorf(teaclave.KindInvalidArgument, "invalid task id: want a bare lowercase UUID")
	}
	return teaclave.IDFromUUID(teaclave.PrefixTask, u), nil
}

// UpdateTaskStatus moves the task to Running whatever status is sent, as
// Teaclave did.
func (t teaclaveScheduler) UpdateTaskStatus(ctx context.Context, req *schedulerpb.UpdateTaskStatusRequest) (*emptypb.Empty, error) {
	if err := checkPeer(ctx); err != nil {
		return nil, err
	}
	id, err := bareTaskID(req.GetTaskId())
	if err != nil {
		return nil, err
	}
	lease, err := t.s.legacyLease(id)
	if err != nil {
		return nil, err
	}
	if err := t.s.StartTask(ctx, lease); err != nil {
		return nil, err
	}
	return &emptypb.Empty{}, nil
}

func (t teaclaveScheduler) UpdateTaskResult(ctx context.Context, req *schedulerpb.UpdateTaskResultRequest) (*emptypb.Empty, error) {
	if err := checkPeer(ctx); err != nil {
		return nil, err
	}
	id, err := bareTaskID(req.GetTaskId())
	if err != nil {
		return nil, err
	}
	result, err := ResultFromProto(req.GetResult())
	if err != nil {
		return nil, err
	}
	lease, err := t.s.legacyLease(id)
	if err != nil {
		return nil, err
	}
	if err := t.s.CompleteTask(ctx, lease, Completion{Result: result}); err != nil {
		return nil, err
	}
	return &emptypb.Empty{}, nil
}

// ResultFromProto converts a task result from the wire. A missing result
// (Teaclave's handler crashed on one) and tags of other than 16 bytes are
// KindInvalidArgument.
func ResultFromProto(r *commonpb.TaskResult) (teaclave.TaskResult, error) {
	switch v := r.GetResult().(type) {
	case *commonpb.TaskResult_Ok:
		out := &teaclave.TaskOutputs{ReturnValue: nonNil(v.Ok.GetReturnValue()), TagsMap: map[string]teaclave.FileAuthTag{}, Log: v.Ok.GetLog()}
		if out.Log == nil {
			out.Log = []string{}
		}
		for name, tag := range v.Ok.GetTagsMap() {
			t, err := teaclave.FileAuthTagFromBytes(tag)
			if err != nil {
				return teaclave.TaskResult{}, teaclave.Errorf(teaclave.KindInvalidArgument, "invalid result: tag of output %q: %w", name, err)
			}
			out.TagsMap[name] = t
		}
		return teaclave.TaskResult{Ok: out}, nil
	case *commonpb.TaskResult_Err:
		return teaclave.TaskResult{Err: &teaclave.TaskFailure{Reason: v.Err.GetReason()}}, nil
	}
	return teaclave.TaskResult{}, teaclave.Errorf(teaclave.KindInvalidArgument, "invalid result: missing")
}

// ResultToProto converts a task result for the wire; a result that is not
// ready becomes an empty TaskResult.
func ResultToProto(r teaclave.TaskResult) *commonpb.TaskResult {
	switch {
	case r.Ok != nil:
		tags := make(map[string][]byte, len(r.Ok.TagsMap))
		for k, v := range r.Ok.TagsMap {
			tags[k] = append([]byte(nil), v[:]...)
		}
		return &commonpb.TaskResult{Result: &commonpb.TaskResult_Ok{Ok: &commonpb.TaskOutputs{ReturnValue: r.Ok.ReturnValue, TagsMap: tags, Log: r.Ok.Log}}}
	case r.Err != nil:
		return &commonpb.TaskResult{Result: &commonpb.TaskResult_Err{Err: &commonpb.TaskFailure{Reason: r.Err.Reason}}}
	}
	return &commonpb.TaskResult{}
}

func nonNil(b []byte) []byte {
	if b == nil {
		return []byte{}
	}
	return b
}

// extension implements SchedulerExtension.
type extension struct {
	schedulerextpb.UnimplementedSchedulerExtensionServer
	s *Service
}

func (e extension) RegisterNode(ctx context.Context, req *schedulerextpb.RegisterNodeRequest) (*schedulerextpb.RegisterNodeResponse, error) {
	if err := checkPeer(ctx); err != nil {
		return nil, err
	}
	if len(req.GetExecutors()) > maxExecutors {
		return nil, teaclave.Errorf(teaclave.KindInvalidArgument, "invalid node: more than %d executors", maxExecutors)
	}
	spec := NodeSpec{ID: req.GetNodeId(), Capacity: int(min(req.GetCapacity(), maxCapacity+1)), Held: req.GetHeldLeases()}
	for _, x := range req.GetExecutors() {
		spec.Executors = append(spec.Executors, teaclave.Executor(x))
	}
	reg, err := e.s.RegisterNode(ctx, spec)
	if err != nil {
		return nil, err
	}
	return &schedulerextpb.RegisterNodeResponse{
		NodeId:              reg.ID,
		HeartbeatIntervalMs: reg.HeartbeatInterval.Milliseconds(),
		LeaseTimeoutMs:      reg.LeaseTimeout.Milliseconds(),
		KeptLeases:          reg.Kept,
	}, nil
}

func (e extension) NodeHeartbeat(ctx context.Context, req *schedulerextpb.NodeHeartbeatRequest) (*schedulerextpb.NodeHeartbeatResponse, error) {
	if err := checkPeer(ctx); err != nil {
		return nil, err
	}
	reply, err := e.s.Heartbeat(ctx, req.GetNodeId(), req.GetHeldLeases())
	if err != nil {
		return nil, err
	}
	return &schedulerextpb.NodeHeartbeatResponse{StopLeases: reply.Stop, DroppedLeases: reply.Dropped}, nil
}

func (e extension) Work(req *schedulerextpb.WorkRequest, stream grpc.ServerStreamingServer[schedulerextpb.WorkItem]) error {
	ctx := stream.Context()
	if err := checkPeer(ctx); err != nil {
		return err
	}
	w, err := e.s.Work(ctx, req.GetNodeId())
	if err != nil {
		return err
	}
	for {
		c, err := w.Recv()
		if err != nil {
			if ctx.Err() != nil {
				return nil
			}
			return err
		}
		item := &schedulerextpb.WorkItem{}
		switch {
		case c.Assignment != nil:
			a := c.Assignment
			item.Item = &schedulerextpb.WorkItem_Assignment{Assignment: &schedulerextpb.Assignment{
				LeaseId: a.Lease.ID, TaskId: a.Lease.TaskID.String(), Attempt: uint32(a.Attempt), StagedTask: e.s.stagedBytes(a),
			}}
		default:
			item.Item = &schedulerextpb.WorkItem_Stop{Stop: &schedulerextpb.Stop{LeaseId: c.Stop}}
		}
		if err := stream.Send(item); err != nil {
			// The assignment is lost with the stream; its lease runs
			// out unless the node saw it, and the task is staged again.
			return err
		}
	}
}

// stagedBytes returns the staged task of an assignment as management wrote
// it.
func (s *Service) stagedBytes(a *Assignment) []byte {
	s.mu.Lock()
	j := s.byTask[a.Lease.TaskID]
	s.mu.Unlock()
	if j != nil && j.task == a.Task {
		return j.raw
	}
	b, _ := json.Marshal(a.Task)
	return b
}

func (e extension) StartTask(ctx context.Context, req *schedulerextpb.StartTaskRequest) (*schedulerextpb.StartTaskResponse, error) {
	if err := checkPeer(ctx); err != nil {
		return nil, err
	}
	lease, err := leaseFrom(req.GetLeaseId(), req.GetTaskId())
	if err != nil {
		return nil, err
	}
	if err := e.s.StartTask(ctx, lease); err != nil {
		return nil, err
	}
	return &schedulerextpb.StartTaskResponse{}, nil
}

func leaseFrom(leaseID, taskID string) (Lease, error) {
	id, err := teaclave.ParseID(taskID, teaclave.PrefixTask)
	if err != nil {
		return Lease{}, err
	}
	return Lease{ID: leaseID, TaskID: id}, nil
}

func (e extension) CompleteTask(ctx context.Context, req *schedulerextpb.CompleteTaskRequest) (*schedulerextpb.CompleteTaskResponse, error) {
	if err := checkPeer(ctx); err != nil {
		return nil, err
	}
	lease, err := leaseFrom(req.GetLeaseId(), req.GetTaskId())
	if err != nil {
		return nil, err
	}
	var result teaclave.TaskResult
	if req.GetResult().GetResult() != nil || !req.GetCanceled() {
		if result, err = ResultFromProto(req.GetResult()); err != nil {
			return nil, err
		}
	}
	if err := e.s.CompleteTask(ctx, lease, Completion{Result: result, Canceled: req.GetCanceled()}); err != nil {
		return nil, err
	}
	return &schedulerextpb.CompleteTaskResponse{}, nil
}

func (e extension) FetchPayload(ctx context.Context, req *schedulerextpb.FetchPayloadRequest) (*schedulerextpb.FetchPayloadResponse, error) {
	if err := checkPeer(ctx); err != nil {
		return nil, err
	}
	fn, err := teaclave.ParseID(req.GetFunctionId(), teaclave.PrefixFunction)
	if err != nil {
		return nil, err
	}
	var d teaclave.Digest
	if len(req.GetSha256()) != len(d) {
		return nil, teaclave.Errorf(teaclave.KindInvalidArgument, "invalid payload digest: want %d bytes", len(d))
	}
	copy(d[:], req.GetSha256())
	p, err := e.s.FetchPayload(ctx, fn, d)
	if err != nil {
		return nil, err
	}
	return &schedulerextpb.FetchPayloadResponse{Payload: nonNil(p)}, nil
}

func (e extension) ClaimNonce(ctx context.Context, req *schedulerextpb.ClaimNonceRequest) (*schedulerextpb.ClaimNonceResponse, error) {
	if err := checkPeer(ctx); err != nil {
		return nil, err
	}
	var d teaclave.Digest
	if len(req.GetDigest()) != len(d) {
		return nil, teaclave.Errorf(teaclave.KindInvalidArgument, "invalid nonce digest: want %d bytes", len(d))
	}
	copy(d[:], req.GetDigest())
	if err := e.s.ClaimNonce(ctx, d); err != nil {
		return nil, err
	}
	return &schedulerextpb.ClaimNonceResponse{}, nil
}
