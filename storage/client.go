package storage

import (
	"bytes"
	"context"
	"errors"
	"time"

	"google.golang.org/grpc"

	"github.com/teaclave-go/teaclave"
	"github.com/teaclave-go/teaclave/rpc"
	"github.com/teaclave-go/teaclave/rpc/pb/ext/storageextpb"
	"github.com/teaclave-go/teaclave/rpc/pb/storagepb"
	"github.com/teaclave-go/teaclave/storage/limits"
)

// longPoll bounds one WaitQueue or WaitDequeue call so that a dead
// connection is noticed; the client calls again until its context ends.
const longPoll = 30 * time.Second

// Client is a teaclave.Store served by a remote storage service.
type Client struct {
	teaclave storagepb.TeaclaveStorageClient
	ext      storageextpb.StorageExtensionClient
}

var _ teaclave.Store = (*Client)(nil)

// NewClient returns a Store that calls the storage service over cc, which
// should be a connection pinned to the storage service's attested identity.
// Errors come back as the same *teaclave.Error kinds the service returned.
func NewClient(cc grpc.ClientConnInterface) *Client {
	return &Client{teaclave: storagepb.NewTeaclaveStorageClient(cc), ext: storageextpb.NewStorageExtensionClient(cc)}
}

// Get implements teaclave.Store.
func (c *Client) Get(ctx context.Context, key []byte) ([]byte, uint64, error) {
	resp, err := c.ext.Get(ctx, &storageextpb.GetRequest{Key: key})
	if err != nil {
		return nil, 0, rpc.FromStatus(err)
	}
	return nonNil(resp.GetValue()), resp.GetVersion(), nil
}

// Put implements teaclave.Store.
func (c *Client) Put(ctx context.Context, key, value []byte) error {
	_, err := c.teaclave.Put(ctx, &storagepb.PutRequest{Key: key, Value: value})
	return rpc.FromStatus(err)
}

// Delete implements teaclave.Store.
func (c *Client) Delete(ctx context.Context, key []byte) error {
	_, err := c.teaclave.Delete(ctx, &storagepb.DeleteRequest{Key: key})
	return rpc.FromStatus(err)
}

// Enqueue implements teaclave.Store.
func (c *Client) Enqueue(ctx context.Context, queue, value []byte) error {
	_, err := c.teaclave.Enqueue(ctx, &storagepb.EnqueueRequest{Key: queue, Value: value})
	return rpc.FromStatus(err)
}

// Dequeue implements teaclave.Store.
func (c *Client) Dequeue(ctx context.Context, queue []byte) ([]byte, error) {
	resp, err := c.teaclave.Dequeue(ctx, &storagepb.DequeueRequest{Key: queue})
	if err != nil {
		return nil, rpc.FromStatus(err)
	}
	return nonNil(resp.GetValue()), nil
}

// GetKeysByPrefix implements teaclave.Store with the literal prefix.
func (c *Client) GetKeysByPrefix(ctx context.Context, prefix []byte) ([][]byte, error) {
	resp, err := c.ext.GetKeysByPrefix(ctx, &storageextpb.GetKeysByPrefixRequest{Prefix: prefix})
	if err != nil {
		return nil, rpc.FromStatus(err)
	}
	return resp.GetKeys(), nil
}

// Commit implements teaclave.Store.
func (c *Client) Commit(ctx context.Context, conds []teaclave.Condition, ops []teaclave.Op) (teaclave.CommitResult, error) {
	// Checked here too: the wire cannot tell a nil field from an empty one,
	// so a misused op would otherwise reach the server changed.
	if err := limits.CheckCommit(conds, ops); err != nil {
		return teaclave.CommitResult{}, err
	}
	req := &storageextpb.CommitRequest{
		Conditions: make([]*storageextpb.Condition, len(conds)),
		Ops:        make([]*storageextpb.Op, len(ops)),
	}
	for i, cond := range conds {
		pc := &storageextpb.Condition{Key: cond.Key, Version: cond.Version}
		switch cond.Kind {
		case teaclave.CondAbsent:
			pc.Kind = storageextpb.Condition_ABSENT
		case teaclave.CondVersion:
			pc.Kind = storageextpb.Condition_VERSION
		default:
			return teaclave.CommitResult{}, teaclave.Errorf(teaclave.KindInvalidArgument, "commit: unknown condition kind %d", cond.Kind)
		}
		req.Conditions[i] = pc
	}
	for i, op := range ops {
		po := &storageextpb.Op{Key: op.Key, Value: op.Value, Queue: op.Queue}
		switch op.Kind {
		case teaclave.OpPut:
			po.Kind = storageextpb.Op_PUT
		case teaclave.OpDelete:
			po.Kind = storageextpb.Op_DELETE
		case teaclave.OpEnqueue:
			po.Kind = storageextpb.Op_ENQUEUE
		case teaclave.OpDequeueInto:
			po.Kind = storageextpb.Op_DEQUEUE_INTO
		default:
			return teaclave.CommitResult{}, teaclave.Errorf(teaclave.KindInvalidArgument, "commit: unknown op kind %d", op.Kind)
		}
		req.Ops[i] = po
	}
	resp, err := c.ext.Commit(ctx, req)
	if err != nil {
		return teaclave.CommitResult{}, rpc.FromStatus(err)
	}
	var res teaclave.CommitResult
	for _, v := range resp.GetDequeued() {
		res.Dequeued = append(res.Dequeued, nonNil(v))
	}
	return res, nil
}

// WaitDequeue implements teaclave.Store as a series of long polls. An
// element the server removed while its answer was lost in transit is gone:
// consumers that must not lose one use WaitQueue and a Commit that
// dequeues into a key.
func (c *Client) WaitDequeue(ctx context.Context, queue []byte) ([]byte, error) {
	for {
		pollCtx, cancel := context.WithTimeout(ctx, longPoll)
		resp, err := c.ext.WaitDequeue(pollCtx, &storageextpb.WaitQueueRequest{Queue: queue})
		cancel()
		if err == nil {
			return nonNil(resp.GetValue()), nil
		}
		if err := pollAgain(ctx, err); err != nil {
			return nil, err
		}
	}
}

// WaitQueue implements teaclave.Store as a series of long polls.
func (c *Client) WaitQueue(ctx context.Context, queue []byte) error {
	for {
		pollCtx, cancel := context.WithTimeout(ctx, longPoll)
		_, err := c.ext.WaitQueue(pollCtx, &storageextpb.WaitQueueRequest{Queue: queue})
		cancel()
		if err == nil {
			return nil
		}
		if err := pollAgain(ctx, err); err != nil {
			return err
		}
	}
}

// pollAgain returns nil when a long poll ended only because its own time
// was up, and the error to return otherwise.
func pollAgain(ctx context.Context, err error) error {
	if ctx.Err() != nil {
		return ctx.Err()
	}
	err = rpc.FromStatus(err)
	if errors.Is(err, teaclave.ErrDeadlineExceeded) {
		return nil
	}
	return err
}

// Range implements teaclave.Store, asking again where the server cut an
// answer short to keep messages small.
func (c *Client) Range(ctx context.Context, start, end []byte, limit int, reverse bool) ([]teaclave.KV, error) {
	var out []teaclave.KV
	for {
		req := &storageextpb.RangeRequest{Start: start, End: end, UnboundedEnd: end == nil, Reverse: reverse}
		if limit > 0 {
			req.Limit = uint32(min(limit-len(out), limits.MaxRangeEntries))
		}
		resp, err := c.ext.Range(ctx, req)
		if err != nil {
			return nil, rpc.FromStatus(err)
		}
		for _, e := range resp.GetEntries() {
			out = append(out, teaclave.KV{Key: e.GetKey(), Value: nonNil(e.GetValue()), Version: e.GetVersion()})
		}
		n := len(resp.GetEntries())
		if !resp.GetTruncated() || n == 0 || (limit > 0 && len(out) >= limit) {
			return out, nil
		}
		last := resp.GetEntries()[n-1].GetKey()
		if reverse {
			end = bytes.Clone(last) // end is exclusive
		} else {
			start = append(bytes.Clone(last), 0) // the next key after last
		}
	}
}

// nonNil keeps the store's contract that a present empty value is an empty
// slice, which protobuf decodes as nil.
func nonNil(b []byte) []byte {
	if b == nil {
		return []byte{}
	}
	return b
}
