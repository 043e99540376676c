package execution

import (
	"container/list"
	"context"
	"sync"

	"github.com/teaclave-go/teaclave"
	"github.com/teaclave-go/teaclave/scheduler"
)

// payloadCache keeps function payloads by SHA-256, least recently used
// first out, up to a number of bytes. A payload is fetched from the
// scheduler only when its digest is not cached, and checked against the
// digest either way.
type payloadCache struct {
	max int64

	mu    sync.Mutex
	size  int64
	lru   *list.List // of *payloadEntry, most recent first
	items map[teaclave.Digest]*list.Element
}

type payloadEntry struct {
	digest  teaclave.Digest
	payload []byte
}

func newPayloadCache(max int64) *payloadCache {
	return &payloadCache{max: max, lru: list.New(), items: map[teaclave.Digest]*list.Element{}}
}

func (c *payloadCache) get(ctx context.Context, d scheduler.Dispatcher, fn teaclave.ID, digest teaclave.Digest) ([]byte, error) {
	c.mu.Lock()
	if e, ok := c.items[digest]; ok {
		c.lru.MoveToFront(e)
		p := e.Value.(*payloadEntry).payload
		c.mu.Unlock()
		return p, nil
	}
	c.mu.Unlock()
	p, err := d.FetchPayload(ctx, fn, digest)
	if err != nil {
		return nil, err
	}
	if teaclave.DigestOf(p) != digest {
		return nil, teaclave.Errorf(teaclave.KindInternal, "payload does not match its digest")
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if _, ok := c.items[digest]; ok || int64(len(p)) > c.max {
		return p, nil
	}
	c.items[digest] = c.lru.PushFront(&payloadEntry{digest: digest, payload: p})
	c.size += int64(len(p))
	for c.size > c.max {
		e := c.lru.Back()
		pe := e.Value.(*payloadEntry)
		c.lru.Remove(e)
		delete(c.items, pe.digest)
		c.size -= int64(len(pe.payload))
	}
	return p, nil
}
