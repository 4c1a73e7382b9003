package inventory_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/stretchr/testify/require"

	"github.com/teslaops/tesla/internal/db/dbtest"
	"github.com/teslaops/tesla/internal/inventory"
	"github.com/teslaops/tesla/internal/stack"
)

func TestLoadBulkLinksRecordsByNaturalKey(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	pool := dbtest.New(t)
	at := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	b := inventory.Bulk{
		CreatedAt: at,
		BUs:       []inventory.BulkBU{{Code: "CO", Name: "Company"}, {Code: "ADS", Name: "Ads", Parent: "CO"}},
		People:    []inventory.BulkPerson{{Login: "ann", Name: "Ann", Email: "ann@example.com", BU: "ADS", Role: "VIEWER"}},
		Stacks: []inventory.BulkStack{{Name: "TDP", Versions: []inventory.BulkStackVersion{
			{Version: "1.0", Released: at, Packages: []inventory.BulkPackageRef{{Service: "HDFS", Version: "3.3.6"}}}}}},
		Packages: []inventory.BulkPackage{{PackageInput: stack.PackageInput{Service: "HDFS", Info: stack.VersionInfo{Version: "3.3.6",
			Checksum: "sha256:" + strings.Repeat("0", 64), Source: stack.Source{Kind: stack.SourceRPM, URI: "https://repo/hdfs.rpm"}}}}},
		Clusters: []inventory.BulkCluster{{Name: "c1", Region: "eu", Kind: "BATCH", Status: "ACTIVE", Stack: "TDP", StackVersion: "1.0", OwnerBU: "ADS"}},
		Hosts: []inventory.BulkHost{
			{Cluster: "c1", Hostname: "h2", Cores: 8, MemoryBytes: 1, State: "ONLINE", LastHeartbeat: at, StateChangedAt: at},
			{Cluster: "c1", Hostname: "h1", Cores: 8, MemoryBytes: 1, State: "DEGRADED", LastHeartbeat: at, StateChangedAt: at.Add(time.Hour)},
		},
		Components: []inventory.BulkComponent{{Host: 1, Service: "HDFS", Component: "DATANODE", Desired: "STARTED", Actual: "FAILED", Version: "3.3.6", UpdatedAt: at}},
	}
	var res inventory.BulkResult
	require.NoError(t, pgx.BeginFunc(ctx, pool, func(tx pgx.Tx) error {
		var err error
		res, err = inventory.LoadBulk(ctx, tx, b)
		return err
	}))
	require.EqualValues(t, 2, res.BUs)
	require.EqualValues(t, 1, res.People)
	require.EqualValues(t, 1, res.StackVersions)
	require.EqualValues(t, 1, res.Clusters)
	require.EqualValues(t, 1, res.Components)
	require.Len(t, res.HostIDs, 2)

	var parent, owner, hostname, state string
	var changed time.Time
	require.NoError(t, pool.QueryRow(ctx, `SELECT p.code FROM bu b JOIN bu p ON p.id = b.parent_id WHERE b.code = 'ADS'`).Scan(&parent))
	require.Equal(t, "CO", parent)
	require.NoError(t, pool.QueryRow(ctx, `SELECT b.code FROM cluster c JOIN bu b ON b.id = c.owner_bu_id`).Scan(&owner))
	require.Equal(t, "ADS", owner)
	require.NoError(t, pool.QueryRow(ctx, `SELECT h.hostname, h.state, h.state_changed_at FROM host_component hc JOIN host h ON h.id = hc.host_id
		WHERE hc.host_id = $1`, res.HostIDs[1]).Scan(&hostname, &state, &changed))
	require.Equal(t, "h1", hostname, "ids come in the order of Bulk.Hosts")
	require.Equal(t, "DEGRADED", state)
	require.True(t, changed.Equal(at.Add(time.Hour)))
	var linked int
	require.NoError(t, pool.QueryRow(ctx, `SELECT count(*) FROM stack_version_package`).Scan(&linked))
	require.Equal(t, 1, linked)
}
