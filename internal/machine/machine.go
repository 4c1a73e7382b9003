// Package machine answers questions about one host: its metric history,
// down-sampled server side so a chart never receives more points than it can
// draw, and machine analysis — hardware, operating system and service layer, and
// where its load stands among its cluster peers.
package machine

import (
	"context"
	"errors"
	"fmt"
	"math"
	"slices"
	"sync"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/teslaops/tesla/internal/auth"
	"github.com/teslaops/tesla/internal/db"
	"github.com/teslaops/tesla/internal/fault"
	"github.com/teslaops/tesla/internal/telemetry"
)

// Service reads host metrics and analyses hosts.
type Service struct {
	dbtx  db.DBTX
	now   func() time.Time
	peers peerCache
}

// NewService returns a Service reading through pool: a pool, or a transaction
// to compose with other services.
func NewService(pool db.DBTX) *Service { return &Service{dbtx: pool, now: time.Now} }

// Point is one bucket of a host's samples.
type Point struct {
	TS         time.Time
	CPUPct     *float64
	CPUPctMax  *float64
	MemPct     *float64
	DiskIOPct  *float64
	NetInBps   *float64
	NetOutBps  *float64
	Containers *float64
	Samples    int
}

// Series is a host's down-sampled history.
type Series struct {
	Step   time.Duration
	Points []Point
}

// Limits of a metric request.
const (
	DefaultRange     = 6 * time.Hour
	MaxRange         = 31 * 24 * time.Hour
	MaxPoints        = 5000
	DefaultMaxPoints = 500
)

// niceSteps are the bucket widths a series may use: whole, chart-friendly units.
var niceSteps = []time.Duration{
	time.Minute, 5 * time.Minute, 10 * time.Minute, 15 * time.Minute, 30 * time.Minute,
	time.Hour, 2 * time.Hour, 3 * time.Hour, 6 * time.Hour, 12 * time.Hour, 24 * time.Hour,
}

// binOrigin is where buckets are aligned, so the same range always gives the same
// buckets (charts do not shimmer as time moves on).
var binOrigin = time.Date(2000, 1, 1, 0, 0, 0, 0, time.UTC)

// buckets counts the aligned buckets of width step that [from, to) touches.
func buckets(from, to time.Time, step time.Duration) int {
	first := from.Sub(binOrigin) / step
	last := (to.Add(-time.Nanosecond)).Sub(binOrigin) / step
	return int(last-first) + 1
}

// chooseStep returns the smallest nice step at least min whose aligned buckets
// over [from, to) number at most maxPoints (a range that does not start on a
// bucket boundary touches one bucket more than its length alone suggests).
func chooseStep(from, to time.Time, min time.Duration, maxPoints int) time.Duration {
	for _, s := range niceSteps {
		if s >= min && buckets(from, to, s) <= maxPoints {
			return s
		}
	}
	// Beyond a day: whole days, enough of them.
	s := max(min, 24*time.Hour).Truncate(24 * time.Hour)
	for buckets(from, to, s) > maxPoints {
		s += 24 * time.Hour
	}
	return s
}

// HostSeries returns the host's samples between from and to (zero values: the last
// six hours), averaged per step (zero: chosen from the range), with at most
// maxPoints buckets (zero: 500). CPU also carries each bucket's maximum, so short
// spikes survive down-sampling.
func (s *Service) HostSeries(ctx context.Context, hostID int64, from, to time.Time, step time.Duration, maxPoints int) (Series, error) {
	if _, err := auth.Require(ctx); err != nil {
		return Series{}, err
	}
	if to.IsZero() {
		to = s.now()
	}
	if from.IsZero() {
		from = to.Add(-DefaultRange)
	}
	if maxPoints == 0 {
		maxPoints = DefaultMaxPoints
	}
	switch {
	case !from.Before(to):
		return Series{}, fault.Field("from", "from must be before to")
	case to.Sub(from) > MaxRange:
		return Series{}, fault.Field("from", "the range is limited to %d days of raw samples", int(MaxRange.Hours()/24))
	case maxPoints < 1 || maxPoints > MaxPoints:
		return Series{}, fault.Field("maxPoints", "maxPoints must be between 1 and %d", MaxPoints)
	case step < 0:
		return Series{}, fault.Field("step", "step must be positive")
	}
	step = chooseStep(from, to, max(step, time.Minute), maxPoints)
	rows, err := s.dbtx.Query(ctx, `SELECT date_bin($4::interval, ts, '2000-01-01 00:00:00+00') AS b,
			avg(cpu_pct), max(cpu_pct), avg(mem_pct), avg(disk_io_pct), avg(net_in_bps), avg(net_out_bps),
			avg(containers), count(*)
		FROM host_metric WHERE host_id = $1 AND ts >= $2 AND ts < $3
		GROUP BY b ORDER BY b`, hostID, from, to, step)
	if err != nil {
		return Series{}, fmt.Errorf("error loading metrics of host %d: %w", hostID, err)
	}
	points, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (Point, error) {
		var p Point
		err := r.Scan(&p.TS, &p.CPUPct, &p.CPUPctMax, &p.MemPct, &p.DiskIOPct, &p.NetInBps, &p.NetOutBps, &p.Containers, &p.Samples)
		return p, err
	})
	if err != nil {
		return Series{}, fmt.Errorf("error loading metrics of host %d: %w", hostID, err)
	}
	return Series{Step: step, Points: points}, nil
}

// Dimension names follow the watermark dimensions so screens can line them up.
const (
	DimCPU        = "CPU"
	DimMemory     = "MEMORY"
	DimDiskIO     = "DISK_IO"
	DimNetIn      = "NET_IN"
	DimNetOut     = "NET_OUT"
	DimContainers = "CONTAINERS"
)

// Peer compares a host with its cluster peers in one dimension. Values are
// percent of capacity (network as percent of the NIC) except containers (count).
type Peer struct {
	Dimension      string
	HostAverage    *float64
	HostP95        *float64
	PeerMedian     *float64
	PeerP95        *float64
	PercentileRank *float64
	Verdict        string
}

// ScrapeStatus is the node_exporter polling state of a host.
type ScrapeStatus struct {
	URL           string
	State         string
	Failures      int
	LastAttemptAt *time.Time
	LastSuccessAt *time.Time
	LastError     string
	NextAttemptAt time.Time
}

// Analysis is the machine-analysis view of one host. Hardware, OS and components
// come from the inventory; this adds what needs telemetry.
type Analysis struct {
	Window   time.Duration
	Peers    []Peer
	Scrape   *ScrapeStatus
	Findings []Finding
	// Samples is how many samples of the host the window holds.
	Samples int
	// PeersFrom and PeersTo are the whole UTC hours [PeersFrom, PeersTo) the
	// peers' averages cover: the complete hours the window touches (at least
	// the last one). The host's own figures cover exactly the window.
	PeersFrom, PeersTo time.Time
}

// HostFacts is what Analyse needs to know about the host from the inventory.
type HostFacts struct {
	ID            int64
	ClusterID     int64
	Hostname      string
	State         string
	StateReason   string
	LastHeartbeat *time.Time
	// UnhealthyComponents names components whose actual state differs from the
	// desired one, e.g. "HDFS/DATANODE is FAILED (want STARTED)".
	UnhealthyComponents []string
}

// DefaultWindow is the analysis window when none is given.
const DefaultWindow = 24 * time.Hour

// staleHeartbeat is how old a heartbeat may be before a reporting host is
// considered silent.
const staleHeartbeat = 5 * time.Minute

// Analyse compares the host with its cluster peers over window and lists findings,
// worst first.
func (s *Service) Analyse(ctx context.Context, h HostFacts, window time.Duration) (*Analysis, error) {
	if _, err := auth.Require(ctx); err != nil {
		return nil, err
	}
	if window == 0 {
		window = DefaultWindow
	}
	if window < 10*time.Minute || window > MaxRange {
		return nil, fault.Field("window", "window must be between 10m and %dh", int(MaxRange.Hours()))
	}
	now := s.now()
	a := &Analysis{Window: window}
	dims := []string{DimCPU, DimMemory, DimDiskIO, DimNetIn, DimNetOut, DimContainers}
	type stat struct{ avg, p95 *float64 }
	self := make([]stat, len(dims))
	// The host itself from its raw samples over exactly the window: one host's
	// samples are one index range, and its p95 needs them.
	var v [12]*float64
	dest := []any{&a.Samples}
	for i := range v {
		dest = append(dest, &v[i])
	}
	if err := s.dbtx.QueryRow(ctx, `SELECT count(*),
			avg(m.cpu_pct), percentile_cont(0.95) WITHIN GROUP (ORDER BY m.cpu_pct),
			avg(m.mem_pct), percentile_cont(0.95) WITHIN GROUP (ORDER BY m.mem_pct),
			avg(m.disk_io_pct), percentile_cont(0.95) WITHIN GROUP (ORDER BY m.disk_io_pct),
			avg(100 * m.net_in_bps / NULLIF(h.nic_bps, 0)), percentile_cont(0.95) WITHIN GROUP (ORDER BY 100 * m.net_in_bps / NULLIF(h.nic_bps, 0)),
			avg(100 * m.net_out_bps / NULLIF(h.nic_bps, 0)), percentile_cont(0.95) WITHIN GROUP (ORDER BY 100 * m.net_out_bps / NULLIF(h.nic_bps, 0)),
			avg(m.containers), percentile_cont(0.95) WITHIN GROUP (ORDER BY m.containers)
		FROM host h JOIN host_metric m ON m.host_id = h.id AND m.ts > $2 AND m.ts <= $3
		WHERE h.id = $1`, h.ID, now.Add(-window), now).Scan(dest...); err != nil {
		return nil, fmt.Errorf("error analysing host %s: %w", h.Hostname, err)
	}
	for d := range dims {
		self[d] = stat{v[2*d], v[2*d+1]}
	}
	// The peers from their hourly sums (host_metric_1h) over the complete hours
	// the window touches: at 20,000 peers, one row per peer and hour instead of
	// every raw sample. The current hour is left out (its sums are derived once
	// it ends), so a window shorter than an hour compares with the last
	// complete hour.
	a.PeersTo = now.UTC().Truncate(time.Hour)
	a.PeersFrom = now.Add(-window).UTC().Truncate(time.Hour)
	if last := a.PeersTo.Add(-time.Hour); a.PeersFrom.After(last) {
		a.PeersFrom = last
	}
	peers, err := s.peerValues(ctx, h.ClusterID, h.ID, a.PeersFrom, a.PeersTo, now)
	if err != nil {
		return nil, fmt.Errorf("error analysing host %s: %w", h.Hostname, err)
	}
	var findings []Finding
	for d, dim := range dims {
		p := Peer{Dimension: dim, HostAverage: self[d].avg, HostP95: self[d].p95}
		if len(peers[d]) > 0 {
			p.PeerMedian = ptr(quantile(peers[d], 0.5))
			p.PeerP95 = ptr(quantile(peers[d], 0.95))
		}
		p.Verdict = "no data"
		if p.HostAverage != nil {
			p.Verdict = "typical"
			if len(peers[d]) >= 3 {
				// Mid-rank: peers with the same value count half, so a host just like
				// all its peers ranks 0.5 ("typical"), not 0 ("idle").
				var below, equal float64
				for _, x := range peers[d] {
					switch {
					case x < *p.HostAverage:
						below++
					case x == *p.HostAverage:
						equal++
					}
				}
				rank := (below + equal/2) / float64(len(peers[d]))
				p.PercentileRank = &rank
				switch {
				case rank >= 0.95:
					p.Verdict = fmt.Sprintf("hot: busier than %.0f%% of peers", 100*rank)
					findings = append(findings, Finding{Warning, fmt.Sprintf("%s is busier than %.0f%% of its cluster peers (%.1f vs median %.1f)", label(dim), 100*rank, *p.HostAverage, *p.PeerMedian)})
				case rank <= 0.05 && *p.PeerMedian > 0:
					p.Verdict = fmt.Sprintf("idle: quieter than %.0f%% of peers", 100*(1-rank))
					findings = append(findings, Finding{Note, fmt.Sprintf("%s is quieter than %.0f%% of its cluster peers (%.1f vs median %.1f)", label(dim), 100*(1-rank), *p.HostAverage, *p.PeerMedian)})
				}
			}
			if dim != DimContainers && p.HostP95 != nil && *p.HostP95 >= 90 {
				findings = append(findings, Finding{Warning, fmt.Sprintf("%s p95 is %.1f%%: the host is saturated", label(dim), *p.HostP95)})
			}
		}
		a.Peers = append(a.Peers, p)
	}

	if h.State != "ONLINE" {
		msg := "host is " + h.State
		if h.StateReason != "" {
			msg += ": " + h.StateReason
		}
		findings = append(findings, Finding{Problem, msg})
	}
	for _, c := range h.UnhealthyComponents {
		findings = append(findings, Finding{Problem, c})
	}
	if h.State != "DECOMMISSIONED" && h.State != "MAINTENANCE" {
		if h.LastHeartbeat == nil {
			findings = append(findings, Finding{Problem, "no heartbeat has ever been received"})
		} else if age := now.Sub(*h.LastHeartbeat); age > staleHeartbeat {
			findings = append(findings, Finding{Problem, fmt.Sprintf("no heartbeat for %s", age.Round(time.Minute))})
		}
		if a.Samples == 0 {
			findings = append(findings, Finding{Warning, fmt.Sprintf("no samples in the last %s", window)})
		}
	}
	st, ok, err := s.scrape(ctx, h.ID)
	if err != nil {
		return nil, err
	}
	if ok {
		a.Scrape = &st
	}
	if a.Scrape != nil && a.Scrape.State == "FAILING" {
		findings = append(findings, Finding{Warning, fmt.Sprintf("node_exporter scrape failing (%d in a row): %s", a.Scrape.Failures, a.Scrape.LastError)})
	}
	slices.SortStableFunc(findings, func(x, y Finding) int { return int(x.Severity - y.Severity) })
	a.Findings = findings
	if a.Findings == nil {
		a.Findings = []Finding{}
	}
	return a, nil
}

// Severity ranks a finding; lower is worse.
type Severity int

// Severities, worst first.
const (
	Problem Severity = iota // needs action: out of service, a component down, silent
	Warning                 // worth a look: saturation, a hot spot, missing data
	Note                    // information: an idle host that could be consolidated
)

func (s Severity) String() string { return [...]string{"PROBLEM", "WARNING", "NOTE"}[s] }

// Finding is one plain-language observation about a host.
type Finding struct {
	Severity Severity
	Text     string
}

// scrape returns the host's scrape status; ok is false for a host nobody scrapes.
func (s *Service) scrape(ctx context.Context, hostID int64) (st ScrapeStatus, ok bool, err error) {
	err = s.dbtx.QueryRow(ctx, `SELECT url, status, failures, last_attempt_at, last_success_at, last_error, next_attempt_at
		FROM scrape_target WHERE host_id = $1`, hostID).
		Scan(&st.URL, &st.State, &st.Failures, &st.LastAttemptAt, &st.LastSuccessAt, &st.LastError, &st.NextAttemptAt)
	if errors.Is(err, pgx.ErrNoRows) {
		return st, false, nil
	}
	if err != nil {
		return st, false, fmt.Errorf("error loading scrape status of host %d: %w", hostID, err)
	}
	return st, true, nil
}

func label(dim string) string {
	switch dim {
	case DimCPU:
		return "CPU"
	case DimMemory:
		return "memory"
	case DimDiskIO:
		return "disk IO"
	case DimNetIn:
		return "network in"
	case DimNetOut:
		return "network out"
	}
	return "containers"
}

// quantile of sorted values by linear interpolation.
func quantile(sorted []float64, q float64) float64 {
	if len(sorted) == 1 {
		return sorted[0]
	}
	pos := q * float64(len(sorted)-1)
	lo := int(math.Floor(pos))
	hi := min(lo+1, len(sorted)-1)
	return sorted[lo] + (sorted[hi]-sorted[lo])*(pos-float64(lo))
}

func ptr(v float64) *float64 { return &v }

// peerCacheTTL is how long the peers' averages of a cluster and run of hours
// are reused. They change only when the host-hours job derives an hour (every
// five minutes) or re-derives one after late samples, so reusing them for as
// long costs no freshness the sums have; a new hour is a new key.
const peerCacheTTL = 5 * time.Minute

// peerCache keeps, per cluster and run of hours, every host's averages sorted
// per dimension, so analysing one host after another of a 20,000-host cluster
// reads the peers' sums once, not on every request.
type peerCache struct {
	mu      sync.Mutex
	entries map[peerKey]*peerEntry
}

// peerKey is a cluster and a run of hours, in Unix seconds (time.Time is no
// map key: equal times may differ in location or monotonic reading).
type peerKey struct {
	cluster, from, to int64
}

type peerEntry struct {
	loaded time.Time
	// sorted holds every host's averages per dimension, ascending; hosts each
	// host's own, to take it out of its peers.
	sorted [6][]float64
	hosts  map[int64][6]*float64
}

// peerValues returns the averages over [from, to) of the cluster's hosts but
// host, sorted, per dimension, from the cache when loaded less than
// peerCacheTTL before now.
func (s *Service) peerValues(ctx context.Context, cluster, host int64, from, to, now time.Time) ([6][]float64, error) {
	key := peerKey{cluster, from.Unix(), to.Unix()}
	s.peers.mu.Lock()
	e := s.peers.entries[key]
	s.peers.mu.Unlock()
	if e == nil || now.Sub(e.loaded) >= peerCacheTTL || now.Before(e.loaded) {
		avgs, err := telemetry.ClusterHourAverages(ctx, s.dbtx, cluster, from, to)
		if err != nil {
			return [6][]float64{}, err
		}
		e = &peerEntry{loaded: now, hosts: make(map[int64][6]*float64, len(avgs))}
		for _, p := range avgs {
			v := [6]*float64{p.CPUPct, p.MemPct, p.DiskIOPct, p.NetInPct, p.NetOutPct, p.Containers}
			e.hosts[p.HostID] = v
			for d, x := range v {
				if x != nil {
					e.sorted[d] = append(e.sorted[d], *x)
				}
			}
		}
		for d := range e.sorted {
			slices.Sort(e.sorted[d])
		}
		s.peers.mu.Lock()
		if s.peers.entries == nil {
			s.peers.entries = map[peerKey]*peerEntry{}
		}
		for k, old := range s.peers.entries {
			if now.Sub(old.loaded) >= peerCacheTTL {
				delete(s.peers.entries, k)
			}
		}
		s.peers.entries[key] = e
		s.peers.mu.Unlock()
	}
	var out [6][]float64
	self := e.hosts[host]
	for d, all := range e.sorted {
		out[d] = all
		if self[d] == nil {
			continue
		}
		// The host's own value, once: the same float, so found exactly.
		if i, ok := slices.BinarySearch(all, *self[d]); ok {
			out[d] = slices.Concat(all[:i], all[i+1:])
		}
	}
	return out, nil
}
