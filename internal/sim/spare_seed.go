package sim

import (
	"context"
	"fmt"

	"github.com/jackc/pgx/v5"
)

// SparePerMille is the share of each region's hosts the demo fleet keeps in
// its spare pool (20‰ = 2%), so the scale-out pages have machines to add.
const SparePerMille = 20

// seedSparePool registers, per region, SparePerMille of its live hosts' count
// as spare machines in pool "<region>-spares", each a copy of the hardware of
// one of the region's hosts (every 50th by id, so the pool's hardware mix is
// the region's). One statement, derived from the hosts just inserted, so it
// is as deterministic as they are.
func seedSparePool(ctx context.Context, tx pgx.Tx, f *fleet, st *Stats) error {
	tag, err := tx.Exec(ctx, `
		INSERT INTO spare_host (hostname, pool, region, rack, cpu_cores, memory_bytes, disk_bytes, nic_bps,
		                        os, kernel, model, since)
		SELECT 'spare-' || c.region || '-' || lpad(row_number() OVER (PARTITION BY c.region ORDER BY h.id)::text, 4, '0'),
		       c.region || '-spares', c.region, 'spare-r' || (h.id % 8), h.cpu_cores, h.memory_bytes, h.disk_bytes,
		       h.nic_bps, h.os, h.kernel, h.model, $2
		FROM host h JOIN cluster c ON c.id = h.cluster_id
		WHERE h.state <> 'DECOMMISSIONED' AND h.cpu_cores > 0 AND h.memory_bytes > 0 AND h.id % (1000 / $1) = 0`,
		SparePerMille, f.start)
	if err != nil {
		return fmt.Errorf("error seeding the spare pool: %w", err)
	}
	st.SpareHosts = tag.RowsAffected()
	return nil
}
