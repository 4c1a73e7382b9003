package graph

import (
	"context"
	"log/slog"
	"strconv"
	"sync"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/teslaops/tesla/internal/inventory"
)

// Events fans PostgreSQL notifications out to subscriptions. One LISTEN connection
// per replica serves every subscriber of that replica; notifications carry ids
// only, and each subscriber loads what it needs through the access-checked domain
// layer, so a subscription never shows more than a query would.
type Events struct {
	pool   *pgxpool.Pool
	logger *slog.Logger

	mu   sync.Mutex
	subs map[chan int64]struct{}
}

// NewEvents returns an idle hub; Run starts listening.
func NewEvents(pool *pgxpool.Pool, logger *slog.Logger) *Events {
	return &Events{pool: pool, logger: logger, subs: map[chan int64]struct{}{}}
}

// SubscribeHostState returns a channel of host ids whose state changed, closed when
// ctx ends. A slow subscriber misses events rather than stalling the others.
func (e *Events) SubscribeHostState(ctx context.Context) <-chan int64 {
	ch := make(chan int64, 64)
	e.mu.Lock()
	e.subs[ch] = struct{}{}
	e.mu.Unlock()
	go func() {
		<-ctx.Done()
		e.mu.Lock()
		delete(e.subs, ch)
		e.mu.Unlock()
		close(ch)
	}()
	return ch
}

func (e *Events) publish(id int64) {
	e.mu.Lock()
	defer e.mu.Unlock()
	for ch := range e.subs {
		select {
		case ch <- id:
		default:
		}
	}
}

// Run listens until ctx ends, reconnecting with back-off when the connection drops.
func (e *Events) Run(ctx context.Context) {
	backoff := time.Second
	for ctx.Err() == nil {
		err := e.listen(ctx)
		if ctx.Err() != nil {
			return
		}
		e.logger.WarnContext(ctx, "event listener stopped; reconnecting", "error", err, "backoff", backoff)
		select {
		case <-ctx.Done():
			return
		case <-time.After(backoff):
		}
		backoff = min(backoff*2, 30*time.Second)
	}
}

func (e *Events) listen(ctx context.Context) error {
	conn, err := e.pool.Acquire(ctx)
	if err != nil {
		return err
	}
	// The connection is hijacked-by-use: LISTEN state must not return to the pool.
	defer conn.Release()
	defer conn.Exec(context.WithoutCancel(ctx), "UNLISTEN *") //nolint:errcheck
	if _, err := conn.Exec(ctx, "LISTEN "+inventory.HostStateChannel); err != nil {
		return err
	}
	for {
		n, err := conn.Conn().WaitForNotification(ctx)
		if err != nil {
			return err
		}
		if id, err := strconv.ParseInt(n.Payload, 10, 64); err == nil {
			e.publish(id)
		}
	}
}
