package leveldb_test

import (
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"testing"

	goleveldb "github.com/syndtr/goleveldb/leveldb"
	"github.com/syndtr/goleveldb/leveldb/opt"

	"github.com/teaclave-go/teaclave"
	"github.com/teaclave-go/teaclave/storage/leveldb"
	"github.com/teaclave-go/teaclave/storage/sealfs"
	"github.com/teaclave-go/teaclave/storage/xtest"
)

var testKey = sha256.Sum256([]byte("teaclave-go storage/leveldb test key"))

// openSealed opens a store on sealfs in dir.
func openSealed(t testing.TB, dir string, o *leveldb.Options) *leveldb.Store {
	t.Helper()
	stor, err := sealfs.Open(dir, testKey[:], nil)
	if err != nil {
		t.Fatal(err)
	}
	s, err := leveldb.OpenStorage(stor, o)
	if err != nil {
		stor.Close()
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := s.Close(); err != nil {
			t.Error(err)
		}
		stor.Close()
	})
	return s
}

func TestConformanceSealed(t *testing.T) {
	xtest.ExerciseStore(t, func(t *testing.T) teaclave.Store {
		return openSealed(t, t.TempDir(), nil)
	})
}

// TestConformancePlain runs the suite on plain files without syncs: the
// sealed run covers the default policy, the crash test durability.
func TestConformancePlain(t *testing.T) {
	xtest.ExerciseStore(t, func(t *testing.T) teaclave.Store {
		s, err := leveldb.Open(t.TempDir(), &leveldb.Options{Sync: leveldb.SyncNone})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { s.Close() })
		return s
	})
}

// TestReopen shows keys, versions and queues survive a close and reopen,
// and that versions keep growing across it.
func TestReopen(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	stor, err := sealfs.Open(dir, testKey[:], nil)
	if err != nil {
		t.Fatal(err)
	}
	s, err := leveldb.OpenStorage(stor, nil)
	if err != nil {
		t.Fatal(err)
	}
	var lastVer uint64
	for i := range 50 {
		k := fmt.Appendf(nil, "k%02d", i)
		if err := s.Put(ctx, k, fmt.Appendf(nil, "v%d", i)); err != nil {
			t.Fatal(err)
		}
		if err := s.Enqueue(ctx, []byte("q"), fmt.Appendf(nil, "e%d", i)); err != nil {
			t.Fatal(err)
		}
		_, ver, err := s.Get(ctx, k)
		if err != nil {
			t.Fatal(err)
		}
		lastVer = max(lastVer, ver)
	}
	for range 10 {
		if _, err := s.Dequeue(ctx, []byte("q")); err != nil {
			t.Fatal(err)
		}
	}
	_, ver5, _ := s.Get(ctx, []byte("k05"))
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	stor.Close()

	s2 := openSealed(t, dir, nil)
	v, ver, err := s2.Get(ctx, []byte("k05"))
	if err != nil || string(v) != "v5" || ver != ver5 {
		t.Fatalf("after reopen k05 = %q@%d, %v; want v5@%d", v, ver, err, ver5)
	}
	for i := 10; i < 50; i++ {
		e, err := s2.Dequeue(ctx, []byte("q"))
		if err != nil || string(e) != fmt.Sprintf("e%d", i) {
			t.Fatalf("after reopen dequeue = %q, %v; want e%d", e, err, i)
		}
	}
	if _, err := s2.Dequeue(ctx, []byte("q")); !errors.Is(err, teaclave.ErrNotFound) {
		t.Fatalf("queue not empty after reopen: %v", err)
	}
	if err := s2.Put(ctx, []byte("new"), nil); err != nil {
		t.Fatal(err)
	}
	if _, ver, _ := s2.Get(ctx, []byte("new")); ver <= lastVer {
		t.Fatalf("version after reopen %d, not above %d", ver, lastVer)
	}
}

// TestClosed shows calls after Close fail with KindUnavailable and a
// blocked waiter is released.
func TestClosed(t *testing.T) {
	ctx := context.Background()
	stor, err := sealfs.Open(t.TempDir(), testKey[:], nil)
	if err != nil {
		t.Fatal(err)
	}
	defer stor.Close()
	s, err := leveldb.OpenStorage(stor, nil)
	if err != nil {
		t.Fatal(err)
	}
	waited := make(chan error, 1)
	go func() { _, err := s.WaitDequeue(ctx, []byte("q")); waited <- err }()
	if err := s.Put(ctx, []byte("k"), []byte("v")); err != nil {
		t.Fatal(err)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	if err := <-waited; teaclave.KindOf(err) != teaclave.KindUnavailable {
		t.Fatalf("waiter after Close: %v, want unavailable", err)
	}
	if err := s.Put(ctx, []byte("k"), []byte("v")); teaclave.KindOf(err) != teaclave.KindUnavailable {
		t.Fatalf("Put after Close: %v, want unavailable", err)
	}
	if _, _, err := s.Get(ctx, []byte("k")); teaclave.KindOf(err) != teaclave.KindUnavailable {
		t.Fatalf("Get after Close: %v, want unavailable", err)
	}
	if err := s.Close(); err != nil {
		t.Fatalf("second Close: %v", err)
	}
}

// TestForeignDatabase shows the store refuses a goleveldb database that it
// did not create.
func TestForeignDatabase(t *testing.T) {
	dir := t.TempDir()
	db, err := goleveldb.OpenFile(dir, &opt.Options{Strict: opt.StrictAll})
	if err != nil {
		t.Fatal(err)
	}
	if err := db.Put([]byte("someone else's"), []byte("data"), nil); err != nil {
		t.Fatal(err)
	}
	db.Close()
	if s, err := leveldb.Open(dir, nil); err == nil {
		s.Close()
		t.Fatal("opened a database that is not a teaclave store")
	}
}

func TestOptions(t *testing.T) {
	for _, p := range []leveldb.SyncPolicy{leveldb.SyncEveryCommit, leveldb.SyncNone} {
		got, err := leveldb.ParseSyncPolicy(p.String())
		if err != nil || got != p {
			t.Fatalf("ParseSyncPolicy(%q) = %v, %v", p.String(), got, err)
		}
	}
	if _, err := leveldb.ParseSyncPolicy("sometimes"); err == nil {
		t.Fatal("unknown policy parsed")
	}
	if s, err := leveldb.Open(t.TempDir(), &leveldb.Options{Sync: 7}); err == nil {
		s.Close()
		t.Fatal("unknown policy accepted")
	}
	if s, err := leveldb.Open(t.TempDir(), &leveldb.Options{MaxGroupBytes: -1}); err == nil {
		s.Close()
		t.Fatal("negative size accepted")
	}
}
