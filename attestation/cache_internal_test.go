package attestation

import (
	"testing"
	"time"
)

// TestCacheBound: a full cache first drops expired entries, then arbitrary
// ones, and never grows past its size.
func TestCacheBound(t *testing.T) {
	v := &Verifier{cache: make(map[[32]byte]cacheEntry), cacheSize: 4}
	now := time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC)
	live := cacheEntry{notBefore: now.Add(-time.Hour), notAfter: now.Add(time.Hour)}
	dead := cacheEntry{notBefore: now.Add(-2 * time.Hour), notAfter: now.Add(-time.Hour)}
	v.store(now, [32]byte{1}, live)
	v.store(now, [32]byte{2}, dead)
	v.store(now, [32]byte{3}, dead)
	v.store(now, [32]byte{4}, live)
	v.store(now, [32]byte{5}, live)
	if len(v.cache) != 3 {
		t.Fatalf("expired entries not dropped first: %d entries", len(v.cache))
	}
	for _, k := range [][32]byte{{1}, {4}, {5}} {
		if _, ok := v.cache[k]; !ok {
			t.Fatalf("live entry %v dropped", k[0])
		}
	}
	for i := byte(10); i < 30; i++ {
		v.store(now, [32]byte{i}, live)
		if len(v.cache) > 4 {
			t.Fatalf("cache grew to %d", len(v.cache))
		}
	}
	if _, ok := v.cache[[32]byte{29}]; !ok {
		t.Fatal("newest entry not stored")
	}
}
