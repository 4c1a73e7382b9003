// Package notify carries PostgreSQL notifications to the goroutines that wait for
// them: one LISTEN connection per replica (Listener), fanned out by channel to
// subscribers with bounded buffers, the senders' side (Notify, NotifyIDs), and a
// Coalescer that turns bursts of events into beats.
//
// Notifications carry identifiers only, never data: each subscriber loads what it
// needs through the access-checked domain layer, so a subscription never shows more
// than a query would. They are also lossy (a dropped connection, a subscriber that
// falls behind), so a subscriber that keeps state is told to reload it (a Resync
// event) rather than silently left stale.
package notify

import (
	"context"
	"log/slog"
	"sync"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
)

// Event is one notification on a channel, or a Resync marker.
type Event struct {
	// Payload is what the sender notified (an id, or a time); empty on a Resync.
	Payload string
	// Resync says notifications may have been lost just before this event: the
	// listener reconnected, or this subscriber fell behind and its backlog was
	// dropped. A subscriber that keeps state reloads it.
	Resync bool
}

// DefaultBuffer is how many events a subscriber may fall behind before its backlog
// is replaced by one Resync.
const DefaultBuffer = 64

// Listener owns one LISTEN connection per replica and fans what it hears out to
// every subscriber of the channel. A slow subscriber never stalls the others or
// the connection: its backlog is bounded, and on overflow it is coalesced into a
// single Resync.
type Listener struct {
	pool     *pgxpool.Pool
	logger   *slog.Logger
	channels []string
	// buffer bounds each subscriber's backlog; backoff is the first reconnection
	// delay, doubled up to maxBackoff.
	buffer              int
	backoff, maxBackoff time.Duration

	mu   sync.Mutex
	subs map[string]map[*subscriber]struct{}
	// connected counts successful LISTENs, so a reconnection can be told apart from
	// the first connection.
	connected int
}

// NewListener returns an idle listener for the given NOTIFY channels; Run starts
// listening.
func NewListener(pool *pgxpool.Pool, logger *slog.Logger, channels ...string) *Listener {
	return &Listener{pool: pool, logger: logger, channels: channels, buffer: DefaultBuffer,
		backoff: time.Second, maxBackoff: 30 * time.Second, subs: map[string]map[*subscriber]struct{}{}}
}

// Subscribe returns the events of channel from now on, closed when ctx ends.
// Subscribe before loading the state the events update, so nothing slips in
// between.
func (l *Listener) Subscribe(ctx context.Context, channel string) <-chan Event {
	s := &subscriber{wake: make(chan struct{}, 1)}
	l.mu.Lock()
	if l.subs[channel] == nil {
		l.subs[channel] = map[*subscriber]struct{}{}
	}
	l.subs[channel][s] = struct{}{}
	l.mu.Unlock()
	out := make(chan Event)
	go func() {
		defer close(out)
		defer func() {
			l.mu.Lock()
			delete(l.subs[channel], s)
			l.mu.Unlock()
		}()
		for {
			select {
			case <-ctx.Done():
				return
			case <-s.wake:
			}
			for ev, ok := s.pop(); ok; ev, ok = s.pop() {
				select {
				case out <- ev:
				case <-ctx.Done():
					return
				}
			}
		}
	}()
	return out
}

// publish hands ev to every subscriber of channel without waiting for any.
func (l *Listener) publish(channel string, ev Event) {
	l.mu.Lock()
	defer l.mu.Unlock()
	for s := range l.subs[channel] {
		if s.push(ev, l.buffer) {
			l.logger.Warn("notification subscriber fell behind; its backlog becomes a resync", "channel", channel, "buffer", l.buffer)
		}
	}
}

// resyncAll tells every subscriber that notifications may have been lost.
func (l *Listener) resyncAll() {
	l.mu.Lock()
	channels := make([]string, 0, len(l.subs))
	for c := range l.subs {
		channels = append(channels, c)
	}
	l.mu.Unlock()
	for _, c := range channels {
		l.publish(c, Event{Resync: true})
	}
}

// Run listens until ctx ends, reconnecting with back-off when the connection drops
// and telling every subscriber to resync once it is back.
func (l *Listener) Run(ctx context.Context) {
	backoff := l.backoff
	for ctx.Err() == nil {
		err := l.listen(ctx, func() { backoff = l.backoff })
		if ctx.Err() != nil {
			return
		}
		l.logger.WarnContext(ctx, "event listener stopped; reconnecting", "error", err, "backoff", backoff)
		select {
		case <-ctx.Done():
			return
		case <-time.After(backoff):
		}
		backoff = min(backoff*2, l.maxBackoff)
	}
}

// listen holds one connection until it fails; connected runs once every channel
// is listened to.
func (l *Listener) listen(ctx context.Context, connected func()) error {
	conn, err := l.pool.Acquire(ctx)
	if err != nil {
		return err
	}
	defer conn.Release()
	// LISTEN state must not leak back into the pool with the connection.
	defer conn.Exec(context.WithoutCancel(ctx), "UNLISTEN *") //nolint:errcheck
	for _, c := range l.channels {
		if _, err := conn.Exec(ctx, `LISTEN "`+c+`"`); err != nil {
			return err
		}
	}
	connected()
	l.mu.Lock()
	l.connected++
	again := l.connected > 1
	l.mu.Unlock()
	if again {
		// Whatever was notified while the connection was down is lost.
		l.resyncAll()
	}
	for {
		n, err := conn.Conn().WaitForNotification(ctx)
		if err != nil {
			return err
		}
		l.publish(n.Channel, Event{Payload: n.Payload})
	}
}

// subscriber is one subscription's bounded backlog; its goroutine in Subscribe
// drains it into the subscription's channel.
type subscriber struct {
	mu    sync.Mutex
	queue []Event
	wake  chan struct{}
}

// push queues ev, replacing a full backlog with one Resync (and reporting true):
// a subscriber that fell that far behind reloads rather than replays.
func (s *subscriber) push(ev Event, limit int) (overflowed bool) {
	s.mu.Lock()
	switch {
	case ev.Resync && len(s.queue) > 0 && s.queue[len(s.queue)-1].Resync:
		// Two resyncs in a row say no more than one.
	case len(s.queue) >= limit:
		s.queue = append(s.queue[:0], Event{Resync: true})
		overflowed = true
	default:
		s.queue = append(s.queue, ev)
	}
	s.mu.Unlock()
	select {
	case s.wake <- struct{}{}:
	default:
	}
	return overflowed
}

func (s *subscriber) pop() (Event, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if len(s.queue) == 0 {
		return Event{}, false
	}
	ev := s.queue[0]
	s.queue = s.queue[1:]
	return ev, true
}
