package leveldb

import (
	"bytes"
	"context"
	"errors"
	"sync/atomic"

	goleveldb "github.com/syndtr/goleveldb/leveldb"
	"github.com/syndtr/goleveldb/leveldb/opt"

	"github.com/teaclave-go/teaclave"
	"github.com/teaclave-go/teaclave/storage/limits"
)

// opDequeue is Dequeue as an op: it removes the head and returns it
// without storing it anywhere.
const opDequeue teaclave.OpKind = 0xff

type op struct {
	kind              teaclave.OpKind
	key, queue, value []byte
}

// Request states: the committer takes a pending request, or its caller
// abandons it when its context ends first; never both.
const (
	statePending int32 = iota
	stateTaken
	stateAbandoned
)

// request is one write (a Commit, or a single Put, Delete, Enqueue or
// Dequeue) waiting for the committer.
type request struct {
	ctx   context.Context
	conds []teaclave.Condition
	ops   []op
	plain bool // a plain Dequeue: an empty queue is NotFound
	state atomic.Int32
	reply chan reply
}

type reply struct {
	dequeued [][]byte
	err      error
}

func (r *request) size() int {
	n := 0
	for _, c := range r.conds {
		n += len(c.Key)
	}
	for _, o := range r.ops {
		n += len(o.key) + len(o.queue) + len(o.value)
	}
	return n
}

// submit hands r to the committer and waits for its outcome. If ctx ends
// before the committer takes r, r is abandoned and nothing is written;
// once taken, the outcome is reported whatever ctx does.
func (s *Store) submit(ctx context.Context, r *request) ([][]byte, error) {
	if err := limits.ContextError(ctx); err != nil {
		return nil, err
	}
	r.ctx = ctx
	r.reply = make(chan reply, 1)
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return nil, errClosed
	}
	s.pending = append(s.pending, r)
	s.mu.Unlock()
	select {
	case s.wake <- struct{}{}:
	default:
	}
	select {
	case rep := <-r.reply:
		return rep.dequeued, rep.err
	case <-ctx.Done():
		if r.state.CompareAndSwap(statePending, stateAbandoned) {
			return nil, limits.ContextError(ctx)
		}
		rep := <-r.reply
		return rep.dequeued, rep.err
	}
}

// run is the committer: the single writer of the database. It takes every
// pending request (up to maxGroup bytes), applies them in order against
// the database plus the effects of the earlier ones, and writes the
// successful ones' effects as one batch with one sync: group commit.
func (s *Store) run() {
	defer close(s.done)
	for {
		reqs := s.take()
		if len(reqs) == 0 {
			select {
			case <-s.wake:
				continue
			case <-s.closing:
				// Requests submitted before Close are still served.
				if reqs := s.take(); len(reqs) > 0 {
					s.commitGroup(reqs)
					continue
				}
				return
			}
		}
		s.commitGroup(reqs)
	}
}

func (s *Store) take() []*request {
	s.mu.Lock()
	defer s.mu.Unlock()
	n, size := 0, 0
	for n < len(s.pending) {
		size += s.pending[n].size()
		if n > 0 && size > s.maxGroup {
			break
		}
		n++
	}
	reqs := s.pending[:n:n]
	s.pending = append([]*request(nil), s.pending[n:]...)
	return reqs
}

func (s *Store) commitGroup(reqs []*request) {
	g := &group{s: s, writes: make(map[string]write), batch: new(goleveldb.Batch), version: s.version}
	type done struct {
		r        *request
		dequeued [][]byte
	}
	var accepted []done
	var enqueued []string
	for _, r := range reqs {
		if !r.state.CompareAndSwap(statePending, stateTaken) {
			continue
		}
		if err := limits.ContextError(r.ctx); err != nil {
			r.reply <- reply{err: err}
			continue
		}
		t := &tx{g: g, writes: make(map[string]write), version: g.version}
		dq, err := t.apply(r)
		if err != nil {
			r.reply <- reply{err: err}
			continue
		}
		t.merge()
		accepted = append(accepted, done{r, dq})
		enqueued = append(enqueued, t.enqueued...)
	}
	if g.batch.Len() > 0 {
		g.batch.Put(metaVersion, encodeU64(g.version))
		if err := s.db.Write(g.batch, &opt.WriteOptions{Sync: s.sync}); err != nil {
			err = s.dbError(err)
			for _, d := range accepted {
				d.r.reply <- reply{err: err}
			}
			return
		}
		s.version = g.version
		s.groups.Add(1)
	}
	s.requests.Add(uint64(len(accepted)))
	for _, d := range accepted {
		d.r.reply <- reply{dequeued: d.dequeued}
	}
	seen := make(map[string]bool, len(enqueued))
	for _, q := range enqueued {
		if !seen[q] {
			seen[q] = true
			s.notify(q)
		}
	}
}

// write is a pending change of one raw key: a new value, or a deletion.
type write struct {
	value []byte
	del   bool
}

// group is the state of one group commit: the database as the batch will
// leave it, seen through writes.
type group struct {
	s       *Store
	writes  map[string]write
	batch   *goleveldb.Batch
	version uint64
}

func (g *group) get(raw []byte) ([]byte, bool, error) {
	if w, ok := g.writes[string(raw)]; ok {
		return w.value, !w.del, nil
	}
	v, err := g.s.db.Get(raw, nil)
	if errors.Is(err, goleveldb.ErrNotFound) {
		return nil, false, nil
	}
	if err != nil {
		return nil, false, g.s.dbError(err)
	}
	return v, true, nil
}

// tx is one request's changes on top of its group, merged only if the
// whole request succeeds.
type tx struct {
	g        *group
	writes   map[string]write
	order    []string
	version  uint64
	enqueued []string
}

func (t *tx) get(raw []byte) ([]byte, bool, error) {
	if w, ok := t.writes[string(raw)]; ok {
		return w.value, !w.del, nil
	}
	return t.g.get(raw)
}

func (t *tx) set(raw []byte, w write) {
	k := string(raw)
	if _, ok := t.writes[k]; !ok {
		t.order = append(t.order, k)
	}
	t.writes[k] = w
}

func (t *tx) merge() {
	for _, k := range t.order {
		w := t.writes[k]
		t.g.writes[k] = w
		if w.del {
			t.g.batch.Delete([]byte(k))
		} else {
			t.g.batch.Put([]byte(k), w.value)
		}
	}
	t.g.version = t.version
}

// queue returns q's head and tail; an absent queue is empty at 0.
func (t *tx) queue(q []byte) (head, tail uint64, err error) {
	raw, ok, err := t.get(queueKey(q))
	if err != nil || !ok {
		return 0, 0, err
	}
	head, tail, err = decodeQueue(raw)
	if err != nil {
		return 0, 0, t.g.s.dbError(err)
	}
	return head, tail, nil
}

func (t *tx) apply(r *request) ([][]byte, error) {
	for i, c := range r.conds {
		raw, ok, err := t.get(rawKey(c.Key))
		if err != nil {
			return nil, err
		}
		switch c.Kind {
		case teaclave.CondAbsent:
			if ok {
				return nil, teaclave.Errorf(teaclave.KindFailedPrecondition, "storage: condition %d: key exists", i)
			}
		case teaclave.CondVersion:
			if !ok {
				return nil, teaclave.Errorf(teaclave.KindFailedPrecondition, "storage: condition %d: key does not exist", i)
			}
			_, ver, err := decodeValue(raw)
			if err != nil {
				return nil, t.g.s.dbError(err)
			}
			if ver != c.Version {
				return nil, teaclave.Errorf(teaclave.KindFailedPrecondition,
					"storage: condition %d: key is not at version %d", i, c.Version)
			}
		}
	}
	var dequeued [][]byte
	moved := 0
	for i, o := range r.ops {
		switch o.kind {
		case teaclave.OpPut:
			t.version++
			t.set(rawKey(o.key), write{value: encodeValue(t.version, o.value)})
		case teaclave.OpDelete:
			t.set(rawKey(o.key), write{del: true})
		case teaclave.OpEnqueue:
			head, tail, err := t.queue(o.queue)
			if err != nil {
				return nil, err
			}
			t.set(elementKey(o.queue, tail), write{value: o.value})
			t.set(queueKey(o.queue), write{value: encodeQueue(head, tail+1)})
			t.enqueued = append(t.enqueued, string(o.queue))
		case teaclave.OpDequeueInto, opDequeue:
			head, tail, err := t.queue(o.queue)
			if err != nil {
				return nil, err
			}
			if head == tail {
				if r.plain {
					return nil, teaclave.Errorf(teaclave.KindNotFound, "storage: queue is empty")
				}
				return nil, teaclave.Errorf(teaclave.KindFailedPrecondition, "storage: op %d: queue is empty", i)
			}
			ek := elementKey(o.queue, head)
			v, ok, err := t.get(ek)
			if err != nil {
				return nil, err
			}
			if !ok {
				return nil, t.g.s.dbError(errors.New("leveldb store: queue element missing"))
			}
			t.set(ek, write{del: true})
			if head+1 == tail {
				t.set(queueKey(o.queue), write{del: true})
			} else {
				t.set(queueKey(o.queue), write{value: encodeQueue(head+1, tail)})
			}
			moved += len(v)
			if moved > limits.MaxResultSize {
				return nil, teaclave.Errorf(teaclave.KindResourceExhausted,
					"storage: commit would dequeue over %d bytes", limits.MaxResultSize)
			}
			// v may be another request's slice: hand out a copy.
			dequeued = append(dequeued, bytes.Clone(v))
			if o.kind == teaclave.OpDequeueInto {
				t.version++
				t.set(rawKey(o.key), write{value: encodeValue(t.version, v)})
			}
		}
	}
	return dequeued, nil
}
