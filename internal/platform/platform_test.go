package platform

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/teslaops/tesla/internal/auth"
	"github.com/teslaops/tesla/internal/fault"
	"github.com/teslaops/tesla/internal/inventory"
	"github.com/teslaops/tesla/internal/notify"
	"github.com/teslaops/tesla/internal/notify/notifytest"
	"github.com/teslaops/tesla/internal/watermark"
)

// counting stands in for the inventory and watermark services and counts what
// each figure costs; release, when set, holds every call until closed.
type counting struct {
	mu      sync.Mutex
	calls   map[string]int
	release chan struct{}
	fail    error
}

func (c *counting) call(ctx context.Context, name string) error {
	if _, err := auth.Require(ctx); err != nil {
		return err
	}
	c.mu.Lock()
	c.calls[name]++
	release, fail := c.release, c.fail
	c.mu.Unlock()
	if release != nil {
		select {
		case <-release:
		case <-ctx.Done():
			return ctx.Err()
		}
	}
	return fail
}

func (c *counting) count(name string) int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.calls[name]
}

func (c *counting) ClusterCount(ctx context.Context) (int, error) {
	return 3, c.call(ctx, "ClusterCount")
}
func (c *counting) BUCount(ctx context.Context) (int, error) { return 2, c.call(ctx, "BUCount") }
func (c *counting) PersonCount(ctx context.Context) (int, error) {
	return 5, c.call(ctx, "PersonCount")
}
func (c *counting) ClustersByKind(ctx context.Context) ([]inventory.KindCount, error) {
	return []inventory.KindCount{{Kind: "BATCH", Clusters: 3, Hosts: 9}}, c.call(ctx, "ClustersByKind")
}
func (c *counting) HostTotals(ctx context.Context) (inventory.ClusterStats, error) {
	return inventory.ClusterStats{Counts: inventory.HostCounts{Total: 9}}, c.call(ctx, "HostTotals")
}
func (c *counting) AllClusters(ctx context.Context) ([]*inventory.Cluster, error) {
	return []*inventory.Cluster{{ID: 1, Name: "a"}, {ID: 2, Name: "b"}}, c.call(ctx, "AllClusters")
}
func (c *counting) RecentSickHosts(ctx context.Context, n int) ([]*inventory.Host, error) {
	return nil, c.call(ctx, "RecentSickHosts")
}
func (c *counting) Platform(ctx context.Context, ids []int64, dims []watermark.Dimension) ([]watermark.ClusterLevels, error) {
	out := make([]watermark.ClusterLevels, len(ids))
	for i, id := range ids {
		out[len(ids)-1-i] = watermark.ClusterLevels{ClusterID: id}
	}
	return out, c.call(ctx, "Platform")
}
func (c *counting) Now(ctx context.Context, ids []int64, dims []watermark.Dimension) (map[int64][]watermark.Level, error) {
	return map[int64][]watermark.Level{watermark.PlatformID: {{Dimension: watermark.CPU}}}, c.call(ctx, "Now")
}
func (c *counting) Series(ctx context.Context, id int64, dims []watermark.Dimension, from, to time.Time, step time.Duration, maxPoints int) ([]watermark.Series, error) {
	return nil, c.call(ctx, "Series")
}
func (c *counting) ClustersAtRisk(ctx context.Context, horizon time.Duration) ([]watermark.Risk, error) {
	return nil, c.call(ctx, "ClustersAtRisk")
}

// events is a notify.Listener stand-in the test publishes on.
type events struct {
	mu         sync.Mutex
	subs       map[string][]chan notify.Event
	subscribed chan string
}

func newEvents() *events {
	return &events{subs: map[string][]chan notify.Event{}, subscribed: make(chan string, 100)}
}

func (e *events) Subscribe(ctx context.Context, channel string) <-chan notify.Event {
	ch := make(chan notify.Event, 16)
	e.mu.Lock()
	e.subs[channel] = append(e.subs[channel], ch)
	e.mu.Unlock()
	e.subscribed <- channel
	go func() {
		<-ctx.Done()
		e.mu.Lock()
		defer e.mu.Unlock()
		for i, c := range e.subs[channel] {
			if c == ch {
				e.subs[channel] = append(e.subs[channel][:i], e.subs[channel][i+1:]...)
				close(ch)
			}
		}
	}()
	return ch
}

func (e *events) publish(channel string, ev notify.Event) {
	e.mu.Lock()
	defer e.mu.Unlock()
	for _, ch := range e.subs[channel] {
		ch <- ev
	}
}

func (e *events) listeners(channel string) int {
	e.mu.Lock()
	defer e.mu.Unlock()
	return len(e.subs[channel])
}

var t0 = time.Date(2026, 3, 1, 10, 0, 0, 0, time.UTC)

func viewer() context.Context {
	return auth.WithPrincipal(context.Background(), &auth.Principal{PersonID: 1, Login: "alice", Role: auth.Viewer})
}

func newTestService() (*Service, *counting, *events, *notifytest.Clock) {
	c := &counting{calls: map[string]int{}}
	ev := newEvents()
	s := NewService(c, c, ev, slog.New(slog.NewTextHandler(io.Discard, nil)))
	clock := notifytest.NewClock(t0)
	s.clock = clock
	return s, c, ev, clock
}

// TestAViewComputesOnlyWhatIsAskedOnce: asking for the cluster count counts no
// hosts, and asking twice (or for two fields sharing a figure) computes once.
func TestAViewComputesOnlyWhatIsAskedOnce(t *testing.T) {
	t.Parallel()
	s, c, _, _ := newTestService()
	ctx := viewer()
	_, err := s.View(context.Background())
	require.True(t, fault.Is(err, fault.Unauthenticated), "%v", err)
	v, err := s.View(ctx)
	require.NoError(t, err)
	require.Empty(t, c.calls, "a view computes nothing until asked")

	n, err := v.ClusterCount(ctx)
	require.NoError(t, err)
	require.Equal(t, 3, n)
	require.Equal(t, map[string]int{"ClusterCount": 1}, c.calls, "the cluster count alone counts no hosts")

	_, err = v.ClusterCount(ctx)
	require.NoError(t, err)
	_, err = v.HostTotals(ctx)
	require.NoError(t, err)
	_, err = v.HostTotals(ctx)
	require.NoError(t, err)
	require.Equal(t, map[string]int{"ClusterCount": 1, "HostTotals": 1}, c.calls)

	// Arguments are part of a figure.
	_, err = v.Levels(ctx, []watermark.Dimension{watermark.CPU})
	require.NoError(t, err)
	_, err = v.Levels(ctx, []watermark.Dimension{watermark.CPU})
	require.NoError(t, err)
	_, err = v.Levels(ctx, nil)
	require.NoError(t, err)
	require.Equal(t, 2, c.count("Now"))

	wm, err := v.Watermarks(ctx, nil)
	require.NoError(t, err)
	require.Equal(t, []int64{2, 1}, []int64{wm.Ranked[0].ClusterID, wm.Ranked[1].ClusterID}, "the ranking is watermark's")
	require.Equal(t, "a", wm.Clusters[1].Name, "the clusters come with it")

	// A shared view still checks each caller.
	_, err = v.ClusterCount(context.Background())
	require.True(t, fault.Is(err, fault.Unauthenticated), "%v", err)
}

// TestAFailedFigureIsComputedAgain: a figure whose computation failed (here
// because its caller gave up) is not remembered; the next caller computes it.
func TestAFailedFigureIsComputedAgain(t *testing.T) {
	t.Parallel()
	s, c, _, _ := newTestService()
	v, err := s.View(viewer())
	require.NoError(t, err)
	c.fail = errors.New("connection reset")
	_, err = v.HostTotals(viewer())
	require.ErrorContains(t, err, "connection reset")
	c.fail = nil
	_, err = v.HostTotals(viewer())
	require.NoError(t, err)
	require.Equal(t, 2, c.count("HostTotals"))

	// One caller computes while another waits; the first gives up, the waiter
	// computes under its own context instead of sharing the failure.
	c.release = make(chan struct{})
	first, cancelFirst := context.WithCancel(viewer())
	firstDone := make(chan error, 1)
	go func() { _, err := v.PersonCount(first); firstDone <- err }()
	require.Eventually(t, func() bool { return c.count("PersonCount") == 1 }, 5*time.Second, time.Millisecond)
	second := make(chan error, 1)
	go func() { _, err := v.PersonCount(viewer()); second <- err }()
	cancelFirst()
	require.ErrorIs(t, <-firstDone, context.Canceled)
	require.Eventually(t, func() bool { return c.count("PersonCount") == 2 }, 5*time.Second, time.Millisecond)
	close(c.release)
	require.NoError(t, <-second)
}

// TestOnePulseComputationPerBeatWhateverTheSubscribers: twenty subscribers of one
// replica asking for the same fields cost one computation of each per beat.
func TestOnePulseComputationPerBeatWhateverTheSubscribers(t *testing.T) {
	t.Parallel()
	s, c, ev, clock := newTestService()
	ctx, cancel := context.WithTimeout(viewer(), 10*time.Second)
	defer cancel()
	const n = 20
	subs := make([]<-chan Pulse, n)
	for i := range subs {
		var err error
		subs[i], err = s.Pulse(ctx)
		require.NoError(t, err)
	}
	// Every subscriber renders its pulse: counts, host totals and the heat table.
	render := func(want time.Time) {
		t.Helper()
		var wg sync.WaitGroup
		for _, sub := range subs {
			var p Pulse
			select {
			case p = <-sub:
			case <-ctx.Done():
				t.Fatal("no pulse")
			}
			require.Equal(t, want, p.At)
			wg.Go(func() {
				_, err := p.View.ClusterCount(ctx)
				require.NoError(t, err)
				_, err = p.View.HostTotals(ctx)
				require.NoError(t, err)
				_, err = p.View.Watermarks(ctx, nil)
				require.NoError(t, err)
			})
		}
		wg.Wait()
	}
	render(t0)
	require.Equal(t, map[string]int{"ClusterCount": 1, "HostTotals": 1, "AllClusters": 1, "Platform": 1}, c.calls,
		"subscribers arriving together share their first pulse")

	// The beat loop listens to rollups and host state changes.
	for range 2 {
		<-ev.subscribed
	}
	<-clock.Armed
	clock.Advance(5 * time.Second)
	rollup := t0.Add(4 * time.Second)
	ev.publish(watermark.ChannelPulse, notify.Event{Payload: rollup.Format(time.RFC3339)})
	render(rollup)
	require.Equal(t, map[string]int{"ClusterCount": 2, "HostTotals": 2, "AllClusters": 2, "Platform": 2}, c.calls,
		"one computation per beat")

	// A burst of host changes within the gap is one beat when the gap is over,
	// reporting when the latest change was heard.
	for range 5 {
		ev.publish(inventory.HostStateChannel, notify.Event{Payload: "7"})
	}
	// The loop armed its clock on the rollup, after its beat and after each change.
	for range 7 {
		<-clock.Armed
	}
	clock.Advance(2 * time.Second)
	render(t0.Add(5 * time.Second))
	require.Equal(t, 3, c.count("ClusterCount"))

	// A quiet platform beats every PulseMaxGap.
	<-clock.Armed
	clock.Advance(PulseMaxGap)
	render(t0.Add(7*time.Second + PulseMaxGap))
	require.Equal(t, 4, c.count("ClusterCount"))

	// With its last subscriber gone the loop stops listening.
	cancel()
	for _, sub := range subs {
		for range sub {
		}
	}
	require.Eventually(t, func() bool {
		return ev.listeners(watermark.ChannelPulse) == 0 && ev.listeners(inventory.HostStateChannel) == 0
	}, 5*time.Second, time.Millisecond)
}
