package inventory_test

import (
	"context"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/teslaops/tesla/internal/db/dbtest"
	"github.com/teslaops/tesla/internal/inventory"
)

func TestImportedClusterAndHostsAreUpsertedQuietly(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	pool := dbtest.New(t)
	id, desc, err := inventory.EnsureCluster(ctx, pool, "imported", "eu", "BATCH", "from elsewhere")
	require.NoError(t, err)
	require.Equal(t, "from elsewhere", desc)
	again, desc, err := inventory.EnsureCluster(ctx, pool, "imported", "us", "ONLINE", "other")
	require.NoError(t, err)
	require.Equal(t, id, again)
	require.Equal(t, "from elsewhere", desc, "an existing cluster is left as it is")
	require.NoError(t, inventory.AppendClusterNote(ctx, pool, id, "start=1"))
	other, _, err := inventory.EnsureCluster(ctx, pool, "other", "eu", "ONLINE", "")
	require.NoError(t, err)
	_, _, err = inventory.UpsertClusterHosts(ctx, pool, other, []inventory.ImportedHost{{Hostname: "taken", Cores: 8, MemoryBytes: 1, State: "ONLINE"}})
	require.NoError(t, err)

	hosts := []inventory.ImportedHost{
		{Hostname: "a", Rack: "r1", Cores: 96, MemoryBytes: 1 << 30, DiskBytes: 1e12, NICBps: 1e10, State: "ONLINE"},
		{Hostname: "taken", Cores: 96, MemoryBytes: 1 << 30, State: "ONLINE"},
	}
	changed, taken, err := inventory.UpsertClusterHosts(ctx, pool, id, hosts)
	require.NoError(t, err)
	require.EqualValues(t, 1, changed)
	require.Equal(t, []string{"taken"}, taken)

	changed, _, err = inventory.UpsertClusterHosts(ctx, pool, id, hosts)
	require.NoError(t, err)
	require.Zero(t, changed, "unchanged hosts are not rewritten")
	hosts[0].State, hosts[0].Reason = "MAINTENANCE", "status X"
	changed, _, err = inventory.UpsertClusterHosts(ctx, pool, id, hosts)
	require.NoError(t, err)
	require.EqualValues(t, 1, changed)

	var cores int
	var description string
	require.NoError(t, pool.QueryRow(ctx, `SELECT h.cpu_cores, c.description FROM host h JOIN cluster c ON c.name = 'imported'
		WHERE h.hostname = 'taken'`).Scan(&cores, &description))
	require.Equal(t, 8, cores, "the other cluster's host is untouched")
	require.Equal(t, "from elsewhere; start=1", description)
}
