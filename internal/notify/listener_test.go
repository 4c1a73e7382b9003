package notify

import (
	"context"
	"io"
	"log/slog"
	"strconv"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/teslaops/tesla/internal/db/dbtest"
)

func quietLogger() *slog.Logger { return slog.New(slog.NewTextHandler(io.Discard, nil)) }

func receive(t *testing.T, ctx context.Context, ch <-chan Event) Event {
	t.Helper()
	select {
	case ev, ok := <-ch:
		require.True(t, ok, "the subscription ended")
		return ev
	case <-ctx.Done():
		t.Fatal("no event before the deadline")
	}
	return Event{}
}

func TestFanOutReachesEverySubscriberOfTheChannelOnly(t *testing.T) {
	t.Parallel()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	l := NewListener(nil, quietLogger())
	a, b := l.Subscribe(ctx, "hosts"), l.Subscribe(ctx, "hosts")
	other := l.Subscribe(ctx, "clusters")
	l.publish("hosts", Event{Payload: "7"})
	l.publish("clusters", Event{Payload: "3"})
	require.Equal(t, Event{Payload: "7"}, receive(t, ctx, a))
	require.Equal(t, Event{Payload: "7"}, receive(t, ctx, b))
	require.Equal(t, Event{Payload: "3"}, receive(t, ctx, other))

	// An ended subscription is closed and forgotten.
	subCtx, end := context.WithCancel(ctx)
	gone := l.Subscribe(subCtx, "hosts")
	end()
	for range gone {
	}
	l.mu.Lock()
	require.Len(t, l.subs["hosts"], 2)
	l.mu.Unlock()
}

// TestASlowSubscriberDoesNotHoldUpOthers: a subscriber that reads nothing while
// far more than its buffer is published costs the others nothing, and is told it
// missed events (one Resync in place of its backlog) instead of replaying them.
func TestASlowSubscriberDoesNotHoldUpOthers(t *testing.T) {
	t.Parallel()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	l := NewListener(nil, quietLogger())
	l.buffer = 4
	slow := l.Subscribe(ctx, "hosts")
	fast := l.Subscribe(ctx, "hosts")
	const n = 100
	for i := range n {
		// publish never blocks; fast keeps up, slow reads nothing.
		l.publish("hosts", Event{Payload: strconv.Itoa(i)})
		require.Equal(t, strconv.Itoa(i), receive(t, ctx, fast).Payload)
	}
	// slow's goroutine may have taken one event off its queue before the overflow,
	// waiting to hand it over; then comes one Resync and whatever followed it.
	var got []Event
	for len(got) == 0 || !got[len(got)-1].Resync && got[len(got)-1].Payload != strconv.Itoa(n-1) {
		got = append(got, receive(t, ctx, slow))
	}
	require.LessOrEqual(t, len(got), 2+l.buffer, "the backlog is bounded: %v", got)
	resyncs := 0
	for _, ev := range got {
		if ev.Resync {
			resyncs++
		}
	}
	require.GreaterOrEqual(t, resyncs, 1, "the slow subscriber is told it missed events: %v", got)
}

// TestListenerReconnectsAndTellsSubscribersToResync: when the LISTEN connection
// is killed, the listener comes back, says so with a Resync, and delivers again.
func TestListenerReconnectsAndTellsSubscribersToResync(t *testing.T) {
	t.Parallel()
	pool := dbtest.New(t)
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	l := NewListener(pool, quietLogger(), "test_events")
	l.backoff = 10 * time.Millisecond
	events := l.Subscribe(ctx, "test_events")
	go l.Run(ctx)

	// The first LISTEN may not be in place yet: notify until one arrives.
	send := func(id int64) Event {
		t.Helper()
		for {
			require.NoError(t, NotifyIDs(ctx, pool, "test_events", []int64{id}))
			select {
			case ev := <-events:
				return ev
			case <-time.After(50 * time.Millisecond):
			case <-ctx.Done():
				t.Fatal("no notification before the deadline")
			}
		}
	}
	require.Equal(t, Event{Payload: "1"}, send(1))
	id, ok := ParseID(Event{Payload: "1"})
	require.True(t, ok)
	require.EqualValues(t, 1, id)

	var killed bool
	require.NoError(t, pool.QueryRow(ctx, `SELECT bool_or(pg_terminate_backend(pid)) FROM pg_stat_activity
		WHERE datname = current_database() AND pid <> pg_backend_pid() AND query LIKE 'LISTEN%'`).Scan(&killed))
	require.True(t, killed, "the listening connection was found")
	require.Equal(t, Event{Resync: true}, receive(t, ctx, events), "a reconnection is announced")
	// Notifications sent while reconnecting may be lost; the resync covers them.
	for {
		if ev := send(2); !ev.Resync {
			require.Equal(t, "2", ev.Payload)
			break
		}
	}
}
