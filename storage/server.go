package storage

import (
	"bytes"
	"context"

	"google.golang.org/grpc"
	"google.golang.org/protobuf/types/known/emptypb"

	"github.com/teaclave-go/teaclave"
	"github.com/teaclave-go/teaclave/rpc/pb/ext/storageextpb"
	"github.com/teaclave-go/teaclave/rpc/pb/storagepb"
	"github.com/teaclave-go/teaclave/storage/limits"
)

// Server serves a teaclave.Store as Teaclave's TeaclaveStorage service and
// our StorageExtension service. It only translates messages: limits,
// atomicity and durability are the store's. Errors are *teaclave.Error
// values for the rpc layer's interceptors to turn into status codes.
type Server struct {
	store teaclave.Store
}

// NewServer returns a server backed by store.
func NewServer(store teaclave.Store) *Server { return &Server{store: store} }

// Register registers both services of s on r.
func (s *Server) Register(r grpc.ServiceRegistrar) {
	storagepb.RegisterTeaclaveStorageServer(r, teaclaveStorage{s: s})
	storageextpb.RegisterStorageExtensionServer(r, extension{s: s})
}

// teaclaveStorage implements Teaclave's six operations.
type teaclaveStorage struct {
	storagepb.UnimplementedTeaclaveStorageServer
	s *Server
}

var _ storagepb.TeaclaveStorageServer = teaclaveStorage{}

func (t teaclaveStorage) Get(ctx context.Context, req *storagepb.GetRequest) (*storagepb.GetResponse, error) {
	v, _, err := t.s.store.Get(ctx, req.GetKey())
	if err != nil {
		return nil, err
	}
	return &storagepb.GetResponse{Value: v}, nil
}

func (t teaclaveStorage) Put(ctx context.Context, req *storagepb.PutRequest) (*emptypb.Empty, error) {
	return &emptypb.Empty{}, t.s.store.Put(ctx, req.GetKey(), req.GetValue())
}

func (t teaclaveStorage) Delete(ctx context.Context, req *storagepb.DeleteRequest) (*emptypb.Empty, error) {
	return &emptypb.Empty{}, t.s.store.Delete(ctx, req.GetKey())
}

func (t teaclaveStorage) Enqueue(ctx context.Context, req *storagepb.EnqueueRequest) (*emptypb.Empty, error) {
	return &emptypb.Empty{}, t.s.store.Enqueue(ctx, req.GetKey(), req.GetValue())
}

func (t teaclaveStorage) Dequeue(ctx context.Context, req *storagepb.DequeueRequest) (*storagepb.DequeueResponse, error) {
	v, err := t.s.store.Dequeue(ctx, req.GetKey())
	if err != nil {
		return nil, err
	}
	return &storagepb.DequeueResponse{Value: v}, nil
}

// GetKeysByPrefix keeps Teaclave's meaning of the prefix: keys that start
// with prefix + "-". Unlike Teaclave it never returns a key without it.
func (t teaclaveStorage) GetKeysByPrefix(ctx context.Context, req *storagepb.GetKeysByPrefixRequest) (*storagepb.GetKeysByPrefixResponse, error) {
	p := append(bytes.Clone(req.GetPrefix()), '-')
	keys, err := t.s.store.GetKeysByPrefix(ctx, p)
	if err != nil {
		return nil, err
	}
	return &storagepb.GetKeysByPrefixResponse{Keys: keys}, nil
}

// extension implements our StorageExtension service.
type extension struct {
	storageextpb.UnimplementedStorageExtensionServer
	s *Server
}

var _ storageextpb.StorageExtensionServer = extension{}

func (e extension) Get(ctx context.Context, req *storageextpb.GetRequest) (*storageextpb.GetResponse, error) {
	v, ver, err := e.s.store.Get(ctx, req.GetKey())
	if err != nil {
		return nil, err
	}
	return &storageextpb.GetResponse{Value: v, Version: ver}, nil
}

func (e extension) Commit(ctx context.Context, req *storageextpb.CommitRequest) (*storageextpb.CommitResponse, error) {
	conds := make([]teaclave.Condition, 0, len(req.GetConditions()))
	for _, c := range req.GetConditions() {
		switch c.GetKind() {
		case storageextpb.Condition_ABSENT:
			conds = append(conds, teaclave.Absent(c.GetKey()))
		case storageextpb.Condition_VERSION:
			conds = append(conds, teaclave.AtVersion(c.GetKey(), c.GetVersion()))
		default:
			return nil, teaclave.Errorf(teaclave.KindInvalidArgument, "commit: unknown condition kind %d", c.GetKind())
		}
	}
	ops := make([]teaclave.Op, 0, len(req.GetOps()))
	for _, o := range req.GetOps() {
		switch o.GetKind() {
		case storageextpb.Op_PUT:
			ops = append(ops, teaclave.PutOp(o.GetKey(), o.GetValue()))
		case storageextpb.Op_DELETE:
			ops = append(ops, teaclave.DeleteOp(o.GetKey()))
		case storageextpb.Op_ENQUEUE:
			ops = append(ops, teaclave.EnqueueOp(o.GetQueue(), o.GetValue()))
		case storageextpb.Op_DEQUEUE_INTO:
			ops = append(ops, teaclave.DequeueIntoOp(o.GetQueue(), o.GetKey()))
		default:
			return nil, teaclave.Errorf(teaclave.KindInvalidArgument, "commit: unknown op kind %d", o.GetKind())
		}
	}
	res, err := e.s.store.Commit(ctx, conds, ops)
	if err != nil {
		return nil, err
	}
	return &storageextpb.CommitResponse{Dequeued: res.Dequeued}, nil
}

func (e extension) WaitDequeue(ctx context.Context, req *storageextpb.WaitQueueRequest) (*storageextpb.WaitDequeueResponse, error) {
	v, err := e.s.store.WaitDequeue(ctx, req.GetQueue())
	if err != nil {
		return nil, err
	}
	return &storageextpb.WaitDequeueResponse{Value: v}, nil
}

func (e extension) WaitQueue(ctx context.Context, req *storageextpb.WaitQueueRequest) (*storageextpb.WaitQueueResponse, error) {
	if err := e.s.store.WaitQueue(ctx, req.GetQueue()); err != nil {
		return nil, err
	}
	return &storageextpb.WaitQueueResponse{}, nil
}

func (e extension) GetKeysByPrefix(ctx context.Context, req *storageextpb.GetKeysByPrefixRequest) (*storageextpb.GetKeysByPrefixResponse, error) {
	keys, err := e.s.store.GetKeysByPrefix(ctx, req.GetPrefix())
	if err != nil {
		return nil, err
	}
	return &storageextpb.GetKeysByPrefixResponse{Keys: keys}, nil
}

func (e extension) Range(ctx context.Context, req *storageextpb.RangeRequest) (*storageextpb.RangeResponse, error) {
	limit := int(req.GetLimit())
	if limit <= 0 || limit > limits.MaxRangeEntries {
		limit = limits.MaxRangeEntries
	}
	end := req.GetEnd()
	if req.GetUnboundedEnd() {
		if len(end) != 0 {
			return nil, teaclave.Errorf(teaclave.KindInvalidArgument, "range: end given with unbounded_end")
		}
		end = nil
	} else if end == nil {
		end = []byte{}
	}
	kvs, err := e.s.store.Range(ctx, req.GetStart(), end, limit, req.GetReverse())
	if err != nil {
		return nil, err
	}
	resp := &storageextpb.RangeResponse{Entries: make([]*storageextpb.Entry, len(kvs))}
	for i, kv := range kvs {
		resp.Entries[i] = &storageextpb.Entry{Key: kv.Key, Value: kv.Value, Version: kv.Version}
	}
	if n := len(kvs); n > 0 {
		if n == limit {
			resp.Truncated = true
		} else {
			// The store may have stopped early at its result-size cap
			// without saying so: look for one more entry.
			last := kvs[n-1].Key
			nextStart, nextEnd := append(bytes.Clone(last), 0), end
			if req.GetReverse() {
				nextStart, nextEnd = req.GetStart(), last
			}
			more, err := e.s.store.Range(ctx, nextStart, nextEnd, 1, req.GetReverse())
			if err != nil {
				return nil, err
			}
			resp.Truncated = len(more) > 0
		}
	}
	return resp, nil
}
