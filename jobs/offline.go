package jobs

import (
	"context"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/teslaops/tesla/internal/inventory"
)

// offlineJob marks OFFLINE the hosts that stopped beating (see
// inventory.MarkSilentHostsOffline); a host comes back ONLINE on its own next
// heartbeat or sample, not here. Rows counts the hosts marked.
func offlineJob(pool *pgxpool.Pool, spec func(name, description string) Spec, cfg inventory.OfflineConfig, now func() time.Time) Job {
	return New(spec(NameHostOffline, "Marks OFFLINE the hosts of real clusters that missed their heartbeats (never those in maintenance, decommissioned or in repair), with a hostStateChanged event and an audit entry each."),
		func(ctx context.Context) (Result, error) {
			marked, err := inventory.MarkSilentHostsOffline(ctx, pool, cfg, now())
			details := map[string]any{"after": cfg.After.String(), "lookback": cfg.Lookback.String()}
			if len(marked) > 0 {
				details["hosts"] = marked[:min(len(marked), 20)]
			}
			return Result{Rows: int64(len(marked)), Details: details}, err
		})
}
