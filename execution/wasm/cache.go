package wasm

import (
	"container/list"
	"context"
	"crypto/sha256"
	"sync"
)

// moduleCache keeps compiled modules by payload SHA-256, least recently
// used first out, within an entry count and a payload byte budget. A
// payload is compiled once however many tasks ask for it at the same time;
// compile errors are kept too (compiling is deterministic). A module
// evicted while tasks use it is closed when the last one releases it.
type moduleCache struct {
	maxEntries int
	maxBytes   int64
	compile    func([]byte) (*module, error)

	mu      sync.Mutex
	bytes   int64
	entries map[[sha256.Size]byte]*cacheEntry
	lru     list.List // of *cacheEntry, most recently used first
	closed  bool
}

type cacheEntry struct {
	key   [sha256.Size]byte
	size  int64
	ready chan struct{} // closed when mod or err is set
	mod   *module
	err   error

	// guarded by moduleCache.mu
	refs    int
	evicted bool
	elem    *list.Element
}

func newModuleCache(maxEntries int, maxBytes int64, compile func([]byte) (*module, error)) *moduleCache {
	return &moduleCache{
		maxEntries: maxEntries, maxBytes: maxBytes, compile: compile,
		entries: map[[sha256.Size]byte]*cacheEntry{},
	}
}

// get returns the compiled payload and a function to call when done with
// it. It returns early with ctx's error if ctx ends while the payload
// compiles; the compilation goes on for the next task.
func (c *moduleCache) get(ctx context.Context, payload []byte) (*module, func(), error) {
	key := sha256.Sum256(payload)
	c.mu.Lock()
	if c.closed {
		c.mu.Unlock()
		return nil, nil, errClosed
	}
	e, ok := c.entries[key]
	if ok {
		c.lru.MoveToFront(e.elem)
	} else {
		e = &cacheEntry{key: key, size: int64(len(payload)), ready: make(chan struct{})}
		e.elem = c.lru.PushFront(e)
		c.entries[key] = e
		c.bytes += e.size
		c.evictLocked(e)
		// Compile from a copy: the payload belongs to the caller.
		go c.fill(e, append([]byte(nil), payload...))
	}
	e.refs++
	c.mu.Unlock()

	release := func() { c.release(e) }
	select {
	case <-e.ready:
	case <-ctx.Done():
		release()
		return nil, nil, ctx.Err()
	}
	if e.err != nil {
		release()
		return nil, nil, e.err
	}
	return e.mod, release, nil
}

func (c *moduleCache) fill(e *cacheEntry, payload []byte) {
	mod, err := c.compile(payload)
	c.mu.Lock()
	defer c.mu.Unlock()
	e.mod, e.err = mod, err
	close(e.ready)
	if (e.evicted || c.closed) && e.refs == 0 && mod != nil {
		mod.close()
	}
}

func (c *moduleCache) release(e *cacheEntry) {
	c.mu.Lock()
	defer c.mu.Unlock()
	e.refs--
	if e.evicted && e.refs == 0 && e.mod != nil {
		e.mod.close()
	}
}

// evictLocked drops least recently used entries other than keep until
// the cache is within its limits.
func (c *moduleCache) evictLocked(keep *cacheEntry) {
	for el := c.lru.Back(); el != nil && (c.lru.Len() > c.maxEntries || c.bytes > c.maxBytes); {
		e := el.Value.(*cacheEntry)
		el = el.Prev()
		if e == keep {
			continue
		}
		c.removeLocked(e)
	}
}

func (c *moduleCache) removeLocked(e *cacheEntry) {
	c.lru.Remove(e.elem)
	delete(c.entries, e.key)
	c.bytes -= e.size
	e.evicted = true
	select {
	case <-e.ready:
		if e.refs == 0 && e.mod != nil {
			e.mod.close()
		}
	default: // fill closes it if nobody holds it by then
	}
}

// len reports how many entries the cache holds.
func (c *moduleCache) len() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.lru.Len()
}

// close drops every entry; modules in use are closed on release.
func (c *moduleCache) close() {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.closed = true
	for c.lru.Len() > 0 {
		c.removeLocked(c.lru.Front().Value.(*cacheEntry))
	}
}
