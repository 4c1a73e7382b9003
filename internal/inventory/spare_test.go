package inventory_test

import (
	"context"
	"testing"

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
