package inventory

import (
	"context"
	"fmt"

	"github.com/jackc/pgx/v5"

	"github.com/teslaops/tesla/internal/db"
)

// Importers (the Alibaba trace importer today, a CMDB sync tomorrow) bring whole
// clusters of hosts from another system. Like the writes in hostevents.go they act
// for the platform, not for a person.

// EnsureCluster returns the id and description of the cluster called name,
// creating it with region, kind and description when there is none.
func EnsureCluster(ctx context.Context, dbtx db.DBTX, name, region, kind, description string) (int64, string, error) {
	var id int64
	var desc string
	err := dbtx.QueryRow(ctx, `
		WITH ins AS (
			INSERT INTO cluster (name, region, kind, description)
			VALUES ($1, $2, $3, $4)
			ON CONFLICT (name) DO NOTHING RETURNING id, description)
		SELECT id, description FROM ins
		UNION ALL SELECT id, description FROM cluster WHERE name = $1
		LIMIT 1`, name, region, kind, description).Scan(&id, &desc)
	if err != nil {
		return 0, "", fmt.Errorf("error creating cluster %q: %w", name, err)
	}
	return id, desc, nil
}

// AppendClusterNote appends note to a cluster's description, after "; " when
// the description is not empty.
func AppendClusterNote(ctx context.Context, dbtx db.DBTX, clusterID int64, note string) error {
	if _, err := dbtx.Exec(ctx, `UPDATE cluster SET description = CASE WHEN description = '' THEN $2
			ELSE description || '; ' || $2 END WHERE id = $1`, clusterID, note); err != nil {
		return fmt.Errorf("error annotating cluster %d: %w", clusterID, err)
	}
	return nil
}

// ImportedHost is a host as an importer describes it.
type ImportedHost struct {
	Hostname    string
	Rack        string
	Cores       int32
	MemoryBytes int64
	DiskBytes   int64
	NICBps      int64
	State       string
	Reason      string
}

// UpsertClusterHosts creates or updates hosts of a cluster in one statement and
// returns how many rows changed, and the hostnames it left alone because a host
// of another cluster has them. Unchanged hosts are not rewritten, so a re-import
// is quiet (no updated rows, no state-change timestamps moved).
func UpsertClusterHosts(ctx context.Context, dbtx db.DBTX, clusterID int64, hosts []ImportedHost) (int64, []string, error) {
	n := len(hosts)
	hostnames, racks, states, reasons := make([]string, n), make([]string, n), make([]string, n), make([]string, n)
	cores := make([]int32, n)
	memory, disk, nic := make([]int64, n), make([]int64, n), make([]int64, n)
	for i, h := range hosts {
		hostnames[i], racks[i], states[i], reasons[i] = h.Hostname, h.Rack, h.State, h.Reason
		cores[i], memory[i], disk[i], nic[i] = h.Cores, h.MemoryBytes, h.DiskBytes, h.NICBps
	}
	var changed int64
	var taken []string
	err := db.InTx(ctx, dbtx, func(tx pgx.Tx) error {
		tag, err := tx.Exec(ctx, `
			INSERT INTO host (cluster_id, hostname, rack, cpu_cores, memory_bytes, disk_bytes, nic_bps, state, state_reason)
			SELECT $1, h, r, c, m, d, nb, s, sr
			FROM unnest($2::text[], $3::text[], $4::int[], $5::bigint[], $6::bigint[], $7::bigint[], $8::text[], $9::text[])
			     AS t(h, r, c, m, d, nb, s, sr)
			ON CONFLICT (hostname) DO UPDATE SET
				rack = EXCLUDED.rack, cpu_cores = EXCLUDED.cpu_cores, memory_bytes = EXCLUDED.memory_bytes,
				disk_bytes = EXCLUDED.disk_bytes, nic_bps = EXCLUDED.nic_bps,
				state = EXCLUDED.state, state_reason = EXCLUDED.state_reason
			WHERE host.cluster_id = EXCLUDED.cluster_id
			  AND (host.rack, host.cpu_cores, host.memory_bytes, host.disk_bytes, host.nic_bps, host.state, host.state_reason)
			      IS DISTINCT FROM
			      (EXCLUDED.rack, EXCLUDED.cpu_cores, EXCLUDED.memory_bytes, EXCLUDED.disk_bytes, EXCLUDED.nic_bps,
			       EXCLUDED.state, EXCLUDED.state_reason)`,
			clusterID, hostnames, racks, cores, memory, disk, nic, states, reasons)
		if err != nil {
			return err
		}
		changed = tag.RowsAffected()
		rows, err := tx.Query(ctx, `SELECT hostname FROM host WHERE hostname = ANY($1) AND cluster_id <> $2 ORDER BY hostname`,
			hostnames, clusterID)
		if err != nil {
			return err
		}
		taken, err = pgx.CollectRows(rows, pgx.RowTo[string])
		return err
	})
	if err != nil {
		return 0, nil, fmt.Errorf("error upserting hosts of cluster %d: %w", clusterID, err)
	}
	return changed, taken, nil
}
