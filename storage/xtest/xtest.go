// Package xtest is the conformance suite of teaclave.Store, in the manner of
// Vault's sdk/physical/testing.go: every store of this module (the sealed
// LevelDB store, the in-memory store, the storage service's gRPC client)
// runs ExerciseStore from its tests, and so can a user's own store.
//
//	func TestConformance(t *testing.T) {
//		xtest.ExerciseStore(t, func(t *testing.T) teaclave.Store {
//			s := open(t)
//			t.Cleanup(func() { s.Close() })
//			return s
//		})
//	}
//
// open must return an empty store each time it is called; each exercise
// opens its own. The limits checked are those of package storage/limits.
// The concurrency exercises are meant to run under the race detector;
// -short divides their work by ten.
//
// NewMemStore gives other packages' tests an in-memory store with fault
// switches.
package xtest

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/teaclave-go/teaclave"
	"github.com/teaclave-go/teaclave/storage/limits"
	"github.com/teaclave-go/teaclave/storage/memstore"
)

// Opener returns a new, empty store for one exercise; it registers the
// store's cleanup with t.
type Opener func(t *testing.T) teaclave.Store

// NewMemStore returns an empty in-memory store with fault switches
// (package storage/memstore), for tests of packages that depend on a
// teaclave.Store.
func NewMemStore() *memstore.Store { return memstore.New() }

// ExerciseStore runs every exercise of the suite, each as a subtest on a
// store of its own.
func ExerciseStore(t *testing.T, open Opener) {
	t.Helper()
	for _, e := range []struct {
		name string
		run  func(*testing.T, Opener)
	}{
		{"Basic", ExerciseBasic},
		{"Versions", ExerciseVersions},
		{"Conditions", ExerciseConditions},
		{"CommitAtomic", ExerciseCommitAtomic},
		{"CommitOrder", ExerciseCommitOrder},
		{"Queues", ExerciseQueues},
		{"KeysByPrefix", ExerciseKeysByPrefix},
		{"Range", ExerciseRange},
		{"Wait", ExerciseWait},
		{"Limits", ExerciseLimits},
		{"Context", ExerciseContext},
		{"ConcurrentQueue", ExerciseConcurrentQueue},
		{"ConcurrentCAS", ExerciseConcurrentCAS},
	} {
		t.Run(e.name, func(t *testing.T) { e.run(t, open) })
	}
}

func ctxFor(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	t.Cleanup(cancel)
	return ctx
}

func b(s string) []byte { return []byte(s) }

// wantKind fails t unless err is an error of kind k.
func wantKind(t *testing.T, err error, k teaclave.Kind, what string) {
	t.Helper()
	if err == nil {
		t.Fatalf("%s: got no error, want %v", what, k)
	}
	if got := teaclave.KindOf(err); got != k {
		t.Fatalf("%s: got error %q of kind %v, want %v", what, err, got, k)
	}
}

func must(t *testing.T, err error, what string) {
	t.Helper()
	if err != nil {
		t.Fatalf("%s: %v", what, err)
	}
}

func mustGet(t *testing.T, ctx context.Context, s teaclave.Store, key string) ([]byte, uint64) {
	t.Helper()
	v, ver, err := s.Get(ctx, b(key))
	if err != nil {
		t.Fatalf("Get(%q): %v", key, err)
	}
	if ver == 0 {
		t.Fatalf("Get(%q): version 0", key)
	}
	return v, ver
}

func wantValue(t *testing.T, ctx context.Context, s teaclave.Store, key, want string) uint64 {
	t.Helper()
	v, ver := mustGet(t, ctx, s, key)
	if string(v) != want {
		t.Fatalf("Get(%q) = %q, want %q", key, v, want)
	}
	return ver
}

func wantAbsent(t *testing.T, ctx context.Context, s teaclave.Store, key string) {
	t.Helper()
	v, _, err := s.Get(ctx, b(key))
	if err == nil {
		t.Fatalf("Get(%q) = %q, want not found", key, v)
	}
	wantKind(t, err, teaclave.KindNotFound, fmt.Sprintf("Get(%q)", key))
}

// drain dequeues every element of q.
func drain(t *testing.T, ctx context.Context, s teaclave.Store, q string) []string {
	t.Helper()
	var out []string
	for {
		v, err := s.Dequeue(ctx, b(q))
		if err != nil {
			wantKind(t, err, teaclave.KindNotFound, fmt.Sprintf("Dequeue(%q)", q))
			return out
		}
		out = append(out, string(v))
	}
}

func wantQueue(t *testing.T, ctx context.Context, s teaclave.Store, q string, want ...string) {
	t.Helper()
	got := drain(t, ctx, s, q)
	if !slices.Equal(got, want) {
		t.Fatalf("queue %q held %q, want %q", q, got, want)
	}
}

// dump returns every key, value and version, for before/after comparisons.
func dump(t *testing.T, ctx context.Context, s teaclave.Store) []teaclave.KV {
	t.Helper()
	var all []teaclave.KV
	var start []byte
	for {
		kvs, err := s.Range(ctx, start, nil, 0, false)
		must(t, err, "Range")
		if len(kvs) == 0 {
			return all
		}
		all = append(all, kvs...)
		start = append(bytes.Clone(kvs[len(kvs)-1].Key), 0)
	}
}

func fmtKVs(kvs []teaclave.KV) string {
	var sb strings.Builder
	for _, kv := range kvs {
		fmt.Fprintf(&sb, "[%q=%.40q@%d]", kv.Key, kv.Value, kv.Version)
	}
	return sb.String()
}

func sameDump(a, b []teaclave.KV) bool {
	return slices.EqualFunc(a, b, func(x, y teaclave.KV) bool {
		return bytes.Equal(x.Key, y.Key) && bytes.Equal(x.Value, y.Value) && x.Version == y.Version
	})
}

// ExerciseBasic covers Get, Put and Delete: missing keys, empty values,
// overwrites, idempotent deletes and that the store keeps its own copies of
// keys and values.
func ExerciseBasic(t *testing.T, open Opener) {
	ctx := ctxFor(t)
	s := open(t)
	wantAbsent(t, ctx, s, "k")
	must(t, s.Put(ctx, b("k"), b("v1")), "Put")
	wantValue(t, ctx, s, "k", "v1")
	must(t, s.Put(ctx, b("k"), b("v2")), "Put overwrite")
	wantValue(t, ctx, s, "k", "v2")

	// Empty values are legal and read back empty, not missing.
	must(t, s.Put(ctx, b("empty"), nil), "Put empty")
	if v, _ := mustGet(t, ctx, s, "empty"); len(v) != 0 {
		t.Fatalf("empty value read back as %q", v)
	}

	must(t, s.Delete(ctx, b("k")), "Delete")
	wantAbsent(t, ctx, s, "k")
	must(t, s.Delete(ctx, b("k")), "Delete missing")
	must(t, s.Delete(ctx, b("never")), "Delete never written")

	// Binary keys and values, including 0x00 and 0xff bytes.
	bk, bv := []byte{0, 0xff, 1, 0}, []byte{0xff, 0, 0xfe}
	must(t, s.Put(ctx, bk, bv), "Put binary")
	got, _, err := s.Get(ctx, bk)
	must(t, err, "Get binary")
	if !bytes.Equal(got, bv) {
		t.Fatalf("binary value read back as %x", got)
	}

	// The store copies what it is given and what it returns.
	key, val := b("alias"), b("original")
	must(t, s.Put(ctx, key, val), "Put")
	key[0], val[0] = 'X', 'X'
	v, _ := mustGet(t, ctx, s, "alias")
	if string(v) != "original" {
		t.Fatalf("store aliased the caller's value: %q", v)
	}
	v[0] = 'Y'
	wantValue(t, ctx, s, "alias", "original")
}

// ExerciseVersions checks that versions are non-zero and change on every
// write of a key, whatever the write: Put (even of the same value), a delete
// followed by a put, a Commit's put and a dequeue into the key.
func ExerciseVersions(t *testing.T, open Opener) {
	ctx := ctxFor(t)
	s := open(t)
	seen := map[uint64]string{}
	note := func(what string, v uint64) {
		t.Helper()
		if v == 0 {
			t.Fatalf("%s: version 0", what)
		}
		if prev, ok := seen[v]; ok {
			t.Fatalf("%s: version %d already seen after %s", what, v, prev)
		}
		seen[v] = what
	}
	must(t, s.Put(ctx, b("k"), b("same")), "Put")
	note("first put", wantValue(t, ctx, s, "k", "same"))
	must(t, s.Put(ctx, b("k"), b("same")), "Put")
	note("second put of the same value", wantValue(t, ctx, s, "k", "same"))
	must(t, s.Delete(ctx, b("k")), "Delete")
	must(t, s.Put(ctx, b("k"), b("same")), "Put")
	note("put after delete", wantValue(t, ctx, s, "k", "same"))
	_, err := s.Commit(ctx, nil, []teaclave.Op{teaclave.PutOp(b("k"), b("same"))})
	must(t, err, "Commit put")
	note("commit put", wantValue(t, ctx, s, "k", "same"))
	must(t, s.Enqueue(ctx, b("q"), b("same")), "Enqueue")
	_, err = s.Commit(ctx, nil, []teaclave.Op{teaclave.DequeueIntoOp(b("q"), b("k"))})
	must(t, err, "Commit dequeue-into")
	note("dequeue into", wantValue(t, ctx, s, "k", "same"))

	// Two puts in one commit still leave a version no earlier write had.
	_, err = s.Commit(ctx, nil, []teaclave.Op{
		teaclave.PutOp(b("k"), b("a")), teaclave.PutOp(b("k"), b("same")),
	})
	must(t, err, "Commit two puts")
	note("two puts in a commit", wantValue(t, ctx, s, "k", "same"))

	// Writing another key leaves this key's version alone.
	_, before := mustGet(t, ctx, s, "k")
	must(t, s.Put(ctx, b("other"), b("x")), "Put other")
	if _, after := mustGet(t, ctx, s, "k"); after != before {
		t.Fatalf("version of k moved from %d to %d on a write of another key", before, after)
	}
	// Range reports the same versions as Get.
	kvs, err := s.Range(ctx, b("k"), b("k\x00"), 0, false)
	must(t, err, "Range")
	if len(kvs) != 1 || kvs[0].Version != before {
		t.Fatalf("Range = %+v, want k at version %d", kvs, before)
	}
}

// ExerciseConditions covers Absent and AtVersion conditions, alone and
// together, failing and holding.
func ExerciseConditions(t *testing.T, open Opener) {
	ctx := ctxFor(t)
	s := open(t)
	put := []teaclave.Op{teaclave.PutOp(b("out"), b("1"))}

	_, err := s.Commit(ctx, []teaclave.Condition{teaclave.Absent(b("k"))}, put)
	must(t, err, "Absent on a missing key")
	wantValue(t, ctx, s, "out", "1")

	must(t, s.Put(ctx, b("k"), b("v")), "Put")
	_, ver := mustGet(t, ctx, s, "k")
	_, err = s.Commit(ctx, []teaclave.Condition{teaclave.Absent(b("k"))},
		[]teaclave.Op{teaclave.PutOp(b("out"), b("2"))})
	wantKind(t, err, teaclave.KindFailedPrecondition, "Absent on an existing key")
	wantValue(t, ctx, s, "out", "1")

	_, err = s.Commit(ctx, []teaclave.Condition{teaclave.AtVersion(b("k"), ver)},
		[]teaclave.Op{teaclave.PutOp(b("out"), b("3"))})
	must(t, err, "AtVersion at the current version")
	wantValue(t, ctx, s, "out", "3")

	_, err = s.Commit(ctx, []teaclave.Condition{teaclave.AtVersion(b("k"), ver+1000)},
		[]teaclave.Op{teaclave.PutOp(b("out"), b("4"))})
	wantKind(t, err, teaclave.KindFailedPrecondition, "AtVersion at a wrong version")
	_, err = s.Commit(ctx, []teaclave.Condition{teaclave.AtVersion(b("missing"), ver)},
		[]teaclave.Op{teaclave.PutOp(b("out"), b("4"))})
	wantKind(t, err, teaclave.KindFailedPrecondition, "AtVersion on a missing key")

	// A stale version fails after the key is rewritten, even with the same
	// value, and after a delete and re-put.
	must(t, s.Put(ctx, b("k"), b("v")), "Put same value")
	_, err = s.Commit(ctx, []teaclave.Condition{teaclave.AtVersion(b("k"), ver)},
		[]teaclave.Op{teaclave.PutOp(b("out"), b("5"))})
	wantKind(t, err, teaclave.KindFailedPrecondition, "AtVersion after a rewrite")
	_, ver2 := mustGet(t, ctx, s, "k")
	must(t, s.Delete(ctx, b("k")), "Delete")
	_, err = s.Commit(ctx, []teaclave.Condition{teaclave.AtVersion(b("k"), ver2)},
		[]teaclave.Op{teaclave.PutOp(b("out"), b("6"))})
	wantKind(t, err, teaclave.KindFailedPrecondition, "AtVersion on a deleted key")
	must(t, s.Put(ctx, b("k"), b("v")), "Put again")
	_, err = s.Commit(ctx, []teaclave.Condition{teaclave.AtVersion(b("k"), ver2)},
		[]teaclave.Op{teaclave.PutOp(b("out"), b("7"))})
	wantKind(t, err, teaclave.KindFailedPrecondition, "AtVersion after delete and put")
	wantValue(t, ctx, s, "out", "3")

	// Every condition must hold: one failing among several fails all.
	_, ver3 := mustGet(t, ctx, s, "k")
	conds := []teaclave.Condition{
		teaclave.AtVersion(b("k"), ver3), teaclave.Absent(b("nope")), teaclave.Absent(b("out")),
	}
	_, err = s.Commit(ctx, conds, []teaclave.Op{teaclave.PutOp(b("out"), b("8"))})
	wantKind(t, err, teaclave.KindFailedPrecondition, "one of three conditions failing")
	_, err = s.Commit(ctx, conds[:2], []teaclave.Op{teaclave.PutOp(b("out"), b("9"))})
	must(t, err, "two conditions holding")
	wantValue(t, ctx, s, "out", "9")

	// A queue shares no name with keys: Absent holds for a key named like
	// a non-empty queue.
	must(t, s.Enqueue(ctx, b("qname"), b("e")), "Enqueue")
	_, err = s.Commit(ctx, []teaclave.Condition{teaclave.Absent(b("qname"))}, nil)
	must(t, err, "Absent on a key named like a queue")

	// Conditions with no ops: a pure check.
	_, err = s.Commit(ctx, []teaclave.Condition{teaclave.AtVersion(b("k"), ver3)}, nil)
	must(t, err, "condition-only commit")
	_, err = s.Commit(ctx, nil, nil)
	must(t, err, "empty commit")
}

// ExerciseCommitAtomic checks that a Commit that fails writes nothing: not
// its puts, deletes and enqueues, and no dequeue, whether a condition fails
// or a dequeue op finds its queue empty.
func ExerciseCommitAtomic(t *testing.T, open Opener) {
	ctx := ctxFor(t)
	s := open(t)
	must(t, s.Put(ctx, b("keep"), b("old")), "Put")
	must(t, s.Put(ctx, b("gone"), b("still here")), "Put")
	must(t, s.Enqueue(ctx, b("full"), b("e1")), "Enqueue")
	must(t, s.Enqueue(ctx, b("full"), b("e2")), "Enqueue")
	before := dump(t, ctx, s)

	ops := []teaclave.Op{
		teaclave.PutOp(b("keep"), b("new")),
		teaclave.PutOp(b("fresh"), b("x")),
		teaclave.DeleteOp(b("gone")),
		teaclave.EnqueueOp(b("other"), b("o1")),
		teaclave.DequeueIntoOp(b("full"), b("moved")),
	}
	_, err := s.Commit(ctx, []teaclave.Condition{teaclave.Absent(b("keep"))}, ops)
	wantKind(t, err, teaclave.KindFailedPrecondition, "commit with a failing condition")
	if after := dump(t, ctx, s); !sameDump(before, after) {
		t.Fatalf("failed commit changed keys:\nbefore %s\nafter  %s", fmtKVs(before), fmtKVs(after))
	}

	// The last op dequeues from an empty queue: everything before it is
	// undone too, the dequeue from "full" included.
	ops = append(ops, teaclave.DequeueIntoOp(b("empty"), b("moved2")))
	res, err := s.Commit(ctx, nil, ops)
	wantKind(t, err, teaclave.KindFailedPrecondition, "commit dequeuing an empty queue")
	if len(res.Dequeued) != 0 {
		t.Fatalf("failed commit reported dequeued values %q", res.Dequeued)
	}
	if after := dump(t, ctx, s); !sameDump(before, after) {
		t.Fatalf("failed commit changed keys:\nbefore %s\nafter  %s", fmtKVs(before), fmtKVs(after))
	}

	// Dequeuing more elements than a queue holds fails as a whole.
	_, err = s.Commit(ctx, nil, []teaclave.Op{
		teaclave.DequeueIntoOp(b("full"), b("m1")),
		teaclave.DequeueIntoOp(b("full"), b("m2")),
		teaclave.DequeueIntoOp(b("full"), b("m3")),
	})
	wantKind(t, err, teaclave.KindFailedPrecondition, "commit dequeuing past the end of a queue")
	if after := dump(t, ctx, s); !sameDump(before, after) {
		t.Fatalf("failed commit changed keys:\nbefore %s\nafter  %s", fmtKVs(before), fmtKVs(after))
	}
	wantQueue(t, ctx, s, "full", "e1", "e2")
	wantQueue(t, ctx, s, "other")
	wantQueue(t, ctx, s, "empty")
}

// ExerciseCommitOrder checks that ops apply in order, each seeing the
// effects of the ones before, and that CommitResult.Dequeued lists the
// moved values in op order.
func ExerciseCommitOrder(t *testing.T, open Opener) {
	ctx := ctxFor(t)
	s := open(t)
	_, err := s.Commit(ctx, nil, []teaclave.Op{
		teaclave.PutOp(b("a"), b("1")), teaclave.PutOp(b("a"), b("2")),
		teaclave.PutOp(b("b"), b("1")), teaclave.DeleteOp(b("b")),
		teaclave.DeleteOp(b("c")), teaclave.PutOp(b("c"), b("3")),
	})
	must(t, err, "Commit")
	wantValue(t, ctx, s, "a", "2")
	wantAbsent(t, ctx, s, "b")
	wantValue(t, ctx, s, "c", "3")

	// An element enqueued earlier in the commit can be dequeued later in
	// it, behind the elements already queued.
	must(t, s.Enqueue(ctx, b("q"), b("old")), "Enqueue")
	res, err := s.Commit(ctx, nil, []teaclave.Op{
		teaclave.EnqueueOp(b("q"), b("new1")),
		teaclave.DequeueIntoOp(b("q"), b("x")),
		teaclave.EnqueueOp(b("q"), b("new2")),
		teaclave.DequeueIntoOp(b("q"), b("y")),
		teaclave.PutOp(b("y"), b("overwritten")),
		teaclave.DequeueIntoOp(b("q"), b("z")),
	})
	must(t, err, "Commit with enqueues and dequeues")
	if want := []string{"old", "new1", "new2"}; !slices.Equal(strs(res.Dequeued), want) {
		t.Fatalf("Dequeued = %q, want %q", res.Dequeued, want)
	}
	wantValue(t, ctx, s, "x", "old")
	wantValue(t, ctx, s, "y", "overwritten")
	wantValue(t, ctx, s, "z", "new2")
	wantQueue(t, ctx, s, "q")

	// Dequeue-into replaces an existing key; a commit with only puts
	// reports nothing dequeued.
	must(t, s.Enqueue(ctx, b("q"), b("e")), "Enqueue")
	must(t, s.Put(ctx, b("dst"), b("before")), "Put")
	res, err = s.Commit(ctx, nil, []teaclave.Op{teaclave.DequeueIntoOp(b("q"), b("dst"))})
	must(t, err, "Commit")
	if len(res.Dequeued) != 1 || string(res.Dequeued[0]) != "e" {
		t.Fatalf("Dequeued = %q, want [e]", res.Dequeued)
	}
	wantValue(t, ctx, s, "dst", "e")
	res, err = s.Commit(ctx, nil, []teaclave.Op{teaclave.PutOp(b("p"), b("v"))})
	must(t, err, "Commit")
	if len(res.Dequeued) != 0 {
		t.Fatalf("put-only commit reported Dequeued = %q", res.Dequeued)
	}
}

func strs(bs [][]byte) []string {
	out := make([]string, len(bs))
	for i, x := range bs {
		out[i] = string(x)
	}
	return out
}

// ExerciseQueues covers FIFO order, empty queues, empty elements,
// independent queues, and that queues live apart from keys: Get, Range and
// GetKeysByPrefix never see queue data, and a queue may share its name with
// a key.
func ExerciseQueues(t *testing.T, open Opener) {
	ctx := ctxFor(t)
	s := open(t)
	_, err := s.Dequeue(ctx, b("q"))
	wantKind(t, err, teaclave.KindNotFound, "Dequeue of a never-used queue")
	for i := range 100 {
		must(t, s.Enqueue(ctx, b("q"), fmt.Appendf(nil, "%03d", i)), "Enqueue")
	}
	must(t, s.Enqueue(ctx, b("q"), nil), "Enqueue empty element")
	must(t, s.Enqueue(ctx, b("q2"), b("other")), "Enqueue q2")
	for i := range 100 {
		v, err := s.Dequeue(ctx, b("q"))
		must(t, err, "Dequeue")
		if want := fmt.Sprintf("%03d", i); string(v) != want {
			t.Fatalf("Dequeue #%d = %q, want %q", i, v, want)
		}
	}
	v, err := s.Dequeue(ctx, b("q"))
	must(t, err, "Dequeue empty element")
	if len(v) != 0 {
		t.Fatalf("empty element came back as %q", v)
	}
	_, err = s.Dequeue(ctx, b("q"))
	wantKind(t, err, teaclave.KindNotFound, "Dequeue of an emptied queue")
	// Teaclave's test_dequeue_*: empty, then 1, 2 in order, then empty.
	must(t, s.Enqueue(ctx, b("q"), b("1")), "Enqueue")
	must(t, s.Enqueue(ctx, b("q"), b("2")), "Enqueue")
	wantQueue(t, ctx, s, "q", "1", "2")
	wantQueue(t, ctx, s, "q2", "other")

	// A queue and a key of the same name are separate.
	must(t, s.Put(ctx, b("shared"), b("key value")), "Put")
	must(t, s.Enqueue(ctx, b("shared"), b("element")), "Enqueue")
	wantValue(t, ctx, s, "shared", "key value")
	must(t, s.Delete(ctx, b("shared")), "Delete")
	must(t, s.Enqueue(ctx, b("shared"), b("element2")), "Enqueue")
	wantAbsent(t, ctx, s, "shared")
	wantQueue(t, ctx, s, "shared", "element", "element2")
	must(t, s.Put(ctx, b("shared"), b("key value")), "Put")

	// Queue names that prefix one another, and binary names, stay apart.
	for _, q := range []string{"a", "a-", "a-b", "a\x00", "\x00", "\xff\xff"} {
		must(t, s.Enqueue(ctx, b(q), b("in "+q)), "Enqueue")
	}
	for _, q := range []string{"a", "a-", "a-b", "a\x00", "\x00", "\xff\xff"} {
		wantQueue(t, ctx, s, q, "in "+q)
	}

	// Leave elements in several queues, including names that look like
	// Teaclave's queue bookkeeping keys, and check no read of keys shows them.
	for _, q := range []string{"staged-task", "queue-x", "shared", "k"} {
		for i := range 3 {
			must(t, s.Enqueue(ctx, b(q), fmt.Appendf(nil, "elem-%s-%d", q, i)), "Enqueue")
		}
	}
	all := dump(t, ctx, s)
	if len(all) != 1 || string(all[0].Key) != "shared" || string(all[0].Value) != "key value" {
		t.Fatalf("Range sees queue data: %s", fmtKVs(all))
	}
	rev, err := s.Range(ctx, nil, nil, 0, true)
	must(t, err, "Range reverse")
	if len(rev) != 1 {
		t.Fatalf("reverse Range sees queue data: %s", fmtKVs(rev))
	}
	keys, err := s.GetKeysByPrefix(ctx, nil)
	must(t, err, "GetKeysByPrefix")
	if len(keys) != 1 || string(keys[0]) != "shared" {
		t.Fatalf("GetKeysByPrefix sees queue data: %q", keys)
	}
	for _, p := range []string{"queue", "staged", "k", "e", "m", "q"} {
		keys, err := s.GetKeysByPrefix(ctx, b(p))
		must(t, err, "GetKeysByPrefix")
		if len(keys) != 0 {
			t.Fatalf("GetKeysByPrefix(%q) sees queue data: %q", p, keys)
		}
	}
	wantAbsent(t, ctx, s, "k")
	wantAbsent(t, ctx, s, "staged-task")
	wantQueue(t, ctx, s, "k", "elem-k-0", "elem-k-1", "elem-k-2")
}

// ExerciseKeysByPrefix checks that GetKeysByPrefix returns, in key order,
// exactly the keys that begin with the prefix: unlike Teaclave it never
// adds the next key when no key has the prefix.
func ExerciseKeysByPrefix(t *testing.T, open Opener) {
	ctx := ctxFor(t)
	s := open(t)
	check := func(prefix string, want ...string) {
		t.Helper()
		got, err := s.GetKeysByPrefix(ctx, b(prefix))
		must(t, err, "GetKeysByPrefix")
		if !slices.Equal(strs(got), want) {
			t.Fatalf("GetKeysByPrefix(%q) = %q, want %q", prefix, got, want)
		}
	}
	// Teaclave's bug: with no function- key it returned the first key
	// after "function-", here an input- key.
	must(t, s.Put(ctx, b("input-1"), b("x")), "Put")
	check("function")
	check("function-")
	for _, k := range []string{"function-2", "function-1", "functio", "function", "function.", "functions", "g", "f"} {
		must(t, s.Put(ctx, b(k), b("x")), "Put")
	}
	check("function-", "function-1", "function-2")
	check("function", "function", "function-1", "function-2", "function.", "functions")
	check("function-1", "function-1")
	check("function-3")
	check("h")
	check("", "f", "functio", "function", "function-1", "function-2", "function.", "functions", "g", "input-1")

	// Prefixes ending in 0xff have no simple successor.
	for _, k := range []string{"a\xff", "a\xff\x00", "a\xff\xff", "b", "a\xfe"} {
		must(t, s.Put(ctx, b(k), b("x")), "Put")
	}
	check("a\xff", "a\xff", "a\xff\x00", "a\xff\xff")
	check("a\xff\xff", "a\xff\xff")
	check("\xff")

	// Deleted keys disappear from the listing.
	must(t, s.Delete(ctx, b("function-1")), "Delete")
	check("function-", "function-2")
}

// ExerciseRange covers Range forward and in reverse, with and without a
// limit and an end, its inclusive start and exclusive end, and empty ranges.
func ExerciseRange(t *testing.T, open Opener) {
	ctx := ctxFor(t)
	s := open(t)
	keys := []string{"\x00", "a", "b", "b\x00", "c", "d", "e\xff"}
	vers := map[string]uint64{}
	for _, k := range keys {
		must(t, s.Put(ctx, b(k), b("v"+k)), "Put")
		_, vers[k] = mustGet(t, ctx, s, k)
	}
	check := func(start, end []byte, limit int, reverse bool, want ...string) {
		t.Helper()
		got, err := s.Range(ctx, start, end, limit, reverse)
		must(t, err, "Range")
		var gk []string
		for _, kv := range got {
			gk = append(gk, string(kv.Key))
			if string(kv.Value) != "v"+string(kv.Key) || kv.Version != vers[string(kv.Key)] {
				t.Fatalf("Range entry %q = %q@%d, want %q@%d", kv.Key, kv.Value, kv.Version, "v"+string(kv.Key), vers[string(kv.Key)])
			}
		}
		if !slices.Equal(gk, want) {
			t.Fatalf("Range(%q, %q, %d, %v) = %q, want %q", start, end, limit, reverse, gk, want)
		}
	}
	check(nil, nil, 0, false, keys...)
	check(nil, nil, 0, true, "e\xff", "d", "c", "b\x00", "b", "a", "\x00")
	check(b("b"), b("d"), 0, false, "b", "b\x00", "c")
	check(b("b"), b("d"), 0, true, "c", "b\x00", "b")
	check(b("b\x00"), nil, 0, false, "b\x00", "c", "d", "e\xff")
	check(b("b\x01"), nil, 2, false, "c", "d")
	check(nil, b("c"), 2, true, "b\x00", "b")
	check(b("a"), nil, 1, true, "e\xff")
	check(b("a"), b("a\x00"), 0, false, "a")
	check(b("a"), b("a"), 0, false)
	check(b("d"), b("b"), 0, false)
	check(b("d"), b("b"), 0, true)
	check(b("f"), nil, 0, false)
	check(nil, b("\x00"), 0, true)
	check(nil, nil, -5, false, keys...)

	// Paging with the last key's successor visits everything once.
	for i := range 30 {
		must(t, s.Put(ctx, fmt.Appendf(nil, "p%02d", i), nil), "Put")
	}
	var paged []string
	start := b("p")
	for {
		kvs, err := s.Range(ctx, start, b("q"), 7, false)
		must(t, err, "Range page")
		if len(kvs) == 0 {
			break
		}
		if len(kvs) > 7 {
			t.Fatalf("Range returned %d entries over a limit of 7", len(kvs))
		}
		for _, kv := range kvs {
			paged = append(paged, string(kv.Key))
		}
		start = append(bytes.Clone(kvs[len(kvs)-1].Key), 0)
	}
	if len(paged) != 30 || !slices.IsSorted(paged) {
		t.Fatalf("paging visited %q", paged)
	}
}

// ExerciseWait checks that WaitDequeue and WaitQueue block until an element
// arrives, return at once when one is there, and return the context's kind
// when it ends.
func ExerciseWait(t *testing.T, open Opener) {
	ctx := ctxFor(t)
	s := open(t)

	type res struct {
		v   []byte
		err error
	}
	got := make(chan res, 1)
	go func() {
		v, err := s.WaitDequeue(ctx, b("q"))
		got <- res{v, err}
	}()
	// The waiter must still be blocked: nothing was enqueued. (A slow
	// machine only makes this check weaker, never wrong.)
	select {
	case r := <-got:
		t.Fatalf("WaitDequeue returned %q, %v on an empty queue", r.v, r.err)
	case <-time.After(50 * time.Millisecond):
	}
	must(t, s.Enqueue(ctx, b("other"), b("x")), "Enqueue other queue")
	must(t, s.Put(ctx, b("q"), b("a key")), "Put key named like the queue")
	select {
	case r := <-got:
		t.Fatalf("WaitDequeue returned %q, %v after writes elsewhere", r.v, r.err)
	case <-time.After(50 * time.Millisecond):
	}
	must(t, s.Enqueue(ctx, b("q"), b("e1")), "Enqueue")
	r := <-got
	must(t, r.err, "WaitDequeue")
	if string(r.v) != "e1" {
		t.Fatalf("WaitDequeue = %q, want e1", r.v)
	}
	wantQueue(t, ctx, s, "q")

	// With an element there it returns at once, oldest first.
	must(t, s.Enqueue(ctx, b("q"), b("e2")), "Enqueue")
	must(t, s.Enqueue(ctx, b("q"), b("e3")), "Enqueue")
	v, err := s.WaitDequeue(ctx, b("q"))
	must(t, err, "WaitDequeue")
	if string(v) != "e2" {
		t.Fatalf("WaitDequeue = %q, want e2", v)
	}
	// WaitQueue does not remove the element.
	must(t, s.WaitQueue(ctx, b("q")), "WaitQueue")
	must(t, s.WaitQueue(ctx, b("q")), "WaitQueue again")
	wantQueue(t, ctx, s, "q", "e3")

	// WaitQueue blocks until an enqueue, including one by a Commit.
	done := make(chan error, 1)
	go func() { done <- s.WaitQueue(ctx, b("q")) }()
	select {
	case err := <-done:
		t.Fatalf("WaitQueue returned %v on an empty queue", err)
	case <-time.After(50 * time.Millisecond):
	}
	_, err = s.Commit(ctx, nil, []teaclave.Op{teaclave.EnqueueOp(b("q"), b("c1"))})
	must(t, err, "Commit enqueue")
	must(t, <-done, "WaitQueue")
	// The move that WaitQueue exists for: wait, then dequeue into a key.
	res1, err := s.Commit(ctx, nil, []teaclave.Op{teaclave.DequeueIntoOp(b("q"), b("lease"))})
	must(t, err, "Commit dequeue-into")
	if len(res1.Dequeued) != 1 || string(res1.Dequeued[0]) != "c1" {
		t.Fatalf("Dequeued = %q, want [c1]", res1.Dequeued)
	}

	// Context ends: cancellation and deadline give their kinds.
	cctx, cancel := context.WithCancel(ctx)
	go func() {
		v, err := s.WaitDequeue(cctx, b("q"))
		got <- res{v, err}
	}()
	time.Sleep(20 * time.Millisecond)
	cancel()
	r = <-got
	wantKind(t, r.err, teaclave.KindCanceled, "WaitDequeue after cancel")
	dctx, cancel2 := context.WithTimeout(ctx, 30*time.Millisecond)
	defer cancel2()
	wantKind(t, s.WaitQueue(dctx, b("q")), teaclave.KindDeadlineExceeded, "WaitQueue past its deadline")
	dctx3, cancel3 := context.WithTimeout(ctx, 30*time.Millisecond)
	defer cancel3()
	_, err = s.WaitDequeue(dctx3, b("q"))
	wantKind(t, err, teaclave.KindDeadlineExceeded, "WaitDequeue past its deadline")
	// A cancelled waiter took nothing: a later element is still there.
	must(t, s.Enqueue(ctx, b("q"), b("after")), "Enqueue")
	wantQueue(t, ctx, s, "q", "after")

	// Several waiters, as many elements: each gets exactly one.
	const n = 4
	results := make(chan res, n)
	for range n {
		go func() {
			v, err := s.WaitDequeue(ctx, b("multi"))
			results <- res{v, err}
		}()
	}
	time.Sleep(20 * time.Millisecond)
	for i := range n {
		must(t, s.Enqueue(ctx, b("multi"), fmt.Appendf(nil, "m%d", i)), "Enqueue")
	}
	var vals []string
	for range n {
		r := <-results
		must(t, r.err, "WaitDequeue")
		vals = append(vals, string(r.v))
	}
	slices.Sort(vals)
	if !slices.Equal(vals, []string{"m0", "m1", "m2", "m3"}) {
		t.Fatalf("waiters got %q", vals)
	}
}

// ExerciseLimits checks the bad-input rules of package storage/limits on
// every method: empty and oversized keys and queue names are
// KindInvalidArgument, oversized values and commits KindResourceExhausted,
// malformed ops and conditions KindInvalidArgument, and nothing is written.
func ExerciseLimits(t *testing.T, open Opener) {
	ctx := ctxFor(t)
	s := open(t)
	must(t, s.Put(ctx, b("existing"), b("v")), "Put")
	must(t, s.Enqueue(ctx, b("q"), b("e")), "Enqueue")
	before := dump(t, ctx, s)

	inv, exh := teaclave.KindInvalidArgument, teaclave.KindResourceExhausted
	longKey := bytes.Repeat(b("k"), limits.MaxKeySize+1)
	bigValue := make([]byte, limits.MaxValueSize+1)
	for _, c := range []struct {
		name string
		kind teaclave.Kind
		call func() error
	}{
		{"Get empty key", inv, func() error { _, _, err := s.Get(ctx, nil); return err }},
		{"Get long key", inv, func() error { _, _, err := s.Get(ctx, longKey); return err }},
		{"Put empty key", inv, func() error { return s.Put(ctx, []byte{}, b("v")) }},
		{"Put long key", inv, func() error { return s.Put(ctx, longKey, b("v")) }},
		{"Put big value", exh, func() error { return s.Put(ctx, b("big"), bigValue) }},
		{"Delete empty key", inv, func() error { return s.Delete(ctx, nil) }},
		{"Delete long key", inv, func() error { return s.Delete(ctx, longKey) }},
		{"Enqueue empty queue", inv, func() error { return s.Enqueue(ctx, nil, b("v")) }},
		{"Enqueue long queue", inv, func() error { return s.Enqueue(ctx, longKey, b("v")) }},
		{"Enqueue big value", exh, func() error { return s.Enqueue(ctx, b("q"), bigValue) }},
		{"Dequeue empty queue name", inv, func() error { _, err := s.Dequeue(ctx, nil); return err }},
		{"Dequeue long queue name", inv, func() error { _, err := s.Dequeue(ctx, longKey); return err }},
		{"WaitDequeue empty queue name", inv, func() error { _, err := s.WaitDequeue(ctx, nil); return err }},
		{"WaitQueue long queue name", inv, func() error { return s.WaitQueue(ctx, longKey) }},
		{"GetKeysByPrefix long prefix", inv, func() error { _, err := s.GetKeysByPrefix(ctx, longKey); return err }},
		{"Range long bound", inv, func() error {
			_, err := s.Range(ctx, append(longKey, 'x'), nil, 0, false)
			return err
		}},
		{"Commit empty put key", inv, commit(ctx, s, nil, teaclave.PutOp(b("ok"), b("v")), teaclave.PutOp(nil, b("v")))},
		{"Commit long put key", inv, commit(ctx, s, nil, teaclave.PutOp(b("ok"), b("v")), teaclave.PutOp(longKey, b("v")))},
		{"Commit big value", exh, commit(ctx, s, nil, teaclave.PutOp(b("ok"), b("v")), teaclave.PutOp(b("big"), bigValue))},
		{"Commit empty delete key", inv, commit(ctx, s, nil, teaclave.PutOp(b("ok"), b("v")), teaclave.DeleteOp(nil))},
		{"Commit empty enqueue queue", inv, commit(ctx, s, nil, teaclave.PutOp(b("ok"), b("v")), teaclave.EnqueueOp(nil, b("v")))},
		{"Commit empty dequeue key", inv, commit(ctx, s, nil, teaclave.EnqueueOp(b("q"), b("v")), teaclave.DequeueIntoOp(b("q"), nil))},
		{"Commit empty dequeue queue", inv, commit(ctx, s, nil, teaclave.PutOp(b("ok"), b("v")), teaclave.DequeueIntoOp(nil, b("k")))},
		{"Commit unknown op", inv, commit(ctx, s, nil, teaclave.PutOp(b("ok"), b("v")), teaclave.Op{Kind: 99, Key: b("k")})},
		{"Commit zero op", inv, commit(ctx, s, nil, teaclave.PutOp(b("ok"), b("v")), teaclave.Op{})},
		{"Commit put without value field misuse", inv, commit(ctx, s, nil, teaclave.PutOp(b("ok"), b("v")),
			teaclave.Op{Kind: teaclave.OpDelete, Key: b("k"), Value: b("stray")})},
		{"Commit empty condition key", inv, commit(ctx, s, []teaclave.Condition{teaclave.Absent(nil)}, teaclave.PutOp(b("ok"), b("v")))},
		{"Commit long condition key", inv, commit(ctx, s, []teaclave.Condition{teaclave.Absent(longKey)}, teaclave.PutOp(b("ok"), b("v")))},
		{"Commit unknown condition", inv, commit(ctx, s, []teaclave.Condition{{Kind: 9, Key: b("k")}}, teaclave.PutOp(b("ok"), b("v")))},
		{"Commit version 0", inv, commit(ctx, s, []teaclave.Condition{teaclave.AtVersion(b("k"), 0)}, teaclave.PutOp(b("ok"), b("v")))},
		{"Commit too many ops", exh, func() error {
			ops := make([]teaclave.Op, limits.MaxCommitOps+1)
			for i := range ops {
				ops[i] = teaclave.PutOp(fmt.Appendf(nil, "k%d", i), nil)
			}
			_, err := s.Commit(ctx, nil, ops)
			return err
		}},
		{"Commit too many conditions", exh, func() error {
			conds := make([]teaclave.Condition, limits.MaxCommitOps+1)
			for i := range conds {
				conds[i] = teaclave.Absent(fmt.Appendf(nil, "c%d", i))
			}
			_, err := s.Commit(ctx, conds, []teaclave.Op{teaclave.PutOp(b("ok"), b("v"))})
			return err
		}},
		{"Commit too large in total", exh, func() error {
			half := make([]byte, limits.MaxValueSize/2+1)
			_, err := s.Commit(ctx, nil, []teaclave.Op{
				teaclave.PutOp(b("h1"), half), teaclave.PutOp(b("h2"), half), teaclave.EnqueueOp(b("q"), half),
			})
			return err
		}},
	} {
		wantKind(t, c.call(), c.kind, c.name)
	}
	if after := dump(t, ctx, s); !sameDump(before, after) {
		t.Fatalf("rejected requests wrote:\nbefore %s\nafter  %s", fmtKVs(before), fmtKVs(after))
	}
	wantQueue(t, ctx, s, "q", "e")

	// The limits themselves are accepted.
	maxKey := bytes.Repeat(b("m"), limits.MaxKeySize)
	maxValue := bytes.Repeat(b("v"), limits.MaxValueSize)
	must(t, s.Put(ctx, maxKey, maxValue), "Put at the limits")
	v, _, err := s.Get(ctx, maxKey)
	must(t, err, "Get at the limits")
	if !bytes.Equal(v, maxValue) {
		t.Fatalf("value at the limit read back as %d bytes", len(v))
	}
	must(t, s.Enqueue(ctx, maxKey, maxValue), "Enqueue at the limits")
	v, err = s.Dequeue(ctx, maxKey)
	must(t, err, "Dequeue at the limits")
	if !bytes.Equal(v, maxValue) {
		t.Fatalf("element at the limit read back as %d bytes", len(v))
	}
	kvs, err := s.Range(ctx, maxKey, append(bytes.Clone(maxKey), 0), 0, false)
	must(t, err, "Range with a bound of MaxBoundSize")
	if len(kvs) != 1 {
		t.Fatalf("Range found %d entries, want 1", len(kvs))
	}
}

func commit(ctx context.Context, s teaclave.Store, conds []teaclave.Condition, ops ...teaclave.Op) func() error {
	return func() error {
		_, err := s.Commit(ctx, conds, ops)
		return err
	}
}

// ExerciseContext checks that a call with an ended context fails with the
// context's kind and writes nothing.
func ExerciseContext(t *testing.T, open Opener) {
	ctx := ctxFor(t)
	s := open(t)
	must(t, s.Enqueue(ctx, b("q"), b("e")), "Enqueue")
	cctx, cancel := context.WithCancel(ctx)
	cancel()
	wantKind(t, s.Put(cctx, b("k"), b("v")), teaclave.KindCanceled, "Put with a cancelled context")
	_, err := s.Commit(cctx, nil, []teaclave.Op{teaclave.PutOp(b("k"), b("v"))})
	wantKind(t, err, teaclave.KindCanceled, "Commit with a cancelled context")
	_, err = s.Dequeue(cctx, b("q"))
	wantKind(t, err, teaclave.KindCanceled, "Dequeue with a cancelled context")
	_, err = s.WaitDequeue(cctx, b("q"))
	wantKind(t, err, teaclave.KindCanceled, "WaitDequeue with a cancelled context")
	wantAbsent(t, ctx, s, "k")
	wantQueue(t, ctx, s, "q", "e")
}

// scale divides the concurrency exercises' work by 10 under -short.
func scale(n int) int {
	if testing.Short() {
		return n / 10
	}
	return n
}

// ExerciseConcurrentQueue runs 8 goroutines that together enqueue 20 000
// distinct elements (2 000 under -short) and dequeue them (half with
// Dequeue, half with WaitDequeue): every element comes out exactly once,
// and each consumer sees each producer's elements in the order they were
// enqueued.
func ExerciseConcurrentQueue(t *testing.T, open Opener) {
	ctx := ctxFor(t)
	s := open(t)
	const workers = 8
	total := scale(20000)
	per := total / workers
	errs := make(chan error, workers)
	got := make([][]string, workers)
	for w := range workers {
		go func() {
			errs <- func() error {
				last := make([]int, workers)
				for i := range last {
					last[i] = -1
				}
				for i := range per {
					if err := s.Enqueue(ctx, b("q"), fmt.Appendf(nil, "%d/%d", w, i)); err != nil {
						return err
					}
					// This worker's own enqueue precedes its dequeue, so
					// the queue is never empty here.
					var v []byte
					var err error
					if w%2 == 0 {
						v, err = s.Dequeue(ctx, b("q"))
					} else {
						v, err = s.WaitDequeue(ctx, b("q"))
					}
					if err != nil {
						return fmt.Errorf("dequeue: %w", err)
					}
					var pw, pi int
					if _, err := fmt.Sscanf(string(v), "%d/%d", &pw, &pi); err != nil || pw < 0 || pw >= workers {
						return fmt.Errorf("dequeued a foreign element %q", v)
					}
					if pi <= last[pw] {
						return fmt.Errorf("worker %d saw %d/%d after %d/%d: not FIFO", w, pw, pi, pw, last[pw])
					}
					last[pw] = pi
					got[w] = append(got[w], string(v))
				}
				return nil
			}()
		}()
	}
	for range workers {
		if err := <-errs; err != nil {
			t.Fatal(err)
		}
	}
	seen := make(map[string]bool, total)
	for _, vs := range got {
		for _, v := range vs {
			if seen[v] {
				t.Fatalf("element %q dequeued twice", v)
			}
			seen[v] = true
		}
	}
	if len(seen) != total {
		t.Fatalf("dequeued %d distinct elements, want %d", len(seen), total)
	}
	wantQueue(t, ctx, s, "q")
}

// ExerciseConcurrentCAS runs 8 goroutines that each increment one counter
// 1 000 times (100 under -short) with a read and a version-guarded Commit,
// retrying on KindFailedPrecondition: no update is lost, and the log of
// which worker made which increment has no gaps or doubles.
func ExerciseConcurrentCAS(t *testing.T, open Opener) {
	ctx := ctxFor(t)
	s := open(t)
	const workers = 8
	per := scale(1000)
	_, err := s.Commit(ctx, []teaclave.Condition{teaclave.Absent(b("counter"))},
		[]teaclave.Op{teaclave.PutOp(b("counter"), b("0"))})
	must(t, err, "Commit initial counter")
	errs := make(chan error, workers)
	for w := range workers {
		go func() {
			errs <- func() error {
				for done := 0; done < per; {
					v, ver, err := s.Get(ctx, b("counter"))
					if err != nil {
						return err
					}
					var n int
					if _, err := fmt.Sscanf(string(v), "%d", &n); err != nil {
						return fmt.Errorf("counter holds %q", v)
					}
					next := fmt.Appendf(nil, "%d", n+1)
					_, err = s.Commit(ctx, []teaclave.Condition{teaclave.AtVersion(b("counter"), ver)}, []teaclave.Op{
						teaclave.PutOp(b("counter"), next),
						teaclave.PutOp(fmt.Appendf(nil, "log/%06d", n+1), fmt.Appendf(nil, "%d", w)),
					})
					switch {
					case err == nil:
						done++
					case errors.Is(err, teaclave.ErrFailedPrecondition):
					default:
						return err
					}
				}
				return nil
			}()
		}()
	}
	for range workers {
		if err := <-errs; err != nil {
			t.Fatal(err)
		}
	}
	wantValue(t, ctx, s, "counter", fmt.Sprint(workers*per))
	perWorker := make([]int, workers)
	n := 0
	start := b("log/")
	for {
		kvs, err := s.Range(ctx, start, b("log0"), 0, false)
		must(t, err, "Range log")
		if len(kvs) == 0 {
			break
		}
		for _, kv := range kvs {
			n++
			if want := fmt.Sprintf("log/%06d", n); string(kv.Key) != want {
				t.Fatalf("log entry %q where %q was due", kv.Key, want)
			}
			var w int
			fmt.Sscanf(string(kv.Value), "%d", &w)
			perWorker[w]++
		}
		start = append(bytes.Clone(kvs[len(kvs)-1].Key), 0)
	}
	if n != workers*per {
		t.Fatalf("log has %d entries, want %d", n, workers*per)
	}
	for w, c := range perWorker {
		if c != per {
			t.Fatalf("worker %d made %d increments, want %d", w, c, per)
		}
	}
}
