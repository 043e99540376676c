package leveldb

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/syndtr/goleveldb/leveldb/storage"

	"github.com/teaclave-go/teaclave"
	"github.com/teaclave-go/teaclave/storage/limits"
)

// gatedStorage holds every journal Sync at a gate while armed, so a test
// can pile requests up behind a sync in progress.
type gatedStorage struct {
	storage.Storage
	armed   atomic.Bool
	entered chan struct{}
	gate    chan struct{}
	syncs   atomic.Int32
}

func newGated() *gatedStorage {
	return &gatedStorage{Storage: storage.NewMemStorage(), entered: make(chan struct{}, 64), gate: make(chan struct{})}
}

func (g *gatedStorage) Create(fd storage.FileDesc) (storage.Writer, error) {
	w, err := g.Storage.Create(fd)
	if err != nil || fd.Type != storage.TypeJournal {
		return w, err
	}
	return &gatedWriter{Writer: w, g: g}, nil
}

type gatedWriter struct {
	storage.Writer
	g *gatedStorage
}

func (w *gatedWriter) Sync() error {
	if w.g.armed.Load() {
		w.g.syncs.Add(1)
		w.g.entered <- struct{}{}
		<-w.g.gate
	}
	return w.Writer.Sync()
}

func openGated(t *testing.T) (*Store, *gatedStorage) {
	t.Helper()
	g := newGated()
	s, err := OpenStorage(g, nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	g.armed.Store(true)
	return s, g
}

// waitPending waits until n requests are queued behind the committer.
func waitPending(t *testing.T, s *Store, n int) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for {
		s.mu.Lock()
		got := len(s.pending)
		s.mu.Unlock()
		if got == n {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%d requests pending, want %d", got, n)
		}
		time.Sleep(time.Millisecond)
	}
}

// TestGroupCommit shows requests that arrive during a sync share the next
// one: 1 + 15 writers, 2 syncs.
func TestGroupCommit(t *testing.T) {
	ctx := context.Background()
	s, g := openGated(t)
	groups0 := s.groups.Load()
	var wg sync.WaitGroup
	errs := make(chan error, 16)
	wg.Go(func() { errs <- s.Put(ctx, []byte("first"), []byte("v")) })
	<-g.entered // the committer is inside the first sync
	for i := range 15 {
		wg.Go(func() { errs <- s.Put(ctx, fmt.Appendf(nil, "k%d", i), []byte("v")) })
	}
	waitPending(t, s, 15)
	close(g.gate)
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Fatal(err)
		}
	}
	if got := s.groups.Load() - groups0; got != 2 {
		t.Fatalf("%d batches for 16 writes, want 2", got)
	}
	if got := g.syncs.Load(); got != 2 {
		t.Fatalf("%d syncs for 16 writes, want 2", got)
	}
	for i := range 15 {
		if _, _, err := s.Get(ctx, fmt.Appendf(nil, "k%d", i)); err != nil {
			t.Fatal(err)
		}
	}
}

// TestGroupSemantics shows requests in one group see each other's effects
// in order, and a failing one leaves the rest alone.
func TestGroupSemantics(t *testing.T) {
	ctx := context.Background()
	s, g := openGated(t)
	first := make(chan error, 1)
	go func() { first <- s.Put(ctx, []byte("warmup"), nil) }()
	<-g.entered

	type result struct {
		i   int
		v   [][]byte
		err error
	}
	results := make(chan result, 8)
	calls := []func() ([][]byte, error){
		func() ([][]byte, error) { return nil, s.Put(ctx, []byte("x"), []byte("1")) },
		func() ([][]byte, error) {
			r, err := s.Commit(ctx, []teaclave.Condition{teaclave.Absent([]byte("x"))}, []teaclave.Op{teaclave.PutOp([]byte("y"), []byte("bad"))})
			return r.Dequeued, err
		},
		func() ([][]byte, error) { return nil, s.Enqueue(ctx, []byte("q"), []byte("e")) },
		func() ([][]byte, error) {
			r, err := s.Commit(ctx, nil, []teaclave.Op{teaclave.DequeueIntoOp([]byte("q"), []byte("z"))})
			return r.Dequeued, err
		},
		func() ([][]byte, error) { v, err := s.Dequeue(ctx, []byte("q")); return [][]byte{v}, err },
		func() ([][]byte, error) { return nil, s.Delete(ctx, []byte("x")) },
		func() ([][]byte, error) {
			r, err := s.Commit(ctx, []teaclave.Condition{teaclave.Absent([]byte("x"))}, []teaclave.Op{teaclave.PutOp([]byte("w"), []byte("ok"))})
			return r.Dequeued, err
		},
	}
	for i, call := range calls {
		go func() {
			v, err := call()
			results <- result{i, v, err}
		}()
		waitPending(t, s, i+1) // submission order is group order
	}
	groups0 := s.groups.Load()
	close(g.gate)
	if err := <-first; err != nil {
		t.Fatal(err)
	}
	got := make([]result, len(calls))
	for range calls {
		r := <-results
		got[r.i] = r
	}
	if got[0].err != nil || got[2].err != nil || got[5].err != nil || got[6].err != nil {
		t.Fatalf("writes failed: %+v", got)
	}
	if !errors.Is(got[1].err, teaclave.ErrFailedPrecondition) {
		t.Fatalf("Absent(x) after a put of x in the same group: %v", got[1].err)
	}
	if got[3].err != nil || len(got[3].v) != 1 || string(got[3].v[0]) != "e" {
		t.Fatalf("dequeue of an element enqueued in the same group: %q, %v", got[3].v, got[3].err)
	}
	if !errors.Is(got[4].err, teaclave.ErrNotFound) {
		t.Fatalf("Dequeue of the drained queue: %v", got[4].err)
	}
	// The warmup's batch completes after groups0 was read.
	if n := s.groups.Load() - groups0; n != 2 {
		t.Fatalf("%d batches, want 2: the warmup's and one for all seven", n)
	}
	for k, want := range map[string]string{"z": "e", "w": "ok"} {
		if v, _, err := s.Get(ctx, []byte(k)); err != nil || string(v) != want {
			t.Fatalf("%s = %q, %v; want %q", k, v, err, want)
		}
	}
	for _, k := range []string{"x", "y"} {
		if _, _, err := s.Get(ctx, []byte(k)); !errors.Is(err, teaclave.ErrNotFound) {
			t.Fatalf("%s: %v, want not found", k, err)
		}
	}
}

// TestAbandoned shows a request whose context ends while it waits for the
// committer fails with the context's kind and writes nothing.
func TestAbandoned(t *testing.T) {
	ctx := context.Background()
	s, g := openGated(t)
	first := make(chan error, 1)
	go func() { first <- s.Put(ctx, []byte("a"), nil) }()
	<-g.entered
	cctx, cancel := context.WithCancel(ctx)
	done := make(chan error, 1)
	go func() { done <- s.Put(cctx, []byte("b"), []byte("v")) }()
	waitPending(t, s, 1)
	cancel()
	if err := <-done; teaclave.KindOf(err) != teaclave.KindCanceled {
		t.Fatalf("abandoned Put: %v, want canceled", err)
	}
	close(g.gate)
	if err := <-first; err != nil {
		t.Fatal(err)
	}
	if err := s.Put(ctx, []byte("c"), nil); err != nil {
		t.Fatal(err)
	}
	if _, _, err := s.Get(ctx, []byte("b")); !errors.Is(err, teaclave.ErrNotFound) {
		t.Fatalf("abandoned Put wrote: %v", err)
	}
}

// rawDump lists the whole goleveldb keyspace, metadata included.
func rawDump(t *testing.T, s *Store) []string {
	t.Helper()
	it := s.db.NewIterator(nil, nil)
	defer it.Release()
	var out []string
	for it.Next() {
		out = append(out, fmt.Sprintf("%q=%q", it.Key(), it.Value()))
	}
	if err := it.Error(); err != nil {
		t.Fatal(err)
	}
	return out
}

// TestBadInputWritesNothing compares the raw keyspace, version counter
// and queues included, before and after rejected requests.
func TestBadInputWritesNothing(t *testing.T) {
	ctx := context.Background()
	s, err := Open(t.TempDir(), nil)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	s.Put(ctx, []byte("k"), []byte("v"))
	s.Enqueue(ctx, []byte("q"), []byte("e"))
	before := rawDump(t, s)
	big := make([]byte, limits.MaxValueSize+1)
	long := bytes.Repeat([]byte("x"), limits.MaxKeySize+1)
	checks := []struct {
		kind teaclave.Kind
		err  error
	}{
		{teaclave.KindInvalidArgument, s.Put(ctx, nil, []byte("v"))},
		{teaclave.KindInvalidArgument, s.Put(ctx, long, []byte("v"))},
		{teaclave.KindResourceExhausted, s.Put(ctx, []byte("k"), big)},
		{teaclave.KindResourceExhausted, s.Enqueue(ctx, []byte("q"), big)},
		{teaclave.KindInvalidArgument, s.Enqueue(ctx, nil, []byte("v"))},
		{teaclave.KindInvalidArgument, s.Delete(ctx, nil)},
	}
	_, err = s.Commit(ctx, nil, []teaclave.Op{teaclave.PutOp([]byte("k"), []byte("new")), teaclave.PutOp([]byte("k2"), big)})
	checks = append(checks, struct {
		kind teaclave.Kind
		err  error
	}{teaclave.KindResourceExhausted, err})
	_, err = s.Commit(ctx, nil, []teaclave.Op{teaclave.PutOp([]byte("k"), []byte("new")), teaclave.DequeueIntoOp([]byte("q"), []byte("m")), teaclave.DequeueIntoOp([]byte("q"), []byte("m2"))})
	checks = append(checks, struct {
		kind teaclave.Kind
		err  error
	}{teaclave.KindFailedPrecondition, err})
	_, err = s.Dequeue(ctx, []byte("empty"))
	checks = append(checks, struct {
		kind teaclave.Kind
		err  error
	}{teaclave.KindNotFound, err})
	for i, c := range checks {
		if teaclave.KindOf(c.err) != c.kind {
			t.Fatalf("check %d: %v, want %v", i, c.err, c.kind)
		}
	}
	if after := rawDump(t, s); !equal(before, after) {
		t.Fatalf("rejected requests wrote:\nbefore %q\nafter  %q", before, after)
	}
}

func equal(a, b []string) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

// TestQueueLayout checks the documented keyspace: u64 indexes, and a
// drained queue's bookkeeping deleted.
func TestQueueLayout(t *testing.T) {
	ctx := context.Background()
	s, err := Open(t.TempDir(), &Options{Sync: SyncNone})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	for i := range 3 {
		s.Enqueue(ctx, []byte("q"), fmt.Appendf(nil, "%d", i))
	}
	raw, err := s.db.Get(queueKey([]byte("q")), nil)
	if err != nil {
		t.Fatal(err)
	}
	if h, tl, err := decodeQueue(raw); err != nil || h != 0 || tl != 3 {
		t.Fatalf("queue bookkeeping %d..%d, %v", h, tl, err)
	}
	if v, err := s.db.Get(elementKey([]byte("q"), 2), nil); err != nil || string(v) != "2" {
		t.Fatalf("element 2: %q, %v", v, err)
	}
	for range 3 {
		s.Dequeue(ctx, []byte("q"))
	}
	if _, err := s.db.Get(queueKey([]byte("q")), nil); err == nil {
		t.Fatal("drained queue kept its bookkeeping")
	}
	it := s.db.NewIterator(nil, nil)
	defer it.Release()
	for it.Next() {
		if k := it.Key(); k[0] == nsElement || k[0] == nsQueue {
			t.Fatalf("drained queue left %q", k)
		}
	}
}
