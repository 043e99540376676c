package leveldb_test

import (
	"context"
	"fmt"
	"math/rand/v2"
	"sync"
	"testing"
	"time"

	goleveldb "github.com/syndtr/goleveldb/leveldb"
	"github.com/syndtr/goleveldb/leveldb/opt"
	"github.com/syndtr/goleveldb/leveldb/storage"
	"github.com/syndtr/goleveldb/leveldb/util"

	"github.com/teaclave-go/teaclave"
	"github.com/teaclave-go/teaclave/storage/leveldb"
	"github.com/teaclave-go/teaclave/storage/sealfs"
)

// rawDB opens goleveldb itself, on plain files or on sealfs, with the
// options the store uses.
func rawDB(b *testing.B, sealed bool) *goleveldb.DB {
	b.Helper()
	dir := b.TempDir()
	var stor storage.Storage
	var err error
	if sealed {
		stor, err = sealfs.Open(dir, testKey[:], nil)
	} else {
		stor, err = storage.OpenFile(dir, false)
	}
	if err != nil {
		b.Fatal(err)
	}
	db, err := goleveldb.Open(stor, &opt.Options{Strict: opt.StrictAll, Compression: opt.NoCompression})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { db.Close(); stor.Close() })
	return db
}

var layers = []struct {
	name   string
	sealed bool
}{{"plain", false}, {"sealed", true}}

// BenchmarkPut compares goleveldb on plain files and on sealfs: Puts of
// 100-byte values, synced or not.
func BenchmarkPut(b *testing.B) {
	value := make([]byte, 100)
	for _, sync := range []bool{false, true} {
		for _, l := range layers {
			b.Run(fmt.Sprintf("sync=%v/%s", sync, l.name), func(b *testing.B) {
				db := rawDB(b, l.sealed)
				wo := &opt.WriteOptions{Sync: sync}
				b.ResetTimer()
				for i := range b.N {
					if err := db.Put(fmt.Appendf(nil, "key-%010d", i), value, wo); err != nil {
						b.Fatal(err)
					}
				}
				b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "ops/s")
			})
		}
	}
}

// BenchmarkGet compares random Gets of 512-byte values from tables: 10 000
// keys (5 MB, within goleveldb's 8 MiB block cache) and 40 000 keys (20 MB,
// so most Gets read a block from a file).
func BenchmarkGet(b *testing.B) {
	for _, n := range []int{10000, 40000} {
		for _, l := range layers {
			b.Run(fmt.Sprintf("keys=%d/%s", n, l.name), func(b *testing.B) {
				db := rawDB(b, l.sealed)
				value := make([]byte, 512)
				batch := new(goleveldb.Batch)
				for i := range n {
					batch.Put(fmt.Appendf(nil, "key-%010d", i), value)
					if batch.Len() == 1000 {
						if err := db.Write(batch, nil); err != nil {
							b.Fatal(err)
						}
						batch.Reset()
					}
				}
				// Move everything from the journal into tables.
				if err := db.CompactRange(util.Range{}); err != nil {
					b.Fatal(err)
				}
				rnd := rand.New(rand.NewPCG(1, 2))
				b.ResetTimer()
				for range b.N {
					if _, err := db.Get(fmt.Appendf(nil, "key-%010d", rnd.IntN(n)), nil); err != nil {
						b.Fatal(err)
					}
				}
				b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "ops/s")
			})
		}
	}
}

// BenchmarkCommitDurable measures durable (SyncEveryCommit) Commits per
// second on the sealed store with 1 and 16 concurrent writers, and how
// many commits share each sync (group commit).
func BenchmarkCommitDurable(b *testing.B) {
	for _, writers := range []int{1, 16} {
		b.Run(fmt.Sprintf("writers=%d", writers), func(b *testing.B) {
			stor, err := sealfs.Open(b.TempDir(), testKey[:], nil)
			if err != nil {
				b.Fatal(err)
			}
			defer stor.Close()
			s, err := leveldb.OpenStorage(stor, nil)
			if err != nil {
				b.Fatal(err)
			}
			defer s.Close()
			ctx := context.Background()
			value := make([]byte, 200)
			groups0 := leveldb.GroupsOf(s)
			var wg sync.WaitGroup
			b.ResetTimer()
			start := time.Now()
			for w := range writers {
				wg.Go(func() {
					for i := w; i < b.N; i += writers {
						k := fmt.Appendf(nil, "task-%010d", i)
						_, err := s.Commit(ctx, []teaclave.Condition{teaclave.Absent(k)}, []teaclave.Op{
							teaclave.PutOp(k, value), teaclave.EnqueueOp([]byte("staged"), k),
						})
						if err != nil {
							b.Error(err)
							return
						}
					}
				})
			}
			wg.Wait()
			el := time.Since(start)
			groups := leveldb.GroupsOf(s) - groups0
			b.ReportMetric(float64(b.N)/el.Seconds(), "commits/s")
			b.ReportMetric(float64(b.N)/float64(max(groups, 1)), "commits/sync")
		})
	}
}
