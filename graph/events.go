package graph

import (
	"context"
	"log/slog"
	"sync"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
)

// Events fans PostgreSQL notifications out to subscriptions. One LISTEN connection
// per replica serves every subscriber of that replica; notifications carry ids
// only, and each subscriber loads what it needs through the access-checked domain
// layer, so a subscription never shows more than a query would.
type Events struct {
	pool     *pgxpool.Pool
	logger   *slog.Logger
	channels []string

	mu   sync.Mutex
	subs map[string]map[chan string]struct{}
}

// NewEvents returns an idle hub for the given NOTIFY channels; Run starts
// listening.
func NewEvents(pool *pgxpool.Pool, logger *slog.Logger, channels ...string) *Events {
	return &Events{pool: pool, logger: logger, channels: channels, subs: map[string]map[chan string]struct{}{}}
}

// Subscribe returns a channel of the payloads notified on channel, closed when ctx
// ends. A slow subscriber misses events rather than stalling the others.
func (e *Events) Subscribe(ctx context.Context, channel string) <-chan string {
	ch := make(chan string, 64)
	e.mu.Lock()
	if e.subs[channel] == nil {
		e.subs[channel] = map[chan string]struct{}{}
	}
	e.subs[channel][ch] = struct{}{}
	e.mu.Unlock()
	go func() {
		<-ctx.Done()
		e.mu.Lock()
		delete(e.subs[channel], ch)
		e.mu.Unlock()
		close(ch)
	}()
	return ch
}

func (e *Events) publish(channel, payload string) {
	e.mu.Lock()
	defer e.mu.Unlock()
	for ch := range e.subs[channel] {
		select {
		case ch <- payload:
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
	defer conn.Release()
	// LISTEN state must not leak back into the pool with the connection.
	defer conn.Exec(context.WithoutCancel(ctx), "UNLISTEN *") //nolint:errcheck
	for _, c := range e.channels {
		if _, err := conn.Exec(ctx, `LISTEN "`+c+`"`); err != nil {
			return err
		}
	}
	for {
		n, err := conn.Conn().WaitForNotification(ctx)
		if err != nil {
			return err
		}
		e.publish(n.Channel, n.Payload)
	}
}
