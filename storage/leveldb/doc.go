// Package leveldb is the embedded teaclave.Store: Teaclave's six key-value
// and queue operations, atomic conditional commits, blocking dequeues and
// ordered ranges on github.com/syndtr/goleveldb, opened strict
// (opt.StrictAll but for the journal's record framing, so that a record
// torn by a crash at the journal's end, never acknowledged, is dropped at
// recovery) so that any corruption it notices stops it instead of being
// skipped. In production it runs on package sealfs, which seals every
// file; Open runs it on plain files.
//
//	stor, err := sealfs.Open(dir, storageKey, nil)
//	s, err := leveldb.OpenStorage(stor, nil) // durable, group commit
//	defer stor.Close()
//	defer s.Close()
//
// # Writes
//
// One committer goroutine is the only writer. Every write (Put, Delete,
// Enqueue, Dequeue and Commit) is a request to it; it takes all pending
// requests, checks and applies each in order against the database plus the
// effects of the earlier ones (so a Commit's conditions and its ops read and
// write atomically), and writes the effects of those that succeed as one
// goleveldb batch. A request that fails writes nothing and does not affect
// the others. With the default SyncEveryCommit policy the batch is written
// with a sync, and requests that arrive during a sync share the next one:
// group commit, so concurrent writers pay one sync per group, not one each.
// A request whose context ends before the committer takes it is dropped
// (nothing is written); once taken, its outcome is reported.
//
// Reads (Get, GetKeysByPrefix, Range) go straight to goleveldb and see
// every write that has returned.
//
// # Keyspace
//
// User keys, queues and the store's metadata have separate namespaces in
// the goleveldb keyspace (the first byte: 'k' keys, 'm' queue head and
// tail, 'e' queue elements, 's' metadata). A value is stored as its version
// (u64, big-endian) followed by its bytes. Versions come from one counter,
// persisted in every batch, so each write of a key gives it a version no
// earlier write of any key had. A queue is a head and a tail index (u64,
// never wrapping; Teaclave's layout used u32 that wrapped) and elements
// keyed by the queue name's length, the name and the index; a drained
// queue's bookkeeping is deleted, so its indexes restart at 0.
//
// # Limits
//
// Keys and values follow package storage/limits: keys and queue names of 1
// to 1024 bytes, values up to 4 MiB less 64 KiB, Commits of up to 1024 ops
// and 1024 conditions and as many bytes as a value. Range returns at most
// 1000 entries and stops early rather than return more than
// limits.MaxResultSize bytes; GetKeysByPrefix fails with
// KindResourceExhausted rather than do so.
//
// # Crashes
//
// With SyncEveryCommit every acknowledged write survives a crash and a
// Commit is applied entirely or not at all (one goleveldb batch). goleveldb
// itself cannot recover a database whose creation was interrupted between
// writing its first manifest and naming it in CURRENT: the folder holds
// database files but no CURRENT, and goleveldb refuses it (it does so on
// plain files too). Delete the folder of a database that never opened.
package leveldb
