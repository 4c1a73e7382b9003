package sim

import (
	"cmp"
	"context"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/teslaops/tesla/internal/inventory"
	"github.com/teslaops/tesla/internal/telemetry"
)

// HostStateChannel is the NOTIFY channel on which the Ticker announces host state
// changes; the payload is the host id as text. The API's live subscriptions
// LISTEN on it.
const HostStateChannel = inventory.HostStateChannel

// TickerConfig configures a Ticker.
type TickerConfig struct {
	// Interval between ticks; default 10s.
	Interval time.Duration
	// Seed must be the Config.Seed the fleet was seeded with (default 1), so the
	// live samples continue each host's seeded history without a jump.
	Seed uint64
	// Resolution is the time step samples are stored at (default 1m): a tick
	// stores its sample at now truncated to Resolution, so a later tick in the
	// same step refines that row and the table grows one row per host per step
	// whatever the interval. The fleet benchmark sets it to the interval (one
	// sample per host every 15 s), and then every tick writes new rows, which go
	// into host_metric with a plain COPY.
	Resolution time.Duration
	// HeartbeatEvery is how often each host's heartbeat moves (default: every
	// tick). Set longer than Interval, the hosts are split into slots by id and
	// each tick beats one slot, so a tick updates hosts/slots rows instead of
	// every host row: at 250,000 hosts, updating every host row each tick costs
	// seconds, while a heartbeat a minute old is still fresh (a host counts as
	// silent after five).
	HeartbeatEvery time.Duration
	// WorkloadEvery is how often the demo workload moves (default 1m, at least
	// the interval): runs start and end, the current hour's usage is
	// recomputed and every queue is snapshotted. It runs after the hosts'
	// transaction, in its own, so it never delays or risks the samples.
	WorkloadEvery time.Duration
}

// Default chances, per tick, that the Ticker makes one healthy host sick or heals
// one sick host. At the default interval that is a state change every few
// minutes: enough for live screens to move, rare enough to stay believable.
const (
	defaultSickChance = 1.0 / 30
	defaultHealChance = 1.0 / 25
)

// Ticker keeps the demo fleet alive: every tick it writes one sample per
// reporting host, moves heartbeats and now and then makes a host sick or heals
// one; once a minute it moves the demo workload (runs, usage, queue snapshots:
// see workload_tick.go). It drives only the hosts and queues of simulated
// clusters (cluster.simulated, which only its seed sets): real clusters beside
// a demo fleet — imported traces, agents' hosts — never get an invented sample,
// heartbeat, state change or workload.
type Ticker struct {
	pool   *pgxpool.Pool
	cfg    TickerConfig
	logger *slog.Logger
	// Chances per tick of a state change; tests raise them to force one.
	sickChance, healChance float64
	// The demo workload as last loaded, and when it last moved.
	wl           *liveWorkload
	lastWorkload time.Time
}

// TickStats counts what one tick did.
type TickStats struct {
	Hosts      int   // hosts in the inventory
	Samples    int64 // samples upserted at the tick's minute
	Heartbeats int64 // hosts whose heartbeat moved
	MadeSick   int   // ONLINE → DEGRADED
	Healed     int   // DEGRADED → ONLINE
	Elapsed    time.Duration
	// Where the time went: loading hosts and computing samples, storing the
	// samples (host_metric, host_latest, rollup_dirty), moving heartbeats.
	LoadTime, SampleTime, BeatTime time.Duration
	// The workload step, when the tick took one: runs written (started or
	// ended since the last step), hourly usage rows recomputed, queue
	// snapshots stored, and the time it took.
	Runs, UsageHours, QueueSamples int64
	WorkloadTime                   time.Duration
}

// NewTicker returns a Ticker over pool; zero config fields take their defaults.
func NewTicker(pool *pgxpool.Pool, cfg TickerConfig, logger *slog.Logger) *Ticker {
	cfg.Interval = cmp.Or(cfg.Interval, 10*time.Second)
	cfg.Seed = cmp.Or(cfg.Seed, DefaultSeed)
	cfg.Resolution = cmp.Or(cfg.Resolution, time.Minute)
	cfg.HeartbeatEvery = max(cfg.HeartbeatEvery, cfg.Interval)
	cfg.WorkloadEvery = max(cmp.Or(cfg.WorkloadEvery, time.Minute), cfg.Interval)
	return &Ticker{pool: pool, cfg: cfg, logger: logger, sickChance: defaultSickChance, healChance: defaultHealChance}
}

// tickBudget is how many intervals one tick may take before it is abandoned. A
// tick is one transaction, so an abandoned tick stores nothing: on a loaded
// machine a late tick (the next one starts at once, so time.Ticker skips the
// missed beats) is better than a lost one. The fleet bench at 250,000 hosts saw
// ticks of 12–15 s at a 15-s interval on a shared 2-core box; with a budget of
// one interval, most of them failed.
const tickBudget = 4

// Run ticks every Interval until ctx is done, then returns nil: stopping is not a
// failure. A failed tick is logged and the next one tried, because a live demo
// should survive a database restart; a tick that overruns the interval is logged
// too, since the fleet then falls behind.
func (t *Ticker) Run(ctx context.Context) error {
	tk := time.NewTicker(t.cfg.Interval)
	defer tk.Stop()
	for {
		tickCtx, cancel := context.WithTimeout(ctx, tickBudget*t.cfg.Interval)
		st, err := t.Tick(tickCtx, time.Now())
		cancel()
		switch {
		case err != nil && ctx.Err() == nil:
			t.logger.WarnContext(ctx, "sim tick failed", "error", err)
		case err == nil && st.Elapsed > t.cfg.Interval:
			t.logger.WarnContext(ctx, "sim tick overran its interval", "elapsed_ms", st.Elapsed.Milliseconds(),
				"interval", t.cfg.Interval.String(), "hosts", st.Hosts)
		}
		select {
		case <-ctx.Done():
			return nil
		case <-tk.C:
		}
	}
}

type tickHost struct {
	id                    int64
	hostname              string
	cores                 int
	nicBps                int64
	state                 string
	cluster, kind, region string
	release               string // "stack/version" of the cluster, empty for none
	clusterCreated        time.Time
	// automated is set while an operation holds the host's cluster (PENDING,
	// RUNNING or PAUSED) or the host itself: its state is the operation's
	// business, so the ticker changes it no more.
	automated bool
}

// Tick performs one step at now: samples are stored at now truncated to the
// Resolution (a later tick in the same step refines that row), with values
// computed at now itself by the seed's load model. State changes are chosen deterministically
// from the seed and now, and each is announced on HostStateChannel in the same
// transaction, so listeners hear of it exactly when it is visible.
func (t *Ticker) Tick(ctx context.Context, now time.Time) (TickStats, error) {
	began := time.Now()
	now = now.UTC()
	minute := now.Truncate(t.cfg.Resolution)
	var st TickStats
	err := pgx.BeginFunc(ctx, t.pool, func(tx pgx.Tx) error {
		mark := time.Now()
		hosts, err := loadTickHosts(ctx, tx)
		if err != nil {
			return err
		}
		st.Hosts = len(hosts)
		st.LoadTime = time.Since(mark)
		if err := t.changeStates(ctx, tx, hosts, now, &st); err != nil {
			return err
		}
		// Every host of this tick's slot that reports beats, at now: one
		// statement for the slot. Before the samples, because storing them marks
		// the minute for the rollup, whose claim waits for this transaction to
		// commit: the less that follows the mark, the shorter the wait.
		mark = time.Now()
		slots := int64(t.cfg.HeartbeatEvery / t.cfg.Interval)
		slot := now.UnixNano() / int64(t.cfg.Interval) % max(slots, 1)
		var ids []int64
		for _, h := range hosts {
			if reports(h.state) && (slots <= 1 || h.id%slots == slot) {
				ids = append(ids, h.id)
			}
		}
		if st.Heartbeats, err = inventory.RecordHeartbeatsAt(ctx, tx, ids, now); err != nil {
			return err
		}
		st.BeatTime = time.Since(mark)
		st.Samples, err = t.upsertSamples(ctx, tx, hosts, now, minute, &st)
		return err
	})
	if err != nil {
		return TickStats{}, err
	}
	// The workload moves at its own, lower cadence, after the hosts committed:
	// a failure there is reported but leaves the tick's samples stored.
	var wlErr error
	if t.lastWorkload.IsZero() || now.Sub(t.lastWorkload) >= t.cfg.WorkloadEvery || now.Before(t.lastWorkload) {
		if wlErr = t.tickWorkload(ctx, now, &st); wlErr != nil {
			wlErr = fmt.Errorf("error moving the demo workload: %w", wlErr)
		}
	}
	st.Elapsed = time.Since(began)
	t.logger.DebugContext(ctx, "sim tick",
		"at", minute, "hosts", st.Hosts, "samples", st.Samples, "heartbeats", st.Heartbeats,
		"made_sick", st.MadeSick, "healed", st.Healed, "runs", st.Runs, "usage_hours", st.UsageHours,
		"queue_samples", st.QueueSamples,
		"load_ms", st.LoadTime.Milliseconds(), "samples_ms", st.SampleTime.Milliseconds(),
		"heartbeats_ms", st.BeatTime.Milliseconds(), "workload_ms", st.WorkloadTime.Milliseconds(),
		"elapsed_ms", st.Elapsed.Milliseconds())
	return st, wlErr
}

func loadTickHosts(ctx context.Context, tx pgx.Tx) ([]tickHost, error) {
	// The clusters' stack versions (bad rollouts are keyed by them) come in a
	// query of their own: a few hundred rows, where a join would widen each of
	// up to 250,000 host rows.
	rows, err := tx.Query(ctx, `
		SELECT c.name, coalesce(s.name || '/' || sv.version, ''),
			EXISTS (SELECT 1 FROM operation o WHERE o.cluster_id = c.id AND o.state IN ('PENDING', 'RUNNING', 'PAUSED'))
		FROM cluster c
		LEFT JOIN stack_version sv ON sv.id = c.stack_version_id
		LEFT JOIN stack s ON s.id = sv.stack_id
		WHERE c.simulated`)
	if err != nil {
		return nil, fmt.Errorf("error loading cluster releases for tick: %w", err)
	}
	releases := map[string]string{}
	// Clusters an operation holds (read here, one row a cluster, rather than
	// probed for each host): automation is on, the ticker leaves their hosts'
	// states alone.
	automated := map[string]bool{}
	var name, release string
	var busy bool
	if _, err := pgx.ForEachRow(rows, []any{&name, &release, &busy}, func() error {
		releases[name] = release
		automated[name] = busy
		return nil
	}); err != nil {
		return nil, fmt.Errorf("error loading cluster releases for tick: %w", err)
	}
	rows, err = tx.Query(ctx, `
		SELECT h.id, h.hostname, h.cpu_cores, h.nic_bps, h.state, c.name, c.kind, c.region, c.created_at,
			h.held_by_operation IS NOT NULL
		FROM host h JOIN cluster c ON c.id = h.cluster_id
		WHERE c.simulated
		ORDER BY h.id`)
	if err != nil {
		return nil, fmt.Errorf("error loading hosts for tick: %w", err)
	}
	var hosts []tickHost
	var h tickHost
	var held bool
	if _, err := pgx.ForEachRow(rows, []any{&h.id, &h.hostname, &h.cores, &h.nicBps, &h.state, &h.cluster, &h.kind, &h.region, &h.clusterCreated, &held}, func() error {
		h.release = releases[h.cluster]
		h.automated = held || automated[h.cluster]
		hosts = append(hosts, h)
		return nil
	}); err != nil {
		return nil, fmt.Errorf("error loading hosts for tick: %w", err)
	}
	return hosts, nil
}

// changeStates maybe makes one ONLINE host DEGRADED and maybe heals one DEGRADED
// host. A REPAIRING host is left to its repair ticket (internal/hardware): only
// resolving or replacing it ends its repair. The guard on the old state in the
// UPDATE leaves alone a host that something else (self-heal, an operator)
// changed meanwhile. Hosts under automation (an operation holds their cluster
// or them) are never picked: an upgrade's out-of-service share and its
// results must not move under it at random.
func (t *Ticker) changeStates(ctx context.Context, tx pgx.Tx, hosts []tickHost, now time.Time, st *TickStats) error {
	r := rand.New(rand.NewPCG(t.cfg.Seed, uint64(now.Unix())))
	var healthy, sick []int
	for i, h := range hosts {
		if h.automated {
			continue
		}
		switch h.state {
		case stateOnline:
			healthy = append(healthy, i)
		case stateDegraded:
			sick = append(sick, i)
		}
	}
	type change struct {
		i             int
		from, to, why string
	}
	var changes []change
	if r.Float64() < t.sickChance && len(healthy) > 0 {
		reasons := sickStates[0].reasons // the DEGRADED reasons
		changes = append(changes, change{healthy[r.IntN(len(healthy))], stateOnline, stateDegraded, reasons[r.IntN(len(reasons))]})
	}
	if r.Float64() < t.healChance && len(sick) > 0 {
		i := sick[r.IntN(len(sick))]
		changes = append(changes, change{i, hosts[i].state, stateOnline, ""})
	}
	for _, c := range changes {
		h := &hosts[c.i]
		changed, err := inventory.TransitionHostState(ctx, tx, h.id, c.from, c.to, c.why)
		if err != nil {
			return err
		}
		if !changed {
			continue
		}
		h.state = c.to
		if c.to == stateDegraded {
			st.MadeSick++
			err = inventory.FailOneComponent(ctx, tx, h.id, now)
		} else {
			st.Healed++
			err = inventory.StartComponents(ctx, tx, h.id, now)
		}
		if err != nil {
			return err
		}
	}
	return nil
}

// upsertSamples writes one sample per reporting host at minute (the tick's
// step), replacing the step's earlier values (telemetry.Upsert, which also marks the minute for the
// watermark rollup and creates a missing day's partition).
func (t *Ticker) upsertSamples(ctx context.Context, tx pgx.Tx, hosts []tickHost, now, minute time.Time, st *TickStats) (int64, error) {
	began := time.Now()
	samples := t.samples(hosts, now, minute)
	stored := time.Now()
	st.LoadTime += stored.Sub(began)
	n, err := telemetry.Upsert(ctx, tx, samples)
	st.SampleTime = time.Since(stored)
	return n, err
}

// samples computes the tick's sample of each reporting host, stored at minute.
func (t *Ticker) samples(hosts []tickHost, now, minute time.Time) []telemetry.Sample {
	loads := map[string]*clusterLoad{}
	ts := now.Unix()
	samples := make([]telemetry.Sample, 0, len(hosts))
	for _, h := range hosts {
		if !reports(h.state) {
			continue
		}
		cl, ok := loads[h.cluster]
		if !ok {
			cl = newClusterLoad(t.cfg.Seed, h.cluster, h.kind, h.region, h.release, h.clusterCreated)
			loads[h.cluster] = cl
		}
		hl := newHostLoad(t.cfg.Seed, h.hostname, h.cores, h.nicBps, cl)
		s := hl.at(ts, modeFor(h.state))
		samples = append(samples, telemetry.Sample{HostID: h.id, TS: minute, CPUPct: &s.cpu, MemPct: &s.mem,
			DiskIOPct: &s.io, NetInBps: &s.netIn, NetOutBps: &s.netOut, Containers: &s.containers})
	}
	return samples
}
