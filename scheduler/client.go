package scheduler

import (
	"context"
	"errors"
	"time"

	"google.golang.org/grpc"

	"github.com/teaclave-go/teaclave"
	"github.com/teaclave-go/teaclave/rpc"
	"github.com/teaclave-go/teaclave/rpc/pb/ext/schedulerextpb"
)

// Client is a Dispatcher served by a remote scheduler over the attested
// transport, for execution nodes in another process.
type Client struct {
	ext schedulerextpb.SchedulerExtensionClient
}

// NewClient returns a Dispatcher that calls the scheduler over cc, which
// should be a connection pinned to the scheduler's attested identity and
// made with the execution service's transport (the scheduler admits
// execution nodes only). Errors come back as the same *teaclave.Error kinds
// the scheduler returned.
func NewClient(cc grpc.ClientConnInterface) *Client {
	return &Client{ext: schedulerextpb.NewSchedulerExtensionClient(cc)}
}

// RegisterNode implements Dispatcher.
func (c *Client) RegisterNode(ctx context.Context, spec NodeSpec) (NodeRegistration, error) {
	req := &schedulerextpb.RegisterNodeRequest{NodeId: spec.ID, Capacity: uint32(max(min(spec.Capacity, maxCapacity+1), 0)), HeldLeases: spec.Held}
	for _, e := range spec.Executors {
		req.Executors = append(req.Executors, string(e))
	}
	resp, err := c.ext.RegisterNode(ctx, req)
	if err != nil {
		return NodeRegistration{}, rpc.FromStatus(err)
	}
	reg := NodeRegistration{
		ID:                resp.GetNodeId(),
		HeartbeatInterval: time.Duration(resp.GetHeartbeatIntervalMs()) * time.Millisecond,
		LeaseTimeout:      time.Duration(resp.GetLeaseTimeoutMs()) * time.Millisecond,
		Kept:              resp.GetKeptLeases(),
	}
	if reg.ID == "" || reg.HeartbeatInterval <= 0 || reg.LeaseTimeout <= 0 {
		return NodeRegistration{}, teaclave.Errorf(teaclave.KindInternal, "scheduler sent an incomplete registration")
	}
	return reg, nil
}

// Heartbeat implements Dispatcher.
func (c *Client) Heartbeat(ctx context.Context, node string, held []string) (HeartbeatReply, error) {
	resp, err := c.ext.NodeHeartbeat(ctx, &schedulerextpb.NodeHeartbeatRequest{NodeId: node, HeldLeases: held})
	if err != nil {
		return HeartbeatReply{}, rpc.FromStatus(err)
	}
	return HeartbeatReply{Stop: resp.GetStopLeases(), Dropped: resp.GetDroppedLeases()}, nil
}

// Work implements Dispatcher. The stream ends when ctx ends.
func (c *Client) Work(ctx context.Context, node string) (WorkStream, error) {
	st, err := c.ext.Work(ctx, &schedulerextpb.WorkRequest{NodeId: node})
	if err != nil {
		return nil, rpc.FromStatus(err)
	}
	return remoteStream{st}, nil
}

type remoteStream struct {
	st grpc.ServerStreamingClient[schedulerextpb.WorkItem]
}

func (r remoteStream) Recv() (Command, error) {
	item, err := r.st.Recv()
	if err != nil {
		return Command{}, rpc.FromStatus(err)
	}
	switch v := item.GetItem().(type) {
	case *schedulerextpb.WorkItem_Assignment:
		a := v.Assignment
		lease, err := leaseFrom(a.GetLeaseId(), a.GetTaskId())
		if err != nil {
			return Command{}, teaclave.Errorf(teaclave.KindInternal, "scheduler sent an invalid assignment: %w", err)
		}
		st, err := parseStaged(a.GetStagedTask())
		if err != nil || st.TaskID != lease.TaskID {
			return Command{}, teaclave.Errorf(teaclave.KindInternal, "scheduler sent an invalid staged task for %s", lease.TaskID)
		}
		return Command{Assignment: &Assignment{Lease: lease, Attempt: int(a.GetAttempt()), Task: st}}, nil
	case *schedulerextpb.WorkItem_Stop:
		if v.Stop.GetLeaseId() == "" {
			return Command{}, teaclave.Errorf(teaclave.KindInternal, "scheduler sent a stop without a lease")
		}
		return Command{Stop: v.Stop.GetLeaseId()}, nil
	}
	return Command{}, teaclave.Errorf(teaclave.KindInternal, "scheduler sent an empty work item")
}

// StartTask implements Dispatcher.
func (c *Client) StartTask(ctx context.Context, lease Lease) error {
	_, err := c.ext.StartTask(ctx, &schedulerextpb.StartTaskRequest{LeaseId: lease.ID, TaskId: lease.TaskID.String()})
	return rpc.FromStatus(err)
}

// CompleteTask implements Dispatcher.
func (c *Client) CompleteTask(ctx context.Context, lease Lease, comp Completion) error {
	if comp.Result.Ok != nil && comp.Result.Err != nil {
		return teaclave.Errorf(teaclave.KindInvalidArgument, "invalid result: both Ok and Err")
	}
	_, err := c.ext.CompleteTask(ctx, &schedulerextpb.CompleteTaskRequest{
		LeaseId: lease.ID, TaskId: lease.TaskID.String(), Result: ResultToProto(comp.Result), Canceled: comp.Canceled,
	})
	return rpc.FromStatus(err)
}

// FetchPayload implements Dispatcher.
func (c *Client) FetchPayload(ctx context.Context, fn teaclave.ID, digest teaclave.Digest) ([]byte, error) {
	resp, err := c.ext.FetchPayload(ctx, &schedulerextpb.FetchPayloadRequest{FunctionId: fn.String(), Sha256: digest[:]})
	if err != nil {
		return nil, rpc.FromStatus(err)
	}
	p := resp.GetPayload()
	if teaclave.DigestOf(p) != digest {
		return nil, errors.New("scheduler: fetched payload does not match its digest")
	}
	return p, nil
}

// ClaimNonce implements Dispatcher.
func (c *Client) ClaimNonce(ctx context.Context, digest teaclave.Digest) error {
	_, err := c.ext.ClaimNonce(ctx, &schedulerextpb.ClaimNonceRequest{Digest: digest[:]})
	return rpc.FromStatus(err)
}
