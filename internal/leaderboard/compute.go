package leaderboard

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	"golang.org/x/sync/errgroup"

	"github.com/teslaops/tesla/internal/db"
)

// metricSQL is each metric's value over lb_subject's columns and its best
// and worst orders: the only text spliced into rank.sql, all of it constant.
var metricSQL = map[Metric]struct{ value, best, worst string }{
	Efficiency:  {"eff_num / nullif(eff_den, 0)", "DESC", "ASC"},
	CostPerUnit: {"cost / nullif(cost_volume, 0)", "ASC", "DESC"},
	FailureRate: {"failed::float8 / nullif(finished, 0)", "ASC", "DESC"},
	Findings:    {"findings", "ASC", "DESC"},
	Health:      {"health", "DESC", "ASC"},
}

// Computer computes and stores rankings: the `leaderboards` job's pass, the
// command line's and the tests'.
type Computer struct {
	pool   db.DBTX
	cfg    Config
	health HealthSource
	logger *slog.Logger
}

// NewComputer returns a Computer on pool. health may be nil: the HEALTH
// rankings then stay empty. logger (nil: none) gets a line per period.
func NewComputer(pool db.DBTX, cfg Config, health HealthSource, logger *slog.Logger) *Computer {
	return &Computer{pool: pool, cfg: cfg.WithDefaults(), health: health, logger: logger}
}

// Result counts what a pass computed.
type Result struct {
	// Periods is how many (unit, start) periods were replaced.
	Periods int
	// Entries is how many ranked entries were written, every level and metric.
	Entries int64
	// Pruned is how many entries retention deleted.
	Pruned int64
	// Skipped is how many periods were left as they were: none of their days
	// changed since they were computed, within the refresh interval.
	Skipped int
}

// fresh says whether the hourly pass may leave the period of unit u starting
// at start as it is: it was computed (every metric) after the last change of
// each of its days up to today, each of those days is rolled up, and less than
// RefreshEvery ago. The clock is the database's throughout (computed_at and
// changed_at are both its now()).
func (c *Computer) fresh(ctx context.Context, u Unit, start time.Time) (bool, error) {
	_, end := u.Period(start)
	today := c.cfg.Now().UTC().Truncate(24 * time.Hour)
	if end.After(today.AddDate(0, 0, 1)) {
		end = today.AddDate(0, 0, 1)
	}
	var fresh bool
	err := c.pool.QueryRow(ctx, `
		WITH p AS (
			SELECT min(computed_at) AS computed_at, count(*) AS metrics FROM leaderboard_period
			WHERE level = 'JOB' AND unit = $1 AND start = $2::date
		), d AS (
			SELECT count(*) AS days, bool_and(changed_at IS NOT NULL) AS known, max(changed_at) AS changed_at
			FROM leaderboard_day WHERE day >= $2::date AND day < $3::date
		)
		SELECT coalesce(p.metrics = $4 AND d.days = ($3::date - $2::date) AND d.known
			AND p.computed_at > d.changed_at AND p.computed_at > now() - $5::interval, false)
		FROM p, d`, string(u), start, end, len(Metrics), c.cfg.RefreshEvery).Scan(&fresh)
	if err != nil {
		return false, errorf("checking whether the period changed", err)
	}
	return fresh, nil
}

// RunOnce computes, for each unit, the period containing yesterday (its
// usage, runs and bills may still change: billing re-bills yesterday) and the
// one containing today, older first so that the newer one's movement reads
// the fresh ranking; then deletes the periods retention no longer keeps.
func (c *Computer) RunOnce(ctx context.Context) (Result, error) {
	now := c.cfg.Now().UTC()
	var res Result
	type period struct {
		unit  Unit
		start time.Time
	}
	var periods []period
	first := now
	for _, u := range Units {
		prev, _ := u.Period(now.AddDate(0, 0, -1))
		cur, _ := u.Period(now)
		periods = append(periods, period{u, prev})
		if !cur.Equal(prev) {
			periods = append(periods, period{u, cur})
		}
		if prev.Before(first) {
			first = prev
		}
	}
	// The days not yet final are rolled up once, before the periods that
	// read them; each period then rolls up only days never rolled up.
	began := time.Now()
	if err := db.InTx(ctx, c.pool, func(tx pgx.Tx) error {
		if err := bulkSettings(ctx, tx); err != nil {
			return err
		}
		return c.rollup(ctx, tx, first, now.AddDate(0, 0, 1), stale, true)
	}); err != nil {
		return res, fmt.Errorf("error rolling up the leaderboards' days: %w", err)
	}
	logger(c.logger).DebugContext(ctx, "leaderboard days rolled up", "from", first.Format(time.DateOnly),
		"duration", time.Since(began).Round(time.Millisecond))
	// The units are independent (a period's movement reads the previous
	// period of its own unit), so on a pool each unit's periods are ranked on
	// a connection of their own, the older first; on one connection (a
	// transaction) they take turns.
	var mu sync.Mutex
	rank := func(ctx context.Context, unit Unit) error {
		for _, p := range periods {
			if p.unit != unit {
				continue
			}
			fresh, err := c.fresh(ctx, p.unit, p.start)
			if err != nil {
				return err
			}
			var n int64
			if !fresh {
				if n, err = c.compute(ctx, p.unit, p.start, unrolled); err != nil {
					return err
				}
			}
			mu.Lock()
			if fresh {
				res.Skipped++
			} else {
				res.Periods++
				res.Entries += n
			}
			mu.Unlock()
		}
		return nil
	}
	if _, pooled := c.pool.(*pgxpool.Pool); pooled {
		g, gctx := errgroup.WithContext(ctx)
		for _, u := range Units {
			g.Go(func() error { return rank(gctx, u) })
		}
		if err := g.Wait(); err != nil {
			return res, err
		}
	} else {
		for _, u := range Units {
			if err := rank(ctx, u); err != nil {
				return res, err
			}
		}
	}
	pruned, err := c.prune(ctx, now)
	res.Pruned = pruned
	return res, err
}

// computeLockKey serialises the computation of one period: a fixed high word,
// the unit and the day number of its start.
func computeLockKey(u Unit, start time.Time) int64 {
	unit := map[Unit]int64{Day: 1, Week: 2, Month: 3}[u] // 0: a rollup day
	return 0x4c42<<48 | unit<<40 | start.Unix()/86400
}

// Compute replaces the rankings of the period of unit u containing t, every
// level and metric, in one transaction: each day of the period is rolled up
// again from usage, bills and runs (leaderboard_job_day), the days are added
// up per job, person and BU, ranked per metric, and written with the
// periods' medians and counts. It returns the entries written. Running it
// again replaces the period; a failure leaves the period as it was.
func (c *Computer) Compute(ctx context.Context, u Unit, t time.Time) (int64, error) {
	return c.compute(ctx, u, t, func(time.Time, *time.Time) bool { return true })
}

// RollupKeepDays is how long daily rollups are kept: the current and the
// previous month.
const RollupKeepDays = 62

// unrolled says a day was never rolled up.
func unrolled(_ time.Time, rolledAt *time.Time) bool {
	return rolledAt == nil
}

// stale says which days the hourly pass rolls up again: those never rolled
// up, and those rolled up before the day after them ended (billing re-bills
// yesterday, runs end late); older rollups are final.
func stale(day time.Time, rolledAt *time.Time) bool {
	return rolledAt == nil || rolledAt.Before(day.AddDate(0, 0, 2))
}

// compute replaces the period's rankings, rolling up again the days reroll
// says.
func (c *Computer) compute(ctx context.Context, u Unit, t time.Time, reroll func(day time.Time, rolledAt *time.Time) bool) (int64, error) {
	if !u.valid() {
		return 0, fmt.Errorf("unknown period unit %q", u)
	}
	start, end := u.Period(t)
	began := time.Now()
	var entries int64
	var rolled time.Duration
	err := db.InTx(ctx, c.pool, func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, `SELECT pg_advisory_xact_lock($1)`, computeLockKey(u, start)); err != nil {
			return errorf("locking the leaderboard period", err)
		}
		if err := bulkSettings(ctx, tx); err != nil {
			return err
		}
		if err := c.rollup(ctx, tx, start, end, reroll, false); err != nil {
			return err
		}
		rolled = time.Since(began)
		rest, err := c.base(ctx, tx, u, start, end)
		if err != nil {
			return err
		}
		args := pgx.NamedArgs{"unit": string(u), "start": start, "use_base": rest.After(start), "rest": rest, "to": end,
			"core_weight": c.cfg.CoreHourWeight, "gb_weight": c.cfg.GBHourWeight}
		if _, err := tx.Exec(ctx, jobsSQL, args); err != nil {
			return errorf("gathering the jobs of the period", err)
		}
		if err := c.loadHealth(ctx, tx); err != nil {
			return err
		}
		if _, err := tx.Exec(ctx, subjectsSQL); err != nil {
			return errorf("adding up the jobs per person and BU", err)
		}
		levels := []string{string(Job), string(Person), string(BU)}
		for _, m := range Metrics {
			sql := metricSQL[m]
			args := pgx.NamedArgs{"metric": string(m), "unit": string(u), "start": start, "end": end,
				"previous": u.Previous(start), "levels": levels,
				"min_job": c.cfg.MinJobCoreHours, "min_person": c.cfg.MinPersonCoreHours, "min_bu": c.cfg.MinBUCoreHours,
				"keep": MaxFirst}
			if _, err := tx.Exec(ctx, `DELETE FROM leaderboard_entry WHERE level = ANY(@levels) AND metric = @metric AND unit = @unit AND start = @start::date`, args); err != nil {
				return errorf("deleting the period's "+string(m)+" entries", err)
			}
			if _, err := tx.Exec(ctx, `DELETE FROM leaderboard_period WHERE level = ANY(@levels) AND metric = @metric AND unit = @unit AND start = @start::date`, args); err != nil {
				return errorf("deleting the period's "+string(m)+" rankings", err)
			}
			q := strings.NewReplacer("{value}", sql.value, "{best}", sql.best, "{worst}", sql.worst).Replace(rankSQL)
			var n, periods int64
			if err := tx.QueryRow(ctx, q, args).Scan(&n, &periods); err != nil {
				return errorf("ranking "+string(m), err)
			}
			entries += n
		}
		return nil
	})
	if err != nil {
		return 0, fmt.Errorf("error computing the %s leaderboards of %s: %w", strings.ToLower(string(u)), start.Format(time.DateOnly), err)
	}
	logger(c.logger).DebugContext(ctx, "leaderboards computed", "unit", string(u), "start", start.Format(time.DateOnly),
		"entries", entries, "rollup", rolled.Round(time.Millisecond), "duration", time.Since(began).Round(time.Millisecond))
	return entries, nil
}

// rollup rolls up the days of [start, end) before now that reroll says into
// leaderboard_job_day, each under its own lock. With onlyChanged (the hourly
// pass), a day reroll names is rolled up only when the fingerprint of its
// usage, bill lines and runs moved since its last rollup; an unchanged day is
// stamped rolled up now without being read again.
func (c *Computer) rollup(ctx context.Context, tx pgx.Tx, start, end time.Time, reroll func(day time.Time, rolledAt *time.Time) bool, onlyChanged bool) error {
	rows, err := tx.Query(ctx, `SELECT day, rolled_at, source_fp FROM leaderboard_day WHERE day >= $1::date AND day < $2::date`, start, end)
	if err != nil {
		return errorf("loading the rolled-up days", err)
	}
	rolled := map[time.Time]time.Time{}
	fps := map[time.Time]string{}
	var day, at time.Time
	var fp *string
	if _, err := pgx.ForEachRow(rows, []any{&day, &at, &fp}, func() error {
		rolled[day.UTC()] = at
		if fp != nil {
			fps[day.UTC()] = *fp
		}
		return nil
	}); err != nil {
		return errorf("loading the rolled-up days", err)
	}
	// The stale days are rolled up together, from the first to the last
	// (the final days between them again too, which changes nothing): one
	// pass over usage, bills and runs.
	now := c.cfg.Now().UTC()
	var first, last time.Time
	for d := start; d.Before(end) && d.Before(now); d = d.AddDate(0, 0, 1) {
		var at *time.Time
		if t, ok := rolled[d]; ok {
			at = &t
		}
		if reroll(d, at) {
			if first.IsZero() {
				first = d
			}
			last = d
		}
	}
	if first.IsZero() {
		return nil
	}
	to := last.AddDate(0, 0, 1)
	for d := first; d.Before(to); d = d.AddDate(0, 0, 1) {
		if _, err := tx.Exec(ctx, `SELECT pg_advisory_xact_lock($1)`, computeLockKey("", d)); err != nil {
			return errorf("locking the rollup day", err)
		}
	}
	// The fingerprints are taken before the rollup reads the rows: a write
	// committed between the two statements then leaves a fingerprint older
	// than the rollup, which only costs the next pass a rollup, never a
	// change missed.
	//
	// Today is rolled up without one: on a live fleet every hour brings it
	// new usage, so its fingerprint would only add a read. It gets its
	// fingerprint as yesterday, in the first pass after midnight, which
	// rolls it up once more.
	var sources map[time.Time]string
	if onlyChanged {
		sources = map[time.Time]string{}
		if today := now.Truncate(24 * time.Hour); first.Before(today) {
			upto := to
			if upto.After(today) {
				upto = today
			}
			var err error
			if sources, err = fingerprints(ctx, tx, first, upto); err != nil {
				return err
			}
		}
		var same []time.Time
		var from, through time.Time
		for d := first; d.Before(to); d = d.AddDate(0, 0, 1) {
			var at *time.Time
			if t, ok := rolled[d]; ok {
				at = &t
			}
			if !reroll(d, at) {
				continue
			}
			if old, ok := fps[d]; ok && old == sources[d] && d.Before(now.Truncate(24*time.Hour)) {
				same = append(same, d)
				continue
			}
			if from.IsZero() {
				from = d
			}
			through = d
		}
		if len(same) > 0 {
			if _, err := tx.Exec(ctx, `UPDATE leaderboard_day SET rolled_at = $2 WHERE day = ANY($1::date[])`, same, now); err != nil {
				return errorf("recording the unchanged days", err)
			}
		}
		if from.IsZero() {
			return nil
		}
		first, to = from, through.AddDate(0, 0, 1)
	}
	// The days are gathered anew, then only what changed is written: most
	// of a day rolled up again is as it was (yesterday's usage is complete),
	// and rewriting it would cost its writes, its dead rows, and the hint
	// bits the first reader of every new row sets.
	if _, err := tx.Exec(ctx, `DROP TABLE IF EXISTS lb_roll; DROP TABLE IF EXISTS lb_changed`); err != nil {
		return errorf("clearing the rollup", err)
	}
	if _, err := tx.Exec(ctx, rollupSQL, pgx.NamedArgs{"from": first, "to": to}); err != nil {
		return errorf("rolling up "+first.Format(time.DateOnly)+" to "+last.Format(time.DateOnly), err)
	}
	if _, err := tx.Exec(ctx, `CREATE TEMP TABLE lb_changed (day date PRIMARY KEY) ON COMMIT DROP`); err != nil {
		return errorf("clearing the rollup", err)
	}
	if _, err := tx.Exec(ctx, `WITH gone AS (
			DELETE FROM leaderboard_job_day d WHERE d.day >= $1::date AND d.day < $2::date
			AND NOT EXISTS (SELECT 1 FROM lb_roll r WHERE r.day = d.day AND r.job_id = d.job_id)
			RETURNING d.day)
		INSERT INTO lb_changed SELECT DISTINCT day FROM gone`, first, to); err != nil {
		return errorf("deleting the days' gone jobs", err)
	}
	if _, err := tx.Exec(ctx, `WITH written AS (INSERT INTO leaderboard_job_day (day, job_id, used_core_h, req_core_h, used_gb_h, req_gb_h,
			cpu_amount, cpu_qty, mem_amount, mem_qty, cost, finished, failed)
		SELECT day, job_id, used_core_h, req_core_h, used_gb_h, req_gb_h, cpu_amount, cpu_qty, mem_amount, mem_qty, cost, finished, failed
		FROM lb_roll
		ON CONFLICT (day, job_id) DO UPDATE SET used_core_h = excluded.used_core_h, req_core_h = excluded.req_core_h,
			used_gb_h = excluded.used_gb_h, req_gb_h = excluded.req_gb_h, cpu_amount = excluded.cpu_amount, cpu_qty = excluded.cpu_qty,
			mem_amount = excluded.mem_amount, mem_qty = excluded.mem_qty, cost = excluded.cost,
			finished = excluded.finished, failed = excluded.failed
		WHERE (leaderboard_job_day.used_core_h, leaderboard_job_day.req_core_h, leaderboard_job_day.used_gb_h, leaderboard_job_day.req_gb_h,
			leaderboard_job_day.cpu_amount, leaderboard_job_day.cpu_qty, leaderboard_job_day.mem_amount, leaderboard_job_day.mem_qty,
			leaderboard_job_day.cost, leaderboard_job_day.finished, leaderboard_job_day.failed)
		IS DISTINCT FROM (excluded.used_core_h, excluded.req_core_h, excluded.used_gb_h, excluded.req_gb_h,
			excluded.cpu_amount, excluded.cpu_qty, excluded.mem_amount, excluded.mem_qty,
			excluded.cost, excluded.finished, excluded.failed)
		RETURNING day)
		INSERT INTO lb_changed SELECT DISTINCT day FROM written ON CONFLICT DO NOTHING`); err != nil {
		return errorf("writing the days' rollup", err)
	}
	// A day is stamped changed_at (the database's clock, as a period's
	// computed_at) and a new version when any of its rows changed, and when
	// first rolled up.
	// A day rolled up without a fingerprint (today, an operator's
	// recomputation) has none: the next hourly pass that looks at it rolls it
	// up again.
	var days []time.Time
	var prints []*string
	for d := first; d.Before(to); d = d.AddDate(0, 0, 1) {
		days = append(days, d)
		if fp, ok := sources[d]; ok {
			prints = append(prints, &fp)
		} else {
			prints = append(prints, nil)
		}
	}
	if _, err := tx.Exec(ctx, `INSERT INTO leaderboard_day (day, rolled_at, jobs, changed_at, version, source_fp)
		SELECT d.day, $2, (SELECT count(*) FROM lb_roll r WHERE r.day = d.day), now(), nextval('leaderboard_day_version'), d.fp
		FROM unnest($1::date[], $3::text[]) d(day, fp)
		ON CONFLICT (day) DO UPDATE SET rolled_at = excluded.rolled_at, jobs = excluded.jobs, source_fp = excluded.source_fp,
			changed_at = CASE WHEN leaderboard_day.changed_at IS NULL OR excluded.day IN (SELECT day FROM lb_changed)
				THEN excluded.changed_at ELSE leaderboard_day.changed_at END,
			version = CASE WHEN leaderboard_day.changed_at IS NULL OR excluded.day IN (SELECT day FROM lb_changed)
				THEN excluded.version ELSE leaderboard_day.version END`, days, now, prints); err != nil {
		return errorf("recording the rolled-up days", err)
	}
	if _, err := tx.Exec(ctx, `DROP TABLE lb_roll; DROP TABLE lb_changed`); err != nil {
		return errorf("clearing the rollup", err)
	}
	return nil
}

// fingerprints reads the fingerprint of each day of [from, to) that has any
// usage, bill line or run (fingerprint.sql); a day with none has "".
func fingerprints(ctx context.Context, tx pgx.Tx, from, to time.Time) (map[time.Time]string, error) {
	rows, err := tx.Query(ctx, fingerprintSQL, pgx.NamedArgs{"from": from, "to": to})
	if err != nil {
		return nil, errorf("taking the days' fingerprints", err)
	}
	out := map[time.Time]string{}
	var day time.Time
	var fp string
	if _, err := pgx.ForEachRow(rows, []any{&day, &fp}, func() error {
		out[day.UTC()] = fp
		return nil
	}); err != nil {
		return nil, errorf("taking the days' fingerprints", err)
	}
	for d := from; d.Before(to); d = d.AddDate(0, 0, 1) {
		if _, ok := out[d]; !ok {
			out[d] = ""
		}
	}
	return out, nil
}

// baseColumns are leaderboard_job_base's sums; nullable marks the bill's,
// which stay NULL for a job with no bill lines.
var baseColumns = []struct {
	name     string
	nullable bool
}{
	{"used_core_h", false}, {"req_core_h", false}, {"used_gb_h", false}, {"req_gb_h", false},
	{"cpu_amount", true}, {"cpu_qty", true}, {"mem_amount", true}, {"mem_qty", true}, {"cost", true},
	{"cost_volume", true}, {"finished", false}, {"failed", false},
}

// base brings the base of a week or month up to date — the per-job sums of
// its final days, those the hourly pass no longer rolls up (see stale) — and
// returns the first day not in it, from which the period's days are read one
// by one; a day period, or one with no final day yet, has none (start).
//
// The base is extended by the days that became final since it was built, and
// rebuilt when a day already in it changed (an operator's recomputation
// rolls final days up again): the sum of its days' versions, which grows
// whenever one of them changes, says so. The days are locked as the rollup
// locks them, so no rollup changes them while the base reads them; the
// caller holds the period's lock.
func (c *Computer) base(ctx context.Context, tx pgx.Tx, u Unit, start, end time.Time) (time.Time, error) {
	if u == Day {
		return start, nil
	}
	rows, err := tx.Query(ctx, `SELECT day, rolled_at FROM leaderboard_day WHERE day >= $1::date AND day < $2::date`, start, end)
	if err != nil {
		return start, errorf("loading the rolled-up days", err)
	}
	rolled := map[time.Time]time.Time{}
	var day, at time.Time
	if _, err := pgx.ForEachRow(rows, []any{&day, &at}, func() error {
		rolled[day.UTC()] = at
		return nil
	}); err != nil {
		return start, errorf("loading the rolled-up days", err)
	}
	rest := start
	for ; rest.Before(end); rest = rest.AddDate(0, 0, 1) {
		at, ok := rolled[rest]
		if !ok || stale(rest, &at) {
			break
		}
	}
	if !rest.After(start) {
		return start, nil
	}
	for d := start; d.Before(rest); d = d.AddDate(0, 0, 1) {
		if _, err := tx.Exec(ctx, `SELECT pg_advisory_xact_lock($1)`, computeLockKey("", d)); err != nil {
			return start, errorf("locking the rollup day", err)
		}
	}
	var through time.Time
	var valid bool
	err = tx.QueryRow(ctx, `SELECT b.through, b.version_sum = (SELECT coalesce(sum(version), 0) FROM leaderboard_day
			WHERE day >= b.start AND day < b.through)
		FROM leaderboard_base b WHERE b.unit = $1 AND b.start = $2::date`, string(u), start).Scan(&through, &valid)
	if err != nil && !errors.Is(err, pgx.ErrNoRows) {
		return start, errorf("loading the period's base", err)
	}
	through = through.UTC()
	if valid && through.Equal(rest) {
		return rest, nil
	}
	var names, sums, adds []string
	for _, col := range baseColumns {
		names = append(names, col.name)
		src := col.name
		if col.name == "cost_volume" {
			src = "CASE WHEN cost IS NOT NULL THEN used_core_h END"
		}
		sums = append(sums, "sum("+src+")")
		add := fmt.Sprintf("b.%[1]s + excluded.%[1]s", col.name)
		if col.nullable {
			// NULL + a sum is the sum; NULL only when both are.
			add = fmt.Sprintf("CASE WHEN b.%[1]s IS NULL THEN excluded.%[1]s WHEN excluded.%[1]s IS NULL THEN b.%[1]s ELSE b.%[1]s + excluded.%[1]s END", col.name)
		}
		adds = append(adds, col.name+" = "+add)
	}
	from := through
	if !valid || through.After(rest) {
		// Built from scratch: a day in it changed, or it reaches past the
		// period's first open day.
		if _, err := tx.Exec(ctx, `DELETE FROM leaderboard_base WHERE unit = $1 AND start = $2::date`, string(u), start); err != nil {
			return start, errorf("clearing the period's base", err)
		}
		from = start
	}
	if _, err := tx.Exec(ctx, `INSERT INTO leaderboard_base (unit, start, through, version_sum)
		SELECT $1, $2::date, $3::date, coalesce(sum(version), 0) FROM leaderboard_day WHERE day >= $2::date AND day < $3::date
		ON CONFLICT (unit, start) DO UPDATE SET through = excluded.through, version_sum = excluded.version_sum, built_at = now()`,
		string(u), start, rest); err != nil {
		return start, errorf("recording the period's base", err)
	}
	q := `INSERT INTO leaderboard_job_base AS b (unit, start, job_id, ` + strings.Join(names, ", ") + `)
		SELECT $1, $2::date, job_id, ` + strings.Join(sums, ", ") + `
		FROM leaderboard_job_day WHERE day >= $3::date AND day < $4::date
		GROUP BY job_id
		ON CONFLICT (unit, start, job_id) DO UPDATE SET ` + strings.Join(adds, ", ")
	if _, err := tx.Exec(ctx, q, string(u), start, from, rest); err != nil {
		return start, errorf("adding the final days up", err)
	}
	return rest, nil
}

// bulkSettings sets the transaction up for statements over every job:
//   - the aggregations of a month hold 100,000 jobs' sums: hashed in memory
//     rather than spilled at the stock 4 MB;
//   - every join joins tens of thousands of rows on both sides, for which hash
//     joins are right, and a misestimate (a CTE, an unnested array, a temporary
//     table without statistics) must not turn one into a nested loop or a
//     merge join on part of its key: one once made a cross product of
//     100,000 jobs by 100,000 (rank.sql);
//   - without nested loops the costs of the statements that keep one look
//     huge, which would start JIT compilation: a second of compiling for
//     statements that run in a few hundred milliseconds.
func bulkSettings(ctx context.Context, tx pgx.Tx) error {
	if _, err := tx.Exec(ctx, `SET LOCAL work_mem = '64MB'; SET LOCAL max_parallel_workers_per_gather = 0; SET LOCAL enable_nestloop = off; SET LOCAL enable_mergejoin = off; SET LOCAL jit = off`); err != nil {
		return errorf("setting up the transaction", err)
	}
	return nil
}

// loadHealth fills lb_health with the health scores of every level, or
// leaves it empty without a source.
func (c *Computer) loadHealth(ctx context.Context, tx pgx.Tx) error {
	if _, err := tx.Exec(ctx, `CREATE TEMP TABLE lb_health (level text NOT NULL, subject_id bigint NOT NULL, score float8 NOT NULL, PRIMARY KEY (level, subject_id)) ON COMMIT DROP`); err != nil {
		return errorf("creating the health table", err)
	}
	if c.health == nil {
		return nil
	}
	var rows [][]any
	for _, l := range Levels {
		scores, err := c.health.HealthScores(ctx, l)
		if err != nil {
			return errorf("reading the "+strings.ToLower(string(l))+" health scores", err)
		}
		for id, s := range scores {
			rows = append(rows, []any{string(l), id, s})
		}
	}
	if _, err := tx.CopyFrom(ctx, pgx.Identifier{"lb_health"}, []string{"level", "subject_id", "score"}, pgx.CopyFromRows(rows)); err != nil {
		return errorf("loading the health scores", err)
	}
	return nil
}

// prune deletes the rankings of periods older than retention keeps.
func (c *Computer) prune(ctx context.Context, now time.Time) (int64, error) {
	today := now.Truncate(24 * time.Hour)
	keep := map[Unit]time.Time{Day: today.AddDate(0, 0, -c.cfg.KeepDays), Week: today.AddDate(0, 0, -7*c.cfg.KeepWeeks)}
	if c.cfg.KeepMonths > 0 {
		keep[Month] = today.AddDate(0, -c.cfg.KeepMonths, 0)
	}
	var n int64
	cutoff := today.AddDate(0, 0, -RollupKeepDays)
	// The oldest day is a seek on the key; the delete runs on the day a
	// rollup ages out, not every hour (without fresh statistics it would scan
	// every job-day to find none).
	var oldest *time.Time
	if err := c.pool.QueryRow(ctx, `SELECT min(day) FROM leaderboard_job_day`).Scan(&oldest); err != nil {
		return n, errorf("finding the oldest rollup", err)
	}
	if oldest != nil && oldest.Before(cutoff) {
		if _, err := c.pool.Exec(ctx, `DELETE FROM leaderboard_job_day WHERE day < $1::date`, cutoff); err != nil {
			return n, errorf("deleting old rollups", err)
		}
	}
	if _, err := c.pool.Exec(ctx, `DELETE FROM leaderboard_day WHERE day < $1::date`, cutoff); err != nil {
		return n, errorf("deleting old rollups", err)
	}
	// A base outlives its days only to be rebuilt: a recomputed old period
	// rolls its days up again.
	if _, err := c.pool.Exec(ctx, `DELETE FROM leaderboard_base WHERE start < $1::date`, cutoff); err != nil {
		return n, errorf("deleting old bases", err)
	}
	for u, before := range keep {
		for _, l := range Levels {
			for _, m := range Metrics {
				args := pgx.NamedArgs{"level": string(l), "metric": string(m), "unit": string(u), "before": before}
				tag, err := c.pool.Exec(ctx, `DELETE FROM leaderboard_entry WHERE level = @level AND metric = @metric AND unit = @unit AND start < @before::date`, args)
				if err != nil {
					return n, errorf("deleting old leaderboard entries", err)
				}
				n += tag.RowsAffected()
				if _, err := c.pool.Exec(ctx, `DELETE FROM leaderboard_period WHERE level = @level AND metric = @metric AND unit = @unit AND start < @before::date`, args); err != nil {
					return n, errorf("deleting old leaderboard periods", err)
				}
			}
		}
	}
	return n, nil
}
