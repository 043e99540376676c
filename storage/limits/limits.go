// Package limits holds the size limits every teaclave.Store of this module
// enforces, and the checks that apply them, so that the sealed LevelDB
// store, the in-memory store and the storage service's gRPC client reject
// the same requests with the same error kinds.
//
// The limits are sized for the wire: a Put of the largest key and value, or
// a Commit at its size limit, fits in a default 4 MiB gRPC message with room
// (64 KiB) for the framing. A key or queue name outside the limits is
// malformed (KindInvalidArgument); a value, a Commit or a result too large
// is KindResourceExhausted. A rejected request writes nothing.
package limits

import (
	"context"
	"fmt"
	"strings"

	"github.com/teaclave-go/teaclave"
)

const (
	// MaxKeySize is the largest key or queue name, in bytes. Keys and queue
	// names are never empty.
	MaxKeySize = 1024
	// MaxValueSize is the largest value or queue element, in bytes: 4 MiB
	// less 64 KiB of room for the key and the message framing.
	MaxValueSize = 4<<20 - 64<<10
	// MaxCommitOps is the largest number of ops, and separately of
	// conditions, in one Commit.
	MaxCommitOps = 1024
	// MaxCommitSize bounds the keys, queue names and values of one Commit's
	// ops and conditions together, in bytes.
	MaxCommitSize = 4<<20 - 64<<10
	// MaxResultSize bounds what one call returns: the values a Commit
	// dequeues, the keys GetKeysByPrefix lists and the entries Range
	// returns (Range stops early instead; the others fail with
	// KindResourceExhausted and write nothing).
	MaxResultSize = 4<<20 - 64<<10
	// MaxRangeEntries is the most entries one Range returns, whatever its
	// limit argument.
	MaxRangeEntries = 1000
	// MaxBoundSize is the longest Range bound: a key and one more byte, so
	// that the successor of any key can be expressed.
	MaxBoundSize = MaxKeySize + 1
	// EntryOverhead is what each listed key or range entry counts beyond
	// its bytes against MaxResultSize, standing for its framing.
	EntryOverhead = 16
)

// CheckKey returns a KindInvalidArgument error if key is empty or longer
// than MaxKeySize.
func CheckKey(key []byte) error { return checkName("key", key) }

// CheckQueue returns a KindInvalidArgument error if the queue name is empty
// or longer than MaxKeySize.
func CheckQueue(queue []byte) error { return checkName("queue name", queue) }

func checkName(what string, b []byte) error {
	if len(b) == 0 {
		return teaclave.Errorf(teaclave.KindInvalidArgument, "storage: %s is empty", what)
	}
	if len(b) > MaxKeySize {
		return teaclave.Errorf(teaclave.KindInvalidArgument,
			"storage: %s is %d bytes, over the limit of %d", what, len(b), MaxKeySize)
	}
	return nil
}

// CheckValue returns a KindResourceExhausted error if value is longer than
// MaxValueSize. Empty values are legal.
func CheckValue(value []byte) error {
	if len(value) > MaxValueSize {
		return teaclave.Errorf(teaclave.KindResourceExhausted,
			"storage: value is %d bytes, over the limit of %d", len(value), MaxValueSize)
	}
	return nil
}

// CheckPrefix returns a KindInvalidArgument error if a GetKeysByPrefix
// prefix is longer than MaxKeySize. The empty prefix lists every key.
func CheckPrefix(prefix []byte) error {
	if len(prefix) > MaxKeySize {
		return teaclave.Errorf(teaclave.KindInvalidArgument,
			"storage: prefix is %d bytes, over the limit of %d", len(prefix), MaxKeySize)
	}
	return nil
}

// CheckRange returns a KindInvalidArgument error if a Range bound is longer
// than MaxBoundSize.
func CheckRange(start, end []byte) error {
	if len(start) > MaxBoundSize || len(end) > MaxBoundSize {
		return teaclave.Errorf(teaclave.KindInvalidArgument,
			"storage: range bound over the limit of %d bytes", MaxBoundSize)
	}
	return nil
}

// RangeCap returns the number of entries a Range with the given limit may
// return: limit itself, or MaxRangeEntries when limit is not positive or
// larger.
func RangeCap(limit int) int {
	if limit <= 0 || limit > MaxRangeEntries {
		return MaxRangeEntries
	}
	return limit
}

// CheckCommit validates a Commit's conditions and ops: known kinds, the
// fields each kind needs (and no others set: an empty field counts as
// unset, as it does on the wire), keys, queue names and values within the
// limits, and the counts and total size within MaxCommitOps and
// MaxCommitSize.
func CheckCommit(conds []teaclave.Condition, ops []teaclave.Op) error {
	if len(conds) > MaxCommitOps || len(ops) > MaxCommitOps {
		return teaclave.Errorf(teaclave.KindResourceExhausted,
			"storage: commit has %d conditions and %d ops, over the limit of %d each",
			len(conds), len(ops), MaxCommitOps)
	}
	total := 0
	for i, c := range conds {
		if err := CheckKey(c.Key); err != nil {
			return at(fmt.Sprintf("condition %d", i), err)
		}
		switch c.Kind {
		case teaclave.CondAbsent:
			if c.Version != 0 {
				return teaclave.Errorf(teaclave.KindInvalidArgument,
					"storage: condition %d: an absent condition carries no version", i)
			}
		case teaclave.CondVersion:
			if c.Version == 0 {
				return teaclave.Errorf(teaclave.KindInvalidArgument,
					"storage: condition %d: version 0 never exists; use an absent condition", i)
			}
		default:
			return teaclave.Errorf(teaclave.KindInvalidArgument,
				"storage: condition %d: unknown kind %d", i, c.Kind)
		}
		total += len(c.Key)
	}
	for i, op := range ops {
		if err := checkOp(op); err != nil {
			return at(fmt.Sprintf("op %d", i), err)
		}
		total += len(op.Key) + len(op.Queue) + len(op.Value)
	}
	if total > MaxCommitSize {
		return teaclave.Errorf(teaclave.KindResourceExhausted,
			"storage: commit is %d bytes, over the limit of %d", total, MaxCommitSize)
	}
	return nil
}

// at puts where into the message of a check's error: "storage: op 3: ...".
func at(where string, err error) error {
	e, ok := err.(*teaclave.Error)
	if !ok {
		return err
	}
	msg, _ := strings.CutPrefix(e.Msg, "storage: ")
	return &teaclave.Error{Kind: e.Kind, Msg: "storage: " + where + ": " + msg, Err: e.Err}
}

func checkOp(op teaclave.Op) error {
	var needKey, needQueue, needValue bool
	switch op.Kind {
	case teaclave.OpPut:
		needKey, needValue = true, true
	case teaclave.OpDelete:
		needKey = true
	case teaclave.OpEnqueue:
		needQueue, needValue = true, true
	case teaclave.OpDequeueInto:
		needKey, needQueue = true, true
	default:
		return teaclave.Errorf(teaclave.KindInvalidArgument, "storage: unknown op kind %d", op.Kind)
	}
	if needKey {
		if err := CheckKey(op.Key); err != nil {
			return err
		}
	} else if len(op.Key) > 0 {
		return teaclave.Errorf(teaclave.KindInvalidArgument, "storage: %s op carries a key", opName(op.Kind))
	}
	if needQueue {
		if err := CheckQueue(op.Queue); err != nil {
			return err
		}
	} else if len(op.Queue) > 0 {
		return teaclave.Errorf(teaclave.KindInvalidArgument, "storage: %s op carries a queue", opName(op.Kind))
	}
	if needValue {
		if err := CheckValue(op.Value); err != nil {
			return err
		}
	} else if len(op.Value) > 0 {
		return teaclave.Errorf(teaclave.KindInvalidArgument, "storage: %s op carries a value", opName(op.Kind))
	}
	return nil
}

func opName(k teaclave.OpKind) string {
	switch k {
	case teaclave.OpPut:
		return "put"
	case teaclave.OpDelete:
		return "delete"
	case teaclave.OpEnqueue:
		return "enqueue"
	case teaclave.OpDequeueInto:
		return "dequeue-into"
	}
	return fmt.Sprintf("op(%d)", k)
}

// ContextError returns nil if ctx has not ended, else an *teaclave.Error of
// the context's kind (KindCanceled or KindDeadlineExceeded) wrapping its
// error.
func ContextError(ctx context.Context) error {
	err := ctx.Err()
	if err == nil {
		return nil
	}
	return teaclave.Wrap(teaclave.KindOf(err), "storage: "+err.Error(), err)
}
