// Package memstore is an in-memory teaclave.Store for tests. It passes the
// conformance suite in storage/xtest, keeps nothing across restarts, and has
// fault switches, in the manner of Vault's inmem backend, so that other
// packages can test their error paths: each makes a class of operations fail
// with KindUnavailable, and SetLatency delays every operation.
//
//	s := memstore.New()
//	s.FailCommit(true) // every Commit now fails and writes nothing
//
// The limits are those of package storage/limits.
package memstore

import (
	"bytes"
	"context"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/teaclave-go/teaclave"
	"github.com/teaclave-go/teaclave/storage/limits"
)

var _ teaclave.Store = (*Store)(nil)

type entry struct {
	value   []byte
	version uint64
}

// queue is a FIFO of elements; elems[head:] are the live ones.
type queue struct {
	elems [][]byte
	head  int
}

func (q *queue) len() int { return len(q.elems) - q.head }

func (q *queue) push(v []byte) { q.elems = append(q.elems, v) }

func (q *queue) pop() []byte {
	v := q.elems[q.head]
	q.elems[q.head] = nil
	q.head++
	// Compact once the dead prefix dominates, so memory follows the live size.
	if q.head > 64 && q.head*2 > len(q.elems) {
		q.elems = append([][]byte(nil), q.elems[q.head:]...)
		q.head = 0
	}
	return v
}

// Store is an in-memory teaclave.Store. The zero value is not usable; call
// New. It is safe for concurrent use.
type Store struct {
	mu      sync.Mutex
	kv      map[string]entry
	queues  map[string]*queue
	version uint64
	// waiters holds, per queue, a channel closed at the next enqueue.
	waiters map[string]chan struct{}

	failGet     atomic.Bool
	failPut     atomic.Bool
	failCommit  atomic.Bool
	failDequeue atomic.Bool
	failList    atomic.Bool
	latency     atomic.Int64
}

// New returns an empty store.
func New() *Store {
	return &Store{
		kv:      make(map[string]entry),
		queues:  make(map[string]*queue),
		waiters: make(map[string]chan struct{}),
	}
}

// FailGet makes Get fail while on is set.
func (s *Store) FailGet(on bool) { s.failGet.Store(on) }

// FailPut makes the single writes Put, Delete and Enqueue fail while on is
// set.
func (s *Store) FailPut(on bool) { s.failPut.Store(on) }

// FailCommit makes Commit fail while on is set.
func (s *Store) FailCommit(on bool) { s.failCommit.Store(on) }

// FailDequeue makes Dequeue and WaitDequeue fail while on is set.
func (s *Store) FailDequeue(on bool) { s.failDequeue.Store(on) }

// FailList makes GetKeysByPrefix and Range fail while on is set.
func (s *Store) FailList(on bool) { s.failList.Store(on) }

// SetLatency delays every operation by d before it runs; an operation whose
// context ends during the delay fails with the context's kind and has no
// effect.
func (s *Store) SetLatency(d time.Duration) { s.latency.Store(int64(d)) }

func fault(op string) error {
	return teaclave.Errorf(teaclave.KindUnavailable, "memstore: injected %s fault", op)
}

// enter applies the latency and the fault switch of an operation.
func (s *Store) enter(ctx context.Context, fail *atomic.Bool, op string) error {
	if d := time.Duration(s.latency.Load()); d > 0 {
		t := time.NewTimer(d)
		select {
		case <-ctx.Done():
			t.Stop()
			return limits.ContextError(ctx)
		case <-t.C:
		}
	}
	if err := limits.ContextError(ctx); err != nil {
		return err
	}
	if fail != nil && fail.Load() {
		return fault(op)
	}
	return nil
}

func clone(b []byte) []byte {
	if b == nil {
		return []byte{}
	}
	return bytes.Clone(b)
}

// Get implements teaclave.Store.
func (s *Store) Get(ctx context.Context, key []byte) ([]byte, uint64, error) {
	if err := limits.CheckKey(key); err != nil {
		return nil, 0, err
	}
	if err := s.enter(ctx, &s.failGet, "get"); err != nil {
		return nil, 0, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	e, ok := s.kv[string(key)]
	if !ok {
		return nil, 0, teaclave.Errorf(teaclave.KindNotFound, "storage: key not found")
	}
	return clone(e.value), e.version, nil
}

// Put implements teaclave.Store.
func (s *Store) Put(ctx context.Context, key, value []byte) error {
	if err := limits.CheckKey(key); err != nil {
		return err
	}
	if err := limits.CheckValue(value); err != nil {
		return err
	}
	if err := s.enter(ctx, &s.failPut, "put"); err != nil {
		return err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.put(key, value)
	return nil
}

func (s *Store) put(key, value []byte) {
	s.version++
	s.kv[string(key)] = entry{value: clone(value), version: s.version}
}

// Delete implements teaclave.Store.
func (s *Store) Delete(ctx context.Context, key []byte) error {
	if err := limits.CheckKey(key); err != nil {
		return err
	}
	if err := s.enter(ctx, &s.failPut, "delete"); err != nil {
		return err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	delete(s.kv, string(key))
	return nil
}

// Enqueue implements teaclave.Store.
func (s *Store) Enqueue(ctx context.Context, q, value []byte) error {
	if err := limits.CheckQueue(q); err != nil {
		return err
	}
	if err := limits.CheckValue(value); err != nil {
		return err
	}
	if err := s.enter(ctx, &s.failPut, "enqueue"); err != nil {
		return err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.enqueue(q, value)
	return nil
}

func (s *Store) enqueue(name, value []byte) {
	q := s.queues[string(name)]
	if q == nil {
		q = &queue{}
		s.queues[string(name)] = q
	}
	q.push(clone(value))
	if ch, ok := s.waiters[string(name)]; ok {
		close(ch)
		delete(s.waiters, string(name))
	}
}

func (s *Store) dequeue(name []byte) ([]byte, bool) {
	q := s.queues[string(name)]
	if q == nil || q.len() == 0 {
		return nil, false
	}
	v := q.pop()
	if q.len() == 0 {
		delete(s.queues, string(name))
	}
	return v, true
}

// Dequeue implements teaclave.Store.
func (s *Store) Dequeue(ctx context.Context, q []byte) ([]byte, error) {
	if err := limits.CheckQueue(q); err != nil {
		return nil, err
	}
	if err := s.enter(ctx, &s.failDequeue, "dequeue"); err != nil {
		return nil, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	v, ok := s.dequeue(q)
	if !ok {
		return nil, teaclave.Errorf(teaclave.KindNotFound, "storage: queue is empty")
	}
	return v, nil
}

// GetKeysByPrefix implements teaclave.Store.
func (s *Store) GetKeysByPrefix(ctx context.Context, prefix []byte) ([][]byte, error) {
	if err := limits.CheckPrefix(prefix); err != nil {
		return nil, err
	}
	if err := s.enter(ctx, &s.failList, "list"); err != nil {
		return nil, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	var keys [][]byte
	size := 0
	for k := range s.kv {
		if bytes.HasPrefix([]byte(k), prefix) {
			size += len(k) + limits.EntryOverhead
			if size > limits.MaxResultSize {
				return nil, teaclave.Errorf(teaclave.KindResourceExhausted,
					"storage: keys with this prefix exceed %d bytes; list them with Range", limits.MaxResultSize)
			}
			keys = append(keys, []byte(k))
		}
	}
	slices.SortFunc(keys, bytes.Compare)
	return keys, nil
}

// Commit implements teaclave.Store.
func (s *Store) Commit(ctx context.Context, conds []teaclave.Condition, ops []teaclave.Op) (teaclave.CommitResult, error) {
	if err := limits.CheckCommit(conds, ops); err != nil {
		return teaclave.CommitResult{}, err
	}
	if err := s.enter(ctx, &s.failCommit, "commit"); err != nil {
		return teaclave.CommitResult{}, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	for i, c := range conds {
		e, ok := s.kv[string(c.Key)]
		switch {
		case c.Kind == teaclave.CondAbsent && ok:
			return teaclave.CommitResult{}, teaclave.Errorf(teaclave.KindFailedPrecondition,
				"storage: condition %d: key exists", i)
		case c.Kind == teaclave.CondVersion && (!ok || e.version != c.Version):
			return teaclave.CommitResult{}, teaclave.Errorf(teaclave.KindFailedPrecondition,
				"storage: condition %d: key is not at version %d", i, c.Version)
		}
	}
	// Check that every dequeue op finds an element, counting the elements
	// earlier ops of this commit enqueue and dequeue, before changing
	// anything, so that a failed commit writes nothing.
	avail := make(map[string]int)
	moved := 0
	for i, op := range ops {
		switch op.Kind {
		case teaclave.OpEnqueue:
			avail[string(op.Queue)] = s.available(avail, op.Queue) + 1
		case teaclave.OpDequeueInto:
			n := s.available(avail, op.Queue)
			if n == 0 {
				return teaclave.CommitResult{}, teaclave.Errorf(teaclave.KindFailedPrecondition,
					"storage: op %d: queue is empty", i)
			}
			moved += s.peekSize(op.Queue, ops[:i])
			avail[string(op.Queue)] = n - 1
		}
	}
	if moved > limits.MaxResultSize {
		return teaclave.CommitResult{}, teaclave.Errorf(teaclave.KindResourceExhausted,
			"storage: commit would dequeue %d bytes, over the limit of %d", moved, limits.MaxResultSize)
	}
	var res teaclave.CommitResult
	for _, op := range ops {
		switch op.Kind {
		case teaclave.OpPut:
			s.put(op.Key, op.Value)
		case teaclave.OpDelete:
			delete(s.kv, string(op.Key))
		case teaclave.OpEnqueue:
			s.enqueue(op.Queue, op.Value)
		case teaclave.OpDequeueInto:
			v, _ := s.dequeue(op.Queue)
			s.put(op.Key, v)
			res.Dequeued = append(res.Dequeued, clone(v))
		}
	}
	return res, nil
}

// available returns how many elements queue q holds at this point of a
// commit's dry run.
func (s *Store) available(avail map[string]int, q []byte) int {
	if n, ok := avail[string(q)]; ok {
		return n
	}
	if sq := s.queues[string(q)]; sq != nil {
		return sq.len()
	}
	return 0
}

// peekSize returns the size of the element a dequeue op after earlier ops
// would take from q, for the result-size limit.
func (s *Store) peekSize(q []byte, earlier []teaclave.Op) int {
	// Elements ahead of this one: those dequeued by earlier ops.
	skip := 0
	var pending [][]byte
	for _, op := range earlier {
		switch {
		case op.Kind == teaclave.OpDequeueInto && bytes.Equal(op.Queue, q):
			skip++
		case op.Kind == teaclave.OpEnqueue && bytes.Equal(op.Queue, q):
			pending = append(pending, op.Value)
		}
	}
	if sq := s.queues[string(q)]; sq != nil {
		if skip < sq.len() {
			return len(sq.elems[sq.head+skip])
		}
		skip -= sq.len()
	}
	if skip < len(pending) {
		return len(pending[skip])
	}
	return 0
}

// WaitDequeue implements teaclave.Store.
func (s *Store) WaitDequeue(ctx context.Context, q []byte) ([]byte, error) {
	if err := limits.CheckQueue(q); err != nil {
		return nil, err
	}
	if err := s.enter(ctx, &s.failDequeue, "dequeue"); err != nil {
		return nil, err
	}
	for {
		s.mu.Lock()
		if v, ok := s.dequeue(q); ok {
			s.mu.Unlock()
			return v, nil
		}
		ch := s.waitChan(q)
		s.mu.Unlock()
		select {
		case <-ctx.Done():
			return nil, limits.ContextError(ctx)
		case <-ch:
		}
		if s.failDequeue.Load() {
			return nil, fault("dequeue")
		}
	}
}

// WaitQueue implements teaclave.Store.
func (s *Store) WaitQueue(ctx context.Context, q []byte) error {
	if err := limits.CheckQueue(q); err != nil {
		return err
	}
	if err := s.enter(ctx, nil, ""); err != nil {
		return err
	}
	for {
		s.mu.Lock()
		if sq := s.queues[string(q)]; sq != nil && sq.len() > 0 {
			s.mu.Unlock()
			return nil
		}
		ch := s.waitChan(q)
		s.mu.Unlock()
		select {
		case <-ctx.Done():
			return limits.ContextError(ctx)
		case <-ch:
		}
	}
}

// waitChan returns the channel closed at q's next enqueue. s.mu is held.
func (s *Store) waitChan(q []byte) chan struct{} {
	ch, ok := s.waiters[string(q)]
	if !ok {
		ch = make(chan struct{})
		s.waiters[string(q)] = ch
	}
	return ch
}

// Range implements teaclave.Store.
func (s *Store) Range(ctx context.Context, start, end []byte, limit int, reverse bool) ([]teaclave.KV, error) {
	if err := limits.CheckRange(start, end); err != nil {
		return nil, err
	}
	if err := s.enter(ctx, &s.failList, "list"); err != nil {
		return nil, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	var keys []string
	for k := range s.kv {
		kb := []byte(k)
		if bytes.Compare(kb, start) >= 0 && (end == nil || bytes.Compare(kb, end) < 0) {
			keys = append(keys, k)
		}
	}
	slices.Sort(keys)
	if reverse {
		slices.Reverse(keys)
	}
	n := limits.RangeCap(limit)
	out := []teaclave.KV{}
	size := 0
	for _, k := range keys {
		if len(out) == n {
			break
		}
		e := s.kv[k]
		size += len(k) + len(e.value) + limits.EntryOverhead
		if size > limits.MaxResultSize && len(out) > 0 {
			break
		}
		out = append(out, teaclave.KV{Key: []byte(k), Value: clone(e.value), Version: e.version})
	}
	return out, nil
}
