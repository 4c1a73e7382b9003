package app

import (
	"context"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/teslaops/tesla/graph/model"
	"github.com/teslaops/tesla/internal/fixture"
)

// A cluster's operations with their stages cost the same statements whether
// it has 2 operations or 8: every operation's stages and task counts come
// from one statement through the request's loader.
func TestOperationStagesStatementsDoNotGrowWithOperations(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	ctx := context.Background()
	clusterID := e.fleet.Clusters["batch-wh-1"]
	// addOps inserts n finished operations of three stages, each with a task
	// on every host of the cluster (one FAILED per stage).
	addOps := func(n int) {
		_, err := e.db.Pool.Exec(ctx, `WITH o AS (
				INSERT INTO operation (kind, cluster_id, state, requested_by, current_stage)
				SELECT 'RESTART', $1, 'FAILED', 'test', 3 FROM generate_series(1, $2) RETURNING id),
			s AS (INSERT INTO operation_stage (operation_id, position, name, state)
				SELECT o.id, p, 'batch ' || p, 'FAILED' FROM o, generate_series(1, 3) p RETURNING id, operation_id)
			INSERT INTO operation_task (operation_id, stage_id, host_id, action, state)
			SELECT s.operation_id, s.id, h.id, 'RESTART',
				CASE WHEN h.id = (SELECT min(id) FROM host WHERE cluster_id = $1) THEN 'FAILED' ELSE 'SUCCEEDED' END
			FROM s, host h WHERE h.cluster_id = $1`, clusterID, n)
		require.NoError(t, err)
	}
	var hosts int
	require.NoError(t, e.db.Pool.QueryRow(ctx, `SELECT count(*) FROM host WHERE cluster_id = $1`, clusterID).Scan(&hosts))
	const q = `query($id: ID!) { node(id: $id) { ... on Cluster { operations(first: 20) { nodes { id
		stages { position total failed succeeded } } } } } }`
	vars := map[string]any{"id": model.GlobalID(model.KindCluster, clusterID)}
	counts := map[int]int64{}
	total := 0
	for _, n := range []int{2, 8} {
		addOps(n - total)
		total = n
		r := e.gql(t, e.as(fixture.Viewer), `{ me { role } }`, nil)
		require.Empty(t, r.Errors)
		e.counter.Reset()
		r = e.gql(t, e.as(fixture.Viewer), q, vars)
		counts[n] = e.counter.Count()
		require.Empty(t, r.Errors, r.Raw)
		nodes := dig(r.Data, "node", "operations", "nodes").([]any)
		require.Len(t, nodes, n)
		for _, op := range nodes {
			stages := dig(op, "stages").([]any)
			require.Len(t, stages, 3)
			for i, st := range stages {
				require.EqualValues(t, i+1, dig(st, "position"))
				require.EqualValues(t, hosts, dig(st, "total"))
				require.EqualValues(t, 1, dig(st, "failed"))
				require.EqualValues(t, hosts-1, dig(st, "succeeded"))
			}
		}
	}
	require.Equal(t, counts[2], counts[8], "statements: %v\n%s", counts, strings.Join(e.counter.Statements(), "\n"))
}
