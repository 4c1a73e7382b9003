package sim

import (
	"time"
)

// metricColumns are host_metric's columns in the order metricSource yields them.
var metricColumns = []string{"host_id", "ts", "cpu_pct", "mem_pct", "disk_io_pct", "net_in_bps", "net_out_bps", "containers"}

// metricHost is one reporting host as the history generator sees it.
type metricHost struct {
	id       int64
	load     *hostLoad
	sickMode loadMode
	sickFrom int64 // unix seconds from which sickMode applies
	until    int64 // unix seconds of the last moment the host reported
}

// metricSource streams the history of a set of hosts over a set of days as a
// pgx.CopyFromSource, one row at a time, so memory stays flat whatever the size.
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
	vals   []any
}

func newMetricSource(hosts []metricHost, days []int64, first, last, step int64) *metricSource {
	m := &metricSource{hosts: hosts, days: days, first: first, last: last, step: step, fresh: true}
	// The values point into the source's own fields, so handing a row to pgx
	// allocates nothing: pgx encodes the row before asking for the next one.
	m.vals = []any{&m.hostID, &m.at, &m.s.cpu, &m.s.mem, &m.s.io, &m.s.netIn, &m.s.netOut, &m.s.containers}
	return m
}

// Next implements pgx.CopyFromSource.
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

// Values implements pgx.CopyFromSource.
func (m *metricSource) Values() ([]any, error) { return m.vals, nil }

// Err implements pgx.CopyFromSource; generation cannot fail.
func (m *metricSource) Err() error { return nil }
