package telemetry

import (
	"context"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/teslaops/tesla/internal/db"
)

// LatestByHost returns the newest sample of each of hosts taken after since,
// keyed by host id; hosts without one are absent. since bounds the search, so
// only the newest partitions are read, and each host costs one backward step of
// the primary key: the cost follows the number of hosts asked for, not the
// number of samples stored.
func LatestByHost(ctx context.Context, dbtx db.DBTX, hosts []int64, since time.Time) (map[int64]*Sample, error) {
	rows, err := dbtx.Query(ctx, `SELECT m.host_id, m.ts, m.cpu_pct, m.mem_pct, m.disk_io_pct, m.net_in_bps, m.net_out_bps, m.containers
		FROM unnest($1::bigint[]) AS h (id)
		CROSS JOIN LATERAL (SELECT * FROM host_metric
			WHERE host_id = h.id AND ts > $2 ORDER BY ts DESC LIMIT 1) AS m`, hosts, since)
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
