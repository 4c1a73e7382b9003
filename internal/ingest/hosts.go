package ingest

import (
	"context"
	"fmt"
	"log/slog"
	"maps"
	"sync"
	"sync/atomic"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
)

// hostCache resolves hostnames to host ids for every request of a handler. Hosts
// change rarely and a body names the same hosts over and over, so the whole
// inventory is loaded once and a line costs one map lookup. An unknown name may be
// a host registered since the load: the cache then fetches the hosts added since
// (ids only grow), and every few minutes reloads everything to catch renames.
// Refreshes are rate-limited, so a body full of unknown hosts costs at most one
// query per interval, never one per line.
type hostCache struct {
	pool       *pgxpool.Pool
	logger     *slog.Logger
	minRefresh time.Duration
	fullEvery  time.Duration

	snap atomic.Pointer[hostSnapshot] // immutable once published

	mu          sync.Mutex // serialises loads; guards the times below
	lastRefresh time.Time
	lastFull    time.Time
}

// hostSnapshot is one immutable view of the inventory; readers need no lock.
type hostSnapshot struct {
	byName map[string]int64
	ids    map[int64]struct{}
	maxID  int64
}

// refreshTimeout bounds a refresh made in the middle of a request, which waits for
// a pool connection while the request's writer holds another.
const refreshTimeout = 5 * time.Second

func newHostCache(pool *pgxpool.Pool, logger *slog.Logger, minRefresh time.Duration) *hostCache {
	return &hostCache{pool: pool, logger: logger, minRefresh: minRefresh, fullEvery: 5 * time.Minute}
}

// get returns the current snapshot, loading the inventory on first use.
func (c *hostCache) get(ctx context.Context) (*hostSnapshot, error) {
	if s := c.snap.Load(); s != nil {
		return s, nil
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if s := c.snap.Load(); s != nil {
		return s, nil
	}
	s, err := c.load(ctx, nil)
	if err != nil {
		return nil, err
	}
	// The first miss after the load may refresh at once: the load says nothing
	// about hosts registered while the first request was on its way.
	c.lastFull = time.Now()
	c.snap.Store(s)
	return s, nil
}

// refresh is called after a miss in seen. It returns a newer snapshot when one
// exists or may be loaded now, and seen itself otherwise (or when loading fails:
// the line is then reported as an unknown host and the failure logged).
func (c *hostCache) refresh(ctx context.Context, seen *hostSnapshot) *hostSnapshot {
	c.mu.Lock()
	defer c.mu.Unlock()
	cur := c.snap.Load()
	if cur != seen {
		return cur // another request refreshed in the meantime
	}
	now := time.Now()
	if now.Sub(c.lastRefresh) < c.minRefresh {
		return cur
	}
	c.lastRefresh = now
	ctx, cancel := context.WithTimeout(ctx, refreshTimeout)
	defer cancel()
	var base *hostSnapshot
	if now.Sub(c.lastFull) < c.fullEvery {
		base = cur
	}
	s, err := c.load(ctx, base)
	if err != nil {
		c.logger.WarnContext(ctx, "refreshing the hostname cache failed", "error", err)
		return cur
	}
	if base == nil {
		c.lastFull = now
	}
	if s != cur {
		c.snap.Store(s)
	}
	return s
}

// load reads every host (base nil) or the hosts added after base's, returning
// base itself when there are none.
func (c *hostCache) load(ctx context.Context, base *hostSnapshot) (*hostSnapshot, error) {
	var after int64
	if base != nil {
		after = base.maxID
	}
	rows, err := c.pool.Query(ctx, `SELECT id, hostname FROM host WHERE id > $1 ORDER BY id`, after)
	if err != nil {
		return nil, fmt.Errorf("error loading hostnames: %w", err)
	}
	var (
		s    *hostSnapshot
		id   int64
		name string
	)
	_, err = pgx.ForEachRow(rows, []any{&id, &name}, func() error {
		if s == nil {
			s = &hostSnapshot{byName: map[string]int64{}, ids: map[int64]struct{}{}}
			if base != nil {
				s.byName, s.ids, s.maxID = maps.Clone(base.byName), maps.Clone(base.ids), base.maxID
			}
		}
		s.byName[name] = id
		s.ids[id] = struct{}{}
		s.maxID = max(s.maxID, id)
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("error loading hostnames: %w", err)
	}
	switch {
	case s != nil:
		return s, nil
	case base != nil:
		return base, nil
	default:
		return &hostSnapshot{byName: map[string]int64{}, ids: map[int64]struct{}{}}, nil
	}
}
