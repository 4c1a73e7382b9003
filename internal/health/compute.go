package health

import (
	"cmp"
	"context"
	"encoding/json"
	"fmt"
	"hash/fnv"
	"log/slog"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/teslaops/tesla/internal/db"
)

// BudgetSource reports how far people and BUs have spent their budget of the
// month holding now: spend ÷ amount, by person id and by BU id. Someone
// without a budget has no entry. internal/budget provides one; without a
// source every budget component is full marks, with the reason "no budget".
type BudgetSource interface {
	Adherence(ctx context.Context, now time.Time) (people, bus map[int64]float64, err error)
}

// Config tunes the health job.
type Config struct {
	// HeartbeatInterval is the agents' heartbeat interval (default 15 s).
	HeartbeatInterval time.Duration
	// Currency names the amounts in the reasons of people's and BUs' scores
	// (default USD; the installation's cost currency).
	Currency string
	// Budget reports budget adherence; nil: no budgets (see BudgetSource).
	Budget BudgetSource
	// Now is the clock (default time.Now).
	Now func() time.Time
	// Logger receives one summary line per run (default: discarded).
	Logger *slog.Logger
}

func (c Config) withDefaults() Config {
	c.HeartbeatInterval = cmp.Or(c.HeartbeatInterval, 15*time.Second)
	c.Currency = cmp.Or(c.Currency, "USD")
	if c.Now == nil {
		c.Now = time.Now
	}
	if c.Logger == nil {
		c.Logger = slog.New(slog.DiscardHandler)
	}
	return c
}

// Computer computes and stores every level's scores: the `health` job.
type Computer struct {
	pool db.DBTX
	cfg  Config
}

// NewComputer returns the health job's computer over pool.
func NewComputer(pool db.DBTX, cfg Config) *Computer {
	return &Computer{pool: pool, cfg: cfg.withDefaults()}
}

// SetBudget makes later runs score budget adherence through src.
func (c *Computer) SetBudget(src BudgetSource) { c.cfg.Budget = src }

// Result counts what a run stored, by level.
type Result struct {
	ComputedAt time.Time
	// Scored counts the subjects scored, Changed the scores written (new or
	// changed), Took each level's time.
	Scored  map[Level]int
	Changed map[Level]int
	Took    map[Level]time.Duration
}

// Rows is the number of scores stored.
func (r Result) Rows() int64 {
	var n int64
	for _, v := range r.Scored {
		n += int64(v)
	}
	return n
}

// row is one subject's new score, as written.
type row struct {
	id                 int64
	score              float64
	comps              []Component
	cluster, bu, owner *int64
}

// RunOnce scores every level at the clock's now and stores the scores, the
// day's history and the retention. Each level is replaced in a transaction of
// its own, hosts first (clusters read their hosts' new scores, people and BUs
// their jobs'); running it twice at the same time stores the same rows.
func (c *Computer) RunOnce(ctx context.Context) (Result, error) {
	now := c.cfg.Now().UTC()
	res := Result{ComputedAt: now, Scored: map[Level]int{}, Changed: map[Level]int{}, Took: map[Level]time.Duration{}}
	step := func(l Level, f func() ([]row, error)) ([]row, error) {
		start := time.Now()
		rows, err := f()
		loaded := time.Since(start)
		changed := 0
		if err == nil {
			changed, err = c.store(ctx, l, rows, now)
		}
		c.cfg.Logger.DebugContext(ctx, "health level scored", "level", string(l), "rows", len(rows),
			"load_ms", loaded.Milliseconds(), "took_ms", time.Since(start).Milliseconds())
		if err != nil {
			return nil, fmt.Errorf("error scoring %s health: %w", l, err)
		}
		res.Scored[l], res.Changed[l], res.Took[l] = len(rows), changed, time.Since(start)
		return rows, nil
	}
	var hostAggs map[int64]*hostAgg
	if _, err := step(Host, func() (rows []row, err error) {
		rows, hostAggs, err = c.hosts(ctx, now)
		return rows, err
	}); err != nil {
		return res, err
	}
	if _, err := step(Cluster, func() ([]row, error) { return c.clusters(ctx, now, hostAggs) }); err != nil {
		return res, err
	}
	jobs, err := step(Job, func() ([]row, error) { return c.jobs(ctx, now) })
	if err != nil {
		return res, err
	}
	var people, bus map[int64]float64
	if c.cfg.Budget != nil {
		if people, bus, err = c.cfg.Budget.Adherence(ctx, now); err != nil {
			return res, fmt.Errorf("error loading budget adherence: %w", err)
		}
	}
	cost, err := c.jobCost(ctx, now)
	if err != nil {
		return res, err
	}
	if _, err := step(Person, func() ([]row, error) { return c.people(ctx, jobs, cost, people) }); err != nil {
		return res, err
	}
	if _, err := step(BU, func() ([]row, error) { return c.bus(ctx, jobs, cost, bus) }); err != nil {
		return res, err
	}
	c.cfg.Logger.InfoContext(ctx, "health scored", "hosts", res.Scored[Host], "clusters", res.Scored[Cluster],
		"jobs", res.Scored[Job], "people", res.Scored[Person], "bus", res.Scored[BU], "changed", res.Changed, "budget", c.cfg.Budget != nil)
	return res, nil
}

// store replaces level's scores with rows (subjects without a row lose
// theirs), records the day's history and drops history past retention. It
// reads the stored scores first and writes only those that changed, and only
// they reach the history, except in a day's first run, which records every
// subject's score for the day: a steady fleet costs one read, not 200,000
// writes.
func (c *Computer) store(ctx context.Context, level Level, rows []row, now time.Time) (int, error) {
	changes := 0
	err := pgx.BeginFunc(ctx, c.pool, func(tx pgx.Tx) error {
		day := now.Truncate(24 * time.Hour)
		// The level's previous run, locked: two runs of one level never interleave.
		var last time.Time
		if err := tx.QueryRow(ctx, `SELECT computed_at FROM health_run WHERE level = $1 FOR UPDATE`, string(level)).Scan(&last); err != nil {
			return err
		}
		firstOfDay := last.Before(day)
		old, err := storedRows(ctx, tx, level)
		if err != nil {
			return err
		}
		type out struct {
			r      row
			js     string
			hash   int64
			w, why string
			fresh  bool
		}
		var changed []out
		for _, r := range rows {
			js, err := encodeComponents(r.comps)
			if err != nil {
				return err
			}
			hash := hashOf(js)
			if o, ok := old[r.id]; !ok || o.score != r.score || o.hash != hash ||
				!sameID(o.cluster, r.cluster) || !sameID(o.bu, r.bu) || !sameID(o.owner, r.owner) {
				w, why := worst(r.comps)
				changed = append(changed, out{r, js, hash, w, why, !ok})
			}
			delete(old, r.id)
		}
		gone := make([]int64, 0, len(old))
		for id := range old {
			gone = append(gone, id)
		}
		args := pgx.NamedArgs{"level": string(level), "now": now, "day": day, "scored": len(rows), "gone": gone,
			"keep_from": day.AddDate(0, 0, -retention[level])}
		var stmts []string
		if len(changed) > 0 {
			if _, err := tx.Exec(ctx, `CREATE TEMP TABLE health_new (
					subject_id bigint PRIMARY KEY, score double precision NOT NULL, components jsonb NOT NULL, components_hash bigint NOT NULL,
					cluster_id bigint, bu_id bigint, owner_id bigint, worst text NOT NULL, reason text NOT NULL,
					fresh boolean NOT NULL
				) ON COMMIT DROP`); err != nil {
				return err
			}
			if _, err := tx.CopyFrom(ctx, pgx.Identifier{"health_new"},
				[]string{"subject_id", "score", "components", "components_hash", "cluster_id", "bu_id", "owner_id", "worst", "reason", "fresh"},
				pgx.CopyFromSlice(len(changed), func(i int) ([]any, error) {
					o := changed[i]
					return []any{o.r.id, o.r.score, o.js, o.hash, o.r.cluster, o.r.bu, o.r.owner, o.w, o.why, o.fresh}, nil
				})); err != nil {
				return err
			}
			// New subjects are inserted, changed ones updated: the rows were
			// read under the level's lock, so no conflict can arise.
			stmts = append(stmts, `ANALYZE health_new`,
				`INSERT INTO health_score (level, subject_id, score, components, components_hash, computed_at, cluster_id, bu_id, owner_id, worst, reason)
				 SELECT @level, subject_id, score, components, components_hash, @now, cluster_id, bu_id, owner_id, worst, reason FROM health_new WHERE fresh`,
				`UPDATE health_score s SET score = n.score, components = n.components, components_hash = n.components_hash, computed_at = @now, cluster_id = n.cluster_id,
				   bu_id = n.bu_id, owner_id = n.owner_id, worst = n.worst, reason = n.reason
				 FROM health_new n WHERE s.level = @level AND s.subject_id = n.subject_id AND NOT n.fresh`)
		}
		if len(gone) > 0 {
			stmts = append(stmts, `DELETE FROM health_score WHERE level = @level AND subject_id = ANY(@gone)`)
		}
		// The last score of the day: a later run of the same day replaces it.
		history := `INSERT INTO health_history AS h (level, subject_id, day, score)
			SELECT @level, subject_id, @day::date, score FROM %s
			ON CONFLICT (level, subject_id, day) DO UPDATE SET score = EXCLUDED.score WHERE h.score IS DISTINCT FROM EXCLUDED.score`
		switch {
		case firstOfDay:
			stmts = append(stmts, fmt.Sprintf(history, "health_score WHERE level = @level"))
		case len(changed) > 0:
			stmts = append(stmts, fmt.Sprintf(history, "health_new"))
		}
		stmts = append(stmts,
			`DELETE FROM health_history WHERE level = @level AND day < @keep_from::date`,
			`UPDATE health_run SET computed_at = @now, scored = @scored WHERE level = @level`)
		for _, sql := range stmts {
			t0 := time.Now()
			if _, err := tx.Exec(ctx, sql, args); err != nil {
				return err
			}
			c.cfg.Logger.DebugContext(ctx, "health statement", "level", string(level), "ms", time.Since(t0).Milliseconds(), "sql", firstWords(sql))
		}
		c.cfg.Logger.DebugContext(ctx, "health level stored", "level", string(level), "changed", len(changed), "gone", len(gone), "first_of_day", firstOfDay)
		changes = len(changed)
		return nil
	})
	return changes, err
}

// storedRow is a stored score as store compares it.
type storedRow struct {
	score              float64
	hash               int64
	cluster, bu, owner *int64
}

// storedRows reads level's stored scores with their components' hash.
func storedRows(ctx context.Context, tx pgx.Tx, level Level) (map[int64]storedRow, error) {
	rs, err := tx.Query(ctx, `SELECT subject_id, score, components_hash, cluster_id, bu_id, owner_id FROM health_score WHERE level = $1`, string(level))
	if err != nil {
		return nil, err
	}
	out := map[int64]storedRow{}
	var id int64
	var r storedRow
	_, err = pgx.ForEachRow(rs, []any{&id, &r.score, &r.hash, &r.cluster, &r.bu, &r.owner}, func() error {
		out[id] = storedRow{r.score, r.hash, copyPtr(r.cluster), copyPtr(r.bu), copyPtr(r.owner)}
		return nil
	})
	return out, err
}

// hashOf is the FNV-1a hash of encoded components, as a bigint.
func hashOf(js string) int64 {
	h := fnv.New64a()
	h.Write([]byte(js))
	return int64(h.Sum64())
}

func sameID(a, b *int64) bool { return (a == nil && b == nil) || (a != nil && b != nil && *a == *b) }

// stored is a component as health_score keeps it: only those that lost
// points or carry a note are stored, by name.
type storedComponent struct {
	Score  float64 `json:"score"`
	Reason string  `json:"reason,omitempty"`
}

// encodeComponents is the stored form of comps.
func encodeComponents(comps []Component) (string, error) {
	m := map[string]storedComponent{}
	for _, c := range comps {
		if c.Score < 100 || c.Reason != "" {
			m[c.Name] = storedComponent{c.Score, c.Reason}
		}
	}
	js, err := json.Marshal(m)
	return string(js), err
}

// decodeComponents turns the stored form back into level's components, in
// weights' order.
func decodeComponents(level Level, raw []byte) ([]Component, error) {
	var m map[string]storedComponent
	if err := json.Unmarshal(raw, &m); err != nil {
		return nil, err
	}
	out := make([]Component, len(weights[level]))
	for i, w := range weights[level] {
		out[i] = Component{Name: w.name, Weight: w.weight, Score: 100}
		if sc, ok := m[w.name]; ok {
			out[i].Score, out[i].Reason = sc.Score, sc.Reason
		}
	}
	return out, nil
}

func firstWords(sql string) string {
	f := strings.Fields(sql)
	return strings.Join(f[:min(4, len(f))], " ")
}

// hosts scores every host not decommissioned, from one statement over the
// inventory, the latest samples, scrape state, components, open anomaly
// episodes and open hardware faults (read-only: those tables belong to
// inventory, telemetry, anomaly and hardware, which offer no fleet-wide
// read of them).
func (c *Computer) hosts(ctx context.Context, now time.Time) ([]row, map[int64]*hostAgg, error) {
	rs, err := c.pool.Query(ctx, `
		SELECT h.id, h.cluster_id, h.state, h.state_reason,
		       l.cpu_pct::float8, l.mem_pct::float8, l.disk_io_pct::float8, l.ts, h.last_heartbeat,
		       coalesce(st.status, ''), coalesce(st.failures, 0), coalesce(st.last_error, ''),
		       coalesce(hc.n, 0), coalesce(hc.bad, '{}'),
		       coalesce(a.c, 0), coalesce(a.h, 0), coalesce(a.m, 0), coalesce(a.l, 0),
		       coalesce(f.c, 0), coalesce(f.h, 0), coalesce(f.m, 0), coalesce(f.l, 0)
		FROM host h
		LEFT JOIN host_latest l ON l.host_id = h.id
		LEFT JOIN scrape_target st ON st.host_id = h.id
		LEFT JOIN (SELECT host_id, count(*)::int AS n,
		                  array_agg(service || '/' || component || ' ' || actual_state ORDER BY service, component)
		                    FILTER (WHERE actual_state <> desired_state) AS bad
		           FROM host_component GROUP BY host_id) hc ON hc.host_id = h.id
		LEFT JOIN (SELECT host_id, count(*) FILTER (WHERE severity = 'CRITICAL')::int AS c,
		                  count(*) FILTER (WHERE severity = 'HIGH')::int AS h,
		                  count(*) FILTER (WHERE severity = 'MEDIUM')::int AS m,
		                  count(*) FILTER (WHERE severity = 'LOW')::int AS l
		           FROM anomaly_episode WHERE status <> 'RESOLVED' GROUP BY host_id) a ON a.host_id = h.id
		LEFT JOIN (SELECT host_id, count(*) FILTER (WHERE severity = 'CRITICAL')::int AS c,
		                  count(*) FILTER (WHERE severity = 'HIGH')::int AS h,
		                  count(*) FILTER (WHERE severity = 'MEDIUM')::int AS m,
		                  count(*) FILTER (WHERE severity = 'LOW')::int AS l
		           FROM hardware_fault WHERE status IN ('OPEN', 'IN_REPAIR') GROUP BY host_id) f ON f.host_id = h.id
		WHERE h.state <> 'DECOMMISSIONED'`)
	if err != nil {
		return nil, nil, err
	}
	var out []row
	aggs := map[int64]*hostAgg{}
	var id, cluster int64
	var f HostFacts
	var bad []string
	_, err = pgx.ForEachRow(rs, []any{&id, &cluster, &f.State, &f.StateReason, &f.CPU, &f.Mem, &f.DiskIO, &f.SampleAt, &f.LastHeartbeat,
		&f.ScrapeStatus, &f.ScrapeFailures, &f.ScrapeError, &f.Components, &bad,
		&f.Anomalies[0], &f.Anomalies[1], &f.Anomalies[2], &f.Anomalies[3], &f.Faults[0], &f.Faults[1], &f.Faults[2], &f.Faults[3]}, func() error {
		hf := f
		hf.BadComponents = bad
		if len(bad) > 3 {
			hf.BadComponents = append(bad[:3:3], fmt.Sprintf("and %d more", len(bad)-3))
		}
		score, comps := ScoreHost(hf, now, c.cfg.HeartbeatInterval)
		cl := cluster
		out = append(out, row{id: id, score: score, comps: comps, cluster: &cl})
		a := aggs[cluster]
		if a == nil {
			a = &hostAgg{}
			aggs[cluster] = a
		}
		a.hosts++
		if score < FairFrom {
			a.sick++
		}
		a.components += f.Components
		a.failing += len(bad)
		return nil
	})
	return out, aggs, err
}

// hostAgg is what a cluster's score takes from its hosts.
type hostAgg struct{ hosts, sick, components, failing int }

// clusters scores every cluster not retired from its water levels, forecasts
// (read-only from internal/watermark's tables, as its ClustersAtRisk reads
// them) and its hosts' new scores.
func (c *Computer) clusters(ctx context.Context, now time.Time, aggs map[int64]*hostAgg) ([]row, error) {
	rs, err := c.pool.Query(ctx, `
		SELECT c.id, c.owner_bu_id, coalesce(t.threshold, 1),
		       coalesce((SELECT array_agg(l.dimension ORDER BY l.dimension) FROM watermark_latest l WHERE l.cluster_id = c.id AND l.capacity > 0), '{}'),
		       coalesce((SELECT array_agg(l.used / l.capacity ORDER BY l.dimension) FROM watermark_latest l WHERE l.cluster_id = c.id AND l.capacity > 0), '{}'),
		       fc.crosses_at, coalesce(fc.dimension, '')
		FROM cluster c
		LEFT JOIN watermark_threshold t ON t.kind = c.kind
		LEFT JOIN LATERAL (SELECT f.crosses_at, f.dimension FROM watermark_forecast f
		                   WHERE f.cluster_id = c.id AND f.crosses_at IS NOT NULL
		                   ORDER BY f.crosses_at, f.dimension LIMIT 1) fc ON true
		WHERE c.status <> 'RETIRED'`)
	if err != nil {
		return nil, err
	}
	var out []row
	var id int64
	var owner *int64
	var f ClusterFacts
	var dims []string
	var utils []float64
	_, err = pgx.ForEachRow(rs, []any{&id, &owner, &f.Threshold, &dims, &utils, &f.CrossesAt, &f.CrossDimension}, func() error {
		cf := f
		cf.Levels = make([]WaterLevel, len(dims))
		for i := range dims {
			cf.Levels[i] = WaterLevel{Dimension: dims[i], Utilisation: utils[i]}
		}
		if a := aggs[id]; a != nil {
			cf.Hosts, cf.SickHosts, cf.Components, cf.FailingComponents = a.hosts, a.sick, a.components, a.failing
		}
		score, comps := ScoreCluster(cf, now)
		cl := id
		var bu *int64
		if owner != nil {
			b := *owner
			bu = &b
		}
		out = append(out, row{id: id, score: score, comps: comps, cluster: &cl, bu: bu})
		return nil
	})
	return out, err
}

// jobs scores every job with a run or usage in the window, from its runs,
// hourly usage and stored findings (read-only from internal/workload's
// tables: its services read one job at a time).
func (c *Computer) jobs(ctx context.Context, now time.Time) ([]row, error) {
	since := now.Add(-jobWindow)
	rs, err := c.pool.Query(ctx, `
		WITH r AS (
			SELECT job_id,
			       count(*) FILTER (WHERE state IN ('COMPLETED', 'FAILED', 'ABORTED') AND ended_at >= @since)::int AS runs,
			       count(*) FILTER (WHERE state IN ('FAILED', 'ABORTED') AND ended_at >= @since)::int AS failed,
			       count(*) FILTER (WHERE nominal_end IS NOT NULL AND (ended_at >= @since OR (ended_at IS NULL AND nominal_end < @now)))::int AS due,
			       count(*) FILTER (WHERE nominal_end IS NOT NULL AND (ended_at >= @since AND ended_at > nominal_end
			                        OR ended_at IS NULL AND state = 'RUNNING' AND nominal_end < @now))::int AS late
			FROM job_run
			WHERE ended_at >= @since OR (ended_at IS NULL AND state = 'RUNNING' AND nominal_end >= @since AND nominal_end < @now)
			GROUP BY job_id
		), u AS (
			SELECT job_id, sum(requested_core_seconds) AS rc, sum(used_core_seconds) AS uc,
			       sum(requested_memory_byte_seconds) AS rm, sum(used_memory_byte_seconds) AS um
			FROM job_usage_1h WHERE hour >= @since AND hour < @now GROUP BY job_id
		), w AS (
			SELECT DISTINCT ON (job_id) job_id, severity, heuristic FROM job_finding WHERE severity > 0
			ORDER BY job_id, severity DESC, heuristic
		)
		SELECT j.id, j.cluster_id, coalesce(j.bu_id, p.bu_id), j.owner_id,
		       coalesce(r.runs, 0), coalesce(r.failed, 0), coalesce(r.due, 0), coalesce(r.late, 0),
		       coalesce(w.severity, 0)::int, coalesce(w.heuristic, ''),
		       coalesce(u.rc, 0), coalesce(u.uc, 0), coalesce(u.rm, 0), coalesce(u.um, 0)
		FROM job j
		LEFT JOIN person p ON p.id = j.owner_id
		LEFT JOIN r ON r.job_id = j.id
		LEFT JOIN u ON u.job_id = j.id
		LEFT JOIN w ON w.job_id = j.id
		WHERE r.job_id IS NOT NULL OR u.job_id IS NOT NULL`, pgx.NamedArgs{"since": since, "now": now})
	if err != nil {
		return nil, err
	}
	var out []row
	var id int64
	var cluster, bu, owner *int64
	var f JobFacts
	_, err = pgx.ForEachRow(rs, []any{&id, &cluster, &bu, &owner, &f.Runs, &f.FailedRuns, &f.DeadlineRuns, &f.LateRuns,
		&f.WorstSeverity, &f.WorstHeuristic, &f.ReqCore, &f.UsedCore, &f.ReqMem, &f.UsedMem}, func() error {
		score, comps := ScoreJob(f)
		out = append(out, row{id: id, score: score, comps: comps, cluster: copyPtr(cluster), bu: copyPtr(bu), owner: copyPtr(owner)})
		return nil
	})
	return out, err
}

// jobCost is each job's billed amount over the cost window (read-only from
// internal/cost's bill_line: its service reads bills for callers, not
// per-job sums for the whole fleet).
func (c *Computer) jobCost(ctx context.Context, now time.Time) (map[int64]float64, error) {
	day := now.Truncate(24 * time.Hour)
	rs, err := c.pool.Query(ctx, `SELECT job_id, sum(amount)::float8 FROM bill_line
		WHERE day >= $1 AND day <= $2 AND job_id IS NOT NULL GROUP BY job_id`, day.Add(-costWindow), day)
	if err != nil {
		return nil, fmt.Errorf("error loading job cost: %w", err)
	}
	out := map[int64]float64{}
	var id int64
	var amount float64
	_, err = pgx.ForEachRow(rs, []any{&id, &amount}, func() error {
		out[id] = amount
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("error loading job cost: %w", err)
	}
	return out, nil
}

// ownerAgg gathers an owner's jobs.
type ownerAgg struct {
	jobs                int
	weighted, cost, sum float64
	worst               float64
	worstID             int64
}

func (a *ownerAgg) add(j row, cost float64) {
	if a.jobs == 0 || j.score < a.worst {
		a.worst, a.worstID = j.score, j.id
	}
	a.jobs++
	a.sum += j.score
	a.cost += cost
	a.weighted += cost * j.score
}

// facts turns an owner's jobs into OwnerFacts; names gives the worst job's name.
func (a *ownerAgg) facts(names map[int64]string, currency string, spent map[int64]float64, id int64) OwnerFacts {
	f := OwnerFacts{Currency: currency}
	if a != nil && a.jobs > 0 {
		f.Jobs, f.Cost, f.WorstJob, f.WorstJobScore = a.jobs, a.cost, names[a.worstID], a.worst
		f.JobScore = a.sum / float64(a.jobs)
		if a.cost > 0 {
			f.JobScore = a.weighted / a.cost
		}
		f.JobScore = round1(f.JobScore)
	}
	if r, ok := spent[id]; ok {
		f.Spent = &r
	}
	return f
}

// jobNames names the jobs that are some owner's worst.
func (c *Computer) jobNames(ctx context.Context, ids []int64) (map[int64]string, error) {
	rs, err := c.pool.Query(ctx, `SELECT id, namespace || '/' || name FROM job WHERE id = ANY($1)`, ids)
	if err != nil {
		return nil, err
	}
	out := map[int64]string{}
	var id int64
	var name string
	_, err = pgx.ForEachRow(rs, []any{&id, &name}, func() error { out[id] = name; return nil })
	return out, err
}

// people scores every active person from the jobs they own and their budget.
func (c *Computer) people(ctx context.Context, jobs []row, cost, spent map[int64]float64) ([]row, error) {
	aggs := map[int64]*ownerAgg{}
	for _, j := range jobs {
		if j.owner == nil {
			continue
		}
		a := aggs[*j.owner]
		if a == nil {
			a = &ownerAgg{}
			aggs[*j.owner] = a
		}
		a.add(j, cost[j.id])
	}
	names, err := c.jobNames(ctx, worstIDs(aggs))
	if err != nil {
		return nil, err
	}
	rs, err := c.pool.Query(ctx, `SELECT id, bu_id FROM person WHERE active`)
	if err != nil {
		return nil, err
	}
	var out []row
	var id, bu int64
	_, err = pgx.ForEachRow(rs, []any{&id, &bu}, func() error {
		score, comps := ScoreOwner(Person, aggs[id].facts(names, c.cfg.Currency, spent, id))
		p, b := id, bu
		out = append(out, row{id: id, score: score, comps: comps, bu: &b, owner: &p})
		return nil
	})
	return out, err
}

// bus scores every BU from the jobs of its subtree and its budget.
func (c *Computer) bus(ctx context.Context, jobs []row, cost, spent map[int64]float64) ([]row, error) {
	rs, err := c.pool.Query(ctx, `SELECT id, parent_id FROM bu`)
	if err != nil {
		return nil, err
	}
	parent := map[int64]*int64{}
	var ids []int64
	var id int64
	var p *int64
	if _, err := pgx.ForEachRow(rs, []any{&id, &p}, func() error {
		parent[id] = copyPtr(p)
		ids = append(ids, id)
		return nil
	}); err != nil {
		return nil, err
	}
	aggs := map[int64]*ownerAgg{}
	for _, j := range jobs {
		// The job counts for its BU and every BU above it; the walk stops at
		// a BU seen before, so a damaged tree cannot loop.
		seen := map[int64]bool{}
		for b := j.bu; b != nil && !seen[*b]; b = parent[*b] {
			seen[*b] = true
			a := aggs[*b]
			if a == nil {
				a = &ownerAgg{}
				aggs[*b] = a
			}
			a.add(j, cost[j.id])
		}
	}
	names, err := c.jobNames(ctx, worstIDs(aggs))
	if err != nil {
		return nil, err
	}
	out := make([]row, 0, len(ids))
	for _, id := range ids {
		score, comps := ScoreOwner(BU, aggs[id].facts(names, c.cfg.Currency, spent, id))
		b := id
		out = append(out, row{id: id, score: score, comps: comps, bu: &b})
	}
	return out, nil
}

func worstIDs(aggs map[int64]*ownerAgg) []int64 {
	ids := make([]int64, 0, len(aggs))
	for _, a := range aggs {
		ids = append(ids, a.worstID)
	}
	return ids
}

func copyPtr(p *int64) *int64 {
	if p == nil {
		return nil
	}
	v := *p
	return &v
}
