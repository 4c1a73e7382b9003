package notify

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/teslaops/tesla/internal/notify/notifytest"
)

var t0 = time.Date(2026, 3, 1, 10, 0, 0, 0, time.UTC)

func TestCoalescerBeatsAtMostEveryMinGapAndAtLeastEveryMaxGap(t *testing.T) {
	t.Parallel()
	sec := func(n float64) time.Time { return t0.Add(time.Duration(n * float64(time.Second))) }
	type step struct {
		now    float64 // seconds after t0
		event  bool    // an event at now, else a beat attempt at now
		beat   bool    // the attempt beats
		report float64 // the time the beat reports
	}
	cases := []struct {
		name  string
		steps []step
	}{
		{"an event long after the latest beat beats at once", []step{
			{now: 10, event: true}, {now: 10, beat: true, report: 10},
		}},
		{"an event soon after a beat waits out the gap", []step{
			{now: 0.5, event: true}, {now: 1.9}, {now: 2, beat: true, report: 0.5},
		}},
		{"a burst becomes one beat reporting its latest event", []step{
			{now: 0.1, event: true}, {now: 0.2, event: true}, {now: 1.5, event: true},
			{now: 2, beat: true, report: 1.5}, {now: 2.1},
		}},
		{"quiet: a heartbeat at MaxGap reporting its own time", []step{
			{now: 29.9}, {now: 30, beat: true, report: 30}, {now: 59}, {now: 60, beat: true, report: 60},
		}},
		{"a beat restarts the heartbeat", []step{
			{now: 20, event: true}, {now: 20, beat: true, report: 20}, {now: 30}, {now: 49.9}, {now: 50, beat: true, report: 50},
		}},
		{"events right after a beat wait for the next gap", []step{
			{now: 5, event: true}, {now: 5, beat: true, report: 5}, {now: 5.5, event: true}, {now: 6.9},
			{now: 7, beat: true, report: 5.5},
		}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			c := NewCoalescer(2*time.Second, 30*time.Second, t0)
			for i, s := range tc.steps {
				if s.event {
					c.Event(sec(s.now))
					continue
				}
				at, ok := c.Beat(sec(s.now))
				require.Equal(t, s.beat, ok, "step %d at %vs", i, s.now)
				if ok {
					require.Equal(t, sec(s.report), at, "step %d", i)
				}
			}
		})
	}
}

func TestCoalescerRunFollowsItsClock(t *testing.T) {
	t.Parallel()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	clock := notifytest.NewClock(t0)
	events := make(chan time.Time)
	beats := make(chan time.Time, 10)
	done := make(chan struct{})
	go func() {
		defer close(done)
		NewCoalescer(2*time.Second, 30*time.Second, clock.Now()).Run(ctx, clock, events, func(at time.Time) { beats <- at })
	}()
	waitArmed := func() {
		t.Helper()
		select {
		case <-clock.Armed:
		case <-ctx.Done():
			t.Fatal("the loop never waited on its clock")
		}
	}
	nextBeat := func() time.Time {
		t.Helper()
		select {
		case at := <-beats:
			waitArmed()
			return at
		case <-ctx.Done():
			t.Fatal("no beat")
		}
		return time.Time{}
	}
	noBeat := func() {
		t.Helper()
		// Nothing woke the loop, so nothing can be on its way.
		require.Empty(t, beats)
	}

	waitArmed()
	clock.Advance(time.Second)
	events <- clock.Now()
	waitArmed()
	events <- clock.Now().Add(100 * time.Millisecond)
	waitArmed()
	clock.Advance(900 * time.Millisecond)
	noBeat()
	clock.Advance(100 * time.Millisecond)
	require.Equal(t, t0.Add(1100*time.Millisecond), nextBeat(), "the burst beats once, MinGap after the first beat, with its latest time")

	clock.Advance(29 * time.Second)
	noBeat()
	clock.Advance(time.Second)
	require.Equal(t, t0.Add(32*time.Second), nextBeat(), "a quiet platform still beats every MaxGap")

	clock.Advance(10 * time.Second)
	events <- clock.Now()
	waitArmed()
	require.Equal(t, t0.Add(42*time.Second), nextBeat(), "an event after a quiet spell beats at once")

	close(events)
	select {
	case <-done:
	case <-ctx.Done():
		t.Fatal("Run did not end when its events did")
	}
}
