package leveldb

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"sync/atomic"

	goleveldb "github.com/syndtr/goleveldb/leveldb"
	"github.com/syndtr/goleveldb/leveldb/iterator"
	"github.com/syndtr/goleveldb/leveldb/opt"
	"github.com/syndtr/goleveldb/leveldb/storage"
	"github.com/syndtr/goleveldb/leveldb/util"

	"github.com/teaclave-go/teaclave"
	"github.com/teaclave-go/teaclave/storage/limits"
)

// SyncPolicy says when a write reaches stable storage.
type SyncPolicy int

const (
	// SyncEveryCommit (the default) syncs before acknowledging: when a
	// write returns, it survives a crash of the process or the machine.
	// Writers that arrive while a sync is under way share the next one
	// (group commit).
	SyncEveryCommit SyncPolicy = iota
	// SyncNone acknowledges writes once goleveldb has them. A crash loses
	// recent acknowledged writes (on sealfs, everything since the journal
	// was last synced or rotated); the database stays consistent. For
	// tests and benchmarks.
	SyncNone
)

// String returns the policy's configuration name.
func (p SyncPolicy) String() string {
	switch p {
	case SyncEveryCommit:
		return "every-commit"
	case SyncNone:
		return "none"
	}
	return fmt.Sprintf("SyncPolicy(%d)", int(p))
}

// ParseSyncPolicy parses a policy's configuration name.
func ParseSyncPolicy(s string) (SyncPolicy, error) {
	switch s {
	case "every-commit", "":
		return SyncEveryCommit, nil
	case "none":
		return SyncNone, nil
	}
	return 0, fmt.Errorf("leveldb store: unknown sync policy %q (want every-commit or none)", s)
}

// DefaultMaxGroupBytes is the default bound on the requests one group
// commit takes.
const DefaultMaxGroupBytes = 16 << 20

// Options configure a Store. The zero value is the default.
type Options struct {
	// Sync is the sync policy; SyncEveryCommit by default.
	Sync SyncPolicy
	// MaxGroupBytes bounds the keys and values of the requests one group
	// commit takes (at least one request is always taken);
	// DefaultMaxGroupBytes if 0.
	MaxGroupBytes int
	// Compress turns on goleveldb's snappy compression. It is off by
	// default: compressing before sealing lets file sizes reveal how
	// redundant the plaintext is.
	Compress bool
	// BlockCacheCapacity and WriteBuffer tune goleveldb; 0 keeps its
	// defaults (8 MiB and 4 MiB).
	BlockCacheCapacity int
	WriteBuffer        int
	// Logger receives the store's own errors; slog.Default() if nil.
	Logger *slog.Logger
}

func (o *Options) validate() error {
	if o.Sync != SyncEveryCommit && o.Sync != SyncNone {
		return fmt.Errorf("leveldb store: unknown sync policy %d", int(o.Sync))
	}
	if o.MaxGroupBytes < 0 || o.BlockCacheCapacity < 0 || o.WriteBuffer < 0 {
		return errors.New("leveldb store: negative size in options")
	}
	return nil
}

// Store is a teaclave.Store on goleveldb. It is safe for concurrent use.
type Store struct {
	db       *goleveldb.DB
	stor     storage.Storage // closed by Close when the store opened it
	ownStor  bool
	sync     bool
	maxGroup int
	log      *slog.Logger

	mu      sync.Mutex
	pending []*request
	closed  bool
	waiters map[string]*waiter

	wake    chan struct{} // a request is pending
	closing chan struct{} // closed by Close
	done    chan struct{} // closed when the committer exits

	// version is the last version handed out; only the committer uses it.
	version uint64

	groups   atomic.Uint64 // batches written
	requests atomic.Uint64 // requests applied
}

var _ teaclave.Store = (*Store)(nil)

// Open opens (creating if needed) the store in the folder path on plain,
// unsealed files.
func Open(path string, o *Options) (*Store, error) {
	stor, err := storage.OpenFile(path, false)
	if err != nil {
		return nil, fmt.Errorf("leveldb store: %w", err)
	}
	s, err := open(stor, true, o)
	if err != nil {
		stor.Close()
		return nil, err
	}
	return s, nil
}

// OpenStorage opens (creating if needed) the store on stor, such as a
// sealfs.Storage. The caller closes stor after the store.
func OpenStorage(stor storage.Storage, o *Options) (*Store, error) {
	return open(stor, false, o)
}

func open(stor storage.Storage, own bool, o *Options) (*Store, error) {
	var opts Options
	if o != nil {
		opts = *o
	}
	if err := opts.validate(); err != nil {
		return nil, err
	}
	lo := &opt.Options{
		// Strict everywhere but the journal's record framing: a crash (or
		// SIGKILL) between two writes of one journal record leaves a torn
		// record at the journal's end, which strict recovery refuses
		// ("missing chunk part"), so the store would not open again. That
		// record was never acknowledged (a write returns after its batch
		// is written), so recovery drops it. Chunk checksums are still
		// verified (StrictJournalChecksum), and on sealfs every chunk is
		// authenticated below goleveldb, so tampering is still an error.
		Strict:             opt.StrictAll &^ opt.StrictJournal,
		Compression:        opt.NoCompression,
		BlockCacheCapacity: opts.BlockCacheCapacity,
		WriteBuffer:        opts.WriteBuffer,
	}
	if opts.Compress {
		lo.Compression = opt.SnappyCompression
	}
	db, err := goleveldb.Open(stor, lo)
	if err != nil {
		return nil, fmt.Errorf("leveldb store: open: %w", err)
	}
	s := &Store{
		db:       db,
		stor:     stor,
		ownStor:  own,
		sync:     opts.Sync == SyncEveryCommit,
		maxGroup: opts.MaxGroupBytes,
		log:      opts.Logger,
		waiters:  make(map[string]*waiter),
		wake:     make(chan struct{}, 1),
		closing:  make(chan struct{}),
		done:     make(chan struct{}),
	}
	if s.maxGroup == 0 {
		s.maxGroup = DefaultMaxGroupBytes
	}
	if s.log == nil {
		s.log = slog.Default()
	}
	if err := s.loadMeta(); err != nil {
		db.Close()
		return nil, err
	}
	go s.run()
	return s, nil
}

// loadMeta checks the keyspace format (writing it into a new database) and
// loads the version counter.
func (s *Store) loadMeta() error {
	raw, err := s.db.Get(metaFormat, nil)
	switch {
	case errors.Is(err, goleveldb.ErrNotFound):
		it := s.db.NewIterator(nil, nil)
		empty := !it.First()
		it.Release()
		if err := it.Error(); err != nil {
			return fmt.Errorf("leveldb store: %w", err)
		}
		if !empty {
			return errors.New("leveldb store: the database holds data but no keyspace format: not a teaclave store")
		}
		wo := &opt.WriteOptions{Sync: s.sync}
		if err := s.db.Put(metaFormat, encodeU64(keyspaceFormat), wo); err != nil {
			return fmt.Errorf("leveldb store: %w", err)
		}
	case err != nil:
		return fmt.Errorf("leveldb store: %w", err)
	default:
		f, err := decodeU64(raw)
		if err != nil || f != keyspaceFormat {
			return fmt.Errorf("leveldb store: keyspace format %x is not supported (want %d)", raw, keyspaceFormat)
		}
	}
	raw, err = s.db.Get(metaVersion, nil)
	switch {
	case errors.Is(err, goleveldb.ErrNotFound):
		s.version = 0
	case err != nil:
		return fmt.Errorf("leveldb store: %w", err)
	default:
		if s.version, err = decodeU64(raw); err != nil {
			return fmt.Errorf("leveldb store: version counter: %w", err)
		}
	}
	return nil
}

// Close stops accepting requests, finishes those already submitted, wakes
// waiters with KindUnavailable and closes the database (and the storage
// when Open opened it). Calls after Close fail with KindUnavailable.
func (s *Store) Close() error {
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return nil
	}
	s.closed = true
	close(s.closing)
	s.mu.Unlock()
	<-s.done
	err := s.db.Close()
	if s.ownStor {
		if cerr := s.stor.Close(); err == nil {
			err = cerr
		}
	}
	if err != nil {
		return fmt.Errorf("leveldb store: close: %w", err)
	}
	return nil
}

var errClosed = teaclave.Errorf(teaclave.KindUnavailable, "storage: store is closed")

func (s *Store) isClosed() bool {
	select {
	case <-s.closing:
		return true
	default:
		return false
	}
}

// dbError classifies an error from goleveldb.
func (s *Store) dbError(err error) error {
	if errors.Is(err, goleveldb.ErrClosed) || s.isClosed() {
		return errClosed
	}
	s.log.Error("storage: database error", "err", err)
	return teaclave.Wrap(teaclave.KindInternal, "storage: database error", err)
}

func (s *Store) enter(ctx context.Context) error {
	if err := limits.ContextError(ctx); err != nil {
		return err
	}
	if s.isClosed() {
		return errClosed
	}
	return nil
}

// Get implements teaclave.Store.
func (s *Store) Get(ctx context.Context, key []byte) ([]byte, uint64, error) {
	if err := limits.CheckKey(key); err != nil {
		return nil, 0, err
	}
	if err := s.enter(ctx); err != nil {
		return nil, 0, err
	}
	raw, err := s.db.Get(rawKey(key), nil)
	if errors.Is(err, goleveldb.ErrNotFound) {
		return nil, 0, teaclave.Errorf(teaclave.KindNotFound, "storage: key not found")
	}
	if err != nil {
		return nil, 0, s.dbError(err)
	}
	v, ver, err := decodeValue(raw)
	if err != nil {
		return nil, 0, s.dbError(err)
	}
	return v, ver, nil
}

// Put implements teaclave.Store.
func (s *Store) Put(ctx context.Context, key, value []byte) error {
	if err := limits.CheckKey(key); err != nil {
		return err
	}
	if err := limits.CheckValue(value); err != nil {
		return err
	}
	_, err := s.submit(ctx, &request{ops: []op{{kind: teaclave.OpPut, key: key, value: value}}})
	return err
}

// Delete implements teaclave.Store.
func (s *Store) Delete(ctx context.Context, key []byte) error {
	if err := limits.CheckKey(key); err != nil {
		return err
	}
	_, err := s.submit(ctx, &request{ops: []op{{kind: teaclave.OpDelete, key: key}}})
	return err
}

// Enqueue implements teaclave.Store.
func (s *Store) Enqueue(ctx context.Context, q, value []byte) error {
	if err := limits.CheckQueue(q); err != nil {
		return err
	}
	if err := limits.CheckValue(value); err != nil {
		return err
	}
	_, err := s.submit(ctx, &request{ops: []op{{kind: teaclave.OpEnqueue, queue: q, value: value}}})
	return err
}

// Dequeue implements teaclave.Store.
func (s *Store) Dequeue(ctx context.Context, q []byte) ([]byte, error) {
	if err := limits.CheckQueue(q); err != nil {
		return nil, err
	}
	res, err := s.submit(ctx, &request{ops: []op{{kind: opDequeue, queue: q}}, plain: true})
	if err != nil {
		return nil, err
	}
	return res[0], nil
}

// Commit implements teaclave.Store.
func (s *Store) Commit(ctx context.Context, conds []teaclave.Condition, ops []teaclave.Op) (teaclave.CommitResult, error) {
	if err := limits.CheckCommit(conds, ops); err != nil {
		return teaclave.CommitResult{}, err
	}
	r := &request{conds: conds, ops: make([]op, len(ops))}
	for i, o := range ops {
		r.ops[i] = op{kind: o.Kind, key: o.Key, queue: o.Queue, value: o.Value}
	}
	res, err := s.submit(ctx, r)
	if err != nil {
		return teaclave.CommitResult{}, err
	}
	return teaclave.CommitResult{Dequeued: res}, nil
}

// GetKeysByPrefix implements teaclave.Store. It fails with
// KindResourceExhausted rather than return more than
// limits.MaxResultSize; list such a prefix with Range.
func (s *Store) GetKeysByPrefix(ctx context.Context, prefix []byte) ([][]byte, error) {
	if err := limits.CheckPrefix(prefix); err != nil {
		return nil, err
	}
	if err := s.enter(ctx); err != nil {
		return nil, err
	}
	it := s.db.NewIterator(util.BytesPrefix(rawKey(prefix)), nil)
	defer it.Release()
	var keys [][]byte
	size := 0
	for it.Next() {
		k := it.Key()[1:]
		size += len(k) + limits.EntryOverhead
		if size > limits.MaxResultSize {
			return nil, teaclave.Errorf(teaclave.KindResourceExhausted,
				"storage: keys with this prefix exceed %d bytes; list them with Range", limits.MaxResultSize)
		}
		keys = append(keys, bytes.Clone(k))
	}
	if err := it.Error(); err != nil {
		return nil, s.dbError(err)
	}
	return keys, nil
}

// Range implements teaclave.Store. It returns at most
// limits.MaxRangeEntries entries, and stops early (after at least one
// entry) rather than return more than limits.MaxResultSize bytes; continue
// from the last key's successor.
func (s *Store) Range(ctx context.Context, start, end []byte, limit int, reverse bool) ([]teaclave.KV, error) {
	if err := limits.CheckRange(start, end); err != nil {
		return nil, err
	}
	if err := s.enter(ctx); err != nil {
		return nil, err
	}
	out := []teaclave.KV{}
	if end != nil && bytes.Compare(start, end) >= 0 {
		return out, nil
	}
	r := &util.Range{Start: rawKey(start), Limit: []byte{nsKey + 1}}
	if end != nil {
		r.Limit = rawKey(end)
	}
	it := s.db.NewIterator(r, nil)
	defer it.Release()
	n := limits.RangeCap(limit)
	size := 0
	ok := it.First()
	if reverse {
		ok = it.Last()
	}
	for ; ok && len(out) < n; ok = step(it, reverse) {
		v, ver, err := decodeValue(it.Value())
		if err != nil {
			return nil, s.dbError(err)
		}
		k := it.Key()[1:]
		size += len(k) + len(v) + limits.EntryOverhead
		if size > limits.MaxResultSize && len(out) > 0 {
			break
		}
		out = append(out, teaclave.KV{Key: bytes.Clone(k), Value: bytes.Clone(v), Version: ver})
	}
	if err := it.Error(); err != nil {
		return nil, s.dbError(err)
	}
	return out, nil
}

// step moves it one entry in the range's direction.
func step(it iterator.Iterator, reverse bool) bool {
	if reverse {
		return it.Prev()
	}
	return it.Next()
}

// WaitDequeue implements teaclave.Store. It waits on a notification from
// the committer, never polls.
func (s *Store) WaitDequeue(ctx context.Context, q []byte) ([]byte, error) {
	if err := limits.CheckQueue(q); err != nil {
		return nil, err
	}
	for {
		ch, release := s.watch(q)
		v, err := s.Dequeue(ctx, q)
		if err == nil || teaclave.KindOf(err) != teaclave.KindNotFound {
			release()
			return v, err
		}
		err = s.wait(ctx, ch)
		release()
		if err != nil {
			return nil, err
		}
	}
}

// WaitQueue implements teaclave.Store.
func (s *Store) WaitQueue(ctx context.Context, q []byte) error {
	if err := limits.CheckQueue(q); err != nil {
		return err
	}
	for {
		if err := s.enter(ctx); err != nil {
			return err
		}
		ch, release := s.watch(q)
		_, err := s.db.Get(queueKey(q), nil)
		if err == nil {
			release()
			return nil
		}
		if !errors.Is(err, goleveldb.ErrNotFound) {
			release()
			return s.dbError(err)
		}
		err = s.wait(ctx, ch)
		release()
		if err != nil {
			return err
		}
	}
}

func (s *Store) wait(ctx context.Context, ch <-chan struct{}) error {
	select {
	case <-ch:
		return nil
	case <-ctx.Done():
		return limits.ContextError(ctx)
	case <-s.closing:
		return errClosed
	}
}

// waiter is the channel the committer closes at a queue's next enqueue,
// with the number of goroutines watching it.
type waiter struct {
	ch chan struct{}
	n  int
}

// watch returns the channel closed at q's next enqueue. Watch before
// looking at the queue, so that an enqueue in between is not missed.
func (s *Store) watch(q []byte) (<-chan struct{}, func()) {
	s.mu.Lock()
	defer s.mu.Unlock()
	name := string(q)
	w := s.waiters[name]
	if w == nil {
		w = &waiter{ch: make(chan struct{})}
		s.waiters[name] = w
	}
	w.n++
	return w.ch, func() {
		s.mu.Lock()
		defer s.mu.Unlock()
		w.n--
		if w.n == 0 && s.waiters[name] == w {
			delete(s.waiters, name)
		}
	}
}

func (s *Store) notify(q string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if w := s.waiters[q]; w != nil {
		close(w.ch)
		delete(s.waiters, q)
	}
}
