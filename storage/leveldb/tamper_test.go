package leveldb_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"testing"

	"github.com/teaclave-go/teaclave/storage/leveldb"
	"github.com/teaclave-go/teaclave/storage/sealfs"
)

// sealedFixture builds a sealed store whose folder holds a table, a
// manifest and a journal with data, as a crash would leave it, and returns
// a fresh copy of that folder for each call of copyOf.
func sealedFixture(t *testing.T) (copyOf func() string, keys int) {
	t.Helper()
	ctx := context.Background()
	dir := t.TempDir()
	value := bytes.Repeat([]byte("v"), 300)
	// Each reopen moves the journal into a table: two tables, then 200
	// keys left in the journal of a folder copied while open.
	phases := [][2]int{{0, 1500}, {1500, 3000}, {3000, 3200}}
	for phase, r := range phases {
		stor, err := sealfs.Open(dir, testKey[:], nil)
		if err != nil {
			t.Fatal(err)
		}
		// Only the last phase's writes must be on disk while open.
		o := &leveldb.Options{Sync: leveldb.SyncNone}
		if phase == len(phases)-1 {
			o = nil
		}
		s, err := leveldb.OpenStorage(stor, o)
		if err != nil {
			t.Fatal(err)
		}
		for i := r[0]; i < r[1]; i++ {
			if err := s.Put(ctx, fmt.Appendf(nil, "key-%06d", i), value); err != nil {
				t.Fatal(err)
			}
		}
		if phase == len(phases)-1 {
			snap := t.TempDir()
			copyDir(t, dir, snap)
			dir = snap
		}
		s.Close()
		stor.Close()
	}
	if m, _ := filepath.Glob(filepath.Join(dir, "*.ldb")); len(m) != 2 {
		t.Fatalf("fixture has tables %q, want 2", m)
	}
	return func() string {
		d := t.TempDir()
		copyDir(t, dir, d)
		return d
	}, 3200
}

func copyDir(t *testing.T, from, to string) {
	t.Helper()
	ents, err := os.ReadDir(from)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range ents {
		if e.Name() == "LOCK" {
			continue
		}
		b, err := os.ReadFile(filepath.Join(from, e.Name()))
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(to, e.Name()), b, 0o600); err != nil {
			t.Fatal(err)
		}
	}
}

// readEverything opens the store in dir and reads every key.
func readEverything(dir string, key []byte) (int, error) {
	stor, err := sealfs.Open(dir, key, nil)
	if err != nil {
		return 0, err
	}
	defer stor.Close()
	s, err := leveldb.OpenStorage(stor, nil)
	if err != nil {
		return 0, err
	}
	defer s.Close()
	n := 0
	var start []byte
	for {
		kvs, err := s.Range(context.Background(), start, nil, 0, false)
		if err != nil {
			return n, err
		}
		if len(kvs) == 0 {
			return n, nil
		}
		n += len(kvs)
		start = append(bytes.Clone(kvs[len(kvs)-1].Key), 0)
	}
}

func only(t *testing.T, dir, pattern string) string {
	t.Helper()
	m, err := filepath.Glob(filepath.Join(dir, pattern))
	if err != nil || len(m) == 0 {
		t.Fatalf("no %s in %s", pattern, dir)
	}
	// The largest, so that it has chunks and content.
	best := m[0]
	for _, p := range m {
		a, _ := os.Stat(p)
		b, _ := os.Stat(best)
		if a.Size() > b.Size() {
			best = p
		}
	}
	return best
}

func flip(t *testing.T, path string, off int) {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if off < 0 {
		off += len(b)
	}
	b[off] ^= 0x01
	if err := os.WriteFile(path, b, 0o600); err != nil {
		t.Fatal(err)
	}
}

// TestSealedTamper checks, end to end through goleveldb opened strict, that
// tampering with each kind of file stops the store with an error instead of
// serving data. (Damage to a table block is found when the block is read:
// by a read that needs it, or by a compaction.)
func TestSealedTamper(t *testing.T) {
	copyOf, keys := sealedFixture(t)
	if n, err := readEverything(copyOf(), testKey[:]); err != nil || n != keys {
		t.Fatalf("untampered fixture: %d keys, %v; want %d", n, err, keys)
	}
	// Offsets: 8384 is the first chunk of a sealed data file.
	for _, c := range []struct {
		name   string
		tamper func(t *testing.T, dir string)
	}{
		{"table chunk", func(t *testing.T, dir string) { flip(t, only(t, dir, "*.ldb"), 8384+5000) }},
		{"table chunk 100", func(t *testing.T, dir string) { flip(t, only(t, dir, "*.ldb"), 8384+100*4124+50) }},
		{"journal chunk", func(t *testing.T, dir string) { flip(t, only(t, dir, "*.log"), 8384+100) }},
		{"manifest header", func(t *testing.T, dir string) { flip(t, only(t, dir, "MANIFEST-*"), 20) }},
		{"CURRENT", func(t *testing.T, dir string) { flip(t, filepath.Join(dir, "CURRENT"), -3) }},
		{"table replaced by another database's", func(t *testing.T, dir string) {
			other := t.TempDir()
			stor, err := sealfs.Open(other, testKey[:], nil)
			if err != nil {
				t.Fatal(err)
			}
			s, _ := leveldb.OpenStorage(stor, &leveldb.Options{Sync: leveldb.SyncNone})
			for i := range 3000 {
				s.Put(context.Background(), fmt.Appendf(nil, "key-%06d", i), bytes.Repeat([]byte("w"), 300))
			}
			s.Close()
			stor.Close()
			stor, _ = sealfs.Open(other, testKey[:], nil)
			s, _ = leveldb.OpenStorage(stor, nil) // journal into a table
			s.Close()
			stor.Close()
			tbl := only(t, dir, "*.ldb")
			b, _ := os.ReadFile(only(t, other, "*.ldb"))
			os.WriteFile(tbl, b, 0o600)
		}},
		{"table removed", func(t *testing.T, dir string) { os.Remove(only(t, dir, "*.ldb")) }},
		{"tables swapped", func(t *testing.T, dir string) {
			tables, _ := filepath.Glob(filepath.Join(dir, "*.ldb"))
			a, _ := os.ReadFile(tables[0])
			b, _ := os.ReadFile(tables[1])
			os.WriteFile(tables[0], b, 0o600)
			os.WriteFile(tables[1], a, 0o600)
		}},
		{"table renamed over another", func(t *testing.T, dir string) {
			tables, _ := filepath.Glob(filepath.Join(dir, "*.ldb"))
			os.Rename(tables[0], tables[1])
		}},
		{"manifest final records", func(t *testing.T, dir string) {
			m := only(t, dir, "MANIFEST-*")
			flip(t, m, 64+40)      // slot 0
			flip(t, m, 64+4160+40) // slot 1
		}},
		{"journal final records", func(t *testing.T, dir string) {
			j := only(t, dir, "*.log")
			flip(t, j, 64+40)
			flip(t, j, 64+4160+40)
		}},
	} {
		t.Run(c.name, func(t *testing.T) {
			dir := copyOf()
			c.tamper(t, dir)
			n, err := readEverything(dir, testKey[:])
			if err == nil {
				t.Fatalf("tampered %s not detected: read %d keys", c.name, n)
			}
			t.Logf("detected: %v", err)
		})
	}

	t.Run("wrong key", func(t *testing.T) {
		_, err := readEverything(copyOf(), otherKey[:])
		if !errors.Is(err, sealfs.ErrWrongKey) {
			t.Fatalf("wrong key: %v", err)
		}
	})
}

var otherKey = [32]byte{1, 2, 3}
