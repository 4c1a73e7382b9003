package hardware

import (
	"sync"
	"time"
)

// CacheTTL is how long a replica reuses a reliability figure or ranking it
// computed on demand: a window or a minimum severity, or before the
// hardware-reliability job stored the figures (figures.go). Those read the
// whole fleet (every host's exposure), which at 250,000 hosts takes about a
// second (docs/benchmarks.md). A change made through this replica (a fault, a
// ticket step, a lifecycle) clears the cache at once; other replicas and the
// importers are seen within CacheTTL.
const CacheTTL = 5 * time.Minute

type cacheEntry struct {
	at    time.Time
	value any
}

// resultCache keeps computed figures by key for CacheTTL.
type resultCache struct {
	mu      sync.Mutex
	entries map[string]cacheEntry
}

func newResultCache() *resultCache { return &resultCache{entries: map[string]cacheEntry{}} }

func (c *resultCache) get(key string, now time.Time) (any, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	e, ok := c.entries[key]
	if !ok || now.Sub(e.at) > CacheTTL {
		return nil, false
	}
	return e.value, true
}

func (c *resultCache) put(key string, now time.Time, v any) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if len(c.entries) > 1000 {
		clear(c.entries)
	}
	c.entries[key] = cacheEntry{at: now, value: v}
}

func (c *resultCache) clear() {
	c.mu.Lock()
	defer c.mu.Unlock()
	clear(c.entries)
}
