package notify

import (
	"context"
	"time"
)

// Coalescer turns a stream of events into beats: at most one per MinGap however
// busy the source, and at least one per MaxGap however quiet, so a screen can tell
// a quiet platform from a dead connection. It is a plain state machine driven by
// the times it is given; Run drives it from a Clock.
type Coalescer struct {
	MinGap, MaxGap time.Duration

	last    time.Time // the latest beat
	pending bool      // an event arrived since the latest beat
	at      time.Time // the time the pending beat reports: its latest event's
}

// NewCoalescer returns a Coalescer whose first beat was at now (the one a
// subscriber gets at once).
func NewCoalescer(minGap, maxGap time.Duration, now time.Time) *Coalescer {
	return &Coalescer{MinGap: minGap, MaxGap: maxGap, last: now}
}

// Event records an event that happened at at; the next beat reports the latest
// such time.
func (c *Coalescer) Event(at time.Time) {
	c.pending, c.at = true, at
}

// Due is when the next beat is due: MinGap after the latest beat if an event is
// pending, MaxGap after it otherwise.
func (c *Coalescer) Due() time.Time {
	if c.pending {
		return c.last.Add(c.MinGap)
	}
	return c.last.Add(c.MaxGap)
}

// Beat takes the beat due by now, if any, and returns the time it reports: its
// latest event's, or now for a heartbeat.
func (c *Coalescer) Beat(now time.Time) (at time.Time, ok bool) {
	if now.Before(c.Due()) {
		return time.Time{}, false
	}
	at = now
	if c.pending {
		at = c.at
	}
	c.last, c.pending = now, false
	return at, true
}

// Clock is the time Run reads; tests inject a fake one instead of sleeping.
type Clock interface {
	Now() time.Time
	// After sends the time on the returned channel once d has passed.
	After(d time.Duration) <-chan time.Time
}

// SystemClock is the real time.
type SystemClock struct{}

// Now returns the current time.
func (SystemClock) Now() time.Time { return time.Now() }

// After is time.After.
func (SystemClock) After(d time.Duration) <-chan time.Time { return time.After(d) }

// Run feeds events (the time each happened) into c and calls beat for every beat,
// until ctx ends or events is closed.
func (c *Coalescer) Run(ctx context.Context, clock Clock, events <-chan time.Time, beat func(at time.Time)) {
	for {
		wake := clock.After(c.Due().Sub(clock.Now()))
		select {
		case <-ctx.Done():
			return
		case at, ok := <-events:
			if !ok {
				return
			}
			c.Event(at)
		case <-wake:
			if at, ok := c.Beat(clock.Now()); ok {
				beat(at)
			}
		}
	}
}
