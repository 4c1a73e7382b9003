package telemetry

import (
	"cmp"
	"context"
	"fmt"
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
	// Written and Removed count the host rows upserted and deleted.
	Written, Removed int64
}

// RollupHostHours derives host_metric_1h for the complete hours marked in
// host_hour_dirty, oldest first, one hour per transaction: the hour's mark is
// deleted, every host's sums over the hour's raw samples are upserted, and rows
// of hosts that no longer have samples in the hour are deleted (unless the hour
// has no raw samples left at all: retention dropped them, and the sums are all
// that is left of it). A writer marking the hour again after its mark was taken
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
			var written, removed int64
			if err := tx.QueryRow(ctx, deriveHostHourSQL, hour).Scan(&written, &removed); err != nil {
				return fmt.Errorf("hour %s: %w", hour.UTC().Format(time.RFC3339), err)
			}
			res.Hours++
			res.Written += written
			res.Removed += removed
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

// deriveHostHourSQL derives the hour starting at $1: it upserts every host's
// sums, skipping rows whose values did not change (a re-derived hour rewrites
// only the hosts whose samples changed), and deletes rows of hosts without
// samples in the hour when the hour still has samples.
const deriveHostHourSQL = `WITH s AS (
    SELECT host_id, count(*)::integer AS samples,
           coalesce(sum(cpu_pct::float8), 0) AS cpu_sum, count(cpu_pct)::integer AS cpu_n,
           coalesce(sum(mem_pct::float8), 0) AS mem_sum, count(mem_pct)::integer AS mem_n,
           coalesce(sum(disk_io_pct::float8), 0) AS io_sum, count(disk_io_pct)::integer AS io_n,
           coalesce(sum(net_in_bps), 0) AS net_in_sum, count(net_in_bps)::integer AS net_in_n,
           coalesce(sum(net_out_bps), 0) AS net_out_sum, count(net_out_bps)::integer AS net_out_n,
           coalesce(sum(containers::float8), 0) AS containers_sum, count(containers)::integer AS containers_n
    FROM host_metric
    WHERE ts >= $1 AND ts < $1 + interval '1 hour'
    GROUP BY host_id
), up AS (
    INSERT INTO host_metric_1h AS h (host_id, hour, samples, cpu_sum, cpu_n, mem_sum, mem_n, io_sum, io_n,
                                     net_in_sum, net_in_n, net_out_sum, net_out_n, containers_sum, containers_n)
    SELECT host_id, $1, samples, cpu_sum, cpu_n, mem_sum, mem_n, io_sum, io_n,
           net_in_sum, net_in_n, net_out_sum, net_out_n, containers_sum, containers_n
    FROM s
    ON CONFLICT (host_id, hour) DO UPDATE
        SET samples = EXCLUDED.samples, cpu_sum = EXCLUDED.cpu_sum, cpu_n = EXCLUDED.cpu_n,
            mem_sum = EXCLUDED.mem_sum, mem_n = EXCLUDED.mem_n, io_sum = EXCLUDED.io_sum, io_n = EXCLUDED.io_n,
            net_in_sum = EXCLUDED.net_in_sum, net_in_n = EXCLUDED.net_in_n,
            net_out_sum = EXCLUDED.net_out_sum, net_out_n = EXCLUDED.net_out_n,
            containers_sum = EXCLUDED.containers_sum, containers_n = EXCLUDED.containers_n
        WHERE (h.samples, h.cpu_sum, h.cpu_n, h.mem_sum, h.mem_n, h.io_sum, h.io_n, h.net_in_sum, h.net_in_n,
               h.net_out_sum, h.net_out_n, h.containers_sum, h.containers_n)
              IS DISTINCT FROM
              (EXCLUDED.samples, EXCLUDED.cpu_sum, EXCLUDED.cpu_n, EXCLUDED.mem_sum, EXCLUDED.mem_n,
               EXCLUDED.io_sum, EXCLUDED.io_n, EXCLUDED.net_in_sum, EXCLUDED.net_in_n,
               EXCLUDED.net_out_sum, EXCLUDED.net_out_n, EXCLUDED.containers_sum, EXCLUDED.containers_n)
    RETURNING 1
), gone AS (
    DELETE FROM host_metric_1h h
    WHERE h.hour = $1 AND EXISTS (SELECT 1 FROM s)
      AND NOT EXISTS (SELECT 1 FROM s WHERE s.host_id = h.host_id)
    RETURNING 1
)
SELECT (SELECT count(*) FROM up), (SELECT count(*) FROM gone)`

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
// UTC hours) of every host now in the cluster that has hourly sums in them: one
// index range of host_metric_1h per host instead of all its raw samples.
func ClusterHourAverages(ctx context.Context, q db.DBTX, clusterID int64, from, to time.Time) ([]HostAverages, error) {
	rows, err := q.Query(ctx, `SELECT a.host_id, sum(a.samples)::integer,
			sum(a.cpu_sum) / nullif(sum(a.cpu_n), 0),
			sum(a.mem_sum) / nullif(sum(a.mem_n), 0),
			sum(a.io_sum) / nullif(sum(a.io_n), 0),
			100 * (sum(a.net_in_sum) / nullif(sum(a.net_in_n), 0)) / nullif(min(h.nic_bps), 0),
			100 * (sum(a.net_out_sum) / nullif(sum(a.net_out_n), 0)) / nullif(min(h.nic_bps), 0),
			sum(a.containers_sum) / nullif(sum(a.containers_n), 0)
		FROM host h JOIN host_metric_1h a ON a.host_id = h.id AND a.hour >= $2 AND a.hour < $3
		WHERE h.cluster_id = $1
		GROUP BY a.host_id`, clusterID, from, to)
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
