package platform

import (
	"context"
	"time"

	"github.com/teslaops/tesla/internal/auth"
	"github.com/teslaops/tesla/internal/inventory"
	"github.com/teslaops/tesla/internal/notify"
	"github.com/teslaops/tesla/internal/watermark"
)

// Pulse is one beat of the platform: the time it reports and the View every
// subscriber of the replica shares for it.
type Pulse struct {
	At   time.Time
	View *View
}

// pulseSub is one subscriber: a one-slot mailbox where a newer pulse replaces one
// not yet taken, since only the latest picture matters.
type pulseSub struct {
	ch chan Pulse
}

func (p *pulseSub) offer(pl Pulse) {
	select {
	case p.ch <- pl:
		return
	default:
	}
	select {
	case <-p.ch:
	default:
	}
	p.ch <- pl
}

// Pulse sends the platform at once, then after every rollup and every host state
// change, at most one beat per PulseMinGap and at least one per PulseMaxGap so a
// screen can tell a quiet platform from a dead connection; it ends when ctx does.
//
// The beats are the replica's, not the subscriber's: one loop per replica hears
// the events and makes one View per beat, which every subscriber shares, so the
// platform is computed once per beat however many screens watch it. A subscriber
// that falls behind skips to the latest beat.
func (s *Service) Pulse(ctx context.Context) (<-chan Pulse, error) {
	if _, err := auth.Require(ctx); err != nil {
		return nil, err
	}
	sub := &pulseSub{ch: make(chan Pulse, 1)}
	s.mu.Lock()
	now := s.clock.Now()
	if s.latest.View == nil || now.Sub(s.madeAt) >= s.minGap {
		// The latest beat is too old to stand for now: make a picture for this
		// subscriber, which others arriving within the gap share.
		s.latest, s.madeAt = Pulse{At: now.UTC(), View: s.newView()}, now
	}
	sub.ch <- s.latest
	s.subs[sub] = struct{}{}
	if s.stop == nil {
		// The loop outlives this subscriber, so it carries nothing of its context.
		beats, stop := context.WithCancel(context.Background())
		s.stop = stop
		go s.beat(beats)
	}
	s.mu.Unlock()

	go func() {
		<-ctx.Done()
		s.mu.Lock()
		delete(s.subs, sub)
		if len(s.subs) == 0 && s.stop != nil {
			// No one watches: stop hearing events until someone does.
			s.stop()
			s.stop = nil
		}
		close(sub.ch)
		s.mu.Unlock()
	}()
	return sub.ch, nil
}

// beat runs the replica's pulse until ctx ends: rollups (reporting the time they
// covered), host state changes and resyncs feed a coalescer, and each of its beats
// goes to every subscriber.
func (s *Service) beat(ctx context.Context) {
	times := make(chan time.Time)
	forward := func(channel string, at func(notify.Event) time.Time) {
		for ev := range s.events.Subscribe(ctx, channel) {
			select {
			case times <- at(ev):
			case <-ctx.Done():
				return
			}
		}
	}
	now := func(notify.Event) time.Time { return s.clock.Now().UTC() }
	go forward(watermark.ChannelPulse, func(ev notify.Event) time.Time {
		if t, err := time.Parse(time.RFC3339Nano, ev.Payload); err == nil {
			return t.UTC()
		}
		return now(ev)
	})
	go forward(inventory.HostStateChannel, now)

	s.mu.Lock()
	started := s.madeAt
	s.mu.Unlock()
	notify.NewCoalescer(s.minGap, s.maxGap, started).Run(ctx, s.clock, times, func(at time.Time) {
		s.mu.Lock()
		defer s.mu.Unlock()
		if ctx.Err() != nil {
			// This loop was stopped; a newer one may serve the subscribers.
			return
		}
		s.latest, s.madeAt = Pulse{At: at.UTC(), View: s.newView()}, s.clock.Now()
		for sub := range s.subs {
			sub.offer(s.latest)
		}
	})
}
