package teaclave

import "context"

// Store is the storage seam every service persists through: Teaclave's six
// key-value and queue operations plus atomic conditional commits, blocking
// dequeue and ordered ranges. Implementations are the sealed LevelDB store,
// the in-memory store and the storage service's gRPC client; all pass the
// conformance suite in storage/xtest.
//
// Keys and values are opaque bytes. Queues are implicit (created by their
// first Enqueue) and live in a namespace of their own: queue elements are
// never visible to Get, GetKeysByPrefix or Range, and a queue may share its
// name with a key.
//
// Errors are *Error values: KindNotFound for a missing key or an empty
// queue, KindFailedPrecondition for a Commit whose conditions do not hold,
// KindInvalidArgument or KindResourceExhausted for keys and values outside
// the store's documented limits, and the context's error kind when ctx ends.
type Store interface {
	// Get returns the value stored at key and its version. The version is
	// non-zero and changes on every write of the key (a delete followed by
	// a put included), so it can guard a later Commit.
	Get(ctx context.Context, key []byte) (value []byte, version uint64, err error)
	// Put stores value at key, creating or replacing it.
	Put(ctx context.Context, key, value []byte) error
	// Delete removes key. Deleting a missing key succeeds.
	Delete(ctx context.Context, key []byte) error
	// Enqueue appends value to the queue.
	Enqueue(ctx context.Context, queue, value []byte) error
	// Dequeue removes and returns the queue's oldest element, or fails with
	// KindNotFound when the queue is empty.
	Dequeue(ctx context.Context, queue []byte) ([]byte, error)
	// GetKeysByPrefix returns, in key order, every key that begins with
	// prefix (the whole key, not the suffix). Unlike Teaclave it never
	// returns a key without the prefix.
	GetKeysByPrefix(ctx context.Context, prefix []byte) ([][]byte, error)

	// Commit applies ops atomically if every condition holds, and returns
	// the values that dequeue operations moved, in op order. If any
	// condition fails, or a dequeue op finds its queue empty, it returns a
	// KindFailedPrecondition error and writes nothing. Ops apply in order,
	// so a later op sees an earlier one's effect.
	Commit(ctx context.Context, conds []Condition, ops []Op) (CommitResult, error)
	// WaitDequeue removes and returns the queue's oldest element, blocking
	// until there is one or ctx ends.
	WaitDequeue(ctx context.Context, queue []byte) ([]byte, error)
	// WaitQueue blocks until the queue has an element or ctx ends, without
	// removing it. With a Commit that dequeues into a key it lets a
	// consumer move an element into a durable record with no window in
	// which a crash loses it.
	WaitQueue(ctx context.Context, queue []byte) error
	// Range returns up to limit entries with start <= key < end in key
	// order, or in reverse key order when reverse is set. A nil end means
	// no upper bound; limit <= 0 means no limit beyond the store's own cap
	// (see the implementation's documentation).
	Range(ctx context.Context, start, end []byte, limit int, reverse bool) ([]KV, error)
}

// KV is one entry returned by Range.
type KV struct {
	Key     []byte
	Value   []byte
	Version uint64
}

// ConditionKind says what a Condition requires of its key.
type ConditionKind uint8

// Condition kinds.
const (
	// CondAbsent requires that the key does not exist.
	CondAbsent ConditionKind = iota + 1
	// CondVersion requires that the key exists at exactly Version.
	CondVersion
)

// Condition is a precondition of a Commit.
type Condition struct {
	Kind    ConditionKind
	Key     []byte
	Version uint64
}

// Absent is the condition that key does not exist.
func Absent(key []byte) Condition { return Condition{Kind: CondAbsent, Key: key} }

// AtVersion is the condition that key exists at version v.
func AtVersion(key []byte, v uint64) Condition {
	return Condition{Kind: CondVersion, Key: key, Version: v}
}

// OpKind says what an Op does.
type OpKind uint8

// Op kinds.
const (
	// OpPut stores Value at Key.
	OpPut OpKind = iota + 1
	// OpDelete removes Key.
	OpDelete
	// OpEnqueue appends Value to Queue.
	OpEnqueue
	// OpDequeueInto moves the oldest element of Queue to Key.
	OpDequeueInto
)

// Op is one write of a Commit.
type Op struct {
	Kind  OpKind
	Key   []byte
	Value []byte
	Queue []byte
}

// PutOp stores value at key.
func PutOp(key, value []byte) Op { return Op{Kind: OpPut, Key: key, Value: value} }

// DeleteOp removes key.
func DeleteOp(key []byte) Op { return Op{Kind: OpDelete, Key: key} }

// EnqueueOp appends value to queue.
func EnqueueOp(queue, value []byte) Op { return Op{Kind: OpEnqueue, Queue: queue, Value: value} }

// DequeueIntoOp moves the oldest element of queue to key.
func DequeueIntoOp(queue, key []byte) Op { return Op{Kind: OpDequeueInto, Queue: queue, Key: key} }

// CommitResult reports what a successful Commit did.
type CommitResult struct {
	// Dequeued holds, for each OpDequeueInto in op order, the value it
	// moved.
	Dequeued [][]byte
}
