package memstore_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/teaclave-go/teaclave"
	"github.com/teaclave-go/teaclave/storage/memstore"
	"github.com/teaclave-go/teaclave/storage/xtest"
)

func TestConformance(t *testing.T) {
	xtest.ExerciseStore(t, func(t *testing.T) teaclave.Store { return memstore.New() })
}

// TestFaults shows each switch fails its operations with KindUnavailable,
// writes nothing, and clears.
func TestFaults(t *testing.T) {
	ctx := context.Background()
	s := memstore.New()
	if err := s.Put(ctx, []byte("k"), []byte("v")); err != nil {
		t.Fatal(err)
	}
	if err := s.Enqueue(ctx, []byte("q"), []byte("e")); err != nil {
		t.Fatal(err)
	}
	unavailable := func(what string, err error) {
		t.Helper()
		if !errors.Is(err, teaclave.ErrUnavailable) {
			t.Fatalf("%s: got %v, want an unavailable error", what, err)
		}
	}

	s.FailGet(true)
	_, _, err := s.Get(ctx, []byte("k"))
	unavailable("Get", err)
	s.FailGet(false)

	s.FailPut(true)
	unavailable("Put", s.Put(ctx, []byte("k"), []byte("new")))
	unavailable("Delete", s.Delete(ctx, []byte("k")))
	unavailable("Enqueue", s.Enqueue(ctx, []byte("q"), []byte("new")))
	s.FailPut(false)

	s.FailCommit(true)
	_, err = s.Commit(ctx, nil, []teaclave.Op{teaclave.PutOp([]byte("k"), []byte("new"))})
	unavailable("Commit", err)
	s.FailCommit(false)

	s.FailDequeue(true)
	_, err = s.Dequeue(ctx, []byte("q"))
	unavailable("Dequeue", err)
	_, err = s.WaitDequeue(ctx, []byte("q"))
	unavailable("WaitDequeue", err)
	s.FailDequeue(false)

	s.FailList(true)
	_, err = s.GetKeysByPrefix(ctx, nil)
	unavailable("GetKeysByPrefix", err)
	_, err = s.Range(ctx, nil, nil, 0, false)
	unavailable("Range", err)
	s.FailList(false)

	v, _, err := s.Get(ctx, []byte("k"))
	if err != nil || string(v) != "v" {
		t.Fatalf("after faults Get = %q, %v; want v", v, err)
	}
	e, err := s.Dequeue(ctx, []byte("q"))
	if err != nil || string(e) != "e" {
		t.Fatalf("after faults Dequeue = %q, %v; want e", e, err)
	}
	if _, err := s.Dequeue(ctx, []byte("q")); !errors.Is(err, teaclave.ErrNotFound) {
		t.Fatalf("a failed Enqueue left an element: %v", err)
	}
}

// TestLatency shows the delay honours the context: a call whose deadline
// falls within the delay fails with that kind and writes nothing.
func TestLatency(t *testing.T) {
	s := memstore.New()
	s.SetLatency(time.Hour)
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Millisecond)
	defer cancel()
	if err := s.Put(ctx, []byte("k"), []byte("v")); teaclave.KindOf(err) != teaclave.KindDeadlineExceeded {
		t.Fatalf("Put under latency: got %v, want deadline exceeded", err)
	}
	s.SetLatency(0)
	if _, _, err := s.Get(context.Background(), []byte("k")); !errors.Is(err, teaclave.ErrNotFound) {
		t.Fatalf("a timed-out Put wrote: %v", err)
	}
}
