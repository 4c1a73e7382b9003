package anomaly

import (
	"cmp"
	"context"
	"fmt"
	"log/slog"
	"math"
	"slices"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
)

// ScorerConfig configures the fleet's scorer. The zero value is the default for
// every field.
type ScorerConfig struct {
	// Interval between scoring passes (default 1 minute): each pass scores the
	// newest sample of every host that reported since the last.
	Interval time.Duration
	// PersistEvery is how often the detectors' state is saved (default 15
	// minutes, and on stop): a replica taking over resumes from it, having lost
	// at most that much learning, never the history before.
	PersistEvery time.Duration
	// Detector is the one configuration every series is scored with (default
	// DefaultConfig()).
	Detector *Config
	// Episodes sets how alerts become episodes.
	Episodes EpisodeConfig
	// Peer tunes the comparison with peers.
	Peer PeerConfig
	// LockKey is the advisory lock that makes one replica the scorer (default a
	// fixed key of Tesla's).
	LockKey int64
	// Now is the clock (default time.Now).
	Now func() time.Time
}

// PeerConfig tunes the peer comparison: a host is anomalous when its metric
// lies far from the median of its peers (same cluster, same machine group) for
// several passes in a row — what its own history cannot show when it has always
// been the odd one out, or when the whole group moves together.
type PeerConfig struct {
	// MinPeers is the smallest group compared (default 8): a median of fewer is
	// no norm.
	MinPeers int
	// Z is how many robust standard deviations from the peers' median a value
	// must lie (default 6).
	Z float64
	// Passes is how many consecutive passes the departure must last (default 3).
	Passes int
}

func (c ScorerConfig) withDefaults() ScorerConfig {
	c.Interval = cmp.Or(c.Interval, time.Minute)
	c.PersistEvery = cmp.Or(c.PersistEvery, 15*time.Minute)
	if c.Detector == nil {
		d := DefaultConfig()
		c.Detector = &d
	}
	c.Episodes = c.Episodes.withDefaults()
	c.Peer.MinPeers = cmp.Or(c.Peer.MinPeers, 8)
	c.Peer.Z = cmp.Or(c.Peer.Z, 6)
	c.Peer.Passes = cmp.Or(c.Peer.Passes, 3)
	c.LockKey = cmp.Or(c.LockKey, 0x7465736c61616e6f) // "teslaano"
	if c.Now == nil {
		c.Now = time.Now
	}
	return c
}

// hostSeries is one host's detector state per metric (Metrics order), the time
// of its last sample scored, and how many passes in a row each metric has
// departed from its peers.
type hostSeries struct {
	states  [6]State
	scored  time.Time
	peerRun [6]int
}

// Scorer scores every host's newest sample each pass with the online detector
// (its own history) and against its peers, and turns the alerts into episodes.
// One replica scores at a time (an advisory lock held on a connection of its
// own); it keeps every series' state in memory, saves it every PersistEvery,
// and a replica taking over loads it.
type Scorer struct {
	pool     *pgxpool.Pool
	logger   *slog.Logger
	episodes *Episodes
	model    *Model
	cfg      ScorerConfig
	hosts    map[int64]*hostSeries
	saved    time.Time
}

// NewScorer returns a scorer over pool writing episodes through episodes.
func NewScorer(pool *pgxpool.Pool, episodes *Episodes, logger *slog.Logger, cfg ScorerConfig) (*Scorer, error) {
	cfg = cfg.withDefaults()
	m, err := NewModel(*cfg.Detector)
	if err != nil {
		return nil, err
	}
	return &Scorer{pool: pool, logger: logger, episodes: episodes, model: m, cfg: cfg}, nil
}

// Pass is what one scoring pass did.
type Pass struct {
	Hosts, Samples int
	Alerts         int
	Opened         int
	Resolved       int64
	Elapsed        time.Duration
}

// Run scores until ctx ends: it waits to hold the scorer lock (retrying every
// Interval), then scores every Interval, saving state every PersistEvery and
// when it stops. Losing the lock's connection drops the state in memory and
// goes back to waiting.
func (s *Scorer) Run(ctx context.Context) error {
	for {
		err := s.lead(ctx)
		if ctx.Err() != nil {
			return nil
		}
		if err != nil {
			s.logger.WarnContext(ctx, "anomaly scorer lost its lead", "error", err)
		}
		select {
		case <-ctx.Done():
			return nil
		case <-time.After(s.cfg.Interval):
		}
	}
}

// lead holds the lock while ctx lasts and scores; it returns when it could not
// take the lock (nil) or lost it (the error).
func (s *Scorer) lead(ctx context.Context) error {
	conn, err := s.pool.Acquire(ctx)
	if err != nil {
		return err
	}
	defer conn.Release()
	var got bool
	if err := conn.QueryRow(ctx, `SELECT pg_try_advisory_lock($1)`, s.cfg.LockKey).Scan(&got); err != nil || !got {
		return err
	}
	defer func() {
		_, _ = conn.Exec(context.WithoutCancel(ctx), `SELECT pg_advisory_unlock($1)`, s.cfg.LockKey)
	}()
	s.hosts = nil // whatever was in memory may be older than what another replica saved
	if err := s.load(ctx); err != nil {
		return err
	}
	tick := time.NewTicker(s.cfg.Interval)
	defer tick.Stop()
	for {
		if _, err := s.PassOnce(ctx); err != nil && ctx.Err() == nil {
			s.logger.ErrorContext(ctx, "anomaly scoring pass failed", "error", err)
		}
		if s.cfg.Now().Sub(s.saved) >= s.cfg.PersistEvery {
			if err := s.Save(ctx); err != nil && ctx.Err() == nil {
				s.logger.ErrorContext(ctx, "saving anomaly state failed", "error", err)
			}
		}
		select {
		case <-ctx.Done():
			saveCtx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 30*time.Second)
			defer cancel()
			return s.Save(saveCtx)
		case <-tick.C:
		}
		if err := conn.Ping(ctx); err != nil {
			s.hosts = nil
			return fmt.Errorf("scorer lock connection: %w", err)
		}
	}
}

// load reads the saved state of every series.
func (s *Scorer) load(ctx context.Context) error {
	s.hosts = map[int64]*hostSeries{}
	rows, err := s.pool.Query(ctx, `SELECT host_id, metric, scored_at, state FROM anomaly_state`)
	if err != nil {
		return fmt.Errorf("error loading anomaly state: %w", err)
	}
	var host int64
	var metric string
	var at time.Time
	var raw []byte
	_, err = pgx.ForEachRow(rows, []any{&host, &metric, &at, &raw}, func() error {
		i := slices.Index(Metrics, metric)
		if i < 0 {
			return nil
		}
		hs := s.series(host)
		if err := hs.states[i].UnmarshalBinary(raw); err != nil {
			// A state of another layout (an older binary): start the series
			// afresh rather than refuse to score.
			hs.states[i] = State{}
		}
		if at.After(hs.scored) {
			hs.scored = at
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("error loading anomaly state: %w", err)
	}
	s.saved = s.cfg.Now()
	return nil
}

func (s *Scorer) series(host int64) *hostSeries {
	if s.hosts == nil {
		s.hosts = map[int64]*hostSeries{}
	}
	hs := s.hosts[host]
	if hs == nil {
		hs = &hostSeries{}
		s.hosts[host] = hs
	}
	return hs
}

// Save writes every series' state (COPY into a staging table, then one
// upsert), and forgets hosts that no longer exist.
func (s *Scorer) Save(ctx context.Context) error {
	if s.hosts == nil {
		return nil
	}
	err := pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, `CREATE TEMP TABLE anomaly_state_in (LIKE anomaly_state) ON COMMIT DROP`); err != nil {
			return err
		}
		type row struct {
			host int64
			i    int
		}
		var list []row
		for h, hs := range s.hosts {
			for i := range Metrics {
				if hs.states[i].N > 0 {
					list = append(list, row{h, i})
				}
			}
		}
		_, err := tx.CopyFrom(ctx, pgx.Identifier{"anomaly_state_in"}, []string{"host_id", "metric", "scored_at", "state"},
			pgx.CopyFromSlice(len(list), func(k int) ([]any, error) {
				hs := s.hosts[list[k].host]
				raw, err := hs.states[list[k].i].MarshalBinary()
				return []any{list[k].host, Metrics[list[k].i], hs.scored, raw}, err
			}))
		if err != nil {
			return err
		}
		if _, err = tx.Exec(ctx, `
			INSERT INTO anomaly_state SELECT i.* FROM anomaly_state_in i JOIN host h ON h.id = i.host_id
			ON CONFLICT (host_id, metric) DO UPDATE SET scored_at = EXCLUDED.scored_at, state = EXCLUDED.state`); err != nil {
			return err
		}
		_, err = tx.Exec(ctx, `DELETE FROM anomaly_state a WHERE NOT EXISTS (SELECT 1 FROM host h WHERE h.id = a.host_id)`)
		return err
	})
	if err != nil {
		return fmt.Errorf("error saving anomaly state: %w", err)
	}
	s.saved = s.cfg.Now()
	return nil
}

// latestRow is a host's newest sample with its peer group.
type latestRow struct {
	host, cluster int64
	group         int32
	// outlier: the clustering found the host far from every group; it is
	// compared with its nearest group but does not shape that group's norm.
	outlier bool
	// nic is the host's NIC speed (bits per second): peers are compared on
	// the share of their NIC they use, since hosts of one group may have
	// different NICs.
	nic    float64
	at     time.Time
	values [6]*float64
	// fresh: the sample is new in this pass; only fresh samples count towards
	// a departure from the peers (a stale one was counted when it was new).
	fresh bool
}

// PassOnce scores every host whose newest sample is newer than the last one
// scored, raises and extends episodes, and resolves the quiet ones, in one
// transaction. It needs no lock itself: Run calls it as the lock holder, tests
// and the CLI call it directly.
func (s *Scorer) PassOnce(ctx context.Context) (Pass, error) {
	began := time.Now()
	now := s.cfg.Now()
	rows, err := s.pool.Query(ctx, `
		SELECT l.host_id, h.cluster_id, coalesce(a.label, -1), coalesce(a.outlier, false), h.nic_bps::float8, l.ts,
		       l.cpu_pct::float8, l.mem_pct::float8, l.disk_io_pct::float8, l.net_in_bps, l.net_out_bps, l.containers::float8
		FROM host_latest l
		JOIN host h ON h.id = l.host_id
		LEFT JOIN clustering_assignment a ON a.host_id = l.host_id
		     AND a.run_id = (SELECT id FROM clustering_run ORDER BY computed_at DESC, id DESC LIMIT 1)
		WHERE h.state NOT IN ('DECOMMISSIONED', 'MAINTENANCE')`)
	if err != nil {
		return Pass{}, fmt.Errorf("error reading the newest samples: %w", err)
	}
	var latest []latestRow
	var r latestRow
	_, err = pgx.ForEachRow(rows, []any{&r.host, &r.cluster, &r.group, &r.outlier, &r.nic, &r.at,
		&r.values[0], &r.values[1], &r.values[2], &r.values[3], &r.values[4], &r.values[5]}, func() error {
		row := r
		row.values = [6]*float64{}
		for i, v := range r.values {
			if v != nil {
				x := *v
				row.values[i] = &x
			}
		}
		latest = append(latest, row)
		return nil
	})
	if err != nil {
		return Pass{}, fmt.Errorf("error reading the newest samples: %w", err)
	}
	var alerts []Alert
	p := Pass{}
	threshold := s.model.Config().Threshold
	for i := range latest {
		r := &latest[i]
		hs := s.series(r.host)
		if !r.at.After(hs.scored) {
			continue
		}
		r.fresh = true
		p.Hosts++
		hs.scored = r.at
		for i, v := range r.values {
			if v == nil {
				continue
			}
			p.Samples++
			st := &hs.states[i]
			baseline := st.Fast
			_, alert, score := s.model.Observe(st, r.at.UnixNano(), *v)
			// Every point at or over the threshold counts, inside the
			// detector's quiet period after an alert too (the raw score): the
			// quiet period keeps one event from raising many alerts, which
			// episodes already do (points extend the open episode), and a real
			// fault soon after a false alarm must still open one.
			if alert || score >= threshold {
				alerts = append(alerts, Alert{HostID: r.host, Metric: Metrics[i], Kind: KindSelf, At: r.at,
					Value: *v, Baseline: baseline, Score: score, Open: true})
			}
		}
	}
	alerts = append(alerts, s.peers(latest)...)
	p.Alerts = len(alerts)
	err = pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
		opened, err := s.episodes.Apply(ctx, tx, alerts)
		if err != nil {
			return err
		}
		p.Opened = len(opened)
		p.Resolved, err = s.episodes.ResolveQuiet(ctx, tx, now)
		return err
	})
	if err != nil {
		return p, err
	}
	p.Elapsed = time.Since(began)
	s.logger.InfoContext(ctx, "anomaly scoring pass", "hosts", p.Hosts, "samples", p.Samples, "alerts", p.Alerts,
		"opened", p.Opened, "resolved", p.Resolved, "duration_ms", p.Elapsed.Milliseconds())
	return p, nil
}

// peers compares each host's newest values with its group's (same cluster and
// machine group) median, robustly scaled, and returns PEER alerts for the
// departures that have lasted Passes passes.
func (s *Scorer) peers(latest []latestRow) []Alert {
	type groupKey struct {
		cluster int64
		group   int32
	}
	groups := map[groupKey][]int{}
	for i, r := range latest {
		k := groupKey{r.cluster, r.group}
		groups[k] = append(groups[k], i)
	}
	var out []Alert
	cfg := s.cfg.Peer
	vals := make([]float64, 0, 1024)
	for _, members := range groups {
		if len(members) < cfg.MinPeers {
			for _, i := range members {
				s.series(latest[i].host).peerRun = [6]int{}
			}
			continue
		}
		for m := range Metrics {
			vals = vals[:0]
			for _, i := range members {
				if v, ok := peerValue(latest[i], m); ok && !latest[i].outlier {
					vals = append(vals, v)
				}
			}
			if len(vals) < cfg.MinPeers {
				continue
			}
			med, mad := medianMAD(vals)
			// A floor on the spread: peers that all read the same value (idle
			// hosts at 0 containers) make any difference infinite otherwise.
			spread := max(1.4826*mad, 0.05*math.Abs(med), 1e-9)
			for _, i := range members {
				r := latest[i]
				if !r.fresh {
					continue
				}
				hs := s.series(r.host)
				pv, ok := peerValue(r, m)
				if !ok {
					hs.peerRun[m] = 0
					continue
				}
				z := math.Abs(pv-med) / spread
				if z < cfg.Z || math.Abs(pv-med) < minPeerDelta[m] {
					hs.peerRun[m] = 0
					continue
				}
				v := r.values[m]
				hs.peerRun[m]++
				if hs.peerRun[m] < cfg.Passes {
					continue
				}
				// 0.4 at the threshold, approaching 1 as the departure grows.
				score := 1 - 0.6*math.Exp(-(z-cfg.Z)/cfg.Z)
				// Value and baseline in the metric's own unit: the peers' median
				// share of this host's NIC for network.
				baseline := med
				if isNetwork(m) {
					baseline = med * r.nic
				}
				out = append(out, Alert{HostID: r.host, Metric: Metrics[m], Kind: KindPeer, At: r.at,
					Value: *v, Baseline: baseline, Score: score, Open: true})
			}
		}
	}
	return out
}

// minPeerDelta is the smallest difference from the peers' median that counts,
// per metric in the unit peers are compared in: 10 points of utilisation, 10%
// of the NIC for network, 2 containers. Below it a departure, however many
// deviations, is no trouble.
var minPeerDelta = [6]float64{10, 10, 10, 0.10, 0.10, 2}

// isNetwork reports whether metric index m is network in or out.
func isNetwork(m int) bool { return Metrics[m] == "NET_IN" || Metrics[m] == "NET_OUT" }

// peerValue is what a host is compared with its peers on: the metric itself,
// or for network the share of the host's NIC it uses (none without a NIC).
func peerValue(r latestRow, m int) (float64, bool) {
	v := r.values[m]
	if v == nil {
		return 0, false
	}
	if isNetwork(m) {
		if r.nic <= 0 {
			return 0, false
		}
		return *v / r.nic, true
	}
	return *v, true
}

// medianMAD returns the median of xs and the median absolute deviation from it
// (xs is reordered).
func medianMAD(xs []float64) (median, mad float64) {
	slices.Sort(xs)
	median = middle(xs)
	dev := make([]float64, len(xs))
	for i, v := range xs {
		dev[i] = math.Abs(v - median)
	}
	slices.Sort(dev)
	return median, middle(dev)
}

// middle is the median of sorted xs.
func middle(xs []float64) float64 {
	n := len(xs)
	if n == 0 {
		return 0
	}
	if n%2 == 1 {
		return xs[n/2]
	}
	return (xs[n/2-1] + xs[n/2]) / 2
}
