// Package notifytest helps test code driven by a notify.Clock without sleeping.
package notifytest

import (
	"sync"
	"time"
)

// Clock is a notify.Clock that moves only when told to. Armed receives once per
// After call, so a test knows the loop under test is waiting before it moves the
// clock, and that nothing can happen until it does.
type Clock struct {
	Armed chan struct{}

	mu      sync.Mutex
	now     time.Time
	waiters []waiter
}

type waiter struct {
	at time.Time
	ch chan time.Time
}

// NewClock returns a Clock standing at now.
func NewClock(now time.Time) *Clock {
	return &Clock{now: now, Armed: make(chan struct{}, 1000)}
}

// Now returns the clock's time.
func (c *Clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

// After sends the clock's time once it has been moved d on.
func (c *Clock) After(d time.Duration) <-chan time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	ch := make(chan time.Time, 1)
	if d <= 0 {
		ch <- c.now
	} else {
		c.waiters = append(c.waiters, waiter{at: c.now.Add(d), ch: ch})
	}
	c.Armed <- struct{}{}
	return ch
}

// Advance moves the clock on by d, firing what falls due.
func (c *Clock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(d)
	kept := c.waiters[:0]
	for _, w := range c.waiters {
		if w.at.After(c.now) {
			kept = append(kept, w)
			continue
		}
		w.ch <- c.now
	}
	c.waiters = kept
}
