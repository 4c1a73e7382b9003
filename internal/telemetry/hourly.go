package telemetry

import (
	"cmp"
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/teslaops/tesla/internal/db"
)

// host_metric_1h holds each host's samples summed per UTC hour (sum and count
// per metric), derived from host_metric for complete hours. The watermark rollup
// records in host_hour_dirty the hour of every minute it claims from
// rollup_dirty (MarkHoursDirty), in the transaction that commits the minute's
// levels; RollupHostHours re-derives those hours once they are complete. Late
// samples for an old hour thus mark its minute, then its hour, and the hour's
// rows are derived again.

// MarkHoursDirty records the hours of minutes for RollupHostHours. The caller
// runs it in the transaction that consumes the minutes' dirty marks, so an hour
// is marked exactly when one of its minutes was, and never lost between them.
func MarkHoursDirty(ctx context.Context, tx pgx.Tx, minutes []time.Time) error {
	if len(minutes) == 0 {
		return nil
	}
	if _, err := tx.Exec(ctx, `INSERT INTO host_hour_dirty (hour)
		SELECT DISTINCT date_bin('1 hour', m, '2000-01-01 00:00:00+00') FROM unnest($1::timestamptz[]) m
		ORDER BY 1 ON CONFLICT DO NOTHING`, minutes); err != nil {
		return fmt.Errorf("error marking hours for the host rollup: %w", err)
	}
	return nil
}

// HostHoursConfig tunes RollupHostHours. Zero fields take the defaults.
type HostHoursConfig struct {
	// Grace is how long after its end an hour waits before it is derived
	// (default 2m): the watermark rollup claims a minute only once it is
	// complete, so the hour's last minutes are rolled, and the hour marked for
	// the last time, a minute or so after the hour ends. Deriving it before
	// would only mean deriving it twice.
	Grace time.Duration
	// MaxHours bounds the hours of one run (default 48), each in its own
	// transaction; the rest waits for the next run.
	MaxHours int
	// WorkMem is the work_mem of each hour's transaction (default 256MB): one
	// hour of 250,000 hosts groups to 250,000 rows.
	WorkMem string
	// Now is the clock (default time.Now).
	Now func() time.Time
}

func (c HostHoursConfig) withDefaults() HostHoursConfig {
	c.Grace = cmp.Or(c.Grace, 2*time.Minute)
	c.MaxHours = cmp.Or(c.MaxHours, 48)
	c.WorkMem = cmp.Or(c.WorkMem, "256MB")
	if c.Now == nil {
		c.Now = time.Now
	}
	return c
}

// HostHoursResult counts what one RollupHostHours run did.
type HostHoursResult struct {
	// Hours is the number of hours derived.
	Hours int
	// Written and Removed count the host rows upserted and deleted; Moved the
	// later rows whose running totals a late change moved.
	Written, Removed, Moved int64
}

// RollupHostHours derives host_metric_1h for the complete hours marked in
// host_hour_dirty, oldest first, one hour per transaction: the hour's mark is
// deleted and the hour derived again from its raw samples (deriveHostHourSQL),
// rewriting only the hosts whose sums changed. A writer marking the hour again after its mark was taken
// inserts a new mark, so the hour is derived again by the next run.
func RollupHostHours(ctx context.Context, pool *pgxpool.Pool, cfg HostHoursConfig) (HostHoursResult, error) {
	cfg = cfg.withDefaults()
	var res HostHoursResult
	before := cfg.Now().Add(-time.Hour - cfg.Grace)
	for range cfg.MaxHours {
		var done bool
		err := pgx.BeginFunc(ctx, pool, func(tx pgx.Tx) error {
			if _, err := tx.Exec(ctx, `SELECT set_config('work_mem', $1, true), set_config('jit', 'off', true)`, cfg.WorkMem); err != nil {
				return err
			}
			var hour time.Time
			err := tx.QueryRow(ctx, `DELETE FROM host_hour_dirty WHERE hour = (
					SELECT hour FROM host_hour_dirty WHERE hour <= $1 ORDER BY hour LIMIT 1 FOR UPDATE SKIP LOCKED)
				RETURNING hour`, before).Scan(&hour)
			if err == pgx.ErrNoRows {
				done = true
				return nil
			}
			if err != nil {
				return err
			}
			var written, removed, moved int64
			if err := tx.QueryRow(ctx, deriveHostHourSQL, hour).Scan(&written, &removed, &moved); err != nil {
				return fmt.Errorf("hour %s: %w", hour.UTC().Format(time.RFC3339), err)
			}
			res.Hours++
			res.Written += written
			res.Removed += removed
			res.Moved += moved
			return nil
		})
		if err != nil {
			return res, fmt.Errorf("error deriving hourly host sums: %w", err)
		}
		if done {
			break
		}
	}
	return res, nil
}

// hourCols are host_metric_1h's per-hour values, each with a running total
// cum_<name>, and the expression over host_metric each is derived from.
var hourCols = []struct{ name, expr string }{
	{"samples", "count(*)::integer"},
	{"cpu_sum", "coalesce(sum(cpu_pct::float8), 0)"}, {"cpu_n", "count(cpu_pct)::integer"},
	{"mem_sum", "coalesce(sum(mem_pct::float8), 0)"}, {"mem_n", "count(mem_pct)::integer"},
	{"io_sum", "coalesce(sum(disk_io_pct::float8), 0)"}, {"io_n", "count(disk_io_pct)::integer"},
	{"net_in_sum", "coalesce(sum(net_in_bps), 0)"}, {"net_in_n", "count(net_in_bps)::integer"},
	{"net_out_sum", "coalesce(sum(net_out_bps), 0)"}, {"net_out_n", "count(net_out_bps)::integer"},
	{"containers_sum", "coalesce(sum(containers::float8), 0)"}, {"containers_n", "count(containers)::integer"},
}

// hourPeaks are host_metric_1h's per-hour peaks of each metric: the 95th
// percentile and the maximum over the hour's samples. They are not cumulated
// (percentiles do not add up) and do not decide whether a row changed: the
// sums change whenever the samples do.
var hourPeaks = []struct{ name, expr string }{
	// Cast to the columns' types here, so an unchanged hour compares equal to
	// its stored row (a real read back is not the double it came from).
	{"cpu_p95", "(percentile_cont(0.95) WITHIN GROUP (ORDER BY cpu_pct))::real"}, {"cpu_max", "max(cpu_pct)"},
	{"mem_p95", "(percentile_cont(0.95) WITHIN GROUP (ORDER BY mem_pct))::real"}, {"mem_max", "max(mem_pct)"},
	{"io_p95", "(percentile_cont(0.95) WITHIN GROUP (ORDER BY disk_io_pct))::real"}, {"io_max", "max(disk_io_pct)"},
	{"net_in_p95", "percentile_cont(0.95) WITHIN GROUP (ORDER BY net_in_bps)"}, {"net_in_max", "max(net_in_bps)"},
	{"net_out_p95", "percentile_cont(0.95) WITHIN GROUP (ORDER BY net_out_bps)"}, {"net_out_max", "max(net_out_bps)"},
	{"containers_p95", "(percentile_cont(0.95) WITHIN GROUP (ORDER BY containers))::real"}, {"containers_max", "max(containers)::real"},
}

// peaks formats each of hourPeaks' names with format and joins them.
func peaks(format string) string {
	out := make([]string, len(hourPeaks))
	for i, c := range hourPeaks {
		out[i] = fmt.Sprintf(format, c.name)
	}
	return strings.Join(out, ", ")
}

// cols formats each of hourCols' names with format (%[1]s is the name) and
// joins them with commas.
func cols(format string) string {
	out := make([]string, len(hourCols))
	for i, c := range hourCols {
		out[i] = fmt.Sprintf(format, c.name)
	}
	return strings.Join(out, ", ")
}

// deriveHostHourSQL derives the hour starting at $1 and keeps the running
// totals true:
//   - s: every host's sums over the hour's raw samples;
//   - d: the hosts whose sums changed, by how much (a host without samples in
//     the hour any more, by minus its old sums; none when the hour has no raw
//     samples left at all: retention dropped them, and the sums are all that is
//     left of the hour);
//   - up: their rows at $1, with running totals from the host's previous row;
//   - gone: the rows of hosts without samples in the hour any more;
//   - later: every later row of a changed host has its running totals moved by
//     the change (nothing to move for the newest hour, the usual case).
var deriveHostHourSQL = `WITH s AS (
    SELECT host_id, ` + func() string {
	out := make([]string, 0, len(hourCols)+len(hourPeaks))
	for _, c := range hourCols {
		out = append(out, c.expr+" AS "+c.name)
	}
	for _, c := range hourPeaks {
		out = append(out, c.expr+" AS "+c.name)
	}
	return strings.Join(out, ", ")
}() + `
    FROM host_metric
    WHERE ts >= $1 AND ts < $1 + interval '1 hour'
    GROUP BY host_id
), old AS (
    SELECT * FROM host_metric_1h WHERE hour = $1
), d AS (
    SELECT coalesce(s.host_id, old.host_id) AS host_id, s.host_id IS NOT NULL AS present,
           ` + cols("coalesce(s.%[1]s, 0) - coalesce(old.%[1]s, 0) AS %[1]s") + `
    FROM s FULL JOIN old ON old.host_id = s.host_id
    WHERE CASE WHEN s.host_id IS NULL THEN EXISTS (SELECT 1 FROM s)
               ELSE old.host_id IS NULL OR (` + cols("s.%[1]s") + `) IS DISTINCT FROM (` + cols("old.%[1]s") + `)
                    OR (` + peaks("s.%[1]s") + `) IS DISTINCT FROM (` + peaks("old.%[1]s") + `) END
), up AS (
    INSERT INTO host_metric_1h AS h (host_id, hour, ` + cols("%[1]s") + `, ` + cols("cum_%[1]s") + `, ` + peaks("%[1]s") + `)
    SELECT s.host_id, $1, ` + cols("s.%[1]s") + `, ` + cols("coalesce(p.cum_%[1]s, 0) + s.%[1]s") + `, ` + peaks("s.%[1]s") + `
    FROM s JOIN d ON d.host_id = s.host_id
    LEFT JOIN LATERAL (SELECT * FROM host_metric_1h p WHERE p.host_id = s.host_id AND p.hour < $1
                       ORDER BY p.hour DESC LIMIT 1) p ON true
    ON CONFLICT (host_id, hour) DO UPDATE SET ` + cols("%[1]s = EXCLUDED.%[1]s") + `, ` + cols("cum_%[1]s = EXCLUDED.cum_%[1]s") + `,
        ` + peaks("%[1]s = EXCLUDED.%[1]s") + `
    RETURNING 1
), gone AS (
    DELETE FROM host_metric_1h h USING d
    WHERE h.hour = $1 AND h.host_id = d.host_id AND NOT d.present
    RETURNING 1
), later AS (
    UPDATE host_metric_1h h SET ` + cols("cum_%[1]s = h.cum_%[1]s + d.%[1]s") + `
    FROM d WHERE h.host_id = d.host_id AND h.hour > $1
    RETURNING 1
)
SELECT (SELECT count(*) FROM up), (SELECT count(*) FROM gone), (SELECT count(*) FROM later)`

// ExpireHostHours deletes hourly host sums of hours starting before before (the
// retention job passes the raw samples' cutoff, so the sums live exactly as long
// as the samples they summarise) and returns how many rows it deleted.
func ExpireHostHours(ctx context.Context, q db.DBTX, before time.Time) (int64, error) {
	tag, err := q.Exec(ctx, `DELETE FROM host_metric_1h WHERE hour < $1`, before)
	if err != nil {
		return 0, fmt.Errorf("error expiring host_metric_1h: %w", err)
	}
	return tag.RowsAffected(), nil
}

// HostAverages are one host's average of each metric over a run of hours; a
// metric without samples is nil. Network is percent of the host's NIC (nil
// without a known NIC speed).
type HostAverages struct {
	HostID                                         int64
	Samples                                        int
	CPUPct, MemPct, DiskIOPct, NetInPct, NetOutPct *float64
	Containers                                     *float64
}

// ClusterHourAverages returns the averages over the hours [from, to) (whole
// UTC hours) of every host now in the cluster that has hourly sums in them: two
// index probes of host_metric_1h per host (its last row before to, its first
// from from), whatever the number of hours, instead of all its raw samples.
func ClusterHourAverages(ctx context.Context, q db.DBTX, clusterID int64, from, to time.Time) ([]HostAverages, error) {
	avg := func(c string) string {
		return fmt.Sprintf("(e.cum_%[1]s_sum - f.cum_%[1]s_sum + f.%[1]s_sum) / nullif(e.cum_%[1]s_n - f.cum_%[1]s_n + f.%[1]s_n, 0)", c)
	}
	rows, err := q.Query(ctx, `SELECT h.id, (e.cum_samples - f.cum_samples + f.samples)::integer,
			`+avg("cpu")+`, `+avg("mem")+`, `+avg("io")+`,
			100 * `+avg("net_in")+` / nullif(h.nic_bps, 0),
			100 * `+avg("net_out")+` / nullif(h.nic_bps, 0),
			`+avg("containers")+`
		FROM host h
		CROSS JOIN LATERAL (SELECT * FROM host_metric_1h a WHERE a.host_id = h.id AND a.hour >= $2 AND a.hour < $3
		                    ORDER BY a.hour DESC LIMIT 1) e
		CROSS JOIN LATERAL (SELECT * FROM host_metric_1h a WHERE a.host_id = h.id AND a.hour >= $2
		                    ORDER BY a.hour LIMIT 1) f
		WHERE h.cluster_id = $1`, clusterID, from, to)
	if err != nil {
		return nil, fmt.Errorf("error loading hourly host averages of cluster %d: %w", clusterID, err)
	}
	out, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (HostAverages, error) {
		var a HostAverages
		err := r.Scan(&a.HostID, &a.Samples, &a.CPUPct, &a.MemPct, &a.DiskIOPct, &a.NetInPct, &a.NetOutPct, &a.Containers)
		return a, err
	})
	if err != nil {
		return nil, fmt.Errorf("error loading hourly host averages of cluster %d: %w", clusterID, err)
	}
	return out, nil
}
