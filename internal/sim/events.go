package sim

import (
	"cmp"
	"slices"
	"time"
)

// Injected anomalies. Besides the anomaly-prone hosts' spikes and stuck CPU
// (load.go), the load model injects events of the shapes operators meet, each a
// pure function of the seed, the host (or its rack, or its cluster's release) and
// the UTC day, so the seeded history and the Ticker's live samples carry the same
// events, and InjectedAnomalies can list them as ground truth for measuring the
// anomaly scorer (docs/anomaly.md, "The demo fleet's ground truth").

// Event shapes.
const (
	ShapeSpike      = "SPIKE"       // CPU, IO and network jump together for 20–120 minutes
	ShapeStuck      = "STUCK"       // CPU pinned at 100% for 20–120 minutes
	ShapeLevelShift = "LEVEL_SHIFT" // one metric steps up for 2–8 hours, then back
	ShapeMemoryLeak = "MEMORY_LEAK" // memory climbs towards 97% over 6–16 hours until a restart
	ShapeFlatline   = "FLATLINE"    // one metric frozen at the value it had when it froze, 1–4 hours
	ShapeRack       = "RACK"        // every host of a rack loses 80% of its network for 30–120 minutes
	ShapeRollout    = "ROLLOUT"     // every host of one stack version degrades for 1–4 hours
)

// Event is one injected anomaly of one host's metric, over [Start, End). Metric
// is named as the anomaly scorer names it (CPU, MEMORY, DISK_IO, NET_IN,
// NET_OUT, CONTAINERS); an event that moves two metrics is two Events.
type Event struct {
	Host       string
	Metric     string
	Start, End time.Time
	Shape      string
}

// Metric indices, in the anomaly scorer's order.
const (
	metricCPU uint8 = iota
	metricMem
	metricIO
	metricNetIn
	metricNetOut
)

var metricNames = [...]string{"CPU", "MEMORY", "DISK_IO", "NET_IN", "NET_OUT"}

// Event rates: per host, per rack and per stack version, per UTC day. A default
// fleet (3,000 hosts, ~220 racks, 5 stack versions) then sees some ninety host
// events, six rack events and a bad rollout every four days.
const (
	hostEventRate = 0.03
	rackEventRate = 0.03
	rolloutRate   = 0.05
)

// eventWindow is one event: its shape, the metric it moves (for level shifts
// and flat lines) and its window in unix seconds.
type eventWindow struct {
	shape      string
	metric     uint8
	start, end int64
}

func (w *eventWindow) covers(ts int64) bool { return ts >= w.start && ts < w.end }

// dayWindow places an event of a duration in [minDur, maxDur) seconds inside
// UTC day, from the hash r: an event never straddles midnight, so each day's
// events are found from that day alone.
func dayWindow(r uint64, day, minDur, maxDur int64) (start, end int64) {
	dur := minDur + int64(mix(r+1)%uint64(maxDur-minDur))
	start = day*86400 + int64(mix(r+2)%uint64(86400-dur))
	return start, start + dur
}

// hostEvent is the host's own event of a day: a level shift, a memory leak or
// a flat line.
func (h *hostLoad) hostEvent(day int64) (eventWindow, bool) {
	r := hash2(channelKey(h.key, chEvent), uint64(day))
	if unit(r) >= hostEventRate {
		return eventWindow{}, false
	}
	metric := [3]uint8{metricCPU, metricIO, metricNetIn}[mix(r+3)%3]
	var w eventWindow
	switch mix(r) % 3 {
	case 0:
		w = eventWindow{shape: ShapeLevelShift, metric: metric}
		w.start, w.end = dayWindow(r, day, 2*3600, 8*3600)
	case 1:
		w = eventWindow{shape: ShapeMemoryLeak, metric: metricMem}
		w.start, w.end = dayWindow(r, day, 6*3600, 16*3600)
	default:
		w = eventWindow{shape: ShapeFlatline, metric: metric}
		w.start, w.end = dayWindow(r, day, 3600, 4*3600)
	}
	return w, true
}

// rackEvent is the day's event of the host's rack: its switch drops most traffic.
func (h *hostLoad) rackEvent(day int64) (eventWindow, bool) {
	r := hash2(channelKey(h.rack, chRack), uint64(day))
	if unit(r) >= rackEventRate {
		return eventWindow{}, false
	}
	w := eventWindow{shape: ShapeRack, metric: metricNetIn}
	w.start, w.end = dayWindow(r, day, 1800, 7200)
	return w, true
}

// rolloutEvent is the day's bad rollout of the host's stack version: every
// cluster on it degrades at once.
func (h *hostLoad) rolloutEvent(day int64) (eventWindow, bool) {
	if h.cl.release == 0 {
		return eventWindow{}, false
	}
	r := hash2(channelKey(h.cl.release, chRollout), uint64(day))
	if unit(r) >= rolloutRate {
		return eventWindow{}, false
	}
	w := eventWindow{shape: ShapeRollout, metric: metricCPU}
	w.start, w.end = dayWindow(r, day, 3600, 4*3600)
	return w, true
}

// activeEvents are the events under way at one instant, held by value so
// finding them allocates nothing.
type activeEvents struct {
	host, rack, rollout          eventWindow
	hasHost, hasRack, hasRollout bool
	ts                           int64
}

// dayEvents are the events of one host and UTC day.
type dayEvents struct {
	day                          int64
	host, rack, rollout          eventWindow
	hasHost, hasRack, hasRollout bool
	valid                        bool
}

// events finds the events under way at ts. The day's events are kept in the
// host's model: the seed generates a host's samples day by day, so finding
// them once a day instead of once a sample saves a sixth of its time. The
// cache, held by value so a Ticker's short-lived models allocate nothing,
// makes a hostLoad unsafe for concurrent use, which nothing needs.
func (h *hostLoad) events(ts int64, ev *activeEvents) {
	day := floorDiv(ts, 86400)
	d := &h.day
	if !d.valid || d.day != day {
		d.valid, d.day = true, day
		d.host, d.hasHost = h.hostEvent(day)
		d.rack, d.hasRack = h.rackEvent(day)
		d.rollout, d.hasRollout = h.rolloutEvent(day)
	}
	ev.ts = ts
	ev.host, ev.hasHost = d.host, d.hasHost && d.host.covers(ts)
	ev.rack, ev.hasRack = d.rack, d.hasRack && d.rack.covers(ts)
	ev.rollout, ev.hasRollout = d.rollout, d.hasRollout && d.rollout.covers(ts)
}

// flat is the flat line under way, if any.
func (ev *activeEvents) flat() (eventWindow, bool) {
	return ev.host, ev.hasHost && ev.host.shape == ShapeFlatline
}

// apply bends the metrics (before clamping) by the events under way.
func (ev *activeEvents) apply(cpu, mem, io, frac *float64) {
	if ev.hasHost {
		w := &ev.host
		switch {
		case w.shape == ShapeMemoryLeak:
			f := float64(ev.ts-w.start) / float64(w.end-w.start)
			*mem += f * (97 - *mem)
		case w.shape != ShapeLevelShift:
		case w.metric == metricCPU:
			*cpu += 30
		case w.metric == metricIO:
			*io += 35
		default:
			*frac += 0.25
		}
	}
	if ev.hasRack {
		*frac *= 0.2
	}
	if ev.hasRollout {
		*cpu += 22
		*mem += 8
	}
}

// eventMetrics lists the metrics an event moves.
func eventMetrics(w eventWindow) []uint8 {
	switch w.shape {
	case ShapeSpike:
		return []uint8{metricCPU, metricIO, metricNetIn, metricNetOut}
	case ShapeStuck:
		return []uint8{metricCPU}
	case ShapeMemoryLeak:
		return []uint8{metricMem}
	case ShapeRack:
		return []uint8{metricNetIn, metricNetOut}
	case ShapeRollout:
		return []uint8{metricCPU, metricMem}
	}
	if w.metric == metricNetIn {
		return []uint8{metricNetIn, metricNetOut}
	}
	return []uint8{w.metric}
}

// InjectedAnomalies lists the anomalies the load model injects into the demo
// fleet seeded with cfg that overlap [from, to), one Event per host and metric
// moved, by start time. It recomputes the fleet from cfg (cfg.Now must be the
// seed's), so it needs no database. Events fall only where a host reports in
// normal or degraded health as seeded: none after a host was drained or went
// silent, none on decommissioned hosts. A host the Ticker later drains loses
// its events from then on, which this list, knowing only the seed, still shows.
func InjectedAnomalies(cfg Config, from, to time.Time) ([]Event, error) {
	cfg = cfg.withDefaults()
	if err := cfg.validate(); err != nil {
		return nil, err
	}
	f := planFleet(cfg)
	lo, hi := from.Unix(), to.Unix()
	var out []Event
	for i := range f.hosts {
		h := &f.hosts[i]
		if h.state == stateDecommissioned {
			continue
		}
		// until: the moment the host stops carrying events (drained or silent).
		until := int64(1<<62 - 1)
		switch {
		case h.state == stateOffline:
			until = h.lastHeartbeat.Unix()
		case modeFor(h.state) == modeDrained:
			until = h.sickSince.Unix()
		}
		add := func(w eventWindow) {
			end := min(w.end, until)
			if w.start >= end || end <= lo || w.start >= hi {
				return
			}
			for _, m := range eventMetrics(w) {
				out = append(out, Event{Host: h.hostname, Metric: metricNames[m], Shape: w.shape,
					Start: time.Unix(w.start, 0).UTC(), End: time.Unix(end, 0).UTC()})
			}
		}
		l := &h.load
		for day := floorDiv(lo, 86400); day*86400 < hi; day++ {
			for _, find := range []func(int64) (eventWindow, bool){l.hostEvent, l.rackEvent, l.rolloutEvent} {
				if w, ok := find(day); ok {
					add(w)
				}
			}
		}
		if l.anomaly != anomalyNone {
			shape := ShapeSpike
			if l.anomaly == anomalyStuck {
				shape = ShapeStuck
			}
			for e := floorDiv(lo, 6*3600); e*6*3600 < hi; e++ {
				if start, end, ok := l.anomalyWindow(e); ok {
					add(eventWindow{shape: shape, start: start, end: end})
				}
			}
		}
	}
	slices.SortFunc(out, func(a, b Event) int {
		return cmp.Or(a.Start.Compare(b.Start), cmp.Compare(a.Host, b.Host), cmp.Compare(a.Metric, b.Metric))
	})
	return out, nil
}
