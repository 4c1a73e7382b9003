package sim

import (
	"time"

	"github.com/teslaops/tesla/internal/telemetry"
)

// metricHost is one reporting host as the history generator sees it.
type metricHost struct {
	id       int64
	load     *hostLoad
	sickMode loadMode
	sickFrom int64 // unix seconds from which sickMode applies
	until    int64 // unix seconds of the last moment the host reported
}

// metricSource streams the history of a set of hosts over a set of days as a
// telemetry.Source, one sample at a time, so memory stays flat whatever the size.
// Rows come day by day (one partition after the other), host by host, time
// ascending: each partition's primary-key index is then filled in key order,
// which is the cheapest way to build a b-tree by insertion.
type metricSource struct {
	hosts             []metricHost
	days              []int64 // unix seconds of each UTC midnight to cover, ascending
	first, last, step int64   // unix seconds of the first and last sample, step seconds

	di, hi int
	ts     int64
	fresh  bool // ts must be (re)initialised for the current host and day
	rows   int64

	hostID int64
	at     time.Time
	s      sample
	cur    telemetry.Sample
}

func newMetricSource(hosts []metricHost, days []int64, first, last, step int64) *metricSource {
	m := &metricSource{hosts: hosts, days: days, first: first, last: last, step: step, fresh: true}
	// The sample points into the source's own fields, so handing it over
	// allocates nothing: the writer encodes it before asking for the next one.
	m.cur = telemetry.Sample{CPUPct: &m.s.cpu, MemPct: &m.s.mem, DiskIOPct: &m.s.io,
		NetInBps: &m.s.netIn, NetOutBps: &m.s.netOut, Containers: &m.s.containers}
	return m
}

// Next implements telemetry.Source.
func (m *metricSource) Next() bool {
	for m.di < len(m.days) {
		if m.hi >= len(m.hosts) {
			m.di++
			m.hi = 0
			m.fresh = true
			continue
		}
		h := &m.hosts[m.hi]
		day := m.days[m.di]
		if m.fresh {
			m.ts = max(m.first, day)
			m.fresh = false
		}
		if m.ts >= day+86400 || m.ts > m.last || m.ts > h.until {
			m.hi++
			m.fresh = true
			continue
		}
		mode := modeNormal
		if m.ts >= h.sickFrom {
			mode = h.sickMode
		}
		m.hostID = h.id
		m.at = time.Unix(m.ts, 0).UTC()
		m.s = h.load.at(m.ts, mode)
		m.ts += m.step
		m.rows++
		return true
	}
	return false
}

// Sample implements telemetry.Source.
func (m *metricSource) Sample() telemetry.Sample {
	m.cur.HostID, m.cur.TS = m.hostID, m.at
	return m.cur
}

// Err implements telemetry.Source; generation cannot fail.
func (m *metricSource) Err() error { return nil }
