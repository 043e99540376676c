package leveldb

// GroupsOf returns how many batches s has written, for tests and
// benchmarks of group commit.
func GroupsOf(s *Store) uint64 { return s.groups.Load() }
