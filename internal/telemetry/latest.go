package telemetry

import (
	"context"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/teslaops/tesla/internal/db"
)

// host_latest holds each host's newest stored sample, one row per host. Every
// path that stores samples (Writer, Upsert, Load) upserts it in the same
// transaction from the rows it actually stored, so it always agrees with
// host_metric: a reader of "the latest metrics" does a primary-key lookup instead
// of searching raw samples, whatever their number.

// latestUpsert is the statement tail that upserts host_latest from a set of
// stored rows (a table or CTE with host_metric's columns) named by the caller. Only one
// row per host goes in (the newest of the set: DISTINCT ON over the rows this
// write stored, never over host_metric), in host order so concurrent writers lock
// host_latest rows in the same order. A row moves only forward in time; whether
// a sample at the same time replaces it is the caller's choice (sameTime): the
// Writer keeps the first value of a (host, time), Upsert refines it.
func latestUpsert(from string, sameTime bool) string {
	cmp := "<"
	if sameTime {
		cmp = "<="
	}
	return `INSERT INTO host_latest (` + columnList + `)
		SELECT DISTINCT ON (host_id) ` + columnList + ` FROM ` + from + ` ORDER BY host_id, ts DESC
		ON CONFLICT (host_id) DO UPDATE SET ts = EXCLUDED.ts,
			cpu_pct = EXCLUDED.cpu_pct, mem_pct = EXCLUDED.mem_pct, disk_io_pct = EXCLUDED.disk_io_pct,
			net_in_bps = EXCLUDED.net_in_bps, net_out_bps = EXCLUDED.net_out_bps, containers = EXCLUDED.containers
		WHERE host_latest.ts ` + cmp + ` EXCLUDED.ts`
}

// refreshLatest sets host_latest for hosts from their newest stored sample, one
// backward step of host_metric's primary key per host. Load uses it once, after a
// bulk load, where upserting along the way would cost more than the load.
func refreshLatest(ctx context.Context, tx pgx.Tx, hosts []int64) error {
	if len(hosts) == 0 {
		return nil
	}
	_, err := tx.Exec(ctx, `INSERT INTO host_latest (`+columnList+`)
		SELECT m.host_id, m.ts, m.cpu_pct, m.mem_pct, m.disk_io_pct, m.net_in_bps, m.net_out_bps, m.containers
		FROM unnest($1::bigint[]) AS h (id)
		CROSS JOIN LATERAL (SELECT * FROM host_metric WHERE host_id = h.id ORDER BY ts DESC LIMIT 1) AS m
		ORDER BY m.host_id
		ON CONFLICT (host_id) DO UPDATE SET ts = EXCLUDED.ts,
			cpu_pct = EXCLUDED.cpu_pct, mem_pct = EXCLUDED.mem_pct, disk_io_pct = EXCLUDED.disk_io_pct,
			net_in_bps = EXCLUDED.net_in_bps, net_out_bps = EXCLUDED.net_out_bps, containers = EXCLUDED.containers
		WHERE host_latest.ts <= EXCLUDED.ts`, hosts)
	return err
}

// LatestByHost returns the newest sample of each of hosts taken after since,
// keyed by host id; hosts without one are absent. It reads host_latest, one
// primary-key lookup per host: the cost follows the number of hosts asked for,
// not the number of samples stored or being written. since hides a host whose
// newest sample is too old to be "latest" (it stopped reporting).
func LatestByHost(ctx context.Context, dbtx db.DBTX, hosts []int64, since time.Time) (map[int64]*Sample, error) {
	rows, err := dbtx.Query(ctx, `SELECT `+columnList+` FROM host_latest
		WHERE host_id = ANY($1::bigint[]) AND ts > $2`, hosts, since)
	if err != nil {
		return nil, fmt.Errorf("error loading latest samples: %w", err)
	}
	out := make(map[int64]*Sample, len(hosts))
	var s Sample
	_, err = pgx.ForEachRow(rows, []any{&s.HostID, &s.TS, &s.CPUPct, &s.MemPct, &s.DiskIOPct, &s.NetInBps, &s.NetOutBps, &s.Containers}, func() error {
		c := s
		out[c.HostID] = &c
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("error loading latest samples: %w", err)
	}
	return out, nil
}
