package scheduler

import (
	"context"
	"time"

	"github.com/teaclave-go/teaclave"
)

// Dispatcher is the scheduler as an execution node calls it. *Service
// implements it in process and *Client over the attested transport, so a
// node behaves the same with either. Errors are *teaclave.Error values; a
// call made under a lease the scheduler has taken back fails with
// KindFailedPrecondition, and a heartbeat from a node the scheduler does
// not know (it restarted, or gave the node up) with KindNotFound, after
// which the node registers again.
type Dispatcher interface {
	// RegisterNode registers a node, or registers it again under its
	// previous id with the leases it still holds.
	RegisterNode(ctx context.Context, spec NodeSpec) (NodeRegistration, error)
	// Heartbeat keeps the node and the leases it lists alive, and tells it
	// which of them to stop or abandon.
	Heartbeat(ctx context.Context, node string, held []string) (HeartbeatReply, error)
	// Work opens the node's stream of commands. A node has one stream at
	// a time: opening another ends the previous one.
	Work(ctx context.Context, node string) (WorkStream, error)
	// StartTask reports that the node runs the task: the task becomes
	// Running.
	StartTask(ctx context.Context, lease Lease) error
	// CompleteTask reports the task's outcome; the task record and its
	// output records are written in one commit.
	CompleteTask(ctx context.Context, lease Lease, c Completion) error
	// FetchPayload returns a function's payload if it still has the given
	// SHA-256.
	FetchPayload(ctx context.Context, function teaclave.ID, digest teaclave.Digest) ([]byte, error)
	// ClaimNonce records an AES-GCM (key, iv) digest (see NonceDigest);
	// it fails with KindAlreadyExists if the digest was claimed before.
	ClaimNonce(ctx context.Context, digest teaclave.Digest) error
}

var (
	_ Dispatcher = (*Service)(nil)
	_ Dispatcher = (*Client)(nil)
)

// NodeSpec describes an execution node.
type NodeSpec struct {
	// ID is empty for a new node, or the id the node was given before.
	ID string
	// Executors are the executors the node runs.
	Executors []teaclave.Executor
	// Capacity is how many tasks the node runs at once.
	Capacity int
	// Held are the leases the node still holds when it registers again.
	Held []string
}

// NodeRegistration is the scheduler's answer to RegisterNode.
type NodeRegistration struct {
	// ID is the node's id.
	ID string
	// HeartbeatInterval is how often the node must heartbeat.
	HeartbeatInterval time.Duration
	// LeaseTimeout is how long the scheduler waits for a heartbeat
	// before it takes the node's leases back.
	LeaseTimeout time.Duration
	// Kept are the held leases the node keeps; it abandons the others.
	Kept []string
}

// HeartbeatReply tells a node what to do with the leases it holds.
type HeartbeatReply struct {
	// Stop lists leases whose tasks were canceled: the node stops them
	// and reports them canceled.
	Stop []string
	// Dropped lists leases the node no longer holds: it abandons them
	// without reporting.
	Dropped []string
}

// Lease names a task held by a node: the lease id the scheduler granted
// and the task it covers.
type Lease struct {
	ID     string
	TaskID teaclave.ID
}

// Assignment is a task leased to a node.
type Assignment struct {
	Lease Lease
	// Attempt is 1 for the task's first lease and one more for every
	// re-staging.
	Attempt int
	// Task is the staged task. It is shared: read it, never change it.
	Task *teaclave.StagedTask
}

// Command is one item of a node's work stream: exactly one field is set.
type Command struct {
	// Assignment is a new task to run.
	Assignment *Assignment
	// Stop is a lease whose task was canceled.
	Stop string
}

// WorkStream is a node's stream of commands.
type WorkStream interface {
	// Recv blocks until the next command. It fails when the stream's
	// context ends, when the node opens another stream or is given up,
	// and when the scheduler stops.
	Recv() (Command, error)
}

// Completion is a task's outcome as a node reports it.
type Completion struct {
	// Result is Ok (the function returned; tags for every output) or Err
	// (the task failed, with the reason).
	Result teaclave.TaskResult
	// Canceled says the node stopped the task because it was told to.
	Canceled bool
}
