package app

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/teslaops/tesla/internal/fixture"
)

func TestMachineClusteringThroughGraphQL(t *testing.T) {
	t.Parallel()
	hour := time.Now().UTC().Truncate(time.Hour)
	e := newEnv(t)
	ctx := context.Background()
	fixture.Bulk(t, e.db.Pool, 2, 60)
	// Two behaviours a day long: busy hosts (even ids) and idle ones.
	_, err := e.db.Pool.Exec(ctx, `
		INSERT INTO host_metric_1h (host_id, hour, samples, cpu_sum, cpu_n, mem_sum, mem_n, io_sum, io_n,
		                            net_in_sum, net_in_n, containers_sum, containers_n)
		SELECT h.id, $1::timestamptz - k * interval '1 hour', 60,
		       60 * CASE WHEN h.id % 2 = 0 THEN 80 ELSE 5 END + k, 60, 60 * 40, 60,
		       60 * CASE WHEN h.id % 2 = 0 THEN 30 ELSE 2 END, 60, 60 * 1e8, 60,
		       60 * CASE WHEN h.id % 2 = 0 THEN 20 ELSE 1 END, 60
		FROM host h CROSS JOIN generate_series(1, 24) k WHERE h.hostname LIKE 'bulk-%'`, hour)
	require.NoError(t, err)

	const view = `query($f: MachineClusteringFilter) { machineClustering(filter: $f) {
		chosenK quality hostCount fleetHostCount candidates { k silhouette }
		groups { label description hostCount fleetHostCount centroid { feature value deviation } }
		points(limit: 500) { host { hostname } hostname clusterName x y group outlier }
		chart(limit: 50) { hostnames clusterNames x y groups outliers }
		outliers { host { hostname } distance } } }`
	r := e.gql(t, e.as(fixture.Viewer), view, nil)
	require.Empty(t, r.Errors, r.Raw)
	require.Nil(t, dig(r.Data, "machineClustering"), "no run yet")

	const run = `mutation { runClusteringAnalysis { clustering { chosenK hostCount } userErrors { message code } } }`
	r = e.gql(t, e.as(fixture.Viewer), run, nil)
	require.Equal(t, "FORBIDDEN", r.code(), r.Raw)

	r = e.gql(t, e.as(fixture.Operator), run, nil)
	require.Empty(t, r.Errors, r.Raw)
	require.EqualValues(t, 2, dig(r.Data, "runClusteringAnalysis", "clustering", "chosenK"))
	require.EqualValues(t, 120, dig(r.Data, "runClusteringAnalysis", "clustering", "hostCount"))
	var recorded int
	require.NoError(t, e.db.Pool.QueryRow(ctx, `SELECT count(*) FROM scheduler_run WHERE job = 'machine-clustering' AND error = ''`).Scan(&recorded))
	require.Equal(t, 1, recorded, "an operator's run is recorded as the job's")

	r = e.gql(t, e.as(fixture.Viewer), view, nil)
	require.Empty(t, r.Errors, r.Raw)
	mc := dig(r.Data, "machineClustering")
	require.EqualValues(t, 120, dig(mc, "hostCount"))
	require.Len(t, dig(mc, "points").([]any), 120)
	require.Len(t, dig(mc, "groups").([]any), 2)
	require.Len(t, dig(mc, "groups", 0, "centroid").([]any), 10)
	require.Equal(t, "CPU_MEAN", dig(mc, "groups", 0, "centroid", 0, "feature"))
	require.NotEmpty(t, dig(mc, "points", 0, "host", "hostname"))
	require.Equal(t, dig(mc, "points", 0, "host", "hostname"), dig(mc, "points", 0, "hostname"))
	// The chart's lists are the first points, in the same order.
	for _, list := range []string{"hostnames", "clusterNames", "x", "y", "groups", "outliers"} {
		require.Len(t, dig(mc, "chart", list).([]any), 50, list)
	}
	require.Equal(t, dig(mc, "points", 3, "hostname"), dig(mc, "chart", "hostnames", 3))
	require.Equal(t, dig(mc, "points", 3, "x"), dig(mc, "chart", "x", 3))

	// Filtered to one cluster: its hosts only, groups counted for it.
	r = e.gql(t, e.as(fixture.Viewer), `{ cluster(name: "bulk-0001") { id } }`, nil)
	cluster := dig(r.Data, "cluster", "id").(string)
	r = e.gql(t, e.as(fixture.Viewer), view, map[string]any{"f": map[string]any{"clusterIds": []string{cluster}}})
	require.Empty(t, r.Errors, r.Raw)
	require.EqualValues(t, 60, dig(r.Data, "machineClustering", "hostCount"))
	require.EqualValues(t, 120, dig(r.Data, "machineClustering", "fleetHostCount"))

	// Bad input: a wrong id kind, a limit out of range.
	r = e.gql(t, e.as(fixture.Viewer), view, map[string]any{"f": map[string]any{"buId": cluster}})
	require.Equal(t, "BAD_USER_INPUT", r.code(), r.Raw)
	r = e.gql(t, e.as(fixture.Viewer), `{ machineClustering { points(limit: 20001) { x } } }`, nil)
	require.Equal(t, "BAD_USER_INPUT", r.code(), r.Raw)
}
