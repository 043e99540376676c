package frontend

import (
	"crypto/sha256"
	"encoding/binary"
	"sync"
	"time"

	"github.com/teaclave-go/teaclave"
	"github.com/teaclave-go/teaclave/rpc"
)

// authCache remembers successful authentications for a short time. It is
// keyed by a SHA-256 of the id and token, so it holds no token, and a
// lookup compares digests of secrets, never the secrets themselves.
type authCache struct {
	ttl time.Duration
	max int

	mu      sync.Mutex
	entries map[[sha256.Size]byte]cached
}

type cached struct {
	caller  teaclave.Caller
	expires time.Time
}

func newAuthCache(ttl time.Duration, max int) *authCache {
	return &authCache{ttl: ttl, max: max, entries: map[[sha256.Size]byte]cached{}}
}

func cacheKey(c rpc.Credentials) [sha256.Size]byte {
	h := sha256.New()
	var n [8]byte
	binary.BigEndian.PutUint64(n[:], uint64(len(c.ID)))
	h.Write(n[:])
	h.Write([]byte(c.ID))
	h.Write([]byte(c.Token))
	var k [sha256.Size]byte
	h.Sum(k[:0])
	return k
}

func (a *authCache) get(c rpc.Credentials, now time.Time) (teaclave.Caller, bool) {
	k := cacheKey(c)
	a.mu.Lock()
	defer a.mu.Unlock()
	e, ok := a.entries[k]
	if !ok {
		return teaclave.Caller{}, false
	}
	if !now.Before(e.expires) {
		delete(a.entries, k)
		return teaclave.Caller{}, false
	}
	return e.caller, true
}

func (a *authCache) put(c rpc.Credentials, caller teaclave.Caller, now time.Time) {
	a.mu.Lock()
	defer a.mu.Unlock()
	if len(a.entries) >= a.max {
		for k, e := range a.entries {
			if !now.Before(e.expires) {
				delete(a.entries, k)
			}
		}
		if len(a.entries) >= a.max {
			// Still full of live entries: start over rather than grow.
			clear(a.entries)
		}
	}
	a.entries[cacheKey(c)] = cached{caller: caller, expires: now.Add(a.ttl)}
}
