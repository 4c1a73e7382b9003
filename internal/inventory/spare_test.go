package inventory_test

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/teslaops/tesla/internal/audit"
	"github.com/teslaops/tesla/internal/auth"
	"github.com/teslaops/tesla/internal/db/dbtest"
	"github.com/teslaops/tesla/internal/fault"
	"github.com/teslaops/tesla/internal/fixture"
	"github.com/teslaops/tesla/internal/inventory"
)

func as(role auth.Role) context.Context {
	return auth.WithPrincipal(context.Background(), &auth.Principal{Login: string(role), Role: role, Method: auth.MethodToken})
}

func TestSparePoolRegistrationListingAndPolicy(t *testing.T) {
	t.Parallel()
	pool := dbtest.New(t)
	cl := fixture.Bulk(t, pool, 1, 4)[0]
	svc := inventory.NewService(pool, audit.New(pool, nil))
	in := inventory.RegisterSpareHostsInput{Pool: "west", Hosts: []inventory.SpareHostSpec{
		{Hostname: "sp-2", Region: "us-west", CPUCores: 32, MemoryBytes: 1 << 30},
		{Hostname: "sp-1", Region: "us-west", CPUCores: 64, MemoryBytes: 1 << 30},
	}}
	_, err := svc.RegisterSpareHosts(as(auth.Viewer), in)
	require.True(t, fault.Is(err, fault.Forbidden), "%v", err)
	got, err := svc.RegisterSpareHosts(as(auth.Operator), in)
	require.NoError(t, err)
	require.Len(t, got, 2)
	// A pool id is a host id to be: the next host takes another one.
	var next int64
	require.NoError(t, pool.QueryRow(context.Background(), `INSERT INTO host (cluster_id, hostname, cpu_cores, memory_bytes, disk_bytes, nic_bps)
		VALUES ($1, 'fresh', 1, 1, 0, 0) RETURNING id`, cl).Scan(&next))
	require.NotContains(t, []int64{got[0].ID, got[1].ID}, next)
	// Hostnames are unique across the pool and the hosts, both ways.
	_, err = svc.RegisterSpareHosts(as(auth.Operator), inventory.RegisterSpareHostsInput{Hosts: []inventory.SpareHostSpec{
		{Hostname: "sp-1", Region: "us-west", CPUCores: 1, MemoryBytes: 1}}})
	require.True(t, fault.Is(err, fault.Conflict), "%v", err)
	_, err = pool.Exec(context.Background(), `INSERT INTO host (cluster_id, hostname, cpu_cores, memory_bytes, disk_bytes, nic_bps)
		VALUES ($1, 'sp-2', 1, 1, 0, 0)`, cl)
	require.ErrorContains(t, err, "already in the spare pool")

	page, err := svc.SpareHosts(as(auth.Viewer), inventory.SpareFilter{Region: "us-west", Limit: 1})
	require.NoError(t, err)
	require.Len(t, page, 1)
	require.Equal(t, "sp-1", page[0].Hostname)
	page, err = svc.SpareHosts(as(auth.Viewer), inventory.SpareFilter{Region: "us-west", After: "sp-1", Limit: 10})
	require.NoError(t, err)
	require.Len(t, page, 1)
	require.Equal(t, "sp-2", page[0].Hostname)

	_, err = svc.SetClusterPolicy(as(auth.Operator), inventory.ClusterPolicy{ClusterID: cl, AutoscaleMode: "AUTO", AutoscaleMaxHosts: 5})
	require.True(t, fault.Is(err, fault.Forbidden), "%v", err)
	_, err = svc.SetClusterPolicy(as(auth.Admin), inventory.ClusterPolicy{ClusterID: cl, AutoscaleMode: "SOMETIMES", AutoscaleMaxHosts: 5})
	require.True(t, fault.Is(err, fault.Invalid), "%v", err)
	p, err := svc.SetClusterPolicy(as(auth.Admin), inventory.ClusterPolicy{ClusterID: cl, MinHosts: 2, AutoscaleMode: "AUTO",
		AutoscaleMaxHosts: 5, Quorums: map[string]int32{"ZOOKEEPER": 3}})
	require.NoError(t, err)
	require.Equal(t, &inventory.ClusterPolicy{ClusterID: cl, MinHosts: 2, AutoscaleMode: "AUTO", AutoscaleMaxHosts: 5,
		Quorums: map[string]int32{"ZOOKEEPER": 3}}, p)
	var n int
	require.NoError(t, pool.QueryRow(context.Background(), `SELECT count(*) FROM audit_log WHERE action = 'setClusterPolicy' AND outcome = 'OK'`).Scan(&n))
	require.Equal(t, 1, n)
}

// TestClusterProfileMatchesWhatInstallRecords: the profile an executor
// deploys is the set InstallClusterProfile records — components on at least
// half of the live hosts at their most common version — and hosts the
// operation holds (those it is adding) do not count.
func TestClusterProfileMatchesWhatInstallRecords(t *testing.T) {
	t.Parallel()
	pool := dbtest.New(t)
	ctx := context.Background()
	cl := fixture.Bulk(t, pool, 1, 4)[0]
	var hosts []int64
	require.NoError(t, pool.QueryRow(ctx, `SELECT array_agg(id ORDER BY id) FROM host WHERE cluster_id = $1`, cl).Scan(&hosts))
	_, err := pool.Exec(ctx, `DELETE FROM host_component WHERE host_id = ANY($1)`, hosts)
	require.NoError(t, err)
	// Three live hosts: A/X at 1.0 twice and 2.0 once (1.0 wins), B/Y on one
	// of three (under half: not in the profile). The fourth is held by
	// operation 7 and runs C/Z, which would be on half of four hosts.
	_, err = pool.Exec(ctx, `INSERT INTO host_component (host_id, service, component, version) VALUES
		($1, 'A', 'X', '1.0'), ($2, 'A', 'X', '1.0'), ($3, 'A', 'X', '2.0'), ($3, 'B', 'Y', '1.0'),
		($4, 'C', 'Z', '1.0'), ($3, 'C', 'Z', '1.0')`, hosts[0], hosts[1], hosts[2], hosts[3])
	require.NoError(t, err)
	_, err = pool.Exec(ctx, `UPDATE host SET state = 'MAINTENANCE', held_by_operation = 7 WHERE id = $1`, hosts[3])
	require.NoError(t, err)

	got, err := inventory.ClusterProfile(ctx, pool, cl, 7)
	require.NoError(t, err)
	require.Equal(t, []inventory.ProfileComponent{{Service: "A", Component: "X", Version: "1.0"}}, got)
	// Counting the held host, C/Z is on two of four: in.
	got, err = inventory.ClusterProfile(ctx, pool, cl, 0)
	require.NoError(t, err)
	require.Equal(t, []inventory.ProfileComponent{{Service: "A", Component: "X", Version: "1.0"}, {Service: "C", Component: "Z", Version: "1.0"}}, got)

	// InstallClusterProfile leaving out the same host installs the same set.
	_, err = pool.Exec(ctx, `DELETE FROM host_component WHERE host_id = $1`, hosts[3])
	require.NoError(t, err)
	_, err = inventory.InstallClusterProfile(ctx, pool, cl, hosts[3:], time.Now())
	require.NoError(t, err)
	var installed []string
	require.NoError(t, pool.QueryRow(ctx, `SELECT array_agg(service || '/' || component || '@' || version ORDER BY service)
		FROM host_component WHERE host_id = $1`, hosts[3]).Scan(&installed))
	require.Equal(t, []string{"A/X@1.0"}, installed)
}
