package inventory

import (
	"context"
	"fmt"

	"github.com/jackc/pgx/v5"

	"github.com/teslaops/tesla/internal/db"
	"github.com/teslaops/tesla/internal/inventory/dbsqlc"
)

// Importers (the Alibaba trace importer today, a CMDB sync tomorrow) bring whole
// clusters of hosts from another system. Like the writes in hostevents.go they act
// for the platform, not for a person.

// EnsureCluster returns the id and description of the cluster called name,
// creating it with region, kind and description when there is none.
func EnsureCluster(ctx context.Context, dbtx db.DBTX, name, region, kind, description string) (int64, string, error) {
	row, err := queries.ClusterEnsure(ctx, dbtx, &dbsqlc.ClusterEnsureParams{Name: name, Region: region, Kind: kind, Description: description})
	if err != nil {
		return 0, "", fmt.Errorf("error creating cluster %q: %w", name, err)
	}
	return row.ID, row.Description, nil
}

// AppendClusterNote appends note to a cluster's description, after "; " when
// the description is not empty.
func AppendClusterNote(ctx context.Context, dbtx db.DBTX, clusterID int64, note string) error {
	if err := queries.ClusterAppendNote(ctx, dbtx, &dbsqlc.ClusterAppendNoteParams{ID: clusterID, Note: note}); err != nil {
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
		var err error
		changed, err = queries.HostsUpsertForCluster(ctx, tx, &dbsqlc.HostsUpsertForClusterParams{
			ClusterID: clusterID, Hostnames: hostnames, Racks: racks, Cores: cores, Memory: memory, Disk: disk, Nic: nic,
			States: states, Reasons: reasons,
		})
		if err != nil {
			return err
		}
		taken, err = queries.HostnamesTakenElsewhere(ctx, tx, &dbsqlc.HostnamesTakenElsewhereParams{Hostnames: hostnames, ClusterID: clusterID})
		return err
	})
	if err != nil {
		return 0, nil, fmt.Errorf("error upserting hosts of cluster %d: %w", clusterID, err)
	}
	return changed, taken, nil
}
